import { resourceNames } from '../../config';
import { dashboardUrl, releasePanels } from '../../contracts/release-dashboard';
import { METRIC_ROLLOUT_WEIGHT, releaseAlarmQueries } from '../../contracts/release-signal';
import { slotKeeper } from '../../stacks/constructs/origin-secret';
import type { Block } from '../../stacks/policy/terraform-json';
import { bodies, only, ref, synthesize, testConfig } from './support';

describe('the release-signal table', () => {
  it('is on-demand, keyed by one string, and expires its items by TTL', () => {
    const { delivery, config } = synthesize(testConfig());
    expect(only(delivery, 'aws_dynamodb_table')).toMatchObject({
      name: resourceNames(config).signalTable,
      billing_mode: 'PAY_PER_REQUEST',
      hash_key: 'pk',
      attribute: [{ name: 'pk', type: 'S' }],
      ttl: { attribute_name: 'expiresAt', enabled: true },
      provider: 'aws.us-east-1',
    });
  });
});

describe('the origin secret between CloudFront and the metrics API', () => {
  const slots = (generation: number) => {
    const { delivery } = synthesize(testConfig({ metrics: { originSecretGeneration: generation } }));
    const passwords = delivery.json.resource!.random_password as Record<string, Block>;
    const api = (only(delivery, 'aws_cloudfront_distribution').origin as Block[]).find((o) => o.origin_id === 'metrics-api')!;
    const sent = /random_password\.([^.]+)\.result/.exec(String((api.custom_header as Block[])[0].value))![1];
    return { passwords, sent, delivery };
  };

  it('is made by Terraform (48 letters and digits), never written in the repository or the build', () => {
    const { passwords, delivery } = slots(1);
    for (const password of Object.values(passwords)) expect(password).toMatchObject({ length: 48, special: false, provider: 'random' });
    expect((delivery.json.terraform as Block).required_providers).toMatchObject({ random: { source: 'hashicorp/random' } });
  });

  it('rotates by generation: only the slot about to be sent is made anew, the other stays valid for edges on the old configuration', () => {
    const before = slots(1);
    const after = slots(2);
    const keeper = (s: ReturnType<typeof slots>, id: string) => (s.passwords[id].keepers as Block).generation;
    expect(after.sent).not.toBe(before.sent);
    // The slot sent before keeps its keeper (so its value), and the function still accepts it.
    expect(keeper(after, before.sent)).toBe(keeper(before, before.sent));
    expect(keeper(after, after.sent)).not.toBe(keeper(before, after.sent));
    expect([slotKeeper(0, 7), slotKeeper(1, 7), slotKeeper(0, 8), slotKeeper(1, 8)]).toEqual([6, 7, 8, 7]);
  });
});

describe('the release dashboard', () => {
  it("draws the alarm's own queries, the weight, the edge errors, the fallback loads and every alarm, and its URL is what `rollout status` prints", () => {
    const { delivery, config } = synthesize(testConfig({ metrics: { namespace: 'Acme/Widget' } }));
    const names = resourceNames(config);
    const dashboard = only(delivery, 'aws_cloudwatch_dashboard');
    expect(dashboard).toMatchObject({ dashboard_name: names.dashboard, provider: 'aws.us-east-1' });
    const body = JSON.parse(String(dashboard.dashboard_body)) as { widgets: Block[] };
    const panels = releasePanels(releaseAlarmQueries(config.alarms));
    const metricWidgets = body.widgets.filter((w) => w.type === 'metric');
    expect(metricWidgets.map((w) => (w.properties as Block).title)).toEqual(panels.map((p) => p.title));
    const rates = (metricWidgets[0].properties as Block).metrics as unknown[][];
    for (const query of releaseAlarmQueries(config.alarms).expressions) {
      expect(rates).toContainEqual([expect.objectContaining({ id: query.id, expression: query.expression })]);
    }
    expect((metricWidgets[0].properties as Block).annotations).toEqual({ horizontal: [{ label: 'rolls back above', value: config.alarms.excessErrorPercent }] });
    expect((metricWidgets[1].properties as Block).metrics).toContainEqual(['Acme/Widget', 'Viewers', 'Role', 'ring', { stat: 'Sum', label: 'ring hosts (not judged)' }]);
    expect((metricWidgets[2].properties as Block).metrics).toEqual([['Acme/Widget', METRIC_ROLLOUT_WEIGHT, 'Role', 'canary', { stat: 'Maximum', label: 'weight' }]]);
    const distribution = only(delivery, 'aws_cloudfront_distribution');
    expect(JSON.stringify((metricWidgets[3].properties as Block).metrics)).toContain(ref(delivery, 'aws_cloudfront_distribution', distribution, 'id'));
    const alarms = body.widgets.find((w) => w.type === 'alarm')!.properties as Block;
    const arn = (name: string) =>
      ref(
        delivery,
        'aws_cloudwatch_metric_alarm',
        only(delivery, 'aws_cloudwatch_metric_alarm', (a) => a.alarm_name === name),
        'arn',
      );
    expect(alarms.alarms).toEqual([arn(names.clientErrorAlarm), arn(names.edgeErrorAlarm), arn(names.assignmentFallbackAlarm)]);
    expect((delivery.json.output as Block)['dashboard-url']).toMatchObject({ value: dashboardUrl(names.dashboard) });
    expect(dashboardUrl('widget-releases')).toBe('https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/widget-releases');
  });
});

describe('the per-IP rate limit on /api/*', () => {
  it('is off by default: no web ACL, nothing attached', () => {
    const { delivery } = synthesize(testConfig());
    expect(bodies(delivery, 'aws_wafv2_web_acl')).toHaveLength(0);
    expect(only(delivery, 'aws_cloudfront_distribution').web_acl_id).toBeUndefined();
  });

  it('when enabled, blocks an IP past its limit on /api/* with 429 and lets everything else through', () => {
    const { delivery, config } = synthesize(testConfig({ metrics: { rateLimit: { enabled: true, requests: 300, windowSeconds: 120 } } }));
    const acl = only(delivery, 'aws_wafv2_web_acl');
    expect(acl).toMatchObject({ name: resourceNames(config).webAcl, scope: 'CLOUDFRONT', default_action: { allow: {} }, provider: 'aws.us-east-1' });
    const [rule] = acl.rule as Block[];
    expect(rule).toMatchObject({ priority: 0, action: { block: { custom_response: { response_code: 429 } } } });
    expect(rule.statement).toEqual({
      rate_based_statement: {
        limit: 300,
        evaluation_window_sec: 120,
        aggregate_key_type: 'IP',
        scope_down_statement: { byte_match_statement: { search_string: '/api/', positional_constraint: 'STARTS_WITH', field_to_match: { uri_path: {} }, text_transformation: [{ priority: 0, type: 'NONE' }] } },
      },
    });
    expect(only(delivery, 'aws_cloudfront_distribution').web_acl_id).toBe(ref(delivery, 'aws_wafv2_web_acl', acl, 'arn'));
  });
});
