/**
 * A per-IP rate limit on /api/* at the edge: an AWS WAF web ACL (scope CLOUDFRONT, so in
 * us-east-1) with one rate-based rule, attached to the distribution. Past `requests` per window
 * from one address, its requests to /api/* are answered 429 by CloudFront and never reach the
 * metrics API: a flood from a few addresses cannot drown honest beacons in API Gateway's
 * throttle, nor run up Lambda and DynamoDB bills. Everything else passes.
 *
 * Behind a config switch (metrics.rateLimit.enabled, off by default) because WAF bills every
 * request the distribution serves, entry loads and chunks included, not only /api/*: $0.60 per
 * million, plus $5 a month for the web ACL and $1 for the rule (AWS WAF pricing, read 2026-11-30).
 */
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Wafv2WebAcl } from '@cdktf/provider-aws/lib/wafv2-web-acl';
import { Construct } from 'constructs';

export const RATE_LIMITED_PATH_PREFIX = '/api/';

export interface ApiRateLimitProps {
  readonly webAclName: string;
  /** Requests to /api/* one IP may make per window. */
  readonly requests: number;
  /** 60, 120, 300 or 600: the windows WAF offers. */
  readonly windowSeconds: number;
  /** us-east-1: web ACLs for CloudFront live there. */
  readonly provider: AwsProvider;
}

export class ApiRateLimit extends Construct {
  readonly webAcl: Wafv2WebAcl;

  constructor(scope: Construct, id: string, props: ApiRateLimitProps) {
    super(scope, id);
    const visibility = (metricName: string) => ({ cloudwatchMetricsEnabled: true, metricName, sampledRequestsEnabled: true });
    this.webAcl = new Wafv2WebAcl(this, 'web-acl', {
      provider: props.provider,
      name: props.webAclName,
      description: `At most ${props.requests} requests to ${RATE_LIMITED_PATH_PREFIX}* per IP per ${props.windowSeconds} s`,
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      rule: [
        {
          name: 'api-per-ip',
          priority: 0,
          action: { block: { customResponse: { responseCode: 429 } } },
          // Terraform's own block names: the provider passes `statement` through as it is.
          statement: {
            rate_based_statement: {
              limit: props.requests,
              evaluation_window_sec: props.windowSeconds,
              aggregate_key_type: 'IP',
              scope_down_statement: {
                byte_match_statement: {
                  search_string: RATE_LIMITED_PATH_PREFIX,
                  positional_constraint: 'STARTS_WITH',
                  field_to_match: { uri_path: {} },
                  text_transformation: [{ priority: 0, type: 'NONE' }],
                },
              },
            },
          },
          visibilityConfig: visibility(`${props.webAclName}-api-per-ip`),
        },
      ],
      visibilityConfig: visibility(props.webAclName),
    });
  }

  get arn(): string {
    return this.webAcl.arn;
  }
}
