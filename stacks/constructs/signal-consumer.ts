/**
 * The signal consumer (regional-function/signal-consumer): a Lambda that Lambda's event source
 * mapping feeds the signal stream's records, and that counts distinct viewers per period and role
 * and emits them as embedded-metric-format log lines (no CloudWatch permission at all).
 *
 * It counts distinct viewers, so it must see every record of a period, in order, in one place:
 * one shard, read by one mapping with a parallelization factor of 1 (one batch of that shard at a
 * time, in order; Lambda developer guide, "Using Lambda with Kinesis": "ParallelizationFactor",
 * 1 to 10 concurrent batches per shard, default 1), starting at the newest record when the mapping
 * is created (LATEST: a period the consumer starts inside is unjudged anyway).
 *
 * Failures. The consumer skips records it cannot read (it never throws on a record), so a failed
 * batch is a failed dependency (DynamoDB, the runtime, a timeout), and it fails alike whichever
 * half of it is tried: bisecting the batch on an error (`bisect_batch_on_function_error`) would only
 * multiply the retries, each of which starts without the tallies the failure threw away, and each
 * of which re-delivers records the failed attempt may already have counted into periods it emitted
 * (a timeout after the metrics went out): Lambda's delivery is at least once, and the fewer
 * re-deliveries, the fewer chances to count a viewer twice. So no bisecting, and a bounded number
 * of retries, after which Lambda skips the batch: the consumer then finds the checkpoint is not
 * where it left it, and every period the lost records touched closes unjudged, which the unjudged
 * alarm turns into a held canary and a rollback, never into a healthy-looking period.
 *
 * Its role reads the stream (SignalStream.grantRead: what the event source mapping calls, as the
 * function's role), reads the timeline of rollout states and moves its checkpoint in the
 * release-signal table (ReleaseSignalTable), and writes its logs: nothing else.
 */
import { LambdaEventSourceMapping } from '@cdktf/provider-aws/lib/lambda-event-source-mapping';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';
import type { SignalConsumerEnvironment } from '../../contracts/function-environment';
import type { FunctionCode } from './packaged-function';
import { RegionalFunction } from './regional-function';
import type { ReleaseSignalTable } from './release-signal-table';
import type { SignalStream } from './signal-stream';

/** One batch of the shard at a time: the consumer counts distinct viewers, in order. */
export const PARALLELIZATION_FACTOR = 1;

export interface SignalConsumerProps {
  readonly functionName: string;
  readonly code: FunctionCode;
  readonly runtime: string;
  readonly environment: SignalConsumerEnvironment;
  readonly stream: SignalStream;
  readonly signalTable: ReleaseSignalTable;
  /**
   * Rollout sync's ARN: the consumer invokes it the moment the judge decides, rather than leave it to its next minute.
   */
  readonly rolloutSyncArn: string;
  readonly logRetentionDays: number;
  /**
   * Records per batch. @default 1000 (at the sized peak, 800 records a second, a batch is about a second of the stream)
   */
  readonly batchSize?: number;
  /**
   * Seconds Lambda gathers records before it calls (config metrics.batchWindowSeconds). @default 1 (the judge looks at
   * every batch: a failing canary waits for no more)
   */
  readonly maximumBatchingWindowSeconds?: number;
  /** Retries of a failed batch before Lambda skips it. @default 3 */
  readonly maximumRetryAttempts?: number;
  readonly provider: AwsProvider;
}

/** The consumer's memory: what the benchmark prices it at. */
export const SIGNAL_CONSUMER_MEMORY_MB = 128;

export class SignalConsumer extends Construct {
  readonly handler: RegionalFunction<SignalConsumerEnvironment>;
  readonly mapping: LambdaEventSourceMapping;

  constructor(scope: Construct, id: string, props: SignalConsumerProps) {
    super(scope, id);
    this.handler = new RegionalFunction(this, 'handler', {
      functionName: props.functionName,
      code: props.code,
      runtime: props.runtime,
      provider: props.provider,
      logRetentionDays: props.logRetentionDays,
      environment: props.environment,
      // A period's distinct viewers are held in memory: at the sized peak (800 records a second) a
      // period of a minute is at most 48,000 voices, a few MB; the core takes about 4 µs a record
      // (the benchmark), so a second of the stream is a few ms even at 128 MB's CPU share.
      memorySize: SIGNAL_CONSUMER_MEMORY_MB,
      timeout: 30,
      description:
        'Counts distinct viewers per role and period from the real-time logs of the entry and the error ' +
        'reports (EMF metrics)',
    });
    props.stream.grantRead(this.handler);
    props.signalTable.grantReadTimeline(this.handler);
    props.signalTable.grantAdvanceCheckpoint(this.handler);
    props.signalTable.grantWriteJudgments(this.handler);
    this.handler.addToRolePolicy({
      sid: 'RequestRolloutSync',
      actions: ['lambda:InvokeFunction'],
      resources: [props.rolloutSyncArn],
    });

    this.mapping = new LambdaEventSourceMapping(this, 'mapping', {
      provider: props.provider,
      functionName: this.handler.functionArn,
      eventSourceArn: props.stream.streamArn,
      startingPosition: 'LATEST',
      batchSize: props.batchSize ?? 1000,
      maximumBatchingWindowInSeconds: props.maximumBatchingWindowSeconds ?? 1,
      parallelizationFactor: PARALLELIZATION_FACTOR,
      bisectBatchOnFunctionError: false,
      maximumRetryAttempts: props.maximumRetryAttempts ?? 3,
      // Lambda checks the function's role may read the stream when the mapping is created.
      dependsOn: this.handler.permissionResources,
    });
  }

  get functionName(): string {
    return this.handler.functionName;
  }
}
