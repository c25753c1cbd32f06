/**
 * The signal consumer's Lambda handler: the Kinesis event source mapping gives it the real-time log
 * records of the entry and the error reports, one shard in order; it counts them (consumer.ts,
 * core.ts) and emits the periods that close as embedded metric format lines (no PutMetricData, no
 * permission for it).
 */
import { CloudFrontClient, GetRealtimeLogConfigCommand } from '@aws-sdk/client-cloudfront';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { fieldOrder } from '../../contracts/realtime-log';
import type { KinesisStreamEvent } from 'aws-lambda';
import { readEnvironment, type SignalConsumerEnvironment } from '../../contracts/function-environment';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { JudgeRule } from '../../contracts/canary-judge';
import { VERDICT_SYNC_EVENT, type ReleaseStep } from '../../contracts/release-progress';
import { batchDocuments, functionLogger, functionMetrics, verdictDocument } from '../shared/observability';
import { advanceCheckpoint, readJudgment, readTimeline, writeJudgment } from '../../rollout-control/signal-table';
import { createSignalConsumer, type BatchSummary, type SignalConsumer } from './consumer';
import type { TimedState } from '../../contracts/release-signal';

const VARIABLES = [
  'METRICS_NAMESPACE',
  'SIGNAL_TABLE',
  'PERIOD_SECONDS',
  'LATENESS_SECONDS',
  'REALTIME_LOG_CONFIG_ARN',
  'JUDGE_RULE',
  'ROLLOUT_SYNC_FUNCTION',
  'ROLLOUT_STEPS',
] as const satisfies readonly (keyof SignalConsumerEnvironment)[];
/**
 * How long a container counts by the timeline it read: state changes are announced before they are written, so a few
 * seconds is enough.
 */
export const TIMELINE_CACHE_MS = 5000;

const logger = functionLogger('signal-consumer');
let consumer: SignalConsumer | undefined;

export async function handler(event: KinesisStreamEvent): Promise<BatchSummary> {
  if (!consumer) {
    const env = readEnvironment<SignalConsumerEnvironment>(VARIABLES);
    const dynamodb = new DynamoDBClient({});
    // The order CloudFront writes the fields in is the order its API reports them in.
    const config = await new CloudFrontClient({}).send(
      new GetRealtimeLogConfigCommand({ ARN: env.REALTIME_LOG_CONFIG_ARN }),
    );
    const fields = fieldOrder(config.RealtimeLogConfig?.Fields ?? []);
    const metrics = functionMetrics(env.METRICS_NAMESPACE, 'signal-consumer');
    let cached: { readonly at: number; readonly timeline: readonly TimedState[] } | undefined;
    const lambda = new LambdaClient({});
    const print = (document: unknown) => process.stdout.write(`${JSON.stringify(document)}\n`);
    consumer = createSignalConsumer(
      {
        periodSeconds: Number(env.PERIOD_SECONDS),
        latenessMs: Number(env.LATENESS_SECONDS) * 1000,
        fields,
        rule: JSON.parse(env.JUDGE_RULE) as JudgeRule,
        steps: JSON.parse(env.ROLLOUT_STEPS) as ReleaseStep[],
      },
      {
        timeline: async () => {
          if (!cached || Date.now() - cached.at > TIMELINE_CACHE_MS)
            cached = { at: Date.now(), timeline: await readTimeline(dynamodb, env.SIGNAL_TABLE) };
          return cached.timeline;
        },
        advanceCheckpoint: (from, to) => advanceCheckpoint(dynamodb, env.SIGNAL_TABLE, from, to),
        emit: (closed, late, at) => {
          // One EMF document per line, as Powertools prints them.
          for (const document of batchDocuments(metrics, closed, late, at)) print(document);
        },
        log: (message, details) => logger.info(message, details),
        now: Date.now,
        judgments: {
          read: (salt) => readJudgment(dynamodb, env.SIGNAL_TABLE, salt),
          write: (record) => writeJudgment(dynamodb, env.SIGNAL_TABLE, record, Date.now()),
        },
        emitVerdict: (failing, at) => print(verdictDocument(metrics, failing, at)),
        requestSync: async (why) => {
          try {
            await lambda.send(
              new InvokeCommand({
                FunctionName: env.ROLLOUT_SYNC_FUNCTION,
                InvocationType: 'Event',
                Payload: new TextEncoder().encode(JSON.stringify(VERDICT_SYNC_EVENT)),
              }),
            );
          } catch (error) {
            // Rollout sync also runs on the verdict's alarm and every minute: a failed request only costs time.
            logger.warn('could not request a rollout sync', {
              why,
              error: error instanceof Error ? error.message : String(error),
            });
          }
        },
      },
    );
  }
  const summary = await consumer(
    event.Records.map((record) => ({
      data: Buffer.from(record.kinesis.data, 'base64').toString('utf8'),
      arrivedAt: Math.round(record.kinesis.approximateArrivalTimestamp * 1000),
      sequenceNumber: record.kinesis.sequenceNumber,
    })),
  );
  logger.info('batch', { ...summary });
  return summary;
}
