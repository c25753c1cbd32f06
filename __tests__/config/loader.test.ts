import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../config';

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

  it('accepts "$schema" (for editors) and leaves it out of the config', () => {
    const config = parseConfig({ $schema: './deploy.config.schema.json', ...valid });
    expect(Object.keys(config)).not.toContain('$schema');
    expect(config.domain).toBe('widget.example.com');
  });

  it.each([
    [
      'unknown region',
      { ...valid, regions: ['us-east-1', 'eu-wst-1'] },
      'regions[1]: "eu-wst-1" is not an AWS region; did you mean "eu-west-1"?',
    ],
    [
      'primary not among regions',
      { ...valid, primaryRegion: 'us-west-2' },
      'primaryRegion: "us-west-2" is not among regions [us-east-1, eu-west-1]; add it to regions or pick one of them.',
    ],
    [
      'region where OAI cannot work',
      { ...valid, regions: ['us-east-1', 'ap-southeast-4'] },
      `regions[1]: "ap-southeast-4" opened after December 2022, ` +
        `where CloudFront's origin access identity cannot read S3`,
    ],
    [
      'malformed domain',
      { ...valid, domain: 'https://Widget.example.com/' },
      'domain: is not a domain name; write it like widget.example.com',
    ],
    ['empty region list', { ...valid, regions: [] }, 'regions: is empty; list at least the primary region'],
    [
      'domain outside the hosted zone',
      { ...valid, hostedZone: { name: 'example.org' } },
      'hostedZone.name: "example.org" does not contain domain "widget.example.com"',
    ],
    ['duplicate region', { ...valid, regions: ['us-east-1', 'us-east-1'] }, 'regions[1]: "us-east-1" is listed twice'],
    [
      'failover region not a secondary',
      { ...valid, failoverRegion: 'us-east-1' },
      'failoverRegion: "us-east-1" must be one of regions other than the primary (eu-west-1).',
    ],
    ['misspelt setting', { ...valid, domian: 'x' }, 'domian: is not a setting here; did you mean "domain"?'],
    ['missing domain', { ...valid, domain: undefined }, 'domain: is required.'],
    [
      'unknown rollout strategy',
      { ...valid, rollout: { strategy: 'blue' } },
      'rollout.strategy: "blue" is not allowed; use one of "canary", "linear", "all-at-once".',
    ],
    [
      'linear step that leaves a remainder',
      { ...valid, rollout: { strategy: 'linear', percent: 30 } },
      'rollout.percent: is 30, which leaves a partial last step',
    ],
    [
      'datapoints above periods',
      { ...valid, alarms: { evaluationPeriods: 2, datapointsToAlarm: 3 } },
      'alarms.datapointsToAlarm: is 3 but evaluationPeriods is 2',
    ],
    [
      'a setting of the metrics API (allowed origins)',
      { ...valid, metrics: { allowedOrigins: ['https://*.example.com'] } },
      'metrics.allowedOrigins: was removed with the metrics API',
    ],
    [
      'a setting of the metrics API (rate limit)',
      { ...valid, metrics: { rateLimit: { enabled: true } } },
      'metrics.rateLimit: was removed with the metrics API',
    ],
    [
      'edge runtime Lambda@Edge refuses',
      { ...valid, edge: { runtime: 'nodejs24.x' } },
      'edge.runtime: "nodejs24.x" is not allowed; use one of "nodejs22.x".',
    ],
    [
      'an edge runtime Lambda no longer creates functions on',
      { ...valid, edge: { runtime: 'nodejs20.x' } },
      'edge.runtime: Lambda blocks creating nodejs20.x functions from 2026-08-31',
    ],
    [
      'an unknown price class',
      { ...valid, edge: { priceClass: 'PriceClass_50' } },
      'edge.priceClass: "PriceClass_50" is not allowed; use one ' +
        'of "PriceClass_100", "PriceClass_200", "PriceClass_All".',
    ],
    ['origin-request timeout over 30 s', { ...valid, edge: { timeoutSeconds: 31 } }, 'edge.timeoutSeconds:'],
    [
      'a setting of the DNS design (rollout record TTL)',
      { ...valid, dns: { rolloutRecordTtl: 30 } },
      'dns.rolloutRecordTtl: was removed with the _rollout DNS record',
    ],
    [
      'a setting of the DNS design (refresh interval)',
      { ...valid, edge: { rolloutRefreshSeconds: 30 } },
      'edge.rolloutRefreshSeconds: was removed with the _rollout DNS record',
    ],
    [
      'unsupported log retention',
      { ...valid, retention: { logRetentionDays: 10 } },
      'retention.logRetentionDays: must be one of the values CloudWatch Logs accepts',
    ],
    [
      'unknown backend',
      { ...valid, backend: { type: 'gcs' } },
      'backend.type: "gcs" is not a backend; use one of "local", "cloud", "s3".',
    ],
    [
      'Terraform Cloud without organization',
      { ...valid, backend: { type: 'cloud' } },
      'backend.organization: is missing for the Terraform Cloud ' +
        'backend; set it in the config or export TF_CLOUD_ORGANIZATION.',
    ],
    ['name with capitals', { ...valid, name: 'MyWidget' }, 'name: must be 3 to 20 lowercase letters'],
  ])('rejects %s with a message naming the field and the fix', (_case, input, expected) => {
    const found = problems(input);
    expect(found.some((problem) => problem.startsWith(expected) || problem.includes(expected))).toBe(true);
  });

  // Each mistake, alone in an otherwise valid config, gives exactly this one line.
  it.each([
    // Out of range: the limit, not also a rule between settings that read the bad value.
    ['a percent over 99', { rollout: { percent: 150 } }, 'rollout.percent: 150 is over the maximum of 99.'],
    [
      'a linear percent over 99',
      { rollout: { strategy: 'linear', percent: 150 } },
      'rollout.percent: 150 is over the maximum of 99.',
    ],
    ['a percent of 0', { rollout: { percent: 0 } }, 'rollout.percent: 0 is under the minimum of 1.'],
    [
      'an interval of 0 minutes',
      { rollout: { intervalMinutes: 0 } },
      'rollout.intervalMinutes: 0 is under the minimum of 1.',
    ],
    [
      'evaluation periods over 60, datapoints default',
      { alarms: { evaluationPeriods: 61 } },
      'alarms.evaluationPeriods: 61 is over the maximum of 60.',
    ],
    [
      'datapoints over 60 with periods over too',
      { alarms: { evaluationPeriods: 3, datapointsToAlarm: 61 } },
      'alarms.datapointsToAlarm: 61 is over the maximum of 60.',
    ],
    [
      'an excess error rate of 0',
      { alarms: { excessErrorPercent: 0 } },
      'alarms.excessErrorPercent: 0 is not more than 0.',
    ],
    [
      'a period that is not whole minutes',
      { alarms: { periodSeconds: 90 } },
      'alarms.periodSeconds: 90 is not a multiple of 60.',
    ],
    [
      'a compute budget over 100 %',
      { edge: { maxComputeUtilization: 101 } },
      'edge.maxComputeUtilization: 101 is over the maximum of 100.',
    ],
    [
      'a lateness under 5 s',
      { metrics: { latenessSeconds: 2 } },
      'metrics.latenessSeconds: 2 is under the minimum of 5.',
    ],
    [
      'a sampling rate over 100 %',
      { metrics: { samplingPercent: 101 } },
      'metrics.samplingPercent: 101 is over the maximum of 100.',
    ],
    [
      'a state bucket name too short',
      { backend: { type: 's3', bucket: 'ab', region: 'eu-west-1' } },
      'backend.bucket: is 2 characters long; at least 3 characters.',
    ],
    // Wrong types.
    ['a number written as a string', { rollout: { percent: '10' } }, 'rollout.percent: "10" is not a number.'],
    [
      'a fraction where a whole number goes',
      { dns: { bucketRecordTtl: 0.5 } },
      'dns.bucketRecordTtl: 0.5 is not a whole number.',
    ],
    ['a group that is not an object', { rollout: 5 }, 'rollout: 5 is not an object.'],
    ['a boolean written as a string', { customDomain: 'yes' }, 'customDomain: "yes" is not a boolean.'],
    ['a region list that is a string', { regions: 'us-east-1' }, 'regions: "us-east-1" is not an array.'],
    ['a backend that is a string', { backend: 'local' }, 'backend: "local" is not an object.'],
    ['a backend without its type', { backend: {} }, 'backend.type: is required.'],
    // Release notifications: what SNS would refuse, before anything is deployed.
    [
      'a notification email that is not an address',
      { notifications: { emails: ['Releases <releases@example.com>'] } },
      'notifications.emails[0]: is not an email address; write one address, like releases@example.com.',
    ],
    [
      'a plain-HTTP webhook',
      { notifications: { webhooks: ['http://hooks.example.com/widget'] } },
      'notifications.webhooks[0]: is not an https:// URL; SNS delivers to HTTPS endpoints only (no plain HTTP here).',
    ],
    // Unknown keys: one line each, with the nearest known setting.
    [
      'a misspelt group',
      { rollot: { percent: 10 } },
      'rollot: is not a setting here; did you mean "rollout"? Known settings: name, ' +
        'domain, hostedZone, customDomain, primaryRegion, regions, failoverRegion, rollout, ' +
        'alarms, retention, metrics, edge, regionalRuntime, dns, backend, notifications.',
    ],
    [
      'a misspelt nested setting',
      { hostedZone: { name: 'example.com', idd: 'Z123' } },
      'hostedZone.idd: is not a setting here; did you mean "id"? Known settings: name, id.',
    ],
    [
      'a setting of another backend kind',
      { backend: { type: 'local', bucket: 'state' } },
      'backend.bucket: is not a setting here. Known settings: type.',
    ],
    [
      'a setting of the s3 backend, misspelt',
      { backend: { type: 's3', bucket: 'state', region: 'eu-west-1', keyprefix: 'x' } },
      'backend.keyprefix: is not a setting here; did you mean "keyPrefix"? ' +
        'Known settings: type, bucket, region, keyPrefix, useLockfile.',
    ],
    // Bad regions.
    [
      'a misspelt primary region that is also listed',
      { primaryRegion: 'eu-wst-1', regions: ['us-east-1', 'eu-west-1'] },
      'primaryRegion: "eu-wst-1" is not an AWS region; did you mean "eu-west-1"?',
    ],
    [
      'a region that is no region at all',
      { regions: ['us-east-1', 'mars-1'] },
      'regions[1]: "mars-1" is not an AWS region; use a region code such as eu-west-1.',
    ],
    [
      'a number where a region goes',
      { regions: ['us-east-1', 5] },
      'regions[1]: 5 is not an AWS region; use a region code such as eu-west-1.',
    ],
    [
      'a primary region where CloudFront cannot read S3',
      { primaryRegion: 'ap-southeast-4', regions: ['ap-southeast-4'] },
      `regions[0]: "ap-southeast-4" opened after December 2022, where CloudFront's origin access ` +
        `identity cannot read S3, and the chunk router's origin rewrite needs it; choose another region.`,
    ],
    [
      'a state bucket in a misspelt region',
      { backend: { type: 's3', bucket: 'state', region: 'eu-wst-1' } },
      'backend.region: "eu-wst-1" is not an AWS region; did you mean "eu-west-1"?',
    ],
    // One shard carries the signal: a sampling rate it cannot take says the most it can.
    [
      'a sampling rate one shard cannot take at the expected peak',
      { metrics: { expectedLoadsPerDay: 100_000_000, samplingPercent: 50 } },
      'metrics.samplingPercent: metrics.samplingPercent (50) × 3472 entry loads a second at the peak ' +
        '(metrics.expectedLoadsPerDay × metrics.peakToAverage) is 1736 records a second, more than the 800 ' +
        'one shard is sized for: set metrics.samplingPercent to at most 23, or leave it out to have it chosen.',
    ],
    // Settings of the metrics API, which the real-time logs replaced: each says so, once.
    ...[
      'endpoint',
      'allowedOrigins',
      'throttleRatePerSecond',
      'throttleBurst',
      'maxBatch',
      'stateCacheSeconds',
      'originSecretGeneration',
      'rateLimit',
    ].map((key) => [
      `the removed metrics.${key}`,
      { metrics: { [key]: 1 } },
      `metrics.${key}: was removed with the metrics API: the widget no longer posts beacons. CloudFront logs ` +
        `every entry load and every error report (GET /api/e on the distribution) in real time, and a consumer ` +
        `counts them, so there is no endpoint, origin list, throttle, secret or rate limit to set. Delete it.`,
    ]),
  ] as [string, Record<string, unknown>, string][])('says %s in exactly one line', (_case, change, expected) => {
    expect(problems({ ...valid, ...change })).toEqual([expected]);
  });

  it('reports every problem at once, not only the first', () => {
    expect(problems({ ...valid, domain: 'bad', regions: ['us-east-1', 'mars-1'], rollout: { percent: 0 } })).toEqual([
      'domain: is not a domain name; write it like widget.example.com (lowercase, no scheme, no trailing dot).',
      'regions[1]: "mars-1" is not an AWS region; use a region code such as eu-west-1.',
      'rollout.percent: 0 is under the minimum of 1.',
    ]);
  });

  it('still checks rules between valid settings when another setting is wrong', () => {
    expect(problems({ ...valid, primaryRegion: 'us-west-2', rollout: { percent: 150 } })).toEqual([
      'rollout.percent: 150 is over the maximum of 99.',
      'primaryRegion: "us-west-2" is not among regions [us-east-1, eu-west-1]; add it to regions or pick one of them.',
    ]);
  });

  describe("the routers' bounds against their timeout", () => {
    const THREE_REGIONS = { regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'] };

    it(
      'refuses the bounds that used to be the defaults, before ' +
        'synth, naming the settings, the figures and the fix',
      () => {
        // edge.bucketTimeoutMs was 2000: three bucket reads in turn did not fit the 5 s timeout.
        expect(
          problems({
            ...valid,
            ...THREE_REGIONS,
            edge: { timeoutSeconds: 5, storeTimeoutMs: 500, dnsTimeoutMs: 200, bucketTimeoutMs: 2000 },
          }),
        ).toEqual([
          "edge: the entry router's longest request (/assets/index.js when the viewer-assignment function " +
            'could not read the state) can take edge.storeTimeoutMs (500) + edge.dnsTimeoutMs (200) + ' +
            'edge.bucketTimeoutMs (2000) × 3 bucket reads + cold start (1000) = 7700 ms, which does not fit ' +
            "edge.timeoutSeconds (5 s): past it the viewer gets CloudFront's function " +
            "execution error instead of the router's answer. Lower edge.bucketTimeoutMs " +
            'to at most 1100 or raise edge.timeoutSeconds to at least 8.',
        ]);
      },
    );

    it('counts the buckets the router tries: two with two regions, one with one', () => {
      expect(problems({ ...valid, edge: { bucketTimeoutMs: 2000 } })).toEqual([
        expect.stringContaining('edge.bucketTimeoutMs (2000) × 2 bucket reads + cold start (1000) = 5700 ms'),
      ]);
      expect(problems({ ...valid, regions: ['us-east-1'], edge: { bucketTimeoutMs: 4000 } })).toEqual([
        expect.stringContaining(
          'edge.bucketTimeoutMs (4000) × 1 bucket read + cold start ' +
            '(1000) = 5700 ms, which does not fit edge.timeoutSeconds (5 s)',
        ),
      ]);
      expect(
        parseConfig({ ...valid, regions: ['us-east-1'], edge: { bucketTimeoutMs: 3300 } }).edge.bucketTimeoutMs,
      ).toBe(3300);
    });

    it('offers only the fix that exists', () => {
      // No bucket bound of at least 100 ms fits 1 s.
      expect(problems({ ...valid, edge: { timeoutSeconds: 1 } })).toEqual([
        expect.stringMatching(
          /= 3700 ms, which does not fit edge\.timeoutSeconds \(1 s\): .* Raise edge\.timeoutSeconds to at least 4\.$/,
        ),
      ]);
      // Past Lambda@Edge's 30 s: only a lower bound helps.
      expect(
        problems({
          ...valid,
          ...THREE_REGIONS,
          edge: { timeoutSeconds: 30, storeTimeoutMs: 5000, dnsTimeoutMs: 5000, bucketTimeoutMs: 10000 },
        }),
      ).toEqual([expect.stringMatching(/= 41000 ms, .* Lower edge\.bucketTimeoutMs to at most 6333\.$/)]);
      // Neither: past 30 s, and the other bounds alone take more than 5 s.
      expect(
        problems({
          ...valid,
          ...THREE_REGIONS,
          edge: { timeoutSeconds: 5, storeTimeoutMs: 5000, dnsTimeoutMs: 5000, bucketTimeoutMs: 10000 },
        }),
      ).toEqual([
        expect.stringMatching(
          new RegExp(
            'Lower edge\\.storeTimeoutMs, edge\\.dnsTimeoutMs, edge\\.bucketTimeoutMs until the sum fits 30 s, ' +
              "Lambda@Edge's longest origin-request timeout\\.$",
          ),
        ),
      ]);
    });

    it.each([
      ['one region', { regions: ['us-east-1'] }],
      ['two regions', {}],
      ['three regions', THREE_REGIONS],
      [
        'five regions, a failover region named',
        {
          regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'ap-northeast-1', 'sa-east-1'],
          failoverRegion: 'sa-east-1',
        },
      ],
    ])('accepts the defaults with %s', (_case, change) => {
      const config = parseConfig({ ...valid, ...change });
      expect(config.edge).toMatchObject({
        timeoutSeconds: 5,
        storeTimeoutMs: 500,
        dnsTimeoutMs: 200,
        bucketTimeoutMs: 1000,
      });
    });

    it('leaves a bound out of range to its own message', () => {
      expect(problems({ ...valid, edge: { bucketTimeoutMs: 20000 } })).toEqual([
        'edge.bucketTimeoutMs: 20000 is over the maximum of 10000.',
      ]);
      expect(problems({ ...valid, edge: { timeoutSeconds: 31 } })).toEqual([
        'edge.timeoutSeconds: 31 is over the maximum of 30.',
      ]);
    });
  });

  it('names a top level that is not an object', () => {
    expect(problems(['us-east-1'])).toEqual(['top level: ["us-east-1"] is not an object.']);
    expect(problems(null)).toEqual(['top level: null is not an object.']);
  });

  it('takes the Terraform Cloud organization and workspace prefix from the environment', () => {
    const config = parseConfig({ ...valid, backend: { type: 'cloud' } }, 'x', {
      TF_CLOUD_ORGANIZATION: 'acme',
      TF_WORKSPACE_PREFIX: 'widget-prod',
    });
    expect(config.backend).toEqual({
      type: 'cloud',
      organization: 'acme',
      workspacePrefix: 'widget-prod',
      hostname: 'app.terraform.io',
    });
    const unsetInCi = parseConfig({ ...valid, backend: { type: 'cloud' } }, 'x', {
      TF_CLOUD_ORGANIZATION: 'acme',
      TF_WORKSPACE_PREFIX: '',
      TF_CLOUD_HOSTNAME: ' ',
    });
    expect(unsetInCi.backend).toEqual({
      type: 'cloud',
      organization: 'acme',
      workspacePrefix: 'edge-widget',
      hostname: 'app.terraform.io',
    });
    expect(() => parseConfig({ ...valid, backend: { type: 'cloud' } }, 'x', { TF_CLOUD_ORGANIZATION: '' })).toThrow(
      /backend\.organization: is missing/,
    );
  });
});

