/**
 * The cost section's counts of what one entry load runs and reads at the edge (bench/entry-loads.ts):
 * the published function through the local CloudFront, with no previews and with full previews. A
 * previewed load reads once more (its build's revocation); a change that made previews cost a second
 * KeyValueStore read on every load ($0.03 per million loads, past the $0.15 the entry is built to)
 * fails here.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../config';
import { countEntryLoads, type EntryLoadOptions } from '../../bench/entry-loads';
import { entryLoadViewers, previewStates } from '../../bench/sections/cost';
import { BUILD_DIR, defaultBuild } from '../fixtures/build';

describe('entry loads through the local CloudFront, counted', () => {
  const manifest = defaultBuild();
  const states = previewStates(manifest.buildId);
  // 64 viewers: 4 of them inside a preview's prefix.
  const viewers = entryLoadViewers(64, states.previews);
  const code = readFileSync(path.join(BUILD_DIR, manifest.cloudFrontFunctions['viewer-assignment'].file), 'utf8');
  let scratch: string;
  let options: EntryLoadOptions;
  beforeEach(() => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'entry-loads-'));
    options = { config: loadConfig(), manifest, buildDir: BUILD_DIR, scratch };
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  it(
    'the published function: one run and one store read per load, and one read more for a previewed load ' +
      '(its revocation)',
    async () => {
      expect(states.previews.previews!.length).toBeGreaterThan(10);
      const counts = await countEntryLoads(options, states, viewers);
      expect(counts).toEqual({
        none: { loads: 64, functionRuns: 1, storeReads: 1, previewed: 0 },
        previews: { loads: 64, functionRuns: 1, storeReads: 1 + 4 / 64, previewed: 4 },
      });
    },
  );

  it('counts a second read when the function makes one for its previews, even of a key the store lacks', async () => {
    // The published code, reading the store once more whenever the state it parsed has previews.
    const rereading = code.replace(
      /let (\w+)=parseRolloutState\((\w+)\);/,
      'let $1=parseRolloutState($2);if($1!==null&&$1.previews!==void 0)try{await store.get("previews")}catch(x){}',
    );
    expect(rereading).not.toBe(code);
    const counts = await countEntryLoads({ ...options, functionCode: rereading }, states, viewers);
    expect(counts.none.storeReads).toBe(1);
    expect(counts.previews.storeReads).toBe(2 + 4 / 64);
    expect(counts.previews.functionRuns).toBe(1);
  });

  it('refuses to count loads the rule would not have given the build they got', async () => {
    // A function that ignores previews: previewed viewers get what the rollout alone gives them.
    const blind = code.replace(
      /function previewBuild\((\w+),/,
      'function previewBuild($1,_){return null}function x($1,',
    );
    expect(blind).not.toBe(code);
    await expect(countEntryLoads({ ...options, functionCode: blind }, states, viewers)).rejects.toThrow(
      /entry loads \(previews\): viewer 1:1:1:1:1:1:1:\w+ got 200 with X-Build-Id [0-9a-f]{16}, the rule gives/,
    );
  });
});
