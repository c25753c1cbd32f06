/**
 * The CloudFront distribution every host page loads from, with its four behaviours:
 *
 *   /assets/index.js   the viewer-assignment function (viewer-request) picks each viewer's build
 *                      from the rollout store and rewrites the URI to /assets/<buildId>/index.js;
 *                      cached per build and encoding; on a miss the entry router (origin-request)
 *                      answers with that build's entry
 *   /assets/<buildId>/index.js (BUILD_ENTRY_PATTERN)
 *                      a build's entry asked for by its own URL: no assignment, the same cache key;
 *                      the entry router answers it too, so every entry carries X-Build-Id, and
 *                      browsers keep it as the router says (immutable)
 *   default (chunks)   cached a year (URLs carry the buildId); the chunk router picks the bucket
 *   /api/e             error reports (contracts/error-report.ts): the error-report function
 *                      (viewer-request) answers 204 at the edge, so no origin is ever contacted;
 *                      GET and HEAD only, nothing cached
 *
 * The entry and the error reports are the release signal: both behaviours carry the real-time log
 * configuration (stacks/constructs/realtime-log-config.ts), which sends CloudFront's record of each
 * request (its time, the TCP peer address, the path and query, the status) to the signal stream.
 * Nothing else reaches the signal, and no origin, secret or API stands outside CloudFront for it.
 *
 * S3 origins go through an origin group (primary → failover region) when there are two or more
 * regions, and are read with the origin access identity, which, unlike OAC, still signs requests
 * after Lambda@Edge rewrites the origin to another region's bucket. They carry the rollout store's
 * ARN as a custom header, which is how the routers learn it (Lambda@Edge has no environment).
 */
import { CloudfrontCachePolicy } from '@cdktf/provider-aws/lib/cloudfront-cache-policy';
import { CloudfrontOriginRequestPolicy } from '@cdktf/provider-aws/lib/cloudfront-origin-request-policy';
import { CloudfrontFunction } from '@cdktf/provider-aws/lib/cloudfront-function';
import { CloudfrontDistribution, type CloudfrontDistributionOrderedCacheBehavior, type CloudfrontDistributionOrigin, type CloudfrontDistributionOriginGroup } from '@cdktf/provider-aws/lib/cloudfront-distribution';
import { CloudfrontMonitoringSubscription } from '@cdktf/provider-aws/lib/cloudfront-monitoring-subscription';
import { CloudfrontResponseHeadersPolicy, type CloudfrontResponseHeadersPolicyConfig } from '@cdktf/provider-aws/lib/cloudfront-response-headers-policy';
import type { AwsProvider } from '@cdktf/provider-aws/lib/provider';
import { Construct } from 'constructs';
import type { AccessLogBucket } from './access-log-bucket';
import { ROLLOUT_STORE_HEADER } from '../../contracts/edge-config';
import { BUILD_ENTRY_PATTERN, ENTRY_CACHE_CONTROL, ENTRY_PATH, IMMUTABLE_TTL_SECONDS } from '../../contracts/distribution-paths';
import { ERROR_REPORT_PATH } from '../../contracts/error-report';
import type { EdgeFunction } from './edge-function';

/** AWS-managed policies (CloudFront developer guide, "Use managed cache/origin request policies"). */
export const MANAGED_CACHE_POLICY_CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';

