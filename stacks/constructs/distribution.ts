/**
 * The CloudFront distribution every host page loads from. What it does with a viewer's request is
 * the table in contracts/distribution-rules.ts (the behaviours, their policies and functions, the
 * origins); this construct renders that table, and the local emulator answers by the same one:
 *
 *   /assets/index.js   the viewer-assignment function (viewer-request) picks each viewer's build
 *                      from the rollout store and rewrites the URI to /assets/<buildId>/index.js;
 *                      cached per build and encoding; on a miss the entry router (origin-request)
 *                      answers with that build's entry
 *   /assets/<buildId>/index.js (BUILD_ENTRY_PATTERN)
 *                      a build's entry asked for by its own URL: no assignment, the same cache key;
 *                      the entry router answers it too, so every entry carries X-Build-Id, and
 *                      browsers keep it as the router says (immutable)
 *   /api/e             error reports (contracts/error-report.ts): the error-report function
 *                      (viewer-request) answers 204 at the edge, so no origin is ever contacted;
 *                      GET and HEAD only, nothing cached
 *   default (chunks)   cached a year (URLs carry the buildId); the chunk router picks the bucket
 *
 * The entry and the error reports are the release signal: both behaviours carry the real-time log
 * configuration (stacks/constructs/realtime-log-config.ts), which sends CloudFront's record of each
 * request (its time, the TCP peer address, the path and query, the status) to the signal stream.
 * Nothing else reaches the signal, and no origin, secret or API stands outside CloudFront for it.
 *
 * S3 origins go through an origin group (primary → failover region) when there are two or more
 * regions, and are read with the origin access identity. They carry the rollout store's ARN as a
 * custom header.
 */
import { CloudfrontCachePolicy } from '@cdktf/provider-aws/lib/cloudfront-cache-policy';
import { CloudfrontOriginRequestPolicy } from '@cdktf/provider-aws/lib/cloudfront-origin-request-policy';
import { CloudfrontFunction } from '@cdktf/provider-aws/lib/cloudfront-function';
import {
  CloudfrontDistribution,
  type CloudfrontDistributionDefaultCacheBehavior,
  type CloudfrontDistributionOrderedCacheBehavior,
  type CloudfrontDistributionOrigin,
  type CloudfrontDistributionOriginGroup,
} from '@cdktf/provider-aws/lib/cloudfront-distribution';
import { CloudfrontMonitoringSubscription } from '@cdktf/provider-aws/lib/cloudfront-monitoring-subscription';
import { CloudfrontResponseHeadersPolicy } from '@cdktf/provider-aws/lib/cloudfront-response-headers-policy';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';
import type { AccessLogBucket } from './access-log-bucket';
import { ROLLOUT_STORE_HEADER } from '../../contracts/edge-config';
import { ERROR_REPORT_PATH } from '../../contracts/error-report';
import {
  DISTRIBUTION_RULES,
  type BehaviourRule,
  type CachePolicy,
  type OriginFunctionName,
  type OriginRequestPolicy,
  type ResponseHeadersPolicy,
  type ViewerFunctionName,
} from '../../contracts/distribution-rules';
import type { EdgeFunction } from './edge-function';

export { MANAGED_CACHE_POLICY_CACHING_DISABLED } from '../../contracts/distribution-rules';

export const TLS_FLOOR = 'TLSv1.2_2021';

/** The viewer-assignment function's untouched twin, where verify-edge tests code before a deploy publishes it. */
export const VIEWER_ASSIGNMENT_CHECK_SUFFIX = '-viewer-assignment-check';

export type PriceClass = 'PriceClass_100' | 'PriceClass_200' | 'PriceClass_All';

export interface BucketOrigin {
  readonly region: string;
  /** The bucket's regional REST domain, `<bucket>.s3.<region>.amazonaws.com`. */
  readonly domainName: string;
}

