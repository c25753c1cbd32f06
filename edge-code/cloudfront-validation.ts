/**
 * What CloudFront accepts back from a Lambda@Edge request function, as a checker. CloudFront
 * answers anything else with a 502 to the viewer ("The Lambda function result failed
 * validation"). The edge tests run every handler result through it; the local mode can use it to
 * refuse what CloudFront would refuse.
 *
 * Sources: the CloudFront developer guide, "Lambda@Edge event structure", "Generate HTTP
 * responses in request triggers" and "Restrictions on edge functions" (headers that are
 * disallowed or read-only, the generated-response size quotas). Where the guide is vague the
 * check is the stricter reading.
 */
import { generatedResponseBytes, originRequestOf } from '../edge-function/shared/cloudfront';

export type RequestEventType = 'origin-request' | 'viewer-request';

export interface ValidationOptions {
  /** @default 'origin-request' */
  readonly eventType?: RequestEventType;
  /** A forwarded request's uri must start with this (and contain no `..` or `//`). @default '/' */
  readonly uriPrefix?: string;
  /** S3 origin domains a forwarded request may name. @default any S3 REST endpoint */
  readonly s3Domains?: readonly string[];
}

/** Headers an edge function can neither see nor add (CloudFront answers 502 when one is added). */
const DISALLOWED = [
  'connection',
  'expect',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'trailer',
  'upgrade',
  'x-accel-buffering',
  'x-accel-charset',
  'x-accel-limit-rate',
  'x-accel-redirect',
  'x-amzn-auth',
  'x-amzn-cf-billing',
  'x-amzn-cf-id',
  'x-amzn-cf-xff',
  'x-amzn-errortype',
  'x-amzn-fle-profile',
  'x-amzn-header-count',
  'x-amzn-header-order',
  'x-amzn-lambda-integration-tag',
  'x-amzn-requestid',
  'x-cache',
  'x-forwarded-proto',
  'x-real-ip',
];
const DISALLOWED_PREFIXES = ['x-amz-cf-', 'x-edge-'];

/** Request headers a function may read but not add, change or remove. */
const READ_ONLY_REQUEST: Readonly<Record<RequestEventType, readonly string[]>> = {
  'origin-request': [
    'accept-encoding',
    'content-length',
    'if-modified-since',
    'if-none-match',
    'if-range',
    'if-unmodified-since',
    'transfer-encoding',
    'via',
  ],
  'viewer-request': ['content-length', 'host', 'transfer-encoding', 'via'],
};
/** Headers CloudFront sets on a generated response itself. */
const CLOUDFRONT_OWNED_RESPONSE = ['content-length', 'transfer-encoding', 'via'];

const GENERATED_RESPONSE_LIMIT: Readonly<Record<RequestEventType, number>> = {
  'origin-request': 1024 * 1024,
  'viewer-request': 40 * 1024,
};

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const FIELD_VALUE = /^[^\r\n\0]*$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const S3_REST_DOMAIN = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com$/;
const RESPONSE_KEYS = new Set(['status', 'statusDescription', 'headers', 'body', 'bodyEncoding']);
const REQUEST_KEYS = new Set(['clientIp', 'method', 'uri', 'querystring', 'headers', 'origin', 'body']);

