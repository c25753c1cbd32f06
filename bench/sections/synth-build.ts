/**
 * How long the toolchain takes: synthesizing both stacks for one and for five regions (in this
 * process, the way main.ts and the stack tests do), `cdktf synth` as a user runs it (a whole CLI
 * process, once), and a full `npm run build` (webpack, esbuild, zips) into a scratch folder.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'cdktf';
import { parseConfig, type DeployConfig } from '../../config';
import { createStacks } from '../../stacks/app';
import { build, PROJECT_ROOT } from '../../publish/build';
import { median, plural, round, timeMs } from '../measure';
import type { BenchContext, BenchSection, Figure, SectionResult } from '../types';

/** The region sets the stack tests synthesize (__tests__/stacks/support.ts). */
export const REGION_SETS = {
  one: { primaryRegion: 'us-east-1', regions: ['us-east-1'] },
  five: {
    primaryRegion: 'eu-west-1',
    regions: ['eu-west-1', 'us-east-1', 'ap-southeast-2', 'ap-northeast-1', 'sa-east-1'],
  },
} as const;

function withRegions(config: DeployConfig, regions: (typeof REGION_SETS)[keyof typeof REGION_SETS]): DeployConfig {
  return parseConfig(
    {
      name: config.name,
      domain: config.domain,
      hostedZone: config.hostedZone,
      ...regions,
      regions: [...regions.regions],
    },
    `${regions.regions.length}-region config`,
  );
}

export const synthAndBuild: BenchSection = {
  id: 'synth-build',
  title: 'Synth and build time',
  async run(context: BenchContext): Promise<SectionResult> {
    const synthRuns = context.quick ? 1 : 7;
    // A quick run checks the report's shape; every build is the same code path (tests build too).
    const buildRuns = context.quick ? 0 : 3;
    const synth = (config: DeployConfig) => {
      const outdir = mkdtempSync(path.join(context.scratch, 'synth-'));
      try {
        return timeMs(() => {
          const app = new App({ outdir });
          createStacks(app, { config, manifest: context.manifest, buildDir: context.buildDir });
          app.synth();
        });
      } finally {
        rmSync(outdir, { recursive: true, force: true });
      }
    };
    const configs = {
      one: withRegions(context.config, REGION_SETS.one),
      five: withRegions(context.config, REGION_SETS.five),
    };
    context.log(`synth-build: in-process synth, ${plural(synthRuns, 'run')} each for 1 and 5 regions`);
    // The first synth in a process also loads the provider's construct classes.
    const firstMs = await synth(configs.one);
    const runs = { one: [] as number[], five: [] as number[] };
    for (let run = 0; run < synthRuns; run += 1) {
      runs.one.push(await synth(configs.one));
      runs.five.push(await synth(configs.five));
    }

    let cliMs: number | null = null;
    if (!context.quick) {
      context.log('synth-build: npx cdktf synth (one CLI process)');
      const outdir = mkdtempSync(path.join(context.scratch, 'cdktf-cli-'));
      cliMs = await timeMs(() => {
        const result = spawnSync('npx', ['cdktf', 'synth', '--output', outdir], {
          cwd: PROJECT_ROOT,
          env: { ...process.env, CHECKPOINT_DISABLE: '1', CI: '1', BUILD_DIR: context.buildDir },
          encoding: 'utf8',
          timeout: 120_000,
        });
        if (result.status !== 0) throw new Error(`cdktf synth failed:\n${result.stderr || result.stdout}`);
      });
    }

    if (buildRuns > 0) context.log(`synth-build: full build, ${plural(buildRuns, 'run')}`);
    const buildMs: number[] = [];
    for (let run = 0; run < buildRuns; run += 1) {
      const outDir = mkdtempSync(path.join(context.scratch, 'build-'));
      buildMs.push(await timeMs(() => build({ config: context.config, outDir })));
      rmSync(outDir, { recursive: true, force: true });
    }

    const s = (ms: number) => round(ms / 1000, 2);
    const figures: Figure[] = [
      { name: 'synth, 1 region (median)', value: round(median(runs.one), 0), unit: 'ms' },
      { name: 'synth, 5 regions (median)', value: round(median(runs.five), 0), unit: 'ms' },
      { name: 'synth, first in a process (1 region)', value: round(firstMs, 0), unit: 'ms' },
      ...(cliMs === null
        ? []
        : [
            {
              name: `cdktf synth CLI, ${context.config.regions.length} regions (one process)`,
              value: s(cliMs),
              unit: 's',
            } satisfies Figure,
          ]),
      ...(buildRuns === 0
        ? []
        : [{ name: `full build (median of ${buildRuns})`, value: s(median(buildMs)), unit: 's' } satisfies Figure]),
    ];
    return {
      figures,
      notes: [
        `Synth: a fresh cdktf App with both stacks (createStacks, as main.ts), synthesized to a scratch ` +
          `folder, ${plural(synthRuns, 'time')} per region set, after one first synth; the region sets are the ` +
          `stack tests' (${REGION_SETS.five.regions.join(', ')}).`,
        cliMs === null
          ? 'cdktf synth CLI: skipped in a quick run.'
          : `cdktf synth CLI: npx cdktf synth with deploy.config.json (${context.config.regions.length} ` +
            `regions), process start to exit, once.`,
        buildRuns === 0
          ? 'Build: skipped in a quick run.'
          : `Build: build() of publish/build.ts (webpack, esbuild for 5 functions, compression, zips, manifest) ` +
            `into a scratch folder: ${buildMs.map((ms) => `${s(ms)} s`).join(', ')}.`,
      ],
      data: { synthMs: runs, firstSynthMs: firstMs, cliMs, buildMs },
    };
  },
};
