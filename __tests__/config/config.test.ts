import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  ConfigError,
  loadConfig,
  parseConfig,
  predefinedDeploymentConfig,
  resourceNames,
  rolloutSteps,
} from '../../config';

const valid = {
  domain: 'widget.example.com',
  hostedZone: { name: 'example.com' },
  primaryRegion: 'us-east-1',
  regions: ['us-east-1', 'eu-west-1'],
};

function problems(input: unknown, env: Record<string, string> = {}): string[] {
  try {
    parseConfig(input, 'deploy.config.json', env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('config was accepted');
}

describe('config validation', () => {
  it('accepts the shipped default config with the defaults filled in', () => {
    const config = loadConfig(path.resolve(__dirname, '..', '..', 'deploy.config.json'), {});
    expect(config.primaryRegion).toBe('us-east-1');
    expect(config.edge.stateCacheSeconds).toBe(60);
    expect(config.edge.runtime).toBe('nodejs22.x');
    expect(config.failoverRegion).toBe('eu-west-1');
    expect(Object.isFrozen(config.regions)).toBe(true);
  });

  it.each([
    ['unknown region', { ...valid, regions: ['us-east-1', 'eu-wst-1'] }, 'regions[1]: "eu-wst-1" is not an AWS region; did you mean "eu-west-1"?'],
    ['primary not among regions', { ...valid, primaryRegion: 'us-west-2' }, 'primaryRegion: "us-west-2" is not among regions [us-east-1, eu-west-1]; add it to regions or pick one of them.'],
    ['region where OAI cannot work', { ...valid, regions: ['us-east-1', 'ap-southeast-4'] }, `regions[1]: "ap-southeast-4" opened after December 2022, where CloudFront's origin access identity cannot read S3`],
    ['malformed domain', { ...valid, domain: 'https://Widget.example.com/' }, 'domain: is not a domain name; write it like widget.example.com'],
    ['empty region list', { ...valid, regions: [] }, 'regions: is empty; list at least the primary region'],
    ['domain outside the hosted zone', { ...valid, hostedZone: { name: 'example.org' } }, 'hostedZone.name: "example.org" does not contain domain "widget.example.com"'],
    ['duplicate region', { ...valid, regions: ['us-east-1', 'us-east-1'] }, 'regions[1]: "us-east-1" is listed twice'],
    ['failover region not a secondary', { ...valid, failoverRegion: 'us-east-1' }, 'failoverRegion: "us-east-1" must be one of regions other than the primary (eu-west-1).'],
    ['misspelt setting', { ...valid, domian: 'x' }, 'domian: is not a setting here; did you mean "domain"?'],
    ['missing domain', { ...valid, domain: undefined }, 'domain: is required.'],
    ['unknown rollout strategy', { ...valid, rollout: { strategy: 'blue' } }, 'rollout.strategy: "blue" is not allowed; use one of "canary", "linear", "all-at-once".'],
    ['linear step that leaves a remainder', { ...valid, rollout: { strategy: 'linear', percent: 30 } }, 'rollout.percent: is 30, which leaves a partial last step'],
    ['datapoints above periods', { ...valid, alarms: { evaluationPeriods: 2, datapointsToAlarm: 3 } }, 'alarms.datapointsToAlarm: is 3 but evaluationPeriods is 2'],
    ['origin with a path', { ...valid, metrics: { allowedOrigins: ['https://shop.example.com/'] } }, 'metrics.allowedOrigins[0]: is not an origin'],
    // Patterns the metrics API itself would refuse at cold start fail here, before synth.
    ['origin with an impossible port', { ...valid, metrics: { allowedOrigins: ['https://shop.example.com:99999'] } }, 'metrics.allowedOrigins[0]: is not an origin pattern'],
    ['origin with a label ending in a hyphen', { ...valid, metrics: { allowedOrigins: ['https://shop-.example.com'] } }, 'metrics.allowedOrigins[0]: is not an origin pattern'],
    ['no allowed origins', { ...valid, metrics: { allowedOrigins: [] } }, 'metrics.allowedOrigins: is empty'],
    ['edge runtime Lambda@Edge refuses', { ...valid, edge: { runtime: 'nodejs24.x' } }, 'edge.runtime: "nodejs24.x" is not allowed; use one of "nodejs22.x".'],
    ['an edge runtime Lambda no longer creates functions on', { ...valid, edge: { runtime: 'nodejs20.x' } }, 'edge.runtime: Lambda blocks creating nodejs20.x functions from 2026-08-31'],
    ['an unknown price class', { ...valid, edge: { priceClass: 'PriceClass_50' } }, 'edge.priceClass: "PriceClass_50" is not allowed; use one of "PriceClass_100", "PriceClass_200", "PriceClass_All".'],
    ['origin-request timeout over 30 s', { ...valid, edge: { timeoutSeconds: 31 } }, 'edge.timeoutSeconds:'],
    ['a setting of the DNS design (rollout record TTL)', { ...valid, dns: { rolloutRecordTtl: 30 } }, 'dns.rolloutRecordTtl: was removed with the _rollout DNS record'],
    ['a setting of the DNS design (refresh interval)', { ...valid, edge: { rolloutRefreshSeconds: 30 } }, 'edge.rolloutRefreshSeconds: was removed with the _rollout DNS record'],
    ['unsupported log retention', { ...valid, retention: { logRetentionDays: 10 } }, 'retention.logRetentionDays: must be one of the values CloudWatch Logs accepts'],
    ['unknown backend', { ...valid, backend: { type: 'gcs' } }, 'backend.type: "gcs" is not a backend; use one of "local", "cloud", "s3".'],
    ['Terraform Cloud without organization', { ...valid, backend: { type: 'cloud' } }, 'backend.organization: is missing for the Terraform Cloud backend; set it in the config or export TF_CLOUD_ORGANIZATION.'],
    ['name with capitals', { ...valid, name: 'MyWidget' }, 'name: must be 3 to 20 lowercase letters'],
  ])('rejects %s with a message naming the field and the fix', (_case, input, expected) => {
    const found = problems(input);
    expect(found.some((problem) => problem.startsWith(expected) || problem.includes(expected))).toBe(true);
  });

  it('reports every problem at once, not only the first', () => {
    expect(problems({ ...valid, domain: 'bad', regions: ['us-east-1', 'mars-1'], rollout: { percent: 0 } })).toHaveLength(3);
  });

  it('takes the Terraform Cloud organization and workspace prefix from the environment', () => {
    const config = parseConfig({ ...valid, backend: { type: 'cloud' } }, 'x', { TF_CLOUD_ORGANIZATION: 'acme', TF_WORKSPACE_PREFIX: 'widget-prod' });
    expect(config.backend).toEqual({ type: 'cloud', organization: 'acme', workspacePrefix: 'widget-prod', hostname: 'app.terraform.io' });
    const unsetInCi = parseConfig({ ...valid, backend: { type: 'cloud' } }, 'x', { TF_CLOUD_ORGANIZATION: 'acme', TF_WORKSPACE_PREFIX: '', TF_CLOUD_HOSTNAME: ' ' });
    expect(unsetInCi.backend).toEqual({ type: 'cloud', organization: 'acme', workspacePrefix: 'edge-widget', hostname: 'app.terraform.io' });
    expect(() => parseConfig({ ...valid, backend: { type: 'cloud' } }, 'x', { TF_CLOUD_ORGANIZATION: '' })).toThrow(/backend\.organization: is missing/);
  });

  it('names a file that is missing or not JSON', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'config-'));
    expect(() => loadConfig(path.join(dir, 'absent.json'), {})).toThrow(/cannot be read \(ENOENT\); create it or point DEPLOY_CONFIG/);
    writeFileSync(path.join(dir, 'broken.json'), '{ "domain": ');
    expect(() => loadConfig(path.join(dir, 'broken.json'), {})).toThrow(/is not JSON/);
  });
});

