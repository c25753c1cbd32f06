/**
 * The packaged browser (fixtures/browser.ts, ensurePackagedChromium): unpacked once into a cache
 * folder, by one process however many ask at once, and launched only when complete. Before, two
 * jest workers unpacked into the same folder at once and the second launched the binary the first
 * was still writing: `spawn ETXTBSY`. Each test uses a cache folder of its own, in the run's
 * temporary folder, and removes it.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { ensurePackagedChromium, withFileLock } from '../fixtures/browser';
import { pollUntil } from '../fixtures/poll';

const NAME = 'sparticuz-chromium';
const VERSION = /^Chromium \d+\.\d+\.\d+\.\d+$/;
let dir: string;
/**
 * The cache folder's parent: the cache, its lock and its partial folders, and nothing else. Not made: on a fresh
 * install node_modules/.cache may not exist.
 */
let parent: string;
let cache: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'packaged-chromium-'));
  parent = path.join(dir, 'node_modules', '.cache');
  cache = path.join(parent, NAME);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the binary, as a launch does: a binary still open for writing fails with ETXTBSY. */
function versionOf(executablePath: string): string {
  const run = spawnSync(executablePath, ['--version'], { encoding: 'utf8', env: { ...process.env, TMPDIR: dir } });
  if (run.error) throw run.error;
  return run.stdout.trim();
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(gone.stdout);
}

it(
  'four processes unpacking into one empty cache (in a folder not made yet) at once all run the same complete ' +
    'browser; one of them unpacked it, none saw ETXTBSY',
  async () => {
    const barrier = path.join(dir, 'barrier');
    mkdirSync(barrier);
    // Each process loads the fixture, says it is ready, and asks for the browser only when all four
    // are: they reach the empty cache within a poll of each other, and run the binary at once.
    // The fixture is transpiled by jest's own transform, not tsx: 0.15 s of CPU a process, not 0.4.
    const child = `
    const { spawnSync } = require('node:child_process');
    const { existsSync, readFileSync, writeFileSync } = require('node:fs');
    const path = require('node:path');
    const transform = require(${JSON.stringify(path.join(__dirname, '..', 'fixtures', 'esbuild-transform.js'))});
    require.extensions['.ts'] = (module, file) =>
      module._compile(transform.process(readFileSync(file, 'utf8'), file).code, file);
    const { ensurePackagedChromium } = require(${JSON.stringify(path.join(__dirname, '..', 'fixtures', 'browser.ts'))});
    const barrier = process.env.BARRIER;
    writeFileSync(path.join(barrier, 'ready-' + process.pid), '');
    const go = setInterval(() => {
      if (!existsSync(path.join(barrier, 'go'))) return;
      clearInterval(go);
      ensurePackagedChromium(process.env.CACHE).then(({ executablePath, unpacked }) => {
        const run = spawnSync(executablePath, ['--version'], { encoding: 'utf8' });
        if (run.error) throw run.error;
        process.stdout.write(JSON.stringify({ executablePath, unpacked, version: run.stdout.trim() }));
      });
    }, 10);`;
    const env = { ...process.env, BARRIER: barrier, CACHE: cache, TMPDIR: dir };
    const runs = Array.from({ length: 4 }, () =>
      promisify(execFile)(process.execPath, ['-e', child], { env, encoding: 'utf8' }).catch(
        (error: { stderr?: string; message: string }) => ({ stdout: '', stderr: error.stderr ?? error.message }),
      ),
    );
    try {
      await pollUntil(
        'four processes ready',
        () => readdirSync(barrier).filter((name) => name.startsWith('ready-')).length === 4,
        30_000,
        20,
      );
    } finally {
      // Either way: a process left waiting would outlive the test.
      writeFileSync(path.join(barrier, 'go'), '');
    }
    const results = await Promise.all(runs);

    for (const { stderr } of results) expect(stderr).not.toMatch(/ETXTBSY|Error/);
    const got = results.map(
      ({ stdout }) => JSON.parse(stdout) as { executablePath: string; unpacked: boolean; version: string },
    );
    expect(got.map(({ executablePath }) => executablePath)).toEqual(Array(4).fill(path.join(cache, 'chromium')));
    expect(got.map(({ version }) => version)).toEqual(Array(4).fill(expect.stringMatching(VERSION)));
    expect(got.filter(({ unpacked }) => unpacked)).toHaveLength(1);
    // No lock and no partial folder is left; the cache is marked complete.
    expect(readdirSync(parent)).toEqual([NAME]);
    expect(readFileSync(path.join(cache, 'complete'), 'utf8')).toMatch(/^@sparticuz\/chromium \d+\.\d+\.\d+\n$/);
    // And a later call finds it complete: nothing is unpacked again.
    await expect(ensurePackagedChromium(cache)).resolves.toEqual({
      executablePath: path.join(cache, 'chromium'),
      unpacked: false,
    });
  },
);

