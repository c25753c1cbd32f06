import { AcmCertificate } from '@cdktf/provider-aws/lib/acm-certificate';
import { CloudfrontDistribution } from '@cdktf/provider-aws/lib/cloudfront-distribution';
import { CloudfrontMonitoringSubscription } from '@cdktf/provider-aws/lib/cloudfront-monitoring-subscription';
import { Route53Record } from '@cdktf/provider-aws/lib/route53-record';
import { resourceNames } from '../../config';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { MANAGED_CACHE_POLICY_CACHING_DISABLED } from '../../stacks/constructs/distribution';
import type { Block } from '../../stacks/policy/terraform-json';
import { BUILD_DIR } from '../fixtures/build';
import { bodies, FIVE_REGIONS, only, ref, synthesize, testConfig, type SynthesizedStack } from './support';

function behaviour(distribution: Block, path: string): Block {
  if (path === 'default') return distribution.default_cache_behavior as Block;
  const found = (distribution.ordered_cache_behavior as Block[]).find((b) => b.path_pattern === path);
  if (!found) throw new Error(`no behaviour ${path}`);
  return found;
}

function byRef(stack: SynthesizedStack, type: string, reference: unknown): Block {
  const match = new RegExp(`^\\$\\{${type}\\.([^.]+)\\.[a-z_]+\\}$`).exec(String(reference));
  if (!match) throw new Error(`${String(reference)} is not a ${type} reference`);
  return stack.json.resource![type]![match[1]!]!;
}

