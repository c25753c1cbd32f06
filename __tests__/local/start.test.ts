/**
 * `npm start` as a person runs it, stopped the ways it gets stopped: Ctrl-C in its terminal (SIGINT
 * to the whole process group, npm included, which forwards it again), SIGINT or SIGTERM to npm
 * alone (`kill`, a process manager; npm forwards them), and SIGHUP to npm alone (npm dies without
 * passing it on; the distribution sees its parent go). Each time every server closes, the temporary folders go, the
 * control file goes,
 * and it says so. And what the time scale means, as the banner says it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../config';
import { DEFAULT_TIME_SCALE, describeTimeScale, formatWallTime, READY_LINE } from '../../local/status-line';
import { pollUntil } from '../fixtures/poll';

const PROJECT_ROOT = path.resolve(__dirname, '..', '..');

const config = loadConfig();

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether something answers on the port: a refused connection means it is closed. */
function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function withoutSdkWarningSwitch(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: _switch, ...rest } = env;
  return rest;
}

describe('npm start', () => {
  // At once: each case spends most of its time waiting on npm and the servers, not computing.
  // Each has its own folder, control file and process group, and cleans up after itself (jest
  // runs no per-test hooks around concurrent tests).
  it.concurrent.each([
    ['SIGINT', 'the process group (Ctrl-C)', 'Ctrl-C: stopping the local distribution…'],
    ['SIGINT', 'npm alone', 'Ctrl-C: stopping the local distribution…'],
    ['SIGTERM', 'npm alone', 'SIGTERM: stopping the local distribution…'],
    ['SIGHUP', 'npm alone', 'is gone: stopping the local distribution…'],
  ] as const)(
    'stops everything on %s to %s, says so, and leaves no port, folder or control file behind',
    async (signal, target, said) => {
      const scratch = mkdtempSync(path.join(tmpdir(), 'npm-start-'));
      let child: ChildProcess | undefined;
      try {
        await stopsCleanly(signal, target, said, scratch, (started) => {
          child = started;
        });
      } finally {
        // Only when the case failed halfway: nothing it started may outlive it.
        if (child?.pid !== undefined && groupAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
        rmSync(scratch, { recursive: true, force: true });
      }
    },
    200_000,
  );
});

async function stopsCleanly(
  signal: NodeJS.Signals,
  target: string,
  said: string,
  scratch: string,
  spawned: (child: ChildProcess) => void,
): Promise<void> {
  // Its own temporary folder, so what it leaves there can be seen; its own control file, so a
  // person's `npm start` is neither found nor disturbed.
  const temp = path.join(scratch, 'tmp');
  const controlFile = path.join(scratch, 'control.json');
  mkdirSync(temp);
  let output = '';
  const started = spawn('npm', ['start', '--', '--time-scale', '60', '--control-file', controlFile], {
    cwd: PROJECT_ROOT,
    detached: true, // a process group of its own, as a terminal gives it
    // Without the switch jest sets for its workers: npm start must silence the SDK's warning itself.
    env: { ...withoutSdkWarningSwitch(process.env), TMPDIR: temp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  spawned(started);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  started.once('exit', (code, killed) => (exit = { code, signal: killed }));
  started.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  started.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const pgid = started.pid!;

  // The first run after a source change builds first.
  await pollUntil('the ready banner', () => output.includes(READY_LINE) || exit !== null, 150_000);
  expect(output).toContain(READY_LINE);
  const address = (label: string) =>
    Number(new RegExp(`^  ${label}\\s+.*?http://127\\.0\\.0\\.1:(\\d+)`, 'm').exec(output)?.[1]);
  // The loopback Kinesis stream of the release signal among them: it closes too.
  const ports = ['host page', 'script tag', 'signal', 'buckets', 'dashboard', 'control'].map(address);
  expect(output).toMatch(
    new RegExp(
      '^ {2}errors {8}http:\\/\\/127\\.0\\.0\\.1:\\d+\\/api\\/e\\?b=<buildId>&m=<message> .*a healthy load sends ' +
        'nothing but the entry request',
      'm',
    ),
  );
  expect(output).not.toContain('metrics API');
  expect(ports.every((port) => port > 0)).toBe(true);
  expect(existsSync(controlFile)).toBe(true);
  // It holds the control server's token: its owner's alone.
  expect(statSync(controlFile).mode & 0o777).toBe(0o600);
  expect(await (await fetch(`http://127.0.0.1:${ports[0]}/`)).text()).toContain(
    `http://127.0.0.1:${ports[1]}/assets/index.js`,
  );
  expect(readdirSync(temp).some((name) => name.startsWith('s3-server-'))).toBe(true);

  const signalled = Date.now();
  process.kill(target === 'npm alone' ? pgid : -pgid, signal);
  await pollUntil('every process of the group to exit', () => !groupAlive(pgid), 15_000);
  // Promptly: the servers close in well under a second; npm takes its own time to wind down.
  expect(Date.now() - signalled).toBeLessThan(10_000);
  await pollUntil('the output to end', () => started.stdout!.readableEnded, 5_000);

  expect(output).toContain(said);
  expect(output).toContain('stopped: every server closed, the temporary buckets removed');
  expect(output).not.toContain('NodeVersionSupportWarning');
  // npm ends as the distribution did (0), except when it was itself killed by the signal.
  expect(exit).toEqual(signal === 'SIGHUP' ? { code: null, signal: 'SIGHUP' } : { code: 0, signal: null });
  for (const port of ports) expect(await portOpen(port)).toBe(false);
  expect(existsSync(controlFile)).toBe(false);
  // tsx keeps its compile cache there; the distribution's own folders are gone.
  expect(readdirSync(temp).filter((name) => !name.startsWith('tsx-'))).toEqual([]);
}

describe('the time scale', () => {
  it("by default, lets a person watch the default config's rollout for a minute or two", () => {
    expect(describeTimeScale(config, DEFAULT_TIME_SCALE)).toBe(
      '6×: a release (linear, 10 % more every 1 min) reaches every viewer in 1 min 30 s (9 simulated minutes) ' +
        'at the earliest, each step once the judge found the one before healthy; an alarm period (60 s) ' +
        'passes every 10 s',
    );
  });

  it('says what another scale and another strategy mean', () => {
    expect(describeTimeScale(config, 60)).toContain(
      'reaches every viewer in 9 s (9 simulated minutes) at the earliest, each step once the judge found the ' +
        'one before healthy; an alarm period (60 s) passes every 1 s',
    );
    expect(
      describeTimeScale({ ...config, rollout: { strategy: 'canary', percent: 10, intervalMinutes: 5 } }, 1),
    ).toContain('(canary, 10 % for 5 min) reaches every viewer in 5 min (5 simulated minutes)');
    expect(
      describeTimeScale({ ...config, rollout: { strategy: 'all-at-once', percent: 10, intervalMinutes: 5 } }, 6),
    ).toContain('a release (all at once) reaches every viewer at once');
    expect(formatWallTime(0.25)).toBe('0.3 s');
    expect(formatWallTime(125)).toBe('2 min 5 s');
  });
});
