import { resourceNames } from '../../config';
import { checkStacks, formatViolations, POLICY_RULES } from '../../stacks/policy';
import {
  dataSources,
  resources,
  type Block,
  type Element,
  type SynthStack,
  type TerraformJson,
} from '../../stacks/policy/terraform-json';
import { FIVE_REGIONS, synthesize, testConfig } from './support';

describe('every synthesized stack passes every policy rule', () => {
  it.each([
    ['one region, custom domain', testConfig()],
    ['five regions', testConfig(FIVE_REGIONS)],
    ['CloudFront domain only', testConfig({ customDomain: false })],
    [
      'custom canary, Terraform Cloud',
      testConfig({
        rollout: { strategy: 'canary', percent: 25, intervalMinutes: 3 },
        backend: { type: 'cloud', organization: 'acme' },
      }),
    ],
    [
      'a sampled signal, longer periods',
      testConfig({
        ...FIVE_REGIONS,
        metrics: { expectedLoadsPerDay: 100_000_000, latenessSeconds: 60 },
        alarms: { periodSeconds: 300 },
      }),
    ],
  ])('%s', (_label, config) => {
    const violations = checkStacks(synthesize(config).all);
    expect(formatViolations(violations)).toBe('');
  });
});

/** Each rule must catch what it is about: a clean synth, one mutation, that rule reports it. */
describe('each rule catches a violating input', () => {
  let clean: SynthStack[];
  let names: ReturnType<typeof resourceNames>;
  beforeAll(() => {
    const synth = synthesize(testConfig(FIVE_REGIONS));
    clean = synth.all;
    names = resourceNames(synth.config);
  });

  /** A deep copy of the clean synth with `mutate` applied to the named stack. */
  function mutated(stack: 'replicas' | 'delivery', mutate: (tf: TerraformJson) => void): SynthStack[] {
    const copy = structuredClone(clean);
    const target = copy.find((s) => s.name.endsWith(stack === 'replicas' ? '-replicas' : '-delivery'))!;
    mutate(target.json);
    return copy;
  }

  function violationsOf(rule: string, stacks: SynthStack[]): string[] {
    return stacks.flatMap((stack) => POLICY_RULES[rule]!(stack)).map((v) => `${v.address}: ${v.message}`);
  }

  const first = (tf: TerraformJson, type: string, where: (e: Element) => boolean = () => true): Block =>
    resources(tf, type).find(where)!.body;
  const document = (tf: TerraformJson, where: (statements: Block[]) => boolean): Block[] =>
    dataSources(tf, 'aws_iam_policy_document')
      .map((d) => d.body.statement as Block[])
      .find(where)!;

  it('starts clean', () => {
    for (const rule of Object.keys(POLICY_RULES)) expect(violationsOf(rule, clean)).toEqual([]);
  });

  it('s3-public-access-blocked', () => {
    const violations = violationsOf(
      's3-public-access-blocked',
      mutated('replicas', (tf) => {
        first(tf, 'aws_s3_bucket_public_access_block').restrict_public_buckets = false;
      }),
    );
    expect(violations).toEqual([expect.stringMatching(/^aws_s3_bucket\..*does not set all of/)]);
    const missing = mutated('delivery', (tf) => {
      delete tf.resource!.aws_s3_bucket_public_access_block;
    });
    expect(violationsOf('s3-public-access-blocked', missing)).toEqual([
      expect.stringMatching(/has no public access block/),
    ]);
  });

  it('s3-encrypted', () => {
    const kms = mutated('replicas', (tf) => {
      first(tf, 'aws_s3_bucket_server_side_encryption_configuration').rule = [
        { apply_server_side_encryption_by_default: { sse_algorithm: 'aws:kms' } },
      ];
    });
    expect(violationsOf('s3-encrypted', kms)).toEqual([
      expect.stringMatching(/origin access identity but is not SSE-S3/),
    ]);
    const none = mutated('delivery', (tf) => {
      delete tf.resource!.aws_s3_bucket_server_side_encryption_configuration;
    });
    expect(violationsOf('s3-encrypted', none)).toEqual([expect.stringMatching(/has no default encryption/)]);
  });

  it('s3-tls-only', () => {
    const stacks = mutated('replicas', (tf) => {
      const statements = document(tf, (s) => s.some((st) => st.sid === 'DenyInsecureTransport'));
      statements.splice(
        statements.findIndex((st) => st.sid === 'DenyInsecureTransport'),
        1,
      );
    });
    expect(violationsOf('s3-tls-only', stacks)).toEqual([expect.stringMatching(/denying requests without TLS/)]);
  });

  it('s3-acls-disabled', () => {
    const stacks = mutated('replicas', (tf) => {
      first(tf, 'aws_s3_bucket_ownership_controls').rule = { object_ownership: 'BucketOwnerPreferred' };
    });
    expect(violationsOf('s3-acls-disabled', stacks)).toEqual([
      expect.stringMatching(/BucketOwnerPreferred, not BucketOwnerEnforced/),
    ]);
    // The log bucket may keep ACLs only while CloudFront logs to it.
    const notLogging = mutated('delivery', (tf) => {
      delete first(tf, 'aws_cloudfront_distribution').logging_config;
    });
    expect(violationsOf('s3-acls-disabled', notLogging)).toEqual([
      expect.stringMatching(/access-logs.*not BucketOwnerEnforced/),
    ]);
  });

  it('s3-lifecycle-aborts-multipart', () => {
    const stacks = mutated('replicas', (tf) => {
      const lifecycle = first(tf, 'aws_s3_bucket_lifecycle_configuration');
      lifecycle.rule = (lifecycle.rule as Block[]).filter((r) => !r.abort_incomplete_multipart_upload);
    });
    expect(violationsOf('s3-lifecycle-aborts-multipart', stacks)).toEqual([
      expect.stringMatching(/aborting incomplete multipart uploads/),
    ]);
  });

  it('iam-no-wildcard-actions', () => {
    const stacks = mutated('delivery', (tf) => {
      document(tf, (s) => s.some((st) => st.sid === 'SeeOwnDeployments')).push({
        effect: 'Allow',
        actions: ['codedeploy:*', '*'],
        resources: ['arn:aws:codedeploy:us-east-1:1:application:x'],
      });
    });
    expect(violationsOf('iam-no-wildcard-actions', stacks)).toEqual([
      expect.stringMatching(/allows codedeploy:\*, \*/),
    ]);
  });

  it('iam-scoped-resources', () => {
    const unscoped = mutated('delivery', (tf) => {
      document(tf, (s) => s.some((st) => st.sid === 'ReadWriteRolloutState')).find(
        (st) => st.sid === 'ReadWriteRolloutState',
      )!.resources = ['*'];
    });
    expect(violationsOf('iam-scoped-resources', unscoped)).toEqual([
      expect.stringMatching(
        new RegExp(
          'allows cloudfront-keyvaluestore:DescribeKeyValueStore, cloudfront-keyvaluestore:GetKey, ' +
            'cloudfront-keyvaluestore:PutKey on every resource',
        ),
      ),
    ]);
    // An action IAM cannot scope may have `*`, but only with a condition (none of the roles needs one now: metrics are
    // log lines).
    const unconditioned = mutated('delivery', (tf) => {
      document(tf, (s) => s.some((st) => st.sid === 'ReadWriteRolloutState')).push({
        sid: 'PutMetrics',
        effect: 'Allow',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
      });
    });
    expect(violationsOf('iam-scoped-resources', unconditioned)).toEqual([
      expect.stringMatching(/PutMetricData on \* without a condition/),
    ]);
    const conditioned = mutated('delivery', (tf) => {
      document(tf, (s) => s.some((st) => st.sid === 'ReadWriteRolloutState')).push({
        sid: 'PutMetrics',
        effect: 'Allow',
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        condition: [{ test: 'StringEquals', variable: 'cloudwatch:namespace', values: ['EdgeWidget'] }],
      });
    });
    expect(violationsOf('iam-scoped-resources', conditioned)).toEqual([]);
    const literal = mutated('delivery', (tf) => {
      first(tf, 'aws_iam_role_policy').policy = JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: '*' }],
      });
    });
    expect(violationsOf('iam-scoped-resources', literal)).toEqual([
      expect.stringMatching(/^aws_iam_role_policy\..*lambda:InvokeFunction on every resource/),
    ]);
  });

  it('iam-reference', () => {
    const rolloutSync = (tf: TerraformJson) => document(tf, (s) => s.some((st) => st.sid === 'SeeOwnDeployments'));
    // The defect this rule was written for: StopDeployment takes no resource, so on the group's ARN it grants nothing.
    const onArn = mutated('delivery', (tf) => {
      const statements = rolloutSync(tf);
      const see = statements.find((st) => st.sid === 'SeeOwnDeployments')!;
      see.actions = [...(see.actions as string[]), 'codedeploy:StopDeployment'];
      statements.splice(
        statements.findIndex((st) => st.sid === 'StopDeploymentTakesNoResource'),
        1,
      );
    });
    expect(violationsOf('iam-reference', onArn)).toEqual([
      expect.stringMatching(
        /SeeOwnDeployments: codedeploy:StopDeployment takes no resource, so only Resource "\*" grants it/,
      ),
    ]);
    const misspelt = mutated('delivery', (tf) => {
      rolloutSync(tf).push({ sid: 'Typo', effect: 'Allow', actions: ['codedeploy:StopDeployments'], resources: ['*'] });
    });
    expect(violationsOf('iam-reference', misspelt)).toEqual([
      expect.stringMatching(
        /Typo: codedeploy:StopDeployments is not an action in AWS's service authorization reference/,
      ),
    ]);
    // CloudFront's KeyValueStore actions on a Lambda function: an ARN of a type the action does not take grants
    // nothing.
    const wrongType = mutated('delivery', (tf) => {
      rolloutSync(tf).push({
        sid: 'WrongType',
        effect: 'Allow',
        actions: ['cloudfront-keyvaluestore:GetKey'],
        resources: [`arn:aws:lambda:us-east-1:123456789012:function:${names.entryRouter}`],
      });
    });
    expect(violationsOf('iam-reference', wrongType)).toEqual([
      expect.stringMatching(
        /WrongType: none of .* is an ARN of a type cloudfront-keyvaluestore:GetKey takes \(key-value-store\)/,
      ),
    ]);
    // The KeyValueStore data plane supports no tag condition: the condition would never hold.
    const unsupportedKey = mutated('delivery', (tf) => {
      const statement = rolloutSync(tf).find((st) => st.sid === 'ReadWriteRolloutState')!;
      statement.condition = [
        { test: 'StringEquals', variable: 'aws:ResourceTag/Distribution', values: [names.rolloutStore] },
      ];
    });
    // ListStreams takes no resource: on the stream's ARN, next to the reads that do, it would be no grant.
    const listOnArn = mutated('delivery', (tf) => {
      const statements = document(tf, (s) => s.some((st) => st.sid === 'ListStreamsTakesNoResource'));
      const read = statements.find((st) => st.sid === 'ReadSignalStream')!;
      read.actions = [...(read.actions as string[]), 'kinesis:ListStreams'];
      statements.splice(
        statements.findIndex((st) => st.sid === 'ListStreamsTakesNoResource'),
        1,
      );
    });
    expect(violationsOf('iam-reference', listOnArn)).toEqual([
      expect.stringMatching(/ReadSignalStream: kinesis:ListStreams takes no resource, so only Resource "\*" grants it/),
    ]);
    expect(violationsOf('iam-reference', unsupportedKey)).toEqual([
      expect.stringMatching(
        new RegExp(
          'ReadWriteRolloutState: cloudfront-keyvaluestore:DescribeKeyValueStore does not support the condition ' +
            'key aws:ResourceTag\\/Distribution',
        ),
      ),
      expect.stringMatching(/cloudfront-keyvaluestore:GetKey does not support/),
      expect.stringMatching(/cloudfront-keyvaluestore:PutKey does not support/),
    ]);
  });

  it('iam-permissions-boundary', () => {
    const stacks = mutated('delivery', (tf) => {
      const role = first(tf, 'aws_iam_role', (r) => r.body.name === names.rolloutSync);
      delete role.permissions_boundary;
    });
    expect(violationsOf('iam-permissions-boundary', stacks)).toEqual([
      expect.stringMatching(
        /^aws_iam_role\..*has no permissions boundary <name>-permissions-boundary \(permissions_boundary: none\)/,
      ),
    ]);
    const another = mutated('delivery', (tf) => {
      first(tf, 'aws_iam_role').permissions_boundary = 'arn:aws:iam::aws:policy/AdministratorAccess';
    });
    expect(violationsOf('iam-permissions-boundary', another)).toHaveLength(1);
  });

  it('cloudfront-https-only', () => {
    const stacks = mutated('delivery', (tf) => {
      const distribution = first(tf, 'aws_cloudfront_distribution');
      (distribution.ordered_cache_behavior as Block[])[0]!.viewer_protocol_policy = 'allow-all';
      (distribution.ordered_cache_behavior as Block[]).find(
        (b) => b.path_pattern === '/api/e',
      )!.viewer_protocol_policy = 'allow-all';
      // The stacks have no custom origin any more; one added would be held to HTTPS and TLS 1.2.
      (distribution.origin as Block[]).push({
        origin_id: 'custom',
        domain_name: 'origin.example.com',
        custom_origin_config: {
          http_port: 80,
          https_port: 443,
          origin_protocol_policy: 'match-viewer',
          origin_ssl_protocols: ['TLSv1', 'TLSv1.2'],
        },
      });
    });
    expect(violationsOf('cloudfront-https-only', stacks)).toEqual([
      expect.stringMatching(/behaviour \/assets\/index.js lets viewers use allow-all/),
      expect.stringMatching(/behaviour \/api\/e lets viewers use allow-all/),
      expect.stringMatching(/origin custom is reached over match-viewer/),
      expect.stringMatching(/origin custom accepts TLSv1$/),
    ]);
  });

  it('cloudfront-tls-floor', () => {
    const stacks = mutated('delivery', (tf) => {
      (first(tf, 'aws_cloudfront_distribution').viewer_certificate as Block).minimum_protocol_version = 'TLSv1.1_2016';
    });
    expect(violationsOf('cloudfront-tls-floor', stacks)).toEqual([
      expect.stringMatching(/TLSv1.1_2016, below TLSv1.2_2021/),
    ]);
  });

  it('cloudfront-logging', () => {
    const stacks = mutated('delivery', (tf) => {
      delete first(tf, 'aws_cloudfront_distribution').logging_config;
    });
    expect(violationsOf('cloudfront-logging', stacks)).toEqual([expect.stringMatching(/has no access logging/)]);
  });

  it('lambda-edge: associations name a published version', () => {
    const stacks = mutated('delivery', (tf) => {
      const association = (
        (first(tf, 'aws_cloudfront_distribution').default_cache_behavior as Block)
          .lambda_function_association as Block[]
      )[0]!;
      association.lambda_arn = String(association.lambda_arn).replace('qualified_arn', 'arn');
    });
    expect(violationsOf('lambda-edge', stacks)).toEqual([
      expect.stringMatching(/behaviour default .* not associated with a published version's qualified_arn/),
    ]);
    const alias = mutated('delivery', (tf) => {
      const [aliasId] = Object.keys(tf.resource!.aws_lambda_alias!);
      (
        (first(tf, 'aws_cloudfront_distribution').ordered_cache_behavior as Block[])[0]!
          .lambda_function_association as Block[]
      )[0]!.lambda_arn = `\${aws_lambda_alias.${aliasId}.arn}`;
    });
    expect(violationsOf('lambda-edge', alias)).toHaveLength(1);
  });

  it('lambda-edge: the function itself', () => {
    const stacks = mutated('delivery', (tf) => {
      const entry = first(tf, 'aws_lambda_function', (f) => f.body.function_name === names.entryRouter);
      Object.assign(entry, {
        provider: 'aws.eu-west-1',
        environment: { variables: { A: 'b' } },
        publish: false,
        runtime: 'nodejs24.x',
        timeout: 31,
        memory_size: 20000,
        layers: ['arn:aws:lambda:us-east-1:1:layer:x:1'],
        architectures: ['arm64'],
      });
      const trust = document(tf, (s) => s.some((st) => JSON.stringify(st).includes('edgelambda.amazonaws.com')));
      trust[0]!.principals = [{ type: 'Service', identifiers: ['lambda.amazonaws.com'] }];
    });
    const violations = violationsOf('lambda-edge', stacks).join('\n');
    for (const problem of [
      'is created in eu-west-1, not us-east-1',
      'has environment variables',
      'does not publish versions',
      'runtime nodejs24.x is not one Lambda@Edge accepts',
      'timeout 31 s exceeds 30 s',
      'memory 20000 MB exceeds 10240 MB',
      'has layers',
      'architecture arm64 is not x86_64',
      'its role is not assumable by edgelambda.amazonaws.com',
    ]) {
      expect(violations).toContain(problem);
    }
  });

  it('log-retention', () => {
    const stacks = mutated('delivery', (tf) => {
      delete first(tf, 'aws_cloudwatch_log_group').retention_in_days;
    });
    expect(violationsOf('log-retention', stacks)).toEqual([expect.stringMatching(/keeps logs forever/)]);
  });

  it('explicit-provider', () => {
    const stacks = mutated('replicas', (tf) => {
      delete first(tf, 'aws_s3_bucket').provider;
      first(tf, 'aws_route53_record').provider = 'aws.eu-central-1';
    });
    expect(violationsOf('explicit-provider', stacks).sort()).toEqual([
      expect.stringMatching(/^aws_route53_record\..*uses aws.eu-central-1, not one of/),
      expect.stringMatching(/^aws_s3_bucket\..*uses the default provider/),
    ]);
  });
});