describe('loading the file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function load(text: string): string {
    const file = path.join(dir, 'deploy.config.json');
    writeFileSync(file, text);
    try {
      loadConfig(file, {});
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return (error as ConfigError).message;
    }
    throw new Error('config was accepted');
  }

  it('names a file that is missing', () => {
    expect(() => loadConfig(path.join(dir, 'absent.json'), {})).toThrow(
      /cannot be read \(ENOENT\); create it or point DEPLOY_CONFIG/,
    );
  });

  it('says where a file stops being JSON: line, column, the line and a caret under the spot', () => {
    const message = load(['{', `  "domain": "widget.example.com",`, `  "regions": ["us-east-1",],`, '}'].join('\n'));
    expect(message.replace(/^.*deploy\.config\.json/, 'deploy.config.json')).toBe(
      [
        'deploy.config.json is not valid (1 problem):',
        '  - is not JSON at line 3, column 26: a comma before ]: JSON allows no trailing comma; delete it.',
        '    3 |   "regions": ["us-east-1",],',
        '      |                          ^',
      ].join('\n'),
    );
  });

  it('says where the JSON ends early, and which bracket is left open', () => {
    expect(load('{ "domain": ')).toContain(
      'is not JSON at line 1, column 13: the file ends where a value ' +
        'should be; the { at line 1, column 1 is never closed with }.',
    );
  });

  it('reads a file an editor saved with a byte order mark and CRLF line ends', () => {
    const file = path.join(dir, 'deploy.config.json');
    writeFileSync(file, `\uFEFF${JSON.stringify(valid, null, 2).replace(/\n/g, '\r\n')}`);
    expect(loadConfig(file, {}).domain).toBe('widget.example.com');
  });

  it('validates after parsing, naming the file', () => {
    expect(load(JSON.stringify({ ...valid, rollout: { percent: 150 } }))).toMatch(
      /deploy\.config\.json is not valid \(1 problem\):\n {2}- rollout\.percent: 150 is over the maximum of 99\.$/,
    );
  });
});