export interface DistributionProps {
  /** Prefix of the policy names (they are account-wide). */
  readonly name: string;
  readonly provider: AwsProvider;
  readonly primaryOrigin: BucketOrigin;
  /** @default none: a single region has no origin group */
  readonly failoverOrigin?: BucketOrigin;
  /** `origin-access-identity/cloudfront/<id>` */
  readonly originAccessIdentityPath: string;
  readonly entryRouter: EdgeFunction;
  readonly chunkRouter: EdgeFunction;
  /** The viewer-assignment function's code, exactly as the build wrote it. */
  readonly viewerAssignmentCode: string;
  /** The rollout store the viewer-assignment function reads and whose ARN the routers get as a header. */
  readonly rolloutStoreArn: string;
  /** The error-report function: its name (names.errorReport) and its code, exactly as the build wrote it. */
  readonly errorReport: { readonly functionName: string; readonly code: string };
  /** The real-time log configuration the entry and the error reports are logged with (the release signal). */
  readonly realtimeLogConfigArn: string;
  readonly accessLogs: AccessLogBucket;
  /** @default 'PriceClass_All': host pages are everywhere */
  readonly priceClass?: PriceClass;
  /** Serve on this domain with this (validated, us-east-1) certificate. @default the CloudFront domain only */
  readonly customDomain?: { readonly domainName: string; readonly certificateArn: string };
}

export class Distribution extends Construct {
  readonly distribution: CloudfrontDistribution;
  readonly viewerAssignment: CloudfrontFunction;
  readonly viewerAssignmentCheck: CloudfrontFunction;
  readonly errorReport: CloudfrontFunction;