it(
  'a half-written unpack is never used: a cache without its marker, or from another package version, is ' +
    'replaced, and what dead processes left beside it goes',
  async () => {
    // What the old code left when a worker died mid-unpack: a binary, no marker.
    mkdirSync(cache, { recursive: true });
    writeFileSync(path.join(cache, 'chromium'), '#!/bin/sh\necho half-written\n');
    chmodSync(path.join(cache, 'chromium'), 0o755);
    // A partial folder whose process died before it was complete.
    const partial = path.join(parent, `${NAME}.partial-${deadPid()}-abc123`);
    mkdirSync(partial);
    writeFileSync(path.join(partial, 'chromium'), '#!/bin/sh\necho half-written\n');
    // And a stale lock a dead process was taking over when it died.
    writeFileSync(path.join(parent, `${NAME}.lock.stale-${deadPid()}-xyz`), '1\n');

    const first = await ensurePackagedChromium(cache);
    expect(first).toEqual({ executablePath: path.join(cache, 'chromium'), unpacked: true });
    expect(versionOf(first.executablePath)).toMatch(VERSION);
    expect(readdirSync(parent)).toEqual([NAME]);

    // Unpacked from another version of the package: unpacked again.
    writeFileSync(path.join(cache, 'complete'), '@sparticuz/chromium 1.0.0\n');
    await expect(ensurePackagedChromium(cache)).resolves.toEqual({
      executablePath: path.join(cache, 'chromium'),
      unpacked: true,
    });
    expect(readFileSync(path.join(cache, 'complete'), 'utf8')).not.toContain('1.0.0');
    expect(readdirSync(parent)).toEqual([NAME]);
  },
);

it('takes over a stale lock: its process is dead, or it was left by an earlier process with this pid', async () => {
  const lock = `${cache}.lock`;
  mkdirSync(parent, { recursive: true });
  writeFileSync(lock, `${deadPid()}\n`);
  const started = Date.now();
  const unpacked = await ensurePackagedChromium(cache);
  expect(unpacked.unpacked).toBe(true);
  expect(versionOf(unpacked.executablePath)).toMatch(VERSION);
  // At once, not after the minute a lock must go unrefreshed to be stale whoever holds it.
  expect(Date.now() - started).toBeLessThan(30_000);
  expect(readdirSync(parent)).toEqual([NAME]);

  const other = path.join(dir, 'other.lock');
  writeFileSync(other, `${process.pid}\n`);
  const work = jest.fn(async () => undefined);
  await withFileLock(other, work);
  expect(work).toHaveBeenCalledTimes(1);
  expect(existsSync(other)).toBe(false);
});

it(
  'waits while a live process holds the lock; goes on when the holder is gone, or when the holder ' +
    'finished the work',
  async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const gone = new Promise((resolve) => holder.once('exit', resolve));
    try {
      const lock = path.join(dir, 'held.lock');
      writeFileSync(lock, `${holder.pid}\n`);

      // The holder finishes the work (done() turns true) while this one waits: no second run, and its lock stays its
      // own. The waiter asks done() each time it looks for the lock: three looks, two of them after a poll's wait.
      let done = false;
      let looks = 0;
      const waitingForWork = jest.fn(async () => undefined);
      const waiter = withFileLock(lock, waitingForWork, () => {
        looks += 1;
        return done;
      });
      await pollUntil('the waiter to look for the lock three times', () => looks >= 3, 10_000, 10);
      done = true;
      await waiter;
      expect(waitingForWork).not.toHaveBeenCalled();
      expect(readFileSync(lock, 'utf8')).toBe(`${holder.pid}\n`);

      // A lock not refreshed for over a minute is stale, even if its pid is alive (pids are reused).
      const old = new Date(Date.now() - 2 * 60_000);
      const aged = path.join(dir, 'aged.lock');
      writeFileSync(aged, `${holder.pid}\n`);
      utimesSync(aged, old, old);
      const agedWork = jest.fn(async () => undefined);
      await withFileLock(aged, agedWork);
      expect(agedWork).toHaveBeenCalledTimes(1);

      // The holder dies without removing its lock: the waiter takes it over. Not before: it has found the lock
      // held three times (its done() is the default's, never true, counting the looks).
      const work = jest.fn(async () => undefined);
      let tries = 0;
      const taking = withFileLock(lock, work, () => {
        tries += 1;
        return false;
      });
      await pollUntil('the waiter to look for the lock three times', () => tries >= 3, 10_000, 10);
      expect(work).not.toHaveBeenCalled();
      holder.kill('SIGKILL');
      await taking;
      expect(work).toHaveBeenCalledTimes(1);
      expect(existsSync(lock)).toBe(false);
    } finally {
      holder.kill('SIGKILL');
      await gone;
    }
  },
);

it('gives up waiting after its limit, naming the lock and its holder', async () => {
  const lock = path.join(dir, 'held.lock');
  // This process's parent (jest) is alive for the whole test.
  writeFileSync(lock, `${process.ppid}\n`);
  await expect(
    withFileLock(
      lock,
      async () => undefined,
      () => false,
      300,
    ),
  ).rejects.toThrow(`waited 0.3 s for ${lock} (held by pid ${process.ppid})`);
});