/** Status codes on which the origin group retries the failover region's bucket. */
export const FAILOVER_STATUS_CODES = [403, 404, 500, 502, 503, 504];
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
      comment: "Not associated with any behaviour: verify-edge tests the next deploy's viewer-assignment code here first",
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
      comment: `Answers error reports (${ERROR_REPORT_PATH}) 204 at the edge; the real-time logs carry them to the signal consumer`,
      runtime: 'cloudfront-js-2.0',
      publish: true,
      code: props.errorReport.code,
    });
    // Per build and encoding, as long as the origin allows: the router answers a build's entry with
    // a year, and its own fallback assignments (the unrewritten path) with no-store, which min TTL
    // 0 honours, so those are never cached. Accept-Encoding reaches the router through the
    // normalization here (the only way CloudFront forwards it).
    const entryCache = new CloudfrontCachePolicy(this, 'entry-cache', {
      provider,
      name: `${props.name}-entry`,
      comment: 'index.js per assigned build (the rewritten URI) and normalized Accept-Encoding',
      minTtl: 0,
      defaultTtl: IMMUTABLE_TTL_SECONDS,
      maxTtl: IMMUTABLE_TTL_SECONDS,
      parametersInCacheKeyAndForwardedToOrigin: {
        enableAcceptEncodingGzip: true,
        enableAcceptEncodingBrotli: true,
        headersConfig: { headerBehavior: 'none' },
        cookiesConfig: { cookieBehavior: 'none' },
        queryStringsConfig: { queryStringBehavior: 'none' },
      },
    });
    // The router's fallback assigns ring hosts by the page's origin: Referer reaches it, outside
    // the cache key.
    const entryOriginRequest = new CloudfrontOriginRequestPolicy(this, 'entry-origin-request', {
      provider,
      name: `${props.name}-entry`,
      comment: 'Referer to the entry router (ring hosts), not in the cache key',
      headersConfig: { headerBehavior: 'whitelist', headers: { items: ['referer'] } },
      cookiesConfig: { cookieBehavior: 'none' },
      queryStringsConfig: { queryStringBehavior: 'none' },
    });
    const chunkCache = new CloudfrontCachePolicy(this, 'chunk-cache', {
      provider,
      name: `${props.name}-chunks`,
      comment: 'Immutable /assets/<buildId>/ files: a year, per encoding',
      minTtl: 0,
      defaultTtl: IMMUTABLE_TTL_SECONDS,
      maxTtl: IMMUTABLE_TTL_SECONDS,
      parametersInCacheKeyAndForwardedToOrigin: {
        enableAcceptEncodingGzip: true,
        enableAcceptEncodingBrotli: true,
        headersConfig: { headerBehavior: 'none' },
        cookiesConfig: { cookieBehavior: 'none' },
        queryStringsConfig: { queryStringBehavior: 'none' },
      },
    });

    const assetHeaders = new CloudfrontResponseHeadersPolicy(this, 'asset-headers', {
      provider,
      name: `${props.name}-assets`,
      comment: 'Security headers; any host page may load the scripts (crossorigin=anonymous)',
      securityHeadersConfig: securityHeaders(),
      corsConfig: hostSiteCors(),
    });
    // Browsers keep the entry but revalidate it on every load: the ETag (one per build and
    // encoding) makes that a 304 while the viewer's build stays the same.
    const entryHeaders = new CloudfrontResponseHeadersPolicy(this, 'entry-headers', {
      provider,
      name: `${props.name}-entry`,
      comment: 'As assets, and Cache-Control: no-cache to browsers whatever the origin said',
      securityHeadersConfig: securityHeaders(),
      corsConfig: hostSiteCors(),
      customHeadersConfig: { items: [{ header: 'Cache-Control', value: ENTRY_CACHE_CONTROL, override: true }] },
    });
    const primaryId = `replica-${props.primaryOrigin.region}`;
    const s3Origins = [props.primaryOrigin, ...(props.failoverOrigin ? [props.failoverOrigin] : [])];
    const origins: CloudfrontDistributionOrigin[] = s3Origins.map((origin) => ({
      originId: `replica-${origin.region}`,
      domainName: origin.domainName,
      s3OriginConfig: { originAccessIdentity: props.originAccessIdentityPath },
      customHeader: [{ name: ROLLOUT_STORE_HEADER, value: props.rolloutStoreArn }],
    }));
    const originGroups: CloudfrontDistributionOriginGroup[] = props.failoverOrigin
      ? [
          {
            originId: 'replicas',
            failoverCriteria: { statusCodes: FAILOVER_STATUS_CODES },
            member: [{ originId: primaryId }, { originId: `replica-${props.failoverOrigin.region}` }],
          },
        ]
      : [];
    const assetsTarget = props.failoverOrigin ? 'replicas' : primaryId;

    const entryBehaviour: CloudfrontDistributionOrderedCacheBehavior = {
      pathPattern: ENTRY_PATH,
      targetOriginId: assetsTarget,
      viewerProtocolPolicy: 'redirect-to-https',
      allowedMethods: ['GET', 'HEAD'],
      cachedMethods: ['GET', 'HEAD'],
      // The router returns gzip/brotli bodies itself; CloudFront must not compress again.
      compress: false,
      cachePolicyId: entryCache.id,
      originRequestPolicyId: entryOriginRequest.id,
      responseHeadersPolicyId: entryHeaders.id,
      functionAssociation: [{ eventType: 'viewer-request', functionArn: viewerAssignment.arn }],
      lambdaFunctionAssociation: [props.entryRouter.association('origin-request')],
      // Every healthy page view makes this request: its real-time log is the viewer's presence.
      realtimeLogConfigArn: props.realtimeLogConfigArn,
    };
    // Without this behaviour a build's entry asked for by its own URL would be a chunk: read from
    // the bucket as stored, without X-Build-Id. No viewer-assignment function here: it rewrites
    // whatever URI it is given to the viewer's build, and this URL names its build already. Referer
    // is not forwarded: only the router's fallback assignment, on the unrewritten path, reads it.
    const buildEntryBehaviour: CloudfrontDistributionOrderedCacheBehavior = {
      pathPattern: BUILD_ENTRY_PATTERN,
      targetOriginId: assetsTarget,
      viewerProtocolPolicy: 'redirect-to-https',
      allowedMethods: ['GET', 'HEAD'],
      cachedMethods: ['GET', 'HEAD'],
      compress: false,
      cachePolicyId: entryCache.id,
      responseHeadersPolicyId: assetHeaders.id,
      lambdaFunctionAssociation: [props.entryRouter.association('origin-request')],
    };
    // A behaviour must name an origin: the assets' one, which the function's answer keeps from ever
    // being asked. HTTPS only, not a redirect: a report over HTTP is refused (403), never logged
    // twice. Nothing cached (every report is its own request, and its own log record), nothing
    // forwarded, no response headers policy (the function sets Cache-Control itself).
    const errorReportBehaviour: CloudfrontDistributionOrderedCacheBehavior = {
      pathPattern: ERROR_REPORT_PATH,
      targetOriginId: assetsTarget,
      viewerProtocolPolicy: 'https-only',
      allowedMethods: ['GET', 'HEAD'],
      cachedMethods: ['GET', 'HEAD'],
      compress: false,
      cachePolicyId: MANAGED_CACHE_POLICY_CACHING_DISABLED,
      functionAssociation: [{ eventType: 'viewer-request', functionArn: this.errorReport.arn }],
      realtimeLogConfigArn: props.realtimeLogConfigArn,
    };

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
      defaultCacheBehavior: {
        targetOriginId: assetsTarget,
        viewerProtocolPolicy: 'redirect-to-https',
        // Scripts load with plain GETs (no preflight), and origin groups fail over only reads.
        allowedMethods: ['GET', 'HEAD'],
        cachedMethods: ['GET', 'HEAD'],
        compress: true,
        cachePolicyId: chunkCache.id,
        responseHeadersPolicyId: assetHeaders.id,
        lambdaFunctionAssociation: [props.chunkRouter.association('origin-request')],
      },
      // First match wins: the entry before a build's entry, both before the default (chunks).
      orderedCacheBehavior: [entryBehaviour, buildEntryBehaviour, errorReportBehaviour],
      restrictions: { geoRestriction: { restrictionType: 'none' } },
      viewerCertificate: props.customDomain ? { acmCertificateArn: props.customDomain.certificateArn, sslSupportMethod: 'sni-only', minimumProtocolVersion: TLS_FLOOR } : { cloudfrontDefaultCertificate: true },
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

/** Exported so the local mode answers with the headers the policies add. */
export function securityHeaders(): NonNullable<CloudfrontResponseHeadersPolicyConfig['securityHeadersConfig']> {
  return {
    strictTransportSecurity: { accessControlMaxAgeSec: 63_072_000, includeSubdomains: true, override: true },
    contentTypeOptions: { override: true },
    referrerPolicy: { referrerPolicy: 'strict-origin-when-cross-origin', override: true },
  };
}

/** Host sites are many and unknown: any origin may GET the scripts, without credentials. */
export function hostSiteCors(): NonNullable<CloudfrontResponseHeadersPolicyConfig['corsConfig']> {
  return {
    accessControlAllowCredentials: false,
    accessControlAllowOrigins: { items: ['*'] },
    accessControlAllowMethods: { items: ['GET', 'HEAD'] },
    accessControlAllowHeaders: { items: ['*'] },
    accessControlMaxAgeSec: 86_400,
    originOverride: true,
  };
}
