/**
 * The routers' longest requests as the loader's check counts them (config/router-bounds.ts); the
 * bundled entry router is held to the same count and time in __tests__/edge-function/router-bounds.test.ts.
 */
import {
  COLD_START_ALLOWANCE_MS,
  describeChain,
  entryBucketReads,
  longestRouterChain,
  routerChains,
  routerTimeoutProblem,
  type RouterBoundsSettings,
} from '../../config/router-bounds';

const BOUNDS = { dnsTimeoutMs: 200, storeTimeoutMs: 500, bucketTimeoutMs: 1000 };
const THREE: RouterBoundsSettings = {
  ...BOUNDS,
  regions: ['us-east-1', 'eu-west-1', 'ap-southeast-2'],
  primaryRegion: 'us-east-1',
  failoverRegion: 'eu-west-1',
};

describe('router bounds', () => {
  it.each<[string, Pick<RouterBoundsSettings, 'regions' | 'primaryRegion' | 'failoverRegion'>, number]>([
    ['one region, no failover', { regions: ['us-east-1'], primaryRegion: 'us-east-1', failoverRegion: null }, 1],
    [
      'two regions: the nearest is one of primary and failover',
      { regions: ['us-east-1', 'eu-west-1'], primaryRegion: 'us-east-1', failoverRegion: 'eu-west-1' },
      2,
    ],
    ['three regions: a nearest that is neither', THREE, 3],
    [
      'five regions: still nearest, primary, failover',
      {
        regions: ['eu-west-1', 'us-east-1', 'ap-southeast-2', 'ap-northeast-1', 'sa-east-1'],
        primaryRegion: 'eu-west-1',
        failoverRegion: 'us-east-1',
      },
      3,
    ],
    [
      'a failover region with no bucket is not read',
      { regions: ['us-east-1'], primaryRegion: 'us-east-1', failoverRegion: 'eu-west-1' },
      1,
    ],
  ])('counts the bucket reads of one entry: %s', (_case, settings, reads) => {
    expect(entryBucketReads(settings)).toBe(reads);
  });

  it("adds the entry router's fallback path up, step by step, with the cold start allowance", () => {
    const chain = longestRouterChain(THREE);
    expect(chain).toMatchObject({
      router: 'entry router',
      bucketReads: 3,
      totalMs: 500 + 200 + 3 * 1000 + COLD_START_ALLOWANCE_MS,
    });
    expect(describeChain(chain)).toBe(
      'edge.storeTimeoutMs (500) + edge.dnsTimeoutMs (200) + edge.bucketTimeoutMs (1000) × 3 bucket reads + ' +
        'cold start (1000) = 4700 ms',
    );
    expect(COLD_START_ALLOWANCE_MS).toBe(1000);
  });

  it('counts the chunk router as one DNS wait and the cold start', () => {
    const chunk = routerChains(THREE).find((chain) => chain.router === 'chunk router')!;
    expect(chunk.totalMs).toBe(200 + COLD_START_ALLOWANCE_MS);
  });

  it('says nothing when the chain fits, and what to change when it does not', () => {
    expect(routerTimeoutProblem({ ...THREE, timeoutSeconds: 5 })).toBeNull();
    expect(routerTimeoutProblem({ ...THREE, bucketTimeoutMs: 1100, timeoutSeconds: 5 })).toBeNull();
    expect(routerTimeoutProblem({ ...THREE, bucketTimeoutMs: 1101, timeoutSeconds: 5 })).toMatch(
      new RegExp(
        '= 5003 ms, which does not fit edge\\.timeoutSeconds \\(5 s\\): .* Lower edge\\.bucketTimeoutMs to at ' +
          'most 1100 or raise edge\\.timeoutSeconds to at least 6\\.$',
      ),
    );
  });
});
