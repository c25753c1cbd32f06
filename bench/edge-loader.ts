/**
 * Loading the shipped edge handlers for the benchmark: from their zips, pointed at loopback DNS,
 * S3 and KeyValueStore servers, optionally on a simulated clock.
 *
 * Why the simulated clock works: the routers' cached readers (edge-function/shared/
 * cached-reader.ts) take their clock once, when the bundle loads (`options.now ?? Date.now`).
 * A handler loaded while `Date.now` is a simulated clock's therefore ages its cached records on
 * that clock for its whole life, while the rest of the process keeps real time; DNS lookups still
 * go over real sockets and take (a few ms of) real time, during which the simulated clock stands
 * still. Sections that rely on it call `verifyClock` first, so that a reader changed to call
 * Date.now() per read fails the benchmark loudly instead of silently measuring real time.
 */
import type { CloudFrontRequestEvent, CloudFrontRequestResult } from 'aws-lambda';
import { loadBundledHandler, type LambdaHandler } from '../edge-code/bundled-handler';

export type EdgeHandler = LambdaHandler<CloudFrontRequestEvent, CloudFrontRequestResult>;

export class SimulatedClock {
  private ms: number;

  constructor(startMs = 0) {
    this.ms = startMs;
  }

  /** Milliseconds, as Date.now would return them. */
  readonly now = (): number => this.ms;

  set(ms: number): void {
    if (ms < this.ms) throw new Error(`simulated time runs forwards only (${ms} < ${this.ms})`);
    this.ms = ms;
  }
}

export interface EdgeLoadOptions {
  /** `host:port` the handler's resolver asks (EDGE_DNS_SERVER). */
  readonly dnsServer: string;
  /** EDGE_S3_ENDPOINT. @default unset */
  readonly s3Endpoint?: string;
  /** EDGE_KVS_ENDPOINT. @default unset */
  readonly kvsEndpoint?: string;
  /** Where the copies of index.js go; the caller removes it. */
  readonly tmpRoot: string;
  /** The clock the handler's record readers age their values on. @default real time */
  readonly clock?: SimulatedClock;
}

export function loadEdgeHandler(zip: string, options: EdgeLoadOptions): EdgeHandler {
  // As in a replica that AWS_REGION would name; unset, the routers skip their static region table.
  const seams = {
    EDGE_DNS_SERVER: options.dnsServer,
    EDGE_S3_ENDPOINT: options.s3Endpoint,
    EDGE_KVS_ENDPOINT: options.kvsEndpoint,
    AWS_REGION: undefined,
  };
  const saved = { env: Object.fromEntries(Object.keys(seams).map((key) => [key, process.env[key]])), now: Date.now };
  for (const [key, value] of Object.entries(seams)) restoreEnv(key, value);
  if (options.clock) Date.now = options.clock.now;
  try {
    return loadBundledHandler<CloudFrontRequestEvent, CloudFrontRequestResult>(zip, { tmpRoot: options.tmpRoot });
  } finally {
    Date.now = saved.now;
    for (const [key, value] of Object.entries(saved.env)) restoreEnv(key, value);
  }
}

function restoreEnv(key: string, value: string | undefined): void {
  if (value === undefined) delete process.env[key];
  else process.env[key] = value;
}

/** Real time for lookups started by the last requests to be answered (loopback: well under 1 ms). */
export function settle(ms = 2): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Throws unless `handler` ages its records on `clock`: after a first request (which looks the
 * record up), moving the simulated clock past `refreshMs` must make the next request start a
 * lookup, though almost no real time has passed.
 */
export async function verifyClock(
  handler: EdgeHandler,
  event: CloudFrontRequestEvent,
  clock: SimulatedClock,
  refreshMs: number,
  lookups: () => number,
): Promise<void> {
  await handler(event);
  await settle();
  const before = lookups();
  clock.set(clock.now() + refreshMs + 1);
  await handler(event);
  await settle();
  if (lookups() === before) {
    throw new Error(
      'the router did not refresh its record after its refresh interval of simulated time: its reader no ' +
        'longer takes Date.now when the bundle loads (see edge-loader.ts)',
    );
  }
}