describe('distribution', () => {
  it('fails over from the primary bucket to the failover region (five regions)', () => {
    const { delivery, config } = synthesize(testConfig(FIVE_REGIONS));
    const names = resourceNames(config);
    const distribution = only(delivery, 'aws_cloudfront_distribution');
    const origins = distribution.origin as Block[];
    const s3 = origins.filter((o) => o.s3_origin_config);
    expect(s3.map((o) => o.domain_name)).toEqual([
      names.bucketDomain(config.primaryRegion),
      names.bucketDomain(config.failoverRegion!),
    ]);
    for (const origin of s3)
      expect((origin.s3_origin_config as Block).origin_access_identity).toMatch(
        /^\$\{data\.terraform_remote_state\.[^}]+\}$/,
      );
    expect(distribution.origin_group).toEqual([
      {
        origin_id: 'replicas',
        failover_criteria: { status_codes: [403, 404, 500, 502, 503, 504] },
        member: [{ origin_id: `replica-${config.primaryRegion}` }, { origin_id: `replica-${config.failoverRegion}` }],
      },
    ]);
    expect(behaviour(distribution, 'default').target_origin_id).toBe('replicas');
    expect(behaviour(distribution, '/assets/index.js').target_origin_id).toBe('replicas');
  });

  it('has no origin group with one region', () => {
    const { delivery } = synthesize(testConfig());
    const distribution = only(delivery, 'aws_cloudfront_distribution');
    expect(distribution.origin_group).toBeUndefined();
    expect(behaviour(distribution, 'default').target_origin_id).toBe('replica-us-east-1');
  });

  it(
    'assigns /assets/index.js at the viewer edge from the rollout store, caches it per build and encoding, and ' +
      'tells browsers no-cache',
    () => {
      const { delivery, config, manifest } = synthesize(testConfig());
      const distribution = only(delivery, 'aws_cloudfront_distribution');
      const entry = behaviour(distribution, '/assets/index.js');
      const entryRouter = only(
        delivery,
        'aws_lambda_function',
        (f) => f.function_name === resourceNames(config).entryRouter,
      );
      expect(entry).toMatchObject({
        compress: false,
        viewer_protocol_policy: 'redirect-to-https',
        allowed_methods: ['GET', 'HEAD'],
        lambda_function_association: [
          {
            event_type: 'origin-request',
            include_body: false,
            lambda_arn: ref(delivery, 'aws_lambda_function', entryRouter, 'qualified_arn'),
          },
        ],
      });
      // The viewer-assignment function, published from the build's file byte for byte, reading the store.
      const store = only(delivery, 'aws_cloudfront_key_value_store');
      const assignment = byRef(
        delivery,
        'aws_cloudfront_function',
        (entry.function_association as Block[])[0]!.function_arn,
      );
      expect(entry.function_association).toEqual([
        { event_type: 'viewer-request', function_arn: ref(delivery, 'aws_cloudfront_function', assignment, 'arn') },
      ]);
      expect(assignment).toMatchObject({
        name: resourceNames(config).viewerAssignment,
        runtime: 'cloudfront-js-2.0',
        publish: true,
        key_value_store_associations: [ref(delivery, 'aws_cloudfront_key_value_store', store, 'arn')],
      });
      expect(assignment.code).toBe(
        readFileSync(path.join(BUILD_DIR, manifest.cloudFrontFunctions['viewer-assignment'].file), 'utf8'),
      );
      // The cache key: the rewritten URI and the normalized Accept-Encoding, nothing per viewer; as long as the router
      // allows.
      const cache = byRef(delivery, 'aws_cloudfront_cache_policy', entry.cache_policy_id);
      expect(cache).toMatchObject({ min_ttl: 0, default_ttl: 31_536_000, max_ttl: 31_536_000 });
      expect(cache.parameters_in_cache_key_and_forwarded_to_origin).toEqual({
        enable_accept_encoding_brotli: true,
        enable_accept_encoding_gzip: true,
        headers_config: { header_behavior: 'none' },
        cookies_config: { cookie_behavior: 'none' },
        query_strings_config: { query_string_behavior: 'none' },
      });
      // Referer reaches the router's fallback (ring hosts), outside the cache key.
      const originRequest = byRef(delivery, 'aws_cloudfront_origin_request_policy', entry.origin_request_policy_id);
      expect(originRequest).toMatchObject({
        headers_config: { header_behavior: 'whitelist', headers: { items: ['referer'] } },
        cookies_config: { cookie_behavior: 'none' },
        query_strings_config: { query_string_behavior: 'none' },
      });
      const headers = byRef(delivery, 'aws_cloudfront_response_headers_policy', entry.response_headers_policy_id);
      expect(headers.custom_headers_config).toEqual({
        items: [{ header: 'Cache-Control', value: 'no-cache', override: true }],
      });
      expect(headers.cors_config).toMatchObject({
        access_control_allow_origins: { items: ['*'] },
        access_control_allow_credentials: false,
      });
    },
  );

  it(
    "sends a build's entry asked for by its own URL to the entry router, before the chunks, without assignment, " +
      "keeping the router's Cache-Control",
    () => {
      const { delivery, config } = synthesize(testConfig(FIVE_REGIONS));
      const distribution = only(delivery, 'aws_cloudfront_distribution');
      const patterns = (distribution.ordered_cache_behavior as Block[]).map((b) => b.path_pattern);
      // First match wins, and the default behaviour (the chunks) comes after every ordered one.
      expect(patterns.indexOf('/assets/*/index.js')).toBe(patterns.indexOf('/assets/index.js') + 1);
      const buildEntry = behaviour(distribution, '/assets/*/index.js');
      const entry = behaviour(distribution, '/assets/index.js');
      const entryRouter = only(
        delivery,
        'aws_lambda_function',
        (f) => f.function_name === resourceNames(config).entryRouter,
      );
      expect(buildEntry).toMatchObject({
        target_origin_id: 'replicas',
        compress: false,
        viewer_protocol_policy: 'redirect-to-https',
        allowed_methods: ['GET', 'HEAD'],
        // The entry's cache key: the URI and the normalized Accept-Encoding.
        cache_policy_id: entry.cache_policy_id,
        lambda_function_association: [
          {
            event_type: 'origin-request',
            include_body: false,
            lambda_arn: ref(delivery, 'aws_lambda_function', entryRouter, 'qualified_arn'),
          },
        ],
      });
      // The viewer-assignment function runs here as the revocation gate (it rewrites nothing on this path: the
      // harness tests show it), the same function as on the entry, with the same store.
      expect(buildEntry.function_association).toEqual(entry.function_association);
      // The router says immutable for a build's entry; no policy here may turn that into no-cache.
      const headers = byRef(delivery, 'aws_cloudfront_response_headers_policy', buildEntry.response_headers_policy_id);
      expect(headers.custom_headers_config).toBeUndefined();
      expect(headers.cors_config).toMatchObject({
        access_control_allow_origins: { items: ['*'] },
        access_control_allow_credentials: false,
      });
      expect(headers.security_headers_config).toMatchObject({ content_type_options: { override: true } });
    },
  );

  it('tells the routers the rollout store on every S3 origin, as a custom header no viewer can set', () => {
    const { delivery } = synthesize(testConfig(FIVE_REGIONS));
    const distribution = only(delivery, 'aws_cloudfront_distribution');
    const store = only(delivery, 'aws_cloudfront_key_value_store');
    const s3 = (distribution.origin as Block[]).filter((o) => o.s3_origin_config);
    expect(s3).toHaveLength(2);
    for (const origin of s3)
      expect(origin.custom_header).toEqual([
        { name: 'x-rollout-store', value: ref(delivery, 'aws_cloudfront_key_value_store', store, 'arn') },
      ]);
  });

  it('caches chunks for a year per encoding, compressed, through the chunk router', () => {
    const { delivery, config } = synthesize(testConfig());
    const distribution = only(delivery, 'aws_cloudfront_distribution');
    const chunks = behaviour(distribution, 'default');
    const chunkRouter = only(
      delivery,
      'aws_lambda_function',
      (f) => f.function_name === resourceNames(config).chunkRouter,
    );
    expect(chunks).toMatchObject({
      compress: true,
      viewer_protocol_policy: 'redirect-to-https',
      allowed_methods: ['GET', 'HEAD'],
      lambda_function_association: [
        {
          event_type: 'origin-request',
          include_body: false,
          lambda_arn: ref(delivery, 'aws_lambda_function', chunkRouter, 'qualified_arn'),
        },
      ],
    });
    const cache = byRef(delivery, 'aws_cloudfront_cache_policy', chunks.cache_policy_id);
    expect(cache).toMatchObject({ default_ttl: 31_536_000, max_ttl: 31_536_000 });
    expect(cache.parameters_in_cache_key_and_forwarded_to_origin).toMatchObject({
      enable_accept_encoding_brotli: true,
      enable_accept_encoding_gzip: true,
    });
    const headers = byRef(delivery, 'aws_cloudfront_response_headers_policy', chunks.response_headers_policy_id);
    expect(headers.security_headers_config).toMatchObject({
      strict_transport_security: { access_control_max_age_sec: 63_072_000, override: true },
      content_type_options: { override: true },
      referrer_policy: { referrer_policy: 'strict-origin-when-cross-origin', override: true },
    });
    expect(headers.custom_headers_config).toBeUndefined();
  });

  it.each([
    ['one region', testConfig(), 'replica-us-east-1'],
    ['five regions', testConfig(FIVE_REGIONS), 'replicas'],
  ])(
    "answers error reports (/api/e) 204 at the viewer edge with the build's error-report function, GET and " +
      'HEAD only, over HTTPS only, uncached, forwarding nothing (%s)',
    (_label, config, target) => {
      const { delivery, manifest } = synthesize(config);
      const distribution = only(delivery, 'aws_cloudfront_distribution');
      const reports = behaviour(distribution, '/api/e');
      expect(reports).toMatchObject({
        // A behaviour must name an origin: the assets', which the function's answer keeps from ever being asked.
        target_origin_id: target,
        viewer_protocol_policy: 'https-only',
        allowed_methods: ['GET', 'HEAD'],
        cached_methods: ['GET', 'HEAD'],
        compress: false,
        cache_policy_id: MANAGED_CACHE_POLICY_CACHING_DISABLED,
      });
      expect(reports.origin_request_policy_id).toBeUndefined();
      expect(reports.lambda_function_association).toBeUndefined();
      const fn = byRef(delivery, 'aws_cloudfront_function', (reports.function_association as Block[])[0]!.function_arn);
      expect(reports.function_association).toEqual([
        { event_type: 'viewer-request', function_arn: ref(delivery, 'aws_cloudfront_function', fn, 'arn') },
      ]);
      expect(fn).toMatchObject({
        name: resourceNames(config).errorReport,
        runtime: 'cloudfront-js-2.0',
        publish: true,
        provider: 'aws.us-east-1',
      });
      // Published from the build's file byte for byte, reading no store.
      expect(fn.code).toBe(
        readFileSync(path.join(BUILD_DIR, manifest.cloudFrontFunctions['error-report'].file), 'utf8'),
      );
      expect(fn.key_value_store_associations).toBeUndefined();
      // Nothing else is under /api/.
      expect((distribution.ordered_cache_behavior as Block[]).map((b) => b.path_pattern)).toEqual([
        '/assets/index.js',
        '/assets/*/index.js',
        '/api/e',
      ]);
    },
  );

  it('logs the entry and the error reports, and nothing else, in real time to the release signal', () => {
    const { delivery } = synthesize(testConfig(FIVE_REGIONS));
    const distribution = only(delivery, 'aws_cloudfront_distribution');
    const logs = ref(
      delivery,
      'aws_cloudfront_realtime_log_config',
      only(delivery, 'aws_cloudfront_realtime_log_config'),
      'arn',
    );
    expect(behaviour(distribution, '/assets/index.js').realtime_log_config_arn).toBe(logs);
    expect(behaviour(distribution, '/api/e').realtime_log_config_arn).toBe(logs);
    expect(behaviour(distribution, '/assets/*/index.js').realtime_log_config_arn).toBeUndefined();
    expect(behaviour(distribution, 'default').realtime_log_config_arn).toBeUndefined();
  });

  it('has only the replica buckets for origins: no custom origin, no secret header, no web ACL', () => {
    const { delivery } = synthesize(testConfig(FIVE_REGIONS));
    const distribution = only(delivery, 'aws_cloudfront_distribution');
    const origins = distribution.origin as Block[];
    expect(origins.map((o) => o.origin_id)).toEqual(['replica-eu-west-1', 'replica-us-east-1']);
    expect(origins.every((o) => o.s3_origin_config && !o.custom_origin_config)).toBe(true);
    for (const origin of origins)
      expect((origin.custom_header as Block[]).map((h) => h.name)).toEqual(['x-rollout-store']);
    expect(distribution.web_acl_id).toBeUndefined();
    expect(bodies(delivery, 'aws_cloudfront_origin_request_policy').map((p) => p.name)).toEqual(['widget-entry']);
  });

  it('serves the custom domain with a DNS-validated us-east-1 certificate, TLS 1.2 floor, A and AAAA aliases', () => {
    const { delivery } = synthesize(testConfig({ customDomain: true }));
    const distribution = only(delivery, 'aws_cloudfront_distribution');
    const certificate = only(delivery, 'aws_acm_certificate');
    expect(certificate).toMatchObject({
      domain_name: 'widget.example.com',
      validation_method: 'DNS',
      provider: 'aws.us-east-1',
    });
    const validation = only(delivery, 'aws_acm_certificate_validation');
    const validationRecord = only(delivery, 'aws_route53_record', (r) =>
      String(r.name).includes('domain_validation_options'),
    );
    expect(validation.validation_record_fqdns).toEqual([ref(delivery, 'aws_route53_record', validationRecord, 'fqdn')]);
    expect(distribution.aliases).toEqual(['widget.example.com']);
    expect(distribution.viewer_certificate).toEqual({
      acm_certificate_arn: ref(delivery, 'aws_acm_certificate_validation', validation, 'certificate_arn'),
      ssl_support_method: 'sni-only',
      minimum_protocol_version: 'TLSv1.2_2021',
    });
    for (const type of ['A', 'AAAA']) {
      expect(only(delivery, 'aws_route53_record', (r) => r.type === type)).toMatchObject({
        name: 'widget.example.com',
        alias: {
          name: ref(delivery, 'aws_cloudfront_distribution', distribution, 'domain_name'),
          zone_id: ref(delivery, 'aws_cloudfront_distribution', distribution, 'hosted_zone_id'),
          evaluate_target_health: false,
        },
      });
    }
    expect(delivery.text).toHaveResource(AcmCertificate);
  });

  it('serves only the CloudFront domain when customDomain is false', () => {
    const { delivery } = synthesize(testConfig({ customDomain: false }));
    const distribution = only(delivery, 'aws_cloudfront_distribution');
    expect(distribution.aliases).toBeUndefined();
    expect(distribution.viewer_certificate).toEqual({ cloudfront_default_certificate: true });
    expect(delivery.text).not.toHaveResource(AcmCertificate);
    expect(bodies(delivery, 'aws_route53_record')).toEqual([]);
  });

  it('logs to a private log bucket, enables additional metrics, and defaults to every edge location', () => {
    const { delivery, config } = synthesize(testConfig());
    const distribution = only(delivery, 'aws_cloudfront_distribution');
    const logBucket = only(delivery, 'aws_s3_bucket');
    expect(logBucket.bucket).toBe(`${resourceNames(config).bucket('us-east-1')}-access-logs`);
    expect(distribution.logging_config).toEqual({
      bucket: ref(delivery, 'aws_s3_bucket', logBucket, 'bucket_domain_name'),
      prefix: 'cloudfront/',
      include_cookies: false,
    });
    expect(distribution).toMatchObject({
      enabled: true,
      is_ipv6_enabled: true,
      http_version: 'http2and3',
      price_class: 'PriceClass_All',
    });
    expect(delivery.text).toHaveResourceWithProperties(CloudfrontMonitoringSubscription, {
      distribution_id: ref(delivery, 'aws_cloudfront_distribution', distribution, 'id'),
      monitoring_subscription: {
        realtime_metrics_subscription_config: { realtime_metrics_subscription_status: 'Enabled' },
      },
    });
    expect(delivery.text).toHaveResource(CloudfrontDistribution);
    expect(delivery.text).toHaveResource(Route53Record);
  });

  it('takes another price class', () => {
    const { delivery } = synthesize(testConfig(), { priceClass: 'PriceClass_100' });
    expect(delivery.text).toHaveResourceWithProperties(CloudfrontDistribution, { price_class: 'PriceClass_100' });
  });
});
