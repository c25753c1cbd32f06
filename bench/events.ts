/**
 * Viewers and CloudFront events for the benchmark sections: deterministic (a seeded generator), so
 * two runs measure the same viewers.
 */
import { BUILD_ENTRY_PATH, ENTRY_PATH } from '../contracts/distribution-paths';
import type { CloudFrontRequestEvent } from 'aws-lambda';
import type { CloudFrontFunctionResult, CloudFrontFunctionViewerEvent } from '../edge-code/cloudfront-function';

// A module-scope copy: in Jest's vm context each lookup of a global such as Math costs more than
// a draw, and the release simulation draws for every simulated viewer.
const { imul } = Math;

/** mulberry32: a small seeded generator of unsigned 32-bit integers. */
export function seededUint32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** The same generator, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  const next = seededUint32(seed);
  return () => next() / 2 ** 32;
}

/** An exponentially distributed interval with the given mean (a Poisson arrival process). */
export function exponential(random: () => number, mean: number): number {
  return -Math.log(1 - random()) * mean;
}

/**
 * A random viewer address: three in four IPv4 (any public-looking address), one in four IPv6 in
 * 2000::/3 with a random interface id, as privacy addresses have.
 */
export function randomViewerIp(random: () => number): string {
  const int = (max: number) => Math.floor(random() * max);
  if (random() < 0.75) return `${1 + int(223)}.${int(256)}.${int(256)}.${int(256)}`;
  const hextet = () => int(0x10000).toString(16);
  return [
    (0x2000 + int(0x2000)).toString(16),
    hextet(),
    hextet(),
    hextet(),
    hextet(),
    hextet(),
    hextet(),
    hextet(),
  ].join(':');
}

/** The same /64 with another interface id: the address a privacy-extensions host rotates to. */
export function rotateInterfaceId(ipv6: string, random: () => number): string {
  const hextet = () => Math.floor(random() * 0x10000).toString(16);
  return [...ipv6.split(':').slice(0, 4), hextet(), hextet(), hextet(), hextet()].join(':');
}

export interface ViewerRequest {
  readonly clientIp: string;
  readonly uri: string;
  /** The S3 origin CloudFront addressed (the distribution's primary bucket). */
  readonly originDomain: string;
  /** @default 'gzip, deflate, br, zstd' */
  readonly acceptEncoding?: string;
  /** The origin's custom headers, as the distribution sets them (the rollout store's ARN). @default none */
  readonly originCustomHeaders?: Readonly<Record<string, string>>;
}

/** An origin-request event as CloudFront sends it for this distribution. */
export function originRequestEvent(viewer: ViewerRequest, requestId = 'r0'): CloudFrontRequestEvent {
  const { clientIp, uri, originDomain } = viewer;
  return {
    Records: [
      {
        cf: {
          config: {
            distributionDomainName: 'd111111abcdef8.cloudfront.net',
            distributionId: 'EDFDVBD6EXAMPLE',
            eventType: 'origin-request',
            requestId,
          },
          request: {
            clientIp,
            method: 'GET',
            uri,
            querystring: '',
            headers: {
              host: [{ key: 'Host', value: originDomain }],
              'accept-encoding': [
                { key: 'Accept-Encoding', value: viewer.acceptEncoding ?? 'gzip, deflate, br, zstd' },
              ],
              'user-agent': [{ key: 'User-Agent', value: 'Amazon CloudFront' }],
              via: [{ key: 'Via', value: '2.0 0123456789abcdef0123456789abcdef.cloudfront.net (CloudFront)' }],
              'x-forwarded-for': [{ key: 'X-Forwarded-For', value: clientIp }],
            },
            origin: {
              s3: {
                authMethod: 'origin-access-identity',
                customHeaders: Object.fromEntries(
                  Object.entries(viewer.originCustomHeaders ?? {}).map(([name, value]) => [
                    name,
                    [{ key: name, value }],
                  ]),
                ),
                domainName: originDomain,
                path: '',
                region: /\.s3\.([a-z0-9-]+)\./.exec(originDomain)![1],
              },
            },
          },
        },
      },
    ],
  } as CloudFrontRequestEvent;
}

/** The viewer-request event CloudFront gives the viewer-assignment function. */
export function viewerRequestEvent(
  clientIp: string,
  headers: Readonly<Record<string, string>> = {},
): CloudFrontFunctionViewerEvent {
  return {
    version: '1.0',
    context: {
      distributionDomainName: 'd111111abcdef8.cloudfront.net',
      distributionId: 'EDFDVBD6EXAMPLE',
      eventType: 'viewer-request',
      requestId: 'r0',
    },
    viewer: { ip: clientIp },
    request: {
      method: 'GET',
      uri: ENTRY_PATH,
      querystring: {},
      headers: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, { value }])),
      cookies: {},
    },
  };
}

/** The build a viewer-assignment result names; null when it left the request unrewritten. */
export function assignedBuild(result: CloudFrontFunctionResult): string | null {
  return 'uri' in result ? (BUILD_ENTRY_PATH.exec(result.uri)?.[1] ?? null) : null;
}

/** What an entry-router result did with a load: answered it (a generated response with X-Build-Id) or sent it to S3. */
export type EntryOutcome =
  | { readonly kind: 'generated'; readonly buildId: string }
  | { readonly kind: 's3'; readonly buildId: string; readonly bucket: string }
  | { readonly kind: 'other'; readonly detail: string };

export function entryOutcome(result: unknown): EntryOutcome {
  if (typeof result !== 'object' || result === null) return { kind: 'other', detail: String(result) };
  if ('status' in result) {
    const response = result as { status: string; headers?: Record<string, { value: string }[]> };
    const buildId = response.headers?.['x-build-id']?.[0]?.value;
    return response.status === '200' && buildId
      ? { kind: 'generated', buildId }
      : { kind: 'other', detail: `status ${response.status}` };
  }
  const request = result as { uri?: string; origin?: { s3?: { domainName?: string } } };
  // The entry router may send a load to a pre-compressed sibling (index.js.br, index.js.gz).
  const buildId = BUILD_ENTRY_PATH.exec((request.uri ?? '').replace(/\.(br|gz)$/, ''))?.[1];
  const bucket = request.origin?.s3?.domainName;
  return buildId && bucket ? { kind: 's3', buildId, bucket } : { kind: 'other', detail: `uri ${request.uri}` };
}