function isDisallowed(name: string): boolean {
  return DISALLOWED.includes(name) || DISALLOWED_PREFIXES.some((prefix) => name.startsWith(prefix));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Problems with a header map; empty when CloudFront would take it. */
function headerShapeProblems(headers: unknown, where: string): string[] {
  if (!isRecord(headers)) return [`${where}: not an object`];
  const problems: string[] = [];
  for (const [name, entries] of Object.entries(headers)) {
    if (!TOKEN.test(name)) problems.push(`${where}: "${name}" is not a lowercase header name`);
    if (!Array.isArray(entries) || entries.length === 0) {
      problems.push(`${where}.${name}: not a non-empty array`);
      continue;
    }
    entries.forEach((entry: unknown, index) => {
      if (!isRecord(entry)) {
        problems.push(`${where}.${name}[${index}]: not an object`);
        return;
      }
      if (typeof entry.value !== 'string') problems.push(`${where}.${name}[${index}].value: not a string`);
      if (entry.key !== undefined && (typeof entry.key !== 'string' || entry.key.toLowerCase() !== name)) {
        problems.push(`${where}.${name}[${index}].key: ${JSON.stringify(entry.key)} does not spell ${name}`);
      }
      for (const field of Object.keys(entry))
        if (field !== 'key' && field !== 'value')
          problems.push(`${where}.${name}[${index}]: unexpected field ${field}`);
    });
  }
  return problems;
}

function valueProblems(headers: Record<string, unknown>, names: Iterable<string>, where: string): string[] {
  const problems: string[] = [];
  for (const name of names) {
    const entries = headers[name];
    if (!Array.isArray(entries)) continue;
    entries.forEach((entry: unknown, index) => {
      const value = isRecord(entry) ? entry.value : undefined;
      if (typeof value === 'string' && !FIELD_VALUE.test(value))
        problems.push(`${where}.${name}[${index}].value: contains CR, LF or NUL`);
    });
  }
  return problems;
}

function validateResponse(response: Record<string, unknown>, eventType: RequestEventType): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(response))
    if (!RESPONSE_KEYS.has(key)) problems.push(`response: unexpected field ${key}`);
  const { status, statusDescription, headers, body, bodyEncoding } = response;
  if (typeof status !== 'string' || !/^[1-5]\d\d$/.test(status))
    problems.push(`response.status: ${JSON.stringify(status)} is not an HTTP status code string`);
  if (
    statusDescription !== undefined &&
    (typeof statusDescription !== 'string' || !FIELD_VALUE.test(statusDescription))
  ) {
    problems.push('response.statusDescription: not a single-line string');
  }
  if (headers !== undefined) {
    const shape = headerShapeProblems(headers, 'response.headers');
    problems.push(...shape);
    if (shape.length === 0 && isRecord(headers)) {
      problems.push(...valueProblems(headers, Object.keys(headers), 'response.headers'));
      for (const name of Object.keys(headers)) {
        if (isDisallowed(name)) problems.push(`response.headers.${name}: disallowed in edge functions`);
        if (CLOUDFRONT_OWNED_RESPONSE.includes(name))
          problems.push(`response.headers.${name}: set by CloudFront, not by the function`);
      }
    }
  }
  if (body !== undefined && typeof body !== 'string') problems.push('response.body: not a string');
  if (bodyEncoding !== undefined && bodyEncoding !== 'text' && bodyEncoding !== 'base64')
    problems.push(`response.bodyEncoding: ${JSON.stringify(bodyEncoding)} is neither text nor base64`);
  if (bodyEncoding === 'base64' && typeof body === 'string' && !BASE64.test(body))
    problems.push('response.body: not valid base64');
  if ((status === '204' || status === '304') && body !== undefined && body !== '')
    problems.push(`response.body: a ${status} response carries no body`);
  if (problems.length === 0) {
    const bytes = generatedResponseBytes(
      (headers ?? {}) as never,
      body as string | undefined,
      bodyEncoding as 'text' | 'base64' | undefined,
    );
    if (bytes > GENERATED_RESPONSE_LIMIT[eventType])
      problems.push(`response: ${bytes} bytes exceed the ${eventType} limit of ${GENERATED_RESPONSE_LIMIT[eventType]}`);
  }
  return problems;
}

