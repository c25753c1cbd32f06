/**
 * The import rules of docs/contributing.md (__tests__/fixtures/import-rules.ts): the project keeps
 * them, and the check would see a break.
 */
import { cycleOf, projectViolations, ROOMS, violationsOf } from './fixtures/import-rules';

const folders = new Set(['config', 'contracts', 'stacks', 'local', 'loopback', 'rollout-control', 'regional-function']);
const isFolder = (relative: string) => folders.has(relative);

it('the project imports only down the rooms, and the rooms allow no cycle', () => {
  expect(cycleOf(ROOMS)).toBeNull();
  expect(projectViolations()).toEqual([]);
});

it('reports an import up the rooms, with the file, the line and what the room may import', () => {
  const source = "import { x } from '../../rollout-control/signal-table';\nimport { y } from '../../contracts/z';\n";
  expect(violationsOf('stacks/constructs/table.ts', source, ROOMS, isFolder)).toEqual([
    {
      file: 'stacks/constructs/table.ts',
      line: 1,
      imported: '../../rollout-control/signal-table',
      message: 'stacks may not import rollout-control (it may import config, contracts)',
    },
  ]);
  expect(
    violationsOf('loopback/emulator.ts', "import type { Clock } from '../local/control-plane';", ROOMS, isFolder),
  ).toHaveLength(1);
  // `../config` is the folder config/, not a file at the top.
  expect(violationsOf('loopback/emulator.ts', "import { loadConfig } from '../config';", ROOMS, isFolder)).toEqual([]);
  expect(violationsOf('main.ts', "import { loadConfig } from './config';", ROOMS, isFolder)).toEqual([]);
});

it('reports a room the table does not know, a dynamic import, and an import from outside the project', () => {
  expect(violationsOf('tools/x.ts', "import { y } from '../contracts/y';", ROOMS, isFolder)[0]?.message).toMatch(
    /^tools\/ is not a room of ROOMS/,
  );
  expect(
    violationsOf('contracts/x.ts', "const m = await import('../config/schema');", ROOMS, isFolder)[0]?.message,
  ).toBe('contracts may not import config (it may import nothing but itself)');
  expect(violationsOf('contracts/x.ts', "import y from '../../elsewhere/y';", ROOMS, isFolder)[0]?.message).toBe(
    'imports from outside the project',
  );
});

it('finds a cycle a table would allow', () => {
  expect(cycleOf({ a: ['b'], b: ['c'], c: ['a'] })).toEqual(['a', 'b', 'c', 'a']);
  expect(cycleOf({ a: ['b'], b: [] })).toBeNull();
});
