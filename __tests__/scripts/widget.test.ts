/**
 * The one command tree (scripts/widget.ts): every command under one root, each npm script a
 * shortcut to the same command's file, and every command and subcommand answering --help.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { PROJECT_ROOT } from '../../publish/build';
import { COMMANDS, runWidget } from '../../scripts/widget';

const packageJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

/** Runs the root in process: the exit code and what it wrote. */
async function widget(...argv: string[]): Promise<{ code: number; out: string; error: string }> {
  const out: string[] = [];
  const error: string[] = [];
  const code = await runWidget(argv, { out: (text) => void out.push(text), error: (text) => void error.push(text) });
  return { code, out: out.join(''), error: error.join('') };
}

/** Every command path under `command`: [], ['start'], ['ring', 'add'], … */
function paths(command: Command, prefix: readonly string[] = []): string[][] {
  return [[...prefix], ...command.commands.flatMap((sub) => paths(sub, [...prefix, sub.name()]))];
}

it('lists every command under the root, each with its summary', async () => {
  const { code, out } = await widget('--help');
  expect(code).toBe(0);
  for (const entry of COMMANDS) expect(out).toMatch(new RegExp(`^  ${entry.name}\\b`, 'm'));
});

it(
  'keeps each npm script a shortcut to the file of the command the root runs, and lists every command ' +
    'an npm script runs',
  () => {
    for (const entry of COMMANDS) {
      const script = packageJson.scripts[entry.shortcut];
      expect(`${entry.shortcut}: ${script}`).toMatch(
        new RegExp(`^${entry.shortcut}: (exec node --import tsx|tsx) ${entry.file.replace(/[.]/g, '\\.')}$`),
      );
    }
    const commandFiles = Object.entries(packageJson.scripts).filter(([, script]) =>
      /^(exec node --import tsx|tsx) (scripts|bench)\/[\w-]+(\/index)?\.ts\b/.test(script),
    );
    const listed = new Set(COMMANDS.map((entry) => entry.shortcut));
    // The root itself, and the benchmark: a development tool that measures these commands, so above them.
    expect(commandFiles.map(([name]) => name).filter((name) => !listed.has(name))).toEqual(['widget', 'bench']);
  },
);

it('answers --help for every command and every subcommand, exit 0', async () => {
  const checked: string[] = [];
  for (const entry of COMMANDS) {
    const command = await entry.load();
    for (const sub of paths(command)) {
      checked.push([entry.name, ...sub].join(' '));
      const { code, out } = await widget(entry.name, ...sub, '--help');
      expect(`${[entry.name, ...sub].join(' ')}: ${code}`).toBe(`${[entry.name, ...sub].join(' ')}: 0`);
      expect(out).toMatch(/^Usage: /);
      expect(out).toContain('Exit codes: 0 done, 1 failed, 2 usage error.');
    }
  }
  // The subcommands were walked too: rollout's and local-release's among them.
  expect(checked).toEqual(
    expect.arrayContaining(['rollout start', 'rollout ring add', 'rollout wait', 'rollout check-live']),
  );
  expect(checked.length).toBeGreaterThan(COMMANDS.length + 8);
}, 120_000);

/**
 * What does not report state, and so takes no --json: the long-running servers, the commands that
 * write a file or a pull-request comment, and the groups whose subcommands do the work.
 */
const NO_STATE = [
  'start',
  's3-server',
  'dns-server',
  'config-docs',
  'plan-comment',
  'rollout',
  'rollout ring',
  'rollout preview',
  'local-release ring',
];

it('takes --json on every command and subcommand that reports state', async () => {
  const lacking: string[] = [];
  for (const entry of COMMANDS) {
    const walk = (command: Command, trail: readonly string[], inherited: boolean) => {
      const json = inherited || command.options.some((option) => option.long === '--json');
      const name = trail.join(' ');
      if (!json && !NO_STATE.includes(name)) lacking.push(name);
      for (const sub of command.commands) walk(sub, [...trail, sub.name()], json);
    };
    walk(await entry.load(), [entry.name], false);
  }
  expect(lacking).toEqual([]);
});

it('refuses a command it does not have, exit 2, naming the ones it has', async () => {
  const { code, error } = await widget('deploy');
  expect(code).toBe(2);
  expect(error).toContain('no command "deploy"; the commands are: build, upload, rollout,');
});

it('runs a command through the root as its shortcut does', async () => {
  // The command's own output goes to stdout (through the root's output), as when its shortcut runs it.
  const { code, out } = await widget('csp', '--json', '--origin', 'https://d1234abcd.cloudfront.net');
  expect(code).toBe(0);
  expect(JSON.parse(out)).toMatchObject({
    distribution: 'https://d1234abcd.cloudfront.net',
    policy: expect.stringContaining('script-src https://d1234abcd.cloudfront.net'),
  });
});