  constructor(scope: Construct, id: string, props: DistributionProps) {
    super(scope, id);
    const provider = props.provider;

    // Assignment at the viewer edge: a CloudFront Function on every entry load reads the rollout
    // state from the store (at the edge location, no network) and rewrites the URI to the
    // viewer's build, which is then all the cache key holds besides the normalized
    // Accept-Encoding. No build id is baked into its code: it reads the store on every load.
    const viewerAssignment = new CloudfrontFunction(this, 'viewer-assignment', {
      provider,
      name: `${props.name}-viewer-assignment`,
      comment: 'Assigns each entry load a build from the rollout store; rewrites to /assets/<buildId>/index.js',
      runtime: 'cloudfront-js-2.0',
      publish: true,
      code: props.viewerAssignmentCode,
      keyValueStoreAssociations: [props.rolloutStoreArn],
    });
    this.viewerAssignment = viewerAssignment;
    // A twin that no behaviour uses, with the same store: `npm run verify-edge -- --cloudfront`
    // puts the next deploy's code in its DEVELOPMENT stage and runs CloudFront's TestFunction on it
    // against recorded events, in CloudFront's own runtime, before the deploy publishes that code
    // to every viewer. Its code is the script's to change, so Terraform ignores it after creating it.
    this.viewerAssignmentCheck = new CloudfrontFunction(this, 'viewer-assignment-check', {
      provider,
      name: `${props.name}${VIEWER_ASSIGNMENT_CHECK_SUFFIX}`,
      comment:
        "Not associated with any behaviour: verify-edge tests the next deploy's viewer-assignment code here first",
      runtime: 'cloudfront-js-2.0',
      publish: false,
      code: props.viewerAssignmentCode,
      keyValueStoreAssociations: [props.rolloutStoreArn],
      lifecycle: { ignoreChanges: ['code'] },
    });
    // Error reports are answered at the viewer edge: the function returns 204 (405 to anything but
    // GET) without reading the request, so CloudFront never forwards one to an origin; the real-time
    // log of the request is the report.
    this.errorReport = new CloudfrontFunction(this, 'error-report', {
      provider,
      name: props.errorReport.functionName,
      comment:
        `Answers error reports (${ERROR_REPORT_PATH}) 204 at the edge; the real-time logs carry them to ` +
        `the signal consumer`,
      runtime: 'cloudfront-js-2.0',
      publish: true,
      code: props.errorReport.code,
    });
    const viewerFunctions: Record<ViewerFunctionName, CloudfrontFunction> = {
      'viewer-assignment': viewerAssignment,
      'error-report': this.errorReport,
    };
    const originFunctions: Record<OriginFunctionName, EdgeFunction> = {
      'entry-router': props.entryRouter,
      'chunk-router': props.chunkRouter,
    };

    const cachePolicyId = oncePer((policy: CachePolicy) => {
      if (policy.managedId !== undefined) return policy.managedId;
      const { key } = policy;
      return new CloudfrontCachePolicy(this, CONSTRUCT_IDS.cachePolicy[policy.name] ?? `${policy.name}-cache`, {
        provider,
        name: `${props.name}-${policy.name}`,
        comment: policy.description,
        minTtl: policy.ttl.min,
        defaultTtl: policy.ttl.default,
        maxTtl: policy.ttl.max,
        parametersInCacheKeyAndForwardedToOrigin: {
          enableAcceptEncodingGzip: key.acceptEncoding.gzip,
          enableAcceptEncodingBrotli: key.acceptEncoding.brotli,
          headersConfig: headersConfig(key.headers),
          cookiesConfig: cookiesConfig(key.cookies),
          queryStringsConfig: queryStringsConfig(key.queryStrings),
        },
      }).id;
    });
    const originRequestPolicyId = oncePer(
      (policy: OriginRequestPolicy) =>
        new CloudfrontOriginRequestPolicy(
          this,
          CONSTRUCT_IDS.originRequestPolicy[policy.name] ?? `${policy.name}-origin-request`,
          {
            provider,
            name: `${props.name}-${policy.name}`,
            comment: policy.description,
            headersConfig: headersConfig(policy.forwarded.headers),
            cookiesConfig: cookiesConfig(policy.forwarded.cookies),
            queryStringsConfig: queryStringsConfig(policy.forwarded.queryStrings),
          },
        ).id,
    );
    const responseHeadersPolicyId = oncePer((policy: ResponseHeadersPolicy) => {
      const { security, cors } = policy;
      return new CloudfrontResponseHeadersPolicy(
        this,
        CONSTRUCT_IDS.responseHeadersPolicy[policy.name] ?? `${policy.name}-headers`,
        {
          provider,
          name: `${props.name}-${policy.name}`,
          comment: policy.description,
          securityHeadersConfig: {
            strictTransportSecurity: {
              accessControlMaxAgeSec: security.strictTransportSecurity.maxAgeSeconds,
              includeSubdomains: security.strictTransportSecurity.includeSubdomains,
              override: security.strictTransportSecurity.override,
            },
            contentTypeOptions: { override: security.contentTypeOptions.override },
            referrerPolicy: {
              referrerPolicy: security.referrerPolicy.value,
              override: security.referrerPolicy.override,
            },
          },
          corsConfig: {
            accessControlAllowCredentials: cors.allowCredentials,
            accessControlAllowOrigins: { items: [...cors.allowOrigins] },
            accessControlAllowMethods: { items: [...cors.allowMethods] },
            accessControlAllowHeaders: { items: [...cors.allowHeaders] },
            accessControlMaxAgeSec: cors.maxAgeSeconds,
            originOverride: cors.override,
          },
          customHeadersConfig:
            policy.custom.length > 0
              ? { items: policy.custom.map((h) => ({ header: h.name, value: h.value, override: h.override })) }
              : undefined,
        },
      ).id;
    });

    const { origins: originRules } = DISTRIBUTION_RULES;
    const originHeaderValues: Readonly<Record<string, string>> = { [ROLLOUT_STORE_HEADER]: props.rolloutStoreArn };
    const originHeader = (name: string) => {
      const value = originHeaderValues[name];
      if (value === undefined) throw new Error(`${this.node.path}: the origins' ${name} header has no value here`);
      return { name, value };
    };
    const originId = (origin: BucketOrigin) => `${originRules.idPrefix}${origin.region}`;
    const s3Origins = [props.primaryOrigin, ...(props.failoverOrigin ? [props.failoverOrigin] : [])];
    const origins: CloudfrontDistributionOrigin[] = s3Origins.map((origin) => ({
      originId: originId(origin),
      domainName: origin.domainName,
      s3OriginConfig: { originAccessIdentity: props.originAccessIdentityPath },
      customHeader: originRules.customHeaders.map(originHeader),
    }));
    const originGroups: CloudfrontDistributionOriginGroup[] = props.failoverOrigin
      ? [
          {
            originId: originRules.groupId,
            failoverCriteria: { statusCodes: [...originRules.failoverStatusCodes] },
            member: s3Origins.map((origin) => ({ originId: originId(origin) })),
          },
        ]
      : [];
    const replicasTarget = props.failoverOrigin ? originRules.groupId : originId(props.primaryOrigin);

    // One rule, one behaviour: all a behaviour says comes from its rule; only what a deploy alone
    // knows (the origin's id, the ARNs, the policies' ids) is added here.
    const behaviour = (rule: BehaviourRule) => ({
      targetOriginId: replicasTarget,
      viewerProtocolPolicy: rule.viewerProtocol,
      allowedMethods: [...rule.allowedMethods],
      cachedMethods: [...rule.cachedMethods],
      compress: rule.compress,
      cachePolicyId: cachePolicyId(rule.cachePolicy),
      originRequestPolicyId: rule.originRequestPolicy ? originRequestPolicyId(rule.originRequestPolicy) : undefined,
      responseHeadersPolicyId: rule.responseHeadersPolicy
        ? responseHeadersPolicyId(rule.responseHeadersPolicy)
        : undefined,
      functionAssociation: rule.functions.viewerRequest
        ? [{ eventType: 'viewer-request', functionArn: viewerFunctions[rule.functions.viewerRequest].arn }]
        : undefined,
      lambdaFunctionAssociation: rule.functions.originRequest
        ? [originFunctions[rule.functions.originRequest].association('origin-request')]
        : undefined,
      realtimeLogConfigArn: rule.realtimeLogged ? props.realtimeLogConfigArn : undefined,
    });
    const orderedBehaviours: CloudfrontDistributionOrderedCacheBehavior[] = DISTRIBUTION_RULES.ordered.map((rule) => ({
      pathPattern: rule.pathPattern,
      ...behaviour(rule),
    }));
    const defaultBehaviour: CloudfrontDistributionDefaultCacheBehavior = behaviour(DISTRIBUTION_RULES.default);
    const customErrorResponses = Object.entries(DISTRIBUTION_RULES.errorCaching.byStatus).map(([status, seconds]) => ({
      errorCode: Number(status),
      errorCachingMinTtl: seconds,
    }));

    this.distribution = new CloudfrontDistribution(this, 'distribution', {
      provider,
      enabled: true,
      comment: `${props.name}: one script tag, weighted rollouts`,
      isIpv6Enabled: true,
      httpVersion: 'http2and3',
      priceClass: props.priceClass ?? 'PriceClass_All',
      aliases: props.customDomain ? [props.customDomain.domainName] : undefined,
      origin: origins,
      originGroup: originGroups.length > 0 ? originGroups : undefined,
      defaultCacheBehavior: defaultBehaviour,
      orderedCacheBehavior: orderedBehaviours,
      customErrorResponse: customErrorResponses.length > 0 ? customErrorResponses : undefined,
      restrictions: { geoRestriction: { restrictionType: 'none' } },
      viewerCertificate: props.customDomain
        ? {
            acmCertificateArn: props.customDomain.certificateArn,
            sslSupportMethod: 'sni-only',
            minimumProtocolVersion: TLS_FLOOR,
          }
        : { cloudfrontDefaultCertificate: true },
      loggingConfig: { bucket: props.accessLogs.domainName, prefix: 'cloudfront/', includeCookies: false },
      dependsOn: props.accessLogs.ready,
    });

    // Additional metrics, so the edge-error alarm and dashboards see per-distribution rates.
    new CloudfrontMonitoringSubscription(this, 'monitoring', {
      provider,
      distributionId: this.distribution.id,
      monitoringSubscription: { realtimeMetricsSubscriptionConfig: { realtimeMetricsSubscriptionStatus: 'Enabled' } },
    });
  }

