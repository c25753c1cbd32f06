/**
 * How a second terminal talks to a running `npm start`: a loopback-only HTTP endpoint (its address
 * is written to build/local/control.json) that releases a build, stops the running deployment,
 * edits the ring, or reports status. `npm run local:release` is its client. It stands where the deploy pipeline and
 * the rollout CLI stand in AWS.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Option } from 'commander';
import { LOCAL_BUILDS_DIR, type LocalDistribution } from './local-distribution';

export interface ControlAddress {
  readonly url: string;
  readonly pid: number;
  readonly distribution: string;
  readonly hostPage: string;
}

export function controlFile(buildsDir: string): string {
  return path.join(buildsDir, 'control.json');
}

/** `file` as a person would type it here: relative when under the working folder. */
export function shownPath(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative.startsWith('..') || path.isAbsolute(relative) ? file : relative;
}

/** `--control-file`, for `npm start` (where it writes its address) and `npm run local:release` (where it reads it). */
export function controlFileOption(description: string): Option {
  const file = controlFile(LOCAL_BUILDS_DIR);
  return new Option('--control-file <file>', description).default(file, shownPath(file));
}

export async function startControlServer(distribution: LocalDistribution, options: { port?: number; addressFile?: string } = {}): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body, null, 2)}\n`);
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      void (async () => {
        try {
          if (req.method === 'GET' && req.url === '/status') return reply(200, { ...distribution.status(), served: distribution.emulator.stats() });
          if (req.method === 'POST' && req.url === '/release') {
            const { buildDir } = JSON.parse(text || '{}') as { buildDir?: unknown };
            if (typeof buildDir !== 'string' || !existsSync(path.join(buildDir, 'manifest.json'))) return reply(400, { error: 'POST /release takes {"buildDir": "<a folder made by buildForLocal>"}' });
            return reply(200, await distribution.release(buildDir));
          }
          if (req.method === 'POST' && req.url === '/stop') {
            const status = distribution.status();
            if (status.deployment?.status !== 'InProgress')
              return reply(409, {
                error: `no release is under way: nothing to stop (build ${status.stable.buildId} serves every viewer${status.deployment ? `; the last deployment, ${status.deployment.id}, ${status.deployment.status.toLowerCase()}` : ''})`,
              });
            distribution.controlPlane.stop('stopped with npm run local:release -- --stop');
            return reply(200, distribution.status());
          }
          if (req.method === 'POST' && req.url === '/ring') {
            const { action, origin } = JSON.parse(text || '{}') as { action?: unknown; origin?: unknown };
            if ((action !== 'add' && action !== 'remove') || typeof origin !== 'string') return reply(400, { error: 'POST /ring takes {"action": "add" | "remove", "origin": "https://host.example"}' });
            return reply(200, { ring: distribution.ring(action, origin) });
          }
          return reply(404, { error: 'GET /status, POST /release {buildDir}, POST /stop, POST /ring {action, origin}' });
        } catch (error) {
          return reply(409, { error: (error as Error).message });
        }
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  if (options.addressFile) {
    const address: ControlAddress = { url, pid: process.pid, distribution: distribution.url, hostPage: distribution.hostUrl };
    writeFileSync(options.addressFile, `${JSON.stringify(address, null, 2)}\n`);
  }
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        // Only our own: another distribution may have taken the file over since.
        if (options.addressFile && readAddress(options.addressFile)?.url === url) rmSync(options.addressFile, { force: true });
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function readAddress(file: string): ControlAddress | null {
  try {
    const address = JSON.parse(readFileSync(file, 'utf8')) as Partial<ControlAddress>;
    return typeof address.url === 'string' && typeof address.pid === 'number' ? (address as ControlAddress) : null;
  } catch {
    return null;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists, it is someone else's.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The distribution that wrote `file`, when its process is still running; null when none is (no file, or one left by a process that has gone). */
export function runningDistribution(file: string): ControlAddress | null {
  const address = existsSync(file) ? readAddress(file) : null;
  return address !== null && isRunning(address.pid) ? address : null;
}

/** The running `npm start`'s control address; throws saying what to do when there is none. */
export function readControlAddress(file: string): ControlAddress {
  const address = runningDistribution(file);
  if (address === null) {
    const left = existsSync(file) ? readAddress(file) : null;
    const why = left ? ` (${file} was left by pid ${left.pid}, which has exited)` : '';
    throw new Error(`no local distribution is running${why}: start one with \`npm start\` in another terminal`);
  }
  return address;
}

export async function callControl(address: ControlAddress, method: 'GET' | 'POST', route: string, body?: unknown): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${address.url}${route}`, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  } catch (error) {
    throw new Error(`the local distribution (pid ${address.pid}) does not answer at ${address.url}: ${(error as Error).message}; is \`npm start\` still running?`);
  }
  const json = (await response.json()) as { error?: string };
  if (!response.ok) throw new Error(json.error ?? `HTTP ${response.status}`);
  return json;
}
