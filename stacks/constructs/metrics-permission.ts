/**
 * cloudwatch:PutMetricData has no resource-level permissions; the one way to scope it is the
 * `cloudwatch:namespace` condition. The metrics API and rollout sync both publish, to one
 * namespace, through this statement.
 */
import type { PolicyStatement } from './iam';

export function putMetricDataIn(namespace: string): PolicyStatement {
  return {
    sid: 'PutMetricsInOwnNamespace',
    actions: ['cloudwatch:PutMetricData'],
    resources: ['*'],
    conditions: [{ test: 'StringEquals', variable: 'cloudwatch:namespace', values: [namespace] }],
  };
}
