/**
 * The unjudged alarm: the release signal could not see a period whole (the consumer closed it
 * unjudged, records of a closed period came late, the consumer failed, or it reads the stream
 * further behind than the lateness allows), or nothing reported at all. Its metric math is the
 * contract's (contracts/release-signal.ts unjudgedAlarmQueries), with the config's metrics
 * namespace where the contract says `signal`; missing data is breaching, since a judge that reports
 * nothing sees nothing. CodeDeploy watches it next to the client-error alarm, and rollout sync holds
 * the canary while it fires: a canary the judge cannot see never gains viewers and is rolled back.
 */
import {
  CloudwatchMetricAlarm,
  type CloudwatchMetricAlarmMetricQuery,
} from '@cdktf/provider-aws/lib/cloudwatch-metric-alarm';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';
import type { DeployConfig } from '../../config';
import {
  unjudgedAlarmQueries,
  type HealthMetricQuery,
  type UnjudgedAlarmQueries,
} from '../../contracts/release-signal';

export interface SignalUnjudgedAlarmProps {
  readonly alarmName: string;
  /** The period, and how many of them must breach (config `alarms`). */
  readonly alarms: Pick<DeployConfig['alarms'], 'periodSeconds' | 'evaluationPeriods' | 'datapointsToAlarm'>;
  /** config metrics.latenessSeconds: the reader may fall behind by this much. */
  readonly latenessSeconds: number;
  /** The namespace the consumer emits its metrics in (config metrics.namespace). */
  readonly namespace: string;
  /** The consumer function and the stream, by name (their metrics' dimensions). */
  readonly consumerFunctionName: string;
  readonly streamName: string;
  /** us-east-1, where the consumer and the stream report. */
  readonly provider: AwsProvider;
}

export class SignalUnjudgedAlarm extends Construct {
  readonly alarm: CloudwatchMetricAlarm;

  constructor(scope: Construct, id: string, props: SignalUnjudgedAlarmProps) {
    super(scope, id);
    const { alarms } = props;
    const queries = unjudgedAlarmQueries(
      { latenessSeconds: props.latenessSeconds },
      { consumerFunction: props.consumerFunctionName, stream: props.streamName },
    );
    this.alarm = new CloudwatchMetricAlarm(this, 'alarm', {
      provider: props.provider,
      alarmName: props.alarmName,
      alarmDescription:
        'The release signal could not judge a period: the consumer did not see it whole, records came after it ' +
        'closed, the consumer failed, ' +
        `or it reads the stream more than ${props.latenessSeconds} s behind; no data at all counts too. ` +
        `CodeDeploy rolls back; rollout sync holds the canary at once.`,
      metricQuery: unjudgedMetricQueries(queries, props.namespace, alarms.periodSeconds),
      comparisonOperator: 'GreaterThanThreshold',
      threshold: queries.threshold,
      evaluationPeriods: alarms.evaluationPeriods,
      datapointsToAlarm: alarms.datapointsToAlarm,
      treatMissingData: 'breaching',
    });
  }

  get alarmName(): string {
    return this.alarm.alarmName;
  }

  get arn(): string {
    return this.alarm.arn;
  }
}

/** The namespace a health metric is in: the config's for the consumer's own metrics. */
export function healthNamespace(query: HealthMetricQuery, namespace: string): string {
  return query.namespace === 'signal' ? namespace : query.namespace;
}

/**
 * The contract's queries as the alarm's metric_query blocks: each metric per period with its statistic, then the
 * expressions.
 */
export function unjudgedMetricQueries(
  queries: UnjudgedAlarmQueries,
  namespace: string,
  period: number,
): CloudwatchMetricAlarmMetricQuery[] {
  return [
    ...queries.metrics.map((query) => ({
      id: query.id,
      metric: {
        namespace: healthNamespace(query, namespace),
        metricName: query.metricName,
        dimensions: { ...query.dimensions },
        period,
        stat: query.stat,
      },
      returnData: false,
    })),
    ...queries.expressions.map((query) => ({
      id: query.id,
      expression: query.expression,
      label: query.label,
      returnData: query.id === queries.resultId,
    })),
  ];
}
