/**
 * The alarm on entry loads that take the fallback path: the viewer-assignment function could not
 * read or parse the rollout state and passed the load on to the entry router (Lambda@Edge and an
 * API read per load). The function logs one line on that path; CloudFront Functions send it to
 * `/aws/cloudfront/function/<name>` in us-east-1; a metric filter counts it; an alarm watches the
 * count; the release dashboard shows both.
 *
 * The filter pattern is checked against the very lines the published function prints in the
 * cloudfront-js-2.0 harness, by a matcher of the one filter-pattern form it uses (quoted terms).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { resourceNames } from '../../config';
import {
  formatRolloutState,
  ROLLOUT_STATE_KEY,
  STATE_UNREADABLE_LOG,
  steadyState,
} from '../../contracts/rollout-state';
import { loadCloudFrontFunction, type CloudFrontFunctionViewerEvent } from '../../edge-code/cloudfront-function';
import { namesOf } from '../../scripts/names';
import { METRIC_ASSIGNMENT_FALLBACKS } from '../../stacks/constructs/rollout-alarms';
import type { Block } from '../../stacks/policy/terraform-json';
import { BUILD_DIR, defaultBuild } from '../fixtures/build';
import { FIVE_REGIONS, only, ref, synthesize, testConfig } from './support';

const published = () =>
  readFileSync(path.join(BUILD_DIR, defaultBuild().cloudFrontFunctions['viewer-assignment'].file), 'utf8');

/**
 * The lines the published function logs for one entry load, with the store giving `value` (undefined: no key; an Error:
 * a failure).
 */
async function linesLogged(value: string | undefined | Error): Promise<string[]> {
  const lines: string[] = [];
  const store = {
    get: async (key: string) => {
      if (value instanceof Error) throw value;
      if (key !== ROLLOUT_STATE_KEY || value === undefined) throw new Error(`key ${key} not found`);
      return value;
    },
  };
  const event: CloudFrontFunctionViewerEvent = {
    version: '1.0',
    context: {
      distributionDomainName: 'd111111abcdef8.cloudfront.net',
      distributionId: 'EDFDVBD6EXAMPLE',
      eventType: 'viewer-request',
      requestId: 'test',
    },
    viewer: { ip: '192.0.2.1' },
    request: { method: 'GET', uri: '/assets/index.js', querystring: {}, headers: {}, cookies: {} },
  };
  await loadCloudFrontFunction(published(), store, (line) => lines.push(line))(event);
  return lines;
}

/**
 * CloudWatch Logs' match of a filter pattern made of terms on an unstructured log event: every term
 * must appear in the message, case sensitive; a term with characters other than letters, digits
 * and underscore must be quoted (CloudWatch Logs user guide, "Filter and pattern syntax"). Anything
 * else of the syntax (?, -, JSON, space-delimited, regex) is refused: it is not what the stack uses.
 */
