/**
 * The benchmark report's pure parts: ratios, the shape check (each rule proven to catch its
 * violation), the README block, and --only following what sections require.
 */
import {
  blockContent,
  DOCS_BLOCK,
  formatMarkdown,
  formatSummary,
  HEADLINE_FIGURES,
  replaceBlock,
  reportProblems,
  reportSection,
  type BenchReport,
} from '../../bench/report';
import { selectSections } from '../../bench';
import type { BenchSection, Figure } from '../../bench/types';

const MACHINE = {
  cpu: 'Test CPU',
  cores: 2,
  node: 'v20.0.0',
  platform: 'linux test x64',
  memoryGb: 4,
  loadAverage: 0.1,
};

function report(figures: readonly Figure[], extra: Partial<BenchReport> = {}): BenchReport {
  return {
    schema: 3,
    date: '2026-11-27T00:00:00.000Z',
    quick: true,
    buildId: '0123456789abcdef',
    machine: MACHINE,
    wallSeconds: 1,
    sections: {
      alpha: reportSection('Alpha section', {
        figures,
        notes: ['first note', '  continued', 'second note', '  - an item', '  - another item'],
      }),
    },
    ...extra,
  };
}

const GOOD: Figure[] = [
  { name: 'warm median', value: 1.5, unit: 'µs', previous: 1.2, reference: 0.5, target: 5 },
  { name: 'S3 GETs per load', value: 0, unit: 'count', reference: 1 },
  { name: 'queries per load', value: 0.5, unit: 'count', reference: 0 },
  { name: 'zip', value: 2048, unit: 'B' },
  { name: 'total', value: 0.7193, unit: 'USD', reference: 1.007 },
];

describe('bench report', () => {
  it('adds value / reference as the ratio, null when the reference is 0, nothing without a reference', () => {
    const figures = report(GOOD).sections.alpha!.figures;
    expect(figures.map((figure) => figure.ratio)).toEqual([3, 0, null, undefined, 0.7143]);
  });

  it(
    'renders every figure, the previous design, its reference, ratio and target as a markdown table row, and ' +
      'joins continued notes',
    () => {
      const markdown = formatMarkdown(report(GOOD));
      expect(markdown).toContain('## Alpha section');
      expect(markdown).toContain('| warm median | 1.5 µs | 1.2 µs | 0.5 µs | 3.00x | ≤ 5 µs ok |');
      expect(markdown).toContain('| zip | 2.0 KB |  |  |  |  |');
      expect(markdown).toContain('| total | $0.7193 |  | $1.007 | 0.71x |  |');
      expect(markdown).toContain('- first note continued\n- second note\n  - an item\n  - another item\n');
      expect(markdown).toContain('Test CPU, 2 cores');
      expect(reportProblems(report(GOOD), ['alpha'])).toEqual([]);
    },
  );

  it('finds a missing section, a bad unit, a value that is not a number, a duplicate name', () => {
    const broken = report([
      { name: 'warm median', value: Number.NaN, unit: 'µs' },
      { name: 'size', value: 3, unit: 'KB' as Figure['unit'] },
      { name: 'size', value: 4, unit: 'B' },
    ]);
    expect(reportProblems(broken, ['alpha', 'beta'])).toEqual([
      'beta: section missing',
      'alpha / warm median: value NaN is not a finite number',
      'alpha / size: unit "KB" is not one of µs, ms, s, B, count, %, USD',
      'alpha / size: named twice',
    ]);
  });

  it('finds a reference without a ratio, and a figure the markdown does not show', () => {
    const good = report(GOOD);
    const withoutRatio: BenchReport = {
      ...good,
      sections: {
        alpha: { ...good.sections.alpha!, figures: [{ name: 'warm median', value: 1.5, unit: 'µs', reference: 0.5 }] },
      },
    };
    expect(reportProblems(withoutRatio, ['alpha'])).toEqual(['alpha / warm median: has a reference but no ratio']);
    const staleMarkdown = formatMarkdown(good).replace('| zip | 2.0 KB |', '| zip | 1.0 KB |');
    expect(reportProblems(good, ['alpha'], staleMarkdown)).toEqual([
      'alpha / zip: not in the markdown as | zip | 2.0 KB |',
    ]);
  });

  it('finds a section without figures and a report without its machine', () => {
    const empty = report([], { machine: { ...MACHINE, cpu: '' } });
    expect(reportProblems(empty, ['alpha'])).toEqual(['machine: missing or incomplete', 'alpha: no figures']);
  });

  it('rewrites only the block between its markers, and refuses a document without them', () => {
    const doc = `# Title\n\nBefore.\n\n${DOCS_BLOCK.begin}\nold figures\n${DOCS_BLOCK.end}\n\nAfter.\n`;
    const updated = replaceBlock(doc, DOCS_BLOCK, 'new figures\n');
    expect(updated).toBe(`# Title\n\nBefore.\n\n${DOCS_BLOCK.begin}\nnew figures\n${DOCS_BLOCK.end}\n\nAfter.\n`);
    expect(blockContent(updated, DOCS_BLOCK)).toBe('new figures');
    expect(() => replaceBlock('# Title\n', DOCS_BLOCK, 'x')).toThrow(/no benchmark block/);
    expect(blockContent('# Title\n', DOCS_BLOCK)).toBeNull();
  });

  it("refuses to summarize a run that lacks one of the README's figures, naming it", () => {
    expect(() => formatSummary(report([]))).toThrow(
      new RegExp(`README's figure "${HEADLINE_FIGURES[0]!.name}" is not in section ${HEADLINE_FIGURES[0]!.section}`),
    );
  });

  it('runs what a section requires with --only, in order, and rejects unknown sections', () => {
    const section = (id: string, requires?: string[]): BenchSection => ({
      id,
      title: id,
      requires,
      run: async () => ({ figures: [] }),
    });
    const sections = [section('a'), section('b'), section('c', ['a']), section('d', ['c'])];
    expect(selectSections(['d'], sections).map((s) => s.id)).toEqual(['a', 'c', 'd']);
    expect(selectSections(undefined, sections).map((s) => s.id)).toEqual(['a', 'b', 'c', 'd']);
    expect(() => selectSections(['e'], sections)).toThrow(/--only e: no such section/);
  });
});