function sameEntries(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function validateRequest(
  request: Record<string, unknown>,
  event: unknown,
  options: Required<Omit<ValidationOptions, 's3Domains'>> & ValidationOptions,
): string[] {
  const original = originRequestOf(event) as unknown as Record<string, unknown> | null;
  if (original === null)
    return ['request: returned for an event that carries no valid request (CloudFront cannot have sent it)'];
  const problems: string[] = [];
  for (const key of Object.keys(request)) if (!REQUEST_KEYS.has(key)) problems.push(`request: unexpected field ${key}`);
  if (request.clientIp !== original.clientIp) problems.push('request.clientIp: read-only, but changed');
  if (request.method !== original.method) problems.push('request.method: read-only, but changed');
  if (!sameEntries(request.body, original.body)) problems.push('request.body: changed without the include-body option');
  const { uri, querystring, headers, origin } = request;
  if (typeof uri !== 'string' || !uri.startsWith('/'))
    problems.push(`request.uri: ${JSON.stringify(uri)} does not start with /`);
  else {
    if (!uri.startsWith(options.uriPrefix)) problems.push(`request.uri: ${uri} is outside ${options.uriPrefix}`);
    if (uri.includes('..') || uri.includes('//') || uri.length > 8192)
      problems.push(`request.uri: ${uri.slice(0, 100)} may address something outside its path`);
    if (!FIELD_VALUE.test(uri) || /\s/.test(uri))
      problems.push('request.uri: contains whitespace or control characters');
  }
  if (typeof querystring !== 'string') problems.push('request.querystring: not a string');

  const shape = headerShapeProblems(headers, 'request.headers');
  problems.push(...shape);
  if (shape.length === 0 && isRecord(headers)) {
    const before = original.headers as Record<string, unknown>;
    const names = new Set([...Object.keys(before), ...Object.keys(headers)]);
    const changed = [...names].filter((name) => !sameEntries(headers[name], before[name]));
    problems.push(...valueProblems(headers, changed, 'request.headers'));
    for (const name of changed) {
      if (READ_ONLY_REQUEST[options.eventType].includes(name))
        problems.push(`request.headers.${name}: read-only in ${options.eventType}, but changed`);
      if (isDisallowed(name)) problems.push(`request.headers.${name}: disallowed in edge functions, but changed`);
    }
  }

  if (options.eventType === 'origin-request') problems.push(...originProblems(origin, headers, options.s3Domains));
  else if (origin !== undefined) problems.push('request.origin: only origin-request functions may set an origin');
  return problems;
}

function originProblems(origin: unknown, headers: unknown, s3Domains: readonly string[] | undefined): string[] {
  if (!isRecord(origin)) return ['request.origin: missing'];
  const kinds = Object.keys(origin);
  if (kinds.length !== 1 || (kinds[0] !== 's3' && kinds[0] !== 'custom'))
    return [`request.origin: must hold exactly one of s3 or custom, has ${kinds.join(', ') || 'nothing'}`];
  const problems: string[] = [];
  const value = origin[kinds[0]];
  if (!isRecord(value)) return [`request.origin.${kinds[0]}: not an object`];
  if (typeof value.domainName !== 'string' || value.domainName.length === 0)
    problems.push(`request.origin.${kinds[0]}.domainName: missing`);
  if (
    typeof value.path !== 'string' ||
    (value.path !== '' && (!value.path.startsWith('/') || value.path.endsWith('/')))
  )
    problems.push(`request.origin.${kinds[0]}.path: must be "" or /path without a trailing slash`);
  problems.push(...headerShapeProblems(value.customHeaders, `request.origin.${kinds[0]}.customHeaders`));
  if (kinds[0] === 's3') {
    const domain = value.domainName as string;
    if (s3Domains ? !s3Domains.includes(domain) : !S3_REST_DOMAIN.test(domain))
      problems.push(
        `request.origin.s3.domainName: ${domain} is not ` +
          `${s3Domains ? 'one of the allowed buckets' : 'an S3 REST endpoint'}`,
      );
    if (value.authMethod !== 'origin-access-identity' && value.authMethod !== 'none')
      problems.push(`request.origin.s3.authMethod: ${JSON.stringify(value.authMethod)}`);
    if (
      value.authMethod === 'origin-access-identity' &&
      (typeof value.region !== 'string' || !/^[a-z]{2}(-[a-z]+)+-\d$/.test(value.region))
    ) {
      problems.push('request.origin.s3.region: an origin access identity signs for a region, and none is given');
    }
    if (
      typeof value.region === 'string' &&
      typeof domain === 'string' &&
      !domain.endsWith(`.s3.${value.region}.amazonaws.com`)
    ) {
      problems.push(`request.origin.s3.region: ${value.region} is not the region of ${domain}`);
    }
    const host =
      isRecord(headers) && Array.isArray(headers.host)
        ? (headers.host[0] as { value?: unknown } | undefined)?.value
        : undefined;
    if (host !== domain)
      problems.push(`request.headers.host: ${JSON.stringify(host)} does not name the S3 origin ${domain}`);
  }
  return problems;
}

/**
 * Problems CloudFront would find with `result`, the value a request function returned for
 * `event`; an empty list when it would accept it.
 */
export function cloudFrontResultProblems(event: unknown, result: unknown, options: ValidationOptions = {}): string[] {
  const resolved = {
    eventType: options.eventType ?? 'origin-request',
    uriPrefix: options.uriPrefix ?? '/',
    s3Domains: options.s3Domains,
  };
  if (!isRecord(result))
    return [`result: ${result === null ? 'null' : typeof result} is neither a request nor a response`];
  if ('status' in result) return validateResponse(result, resolved.eventType);
  return validateRequest(result, event, resolved);
}