function filterPatternMatches(pattern: string, message: string): boolean {
  const terms = [...pattern.matchAll(/\s*(?:"([^"\\]+)"|([A-Za-z0-9_]+))\s*/gy)];
  if (terms.map((t) => t[0]).join('') !== pattern || terms.length === 0)
    throw new Error(`not a pattern of plain or quoted terms: ${pattern}`);
  return terms.every((t) => message.includes(t[1] ?? t[2]!));
}

/**
 * A log event as CloudFront Functions write one: each line starts with the request's id (developer guide, "Edge
 * function logs").
 */
const logEvent = (line: string) => `U7b4hR_RaxMADupvKAvr8_m9gsGXvioUggLV5Oyq-vmAtH8HADpjhw== ${line}`;

describe('entry loads through the fallback', () => {
  const config = testConfig({
    ...FIVE_REGIONS,
    retention: { logRetentionDays: 14 },
    metrics: { namespace: 'Acme/Widget' },
  });

  it(
    "lands in the viewer-assignment function's own log group, created in us-east-1 with the configured retention " +
      "before the function's code",
    () => {
      const { delivery } = synthesize(config);
      const fn = only(delivery, 'aws_cloudfront_function', (f) => String(f.name).endsWith('-viewer-assignment'));
      const group = only(delivery, 'aws_cloudwatch_log_group', (g) =>
        String(g.name).startsWith('/aws/cloudfront/function/'),
      );
      expect(group).toMatchObject({
        name: `/aws/cloudfront/function/${String(fn.name)}`,
        retention_in_days: 14,
        provider: 'aws.us-east-1',
      });
      // The function associated with the entry behaviour is that one.
      const distribution = only(delivery, 'aws_cloudfront_distribution');
      expect(JSON.stringify(distribution.ordered_cache_behavior)).toContain(
        ref(delivery, 'aws_cloudfront_function', fn, 'arn'),
      );
      // CloudFront would create the group on the first line logged; Terraform's create would then fail.
      const groupAddress = ref(delivery, 'aws_cloudwatch_log_group', group, 'name')
        .slice(2)
        .split('.')
        .slice(0, 2)
        .join('.');
      expect(fn.depends_on).toEqual(expect.arrayContaining([groupAddress]));
      // No group for the check twin: TestFunction sends nothing to CloudWatch.
      expect(
        Object.values(delivery.json.resource?.aws_cloudwatch_log_group ?? {}).filter((g) =>
          String(g.name).startsWith('/aws/cloudfront/function/'),
        ),
      ).toHaveLength(1);
    },
  );

  it(
    'becomes a metric through a filter whose pattern matches the line the published function prints, and ' +
      'nothing else it prints',
    async () => {
      const { delivery } = synthesize(config);
      const group = only(delivery, 'aws_cloudwatch_log_group', (g) =>
        String(g.name).startsWith('/aws/cloudfront/function/'),
      );
      const filter = only(delivery, 'aws_cloudwatch_log_metric_filter');
      expect(filter).toMatchObject({
        log_group_name: ref(delivery, 'aws_cloudwatch_log_group', group, 'name'),
        pattern: `"${STATE_UNREADABLE_LOG}"`,
        metric_transformation: {
          name: METRIC_ASSIGNMENT_FALLBACKS,
          namespace: 'Acme/Widget',
          value: '1',
          unit: 'Count',
        },
        provider: 'aws.us-east-1',
      });
      // No default value: a period without a fallback has no datapoint, which the alarm reads as not breaching.
      expect((filter.metric_transformation as Block).default_value).toBeUndefined();

      const pattern = String(filter.pattern);
      const fallbacks = [
        ...(await linesLogged(undefined)),
        ...(await linesLogged(new Error('KeyValueStore is unavailable'))),
        ...(await linesLogged('{"v":1,"stable":')),
        ...(await linesLogged('')),
      ];
      expect(fallbacks).toEqual([
        `${STATE_UNREADABLE_LOG} read`,
        `${STATE_UNREADABLE_LOG} read`,
        `${STATE_UNREADABLE_LOG} invalid`,
        `${STATE_UNREADABLE_LOG} invalid`,
      ]);
      for (const line of fallbacks) expect(filterPatternMatches(pattern, logEvent(line))).toBe(true);
      // What CloudFront writes around a function's own lines, and the normal path (which logs nothing).
      expect(filterPatternMatches(pattern, logEvent('START DistributionID: E3E5D42GADAXZZ'))).toBe(false);
      expect(filterPatternMatches(pattern, logEvent('END'))).toBe(false);
      expect(await linesLogged(formatRolloutState(steadyState('0123456789abcdef')))).toEqual([]);
      // The matcher itself: case sensitive, every term, quotes required for a hyphen.
      expect(filterPatternMatches('"rollout-state-unreadable"', 'x ROLLOUT-STATE-UNREADABLE read')).toBe(false);
      expect(filterPatternMatches('ERROR "a-b"', 'ERROR a-b')).toBe(true);
      expect(filterPatternMatches('ERROR "a-b"', 'ERROR a b')).toBe(false);
      expect(() => filterPatternMatches('rollout-state-unreadable', 'rollout-state-unreadable')).toThrow(
        /not a pattern/,
      );
    },
  );

  it('alarms on any fallback in 2 of 3 periods of 5 minutes, and rolls nothing back', () => {
    const { delivery } = synthesize(config);
    const names = resourceNames(config);
    const alarm = only(delivery, 'aws_cloudwatch_metric_alarm', (a) => a.alarm_name === names.assignmentFallbackAlarm);
    expect(alarm).toMatchObject({
      namespace: 'Acme/Widget',
      metric_name: METRIC_ASSIGNMENT_FALLBACKS,
      statistic: 'Sum',
      period: 300,
      evaluation_periods: 3,
      datapoints_to_alarm: 2,
      threshold: 1,
      comparison_operator: 'GreaterThanOrEqualToThreshold',
      treat_missing_data: 'notBreaching',
      provider: 'aws.us-east-1',
    });
    expect(String(alarm.alarm_description)).toContain(STATE_UNREADABLE_LOG);
    // No topic exists to notify: it is for the dashboard and `npm run names`.
    expect(alarm.alarm_actions).toBeUndefined();
    // Viewers get the right build through the fallback: a rollback would undo nothing.
    const group = only(delivery, 'aws_codedeploy_deployment_group');
    expect(JSON.stringify(group.alarm_configuration)).not.toContain(
      ref(delivery, 'aws_cloudwatch_metric_alarm', alarm, 'alarm_name'),
    );
  });

  it('is on the release dashboard, the metric and the alarm, and `npm run names` names the alarm', () => {
    const { delivery } = synthesize(config);
    const names = resourceNames(config);
    const alarm = only(delivery, 'aws_cloudwatch_metric_alarm', (a) => a.alarm_name === names.assignmentFallbackAlarm);
    const body = JSON.parse(String(only(delivery, 'aws_cloudwatch_dashboard').dashboard_body)) as { widgets: Block[] };
    const alarmWidget = body.widgets.find((w) => w.type === 'alarm')!.properties as Block;
    expect(alarmWidget.alarms).toContain(ref(delivery, 'aws_cloudwatch_metric_alarm', alarm, 'arn'));
    const rows = body.widgets
      .filter((w) => w.type === 'metric')
      .flatMap((w) => (w.properties as Block).metrics as unknown[][]);
    expect(rows).toContainEqual([
      'Acme/Widget',
      METRIC_ASSIGNMENT_FALLBACKS,
      { stat: 'Sum', label: expect.stringContaining('fallback') },
    ]);
    expect(namesOf(config)).toMatchObject({ assignment_fallback_alarm: `${config.name}-assignment-fallback` });
    expect(names.assignmentFallbackAlarm).toBe(`${config.name}-assignment-fallback`);
  });
});
