/**
 * The import rules of docs/contributing.md (__tests__/fixtures/import-rules.ts): the project keeps
 * them, and the check would see a break.
 */
import { BUILD_SOURCE_ROOMS } from '../local/local-distribution';
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

it('fingerprints every room a build reads, as the import rules say, so a cached build never misses a change', () => {
  const closure = (rooms: readonly string[]): Set<string> => {
    const found = new Set<string>();
    const visit = (room: string) => {
      if (found.has(room)) return;
      found.add(room);
      for (const below of ROOMS[room] ?? []) visit(below);
    };
    for (const room of rooms) visit(room);
    return found;
  };
  // The build, and the regional functions it bundles by path; the webapp is fingerprinted as its own folder.
  const read = closure(['publish', 'regional-function']);
  read.delete('webapp');
  expect([...BUILD_SOURCE_ROOMS].sort()).toEqual([...read].sort());
});