  get distributionId(): string {
    return this.distribution.id;
  }

  get domainName(): string {
    return this.distribution.domainName;
  }

  get viewerAssignmentName(): string {
    return this.viewerAssignment.name;
  }

  get hostedZoneId(): string {
    return this.distribution.hostedZoneId;
  }
}

/**
 * Construct ids of the policies, as Terraform's state knows their resources; a policy not named here gets
 * `<name>-cache` and so on.
 */
const CONSTRUCT_IDS: Readonly<
  Record<'cachePolicy' | 'originRequestPolicy' | 'responseHeadersPolicy', Readonly<Record<string, string>>>
> = {
  cachePolicy: { entry: 'entry-cache', chunks: 'chunk-cache' },
  originRequestPolicy: { entry: 'entry-origin-request' },
  responseHeadersPolicy: { assets: 'asset-headers', entry: 'entry-headers' },
};

/** One resource per policy of the table, however many behaviours share it. */
function oncePer<T extends object>(create: (item: T) => string): (item: T) => string {
  const made = new Map<T, string>();
  return (item) => {
    let id = made.get(item);
    if (id === undefined) {
      id = create(item);
      made.set(item, id);
    }
    return id;
  };
}

function headersConfig(names: readonly string[]) {
  return names.length > 0
    ? { headerBehavior: 'whitelist', headers: { items: [...names] } }
    : { headerBehavior: 'none' };
}

function cookiesConfig(names: readonly string[]) {
  return names.length > 0
    ? { cookieBehavior: 'whitelist', cookies: { items: [...names] } }
    : { cookieBehavior: 'none' };
}

function queryStringsConfig(names: readonly string[]) {
  return names.length > 0
    ? { queryStringBehavior: 'whitelist', queryStrings: { items: [...names] } }
    : { queryStringBehavior: 'none' };
}