describe('derived names and rollout steps', () => {
  it('derives globally distinct, stable bucket names within S3 limits', () => {
    const names = resourceNames({ name: 'edge-widget', domain: 'widget.example.com' });
    const other = resourceNames({ name: 'edge-widget', domain: 'widget.example.org' });
    expect(names.bucket('ap-southeast-2')).toMatch(/^edge-widget-ap-southeast-2-[0-9a-f]{8}$/);
    expect(names.bucket('eu-west-1')).not.toBe(other.bucket('eu-west-1'));
    expect(names.bucket('ap-northeast-3').length).toBeLessThanOrEqual(63);
    expect(names.bucketDomain('eu-west-1')).toBe(`${names.bucket('eu-west-1')}.s3.eu-west-1.amazonaws.com`);
    expect(names.rolloutStore).toBe('edge-widget-rollout');
    expect(names.viewerAssignment).toBe('edge-widget-viewer-assignment');
  });

  it('maps strategies to CodeDeploy configs and to the weight steps the local simulator replays', () => {
    expect(predefinedDeploymentConfig({ strategy: 'canary', percent: 10, intervalMinutes: 5 })).toBe('CodeDeployDefault.LambdaCanary10Percent5Minutes');
    expect(predefinedDeploymentConfig({ strategy: 'canary', percent: 25, intervalMinutes: 5 })).toBeUndefined();
    expect(rolloutSteps({ strategy: 'canary', percent: 25, intervalMinutes: 5 })).toEqual([
      { atMinute: 0, weight: 2500 },
      { atMinute: 5, weight: 10000 },
    ]);
    const linear = rolloutSteps({ strategy: 'linear', percent: 25, intervalMinutes: 2 });
    expect(linear).toEqual([
      { atMinute: 0, weight: 2500 },
      { atMinute: 2, weight: 5000 },
      { atMinute: 4, weight: 7500 },
      { atMinute: 6, weight: 10000 },
    ]);
  });
});
