/**
 * The benchmark's report: one JSON document (every figure, with its ratio to the reference where
 * there is one), its text tables (printed) and its markdown (bench.md, the docs/benchmark.md block
 * and the README summary that `npm run bench -- --update-docs` rewrites). Also the shape check the tests run on it.
 */
import type { Figure, SectionResult, Unit } from './types';
import { UNITS } from './types';

export interface MachineInfo {
  readonly cpu: string;
  readonly cores: number;
  readonly node: string;
  readonly platform: string;
  readonly memoryGb: number;
  /** 1-minute load average when the run started: the machine may be shared. */
  readonly loadAverage: number;
}

export interface ReportFigure extends Figure {
  /** value / reference when there is a reference; null when the reference is 0. */
  readonly ratio?: number | null;
}

export interface ReportSection {
  readonly title: string;
  readonly figures: readonly ReportFigure[];
  readonly notes: readonly string[];
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface BenchReport {
  readonly schema: 3;
  readonly date: string;
  /** A quick run (tests): same figures, too few repetitions to quote. */
  readonly quick: boolean;
  readonly buildId: string;
  readonly machine: MachineInfo;
  /** Wall time of the whole run. */
  readonly wallSeconds: number;
  readonly sections: Readonly<Record<string, ReportSection>>;
}

export function reportSection(title: string, result: SectionResult): ReportSection {
  const figures = result.figures.map((figure): ReportFigure => {
    if (figure.reference === undefined) return figure;
    return {
      ...figure,
      ratio: figure.reference === 0 ? null : Math.round((figure.value / figure.reference) * 10000) / 10000,
    };
  });
  return { title, figures, notes: result.notes ?? [], ...(result.data ? { data: result.data } : {}) };
}

export function formatValue(value: number, unit: Unit): string {
  switch (unit) {
    case 'B':
      return value >= 1024 ? `${(value / 1024).toFixed(1)} KB` : `${value} B`;
    case 'count':
      return String(value);
    case 'USD':
      return `$${value}`;
    default:
      return `${value} ${unit}`;
  }
}

function cells(figure: ReportFigure): [string, string, string, string, string, string] {
  const target =
    figure.target === undefined
      ? ''
      : `≤ ${formatValue(figure.target, figure.unit)} ${figure.value <= figure.target ? 'ok' : 'MISSED'}`;
  return [
    figure.name,
    formatValue(figure.value, figure.unit),
    figure.previous === undefined ? '' : formatValue(figure.previous, figure.unit),
    figure.reference === undefined ? '' : formatValue(figure.reference, figure.unit),
    figure.ratio === undefined || figure.ratio === null ? '' : `${figure.ratio.toFixed(2)}x`,
    target,
  ];
}

const HEADER = ['figure', 'value', 'previous', 'reference', 'ratio', 'target'];

/** A section as a fixed-width text table, notes under it. */
export function formatSectionText(section: ReportSection): string {
  const rows = section.figures.map(cells);
  // Every row has a cell under each heading, so column is in range of each.
  const widths = HEADER.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (row: string[]) =>
    row
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [section.title, line(HEADER), ...rows.map(line), ...section.notes.map((note) => `  ${note}`)].join('\n');
}

export function machineLine(machine: MachineInfo): string {
  return (
    `${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}, ${machine.platform}, ` +
    `load ${machine.loadAverage}`
  );
}

const escapeCell = (text: string) => text.replaceAll('|', '\\|');

/**
 * The report as markdown: one table per section, its notes as a list (a note starting with two
 * spaces continues the one before; one starting with "  - " is an item under it).
 */
export function formatMarkdown(report: BenchReport): string {
  const out = [
    `Measured ${report.date.slice(0, 10)} by ` +
      `\`npm run bench\`${report.quick ? ' --quick (too few repetitions to quote)' : ''} ` +
      `in ${report.wallSeconds} s on ${machineLine(report.machine)}; build \`${report.buildId}\`. ` +
      `Previous = this project's previous design (entry router on every load, rollout record in DNS), kept as a ` +
      `baseline; Reference = the reference design's handlers, reproduced; Ratio = value / reference.`,
  ];
  for (const section of Object.values(report.sections)) {
    out.push(
      '',
      `## ${section.title}`,
      '',
      '| Figure | Value | Previous | Reference | Ratio | Target |',
      '| --- | ---: | ---: | ---: | ---: | --- |',
    );
    for (const figure of section.figures) out.push(`| ${cells(figure).map(escapeCell).join(' | ')} |`);
    const notes: string[] = [];
    for (const note of section.notes) {
      if (note.startsWith('  - ') && notes.length > 0) notes.push(`  - ${note.slice(4).trim()}`);
      else if (note.startsWith('  ') && notes.length > 0) notes[notes.length - 1] += ` ${note.trim()}`;
      else notes.push(`- ${note.trim()}`);
    }
    if (notes.length > 0) out.push('', ...notes);
  }
  return `${out.join('\n')}\n`;
}

/**
 * What is wrong with a report's shape, one line per problem (none: an empty list): every expected
 * section present with at least one figure; every figure named, finite and in a known unit; a
 * ratio wherever there is a reference; the markdown showing every figure's name and value.
 */
export function reportProblems(
  report: BenchReport,
  expectedSections: readonly string[],
  markdown = formatMarkdown(report),
): string[] {
  const problems: string[] = [];
  if (!report.machine?.cpu || !(report.machine.cores > 0)) problems.push('machine: missing or incomplete');
  for (const id of expectedSections) if (!(id in report.sections)) problems.push(`${id}: section missing`);
  for (const [id, section] of Object.entries(report.sections)) {
    if (section.figures.length === 0) problems.push(`${id}: no figures`);
    if (!markdown.includes(`## ${section.title}`)) problems.push(`${id}: title missing from the markdown`);
    const seen = new Set<string>();
    for (const figure of section.figures) {
      const where = `${id} / ${figure.name || '(unnamed)'}`;
      if (!figure.name) problems.push(`${where}: no name`);
      if (seen.has(figure.name)) problems.push(`${where}: named twice`);
      seen.add(figure.name);
      if (typeof figure.value !== 'number' || !Number.isFinite(figure.value))
        problems.push(`${where}: value ${String(figure.value)} is not a finite number`);
      if (!(UNITS as readonly string[]).includes(figure.unit))
        problems.push(`${where}: unit ${JSON.stringify(figure.unit)} is not one of ${UNITS.join(', ')}`);
      if (figure.previous !== undefined && !Number.isFinite(figure.previous))
        problems.push(`${where}: previous ${String(figure.previous)} is not a finite number`);
      if (figure.reference !== undefined) {
        if (!Number.isFinite(figure.reference))
          problems.push(`${where}: reference ${String(figure.reference)} is not a finite number`);
        if (!('ratio' in figure)) problems.push(`${where}: has a reference but no ratio`);
        else if (figure.reference !== 0 && typeof figure.ratio !== 'number')
          problems.push(`${where}: ratio ${String(figure.ratio)} is not a number`);
      }
      if (Number.isFinite(figure.value) && (UNITS as readonly string[]).includes(figure.unit)) {
        const row = `| ${escapeCell(figure.name)} | ${escapeCell(formatValue(figure.value, figure.unit))} |`;
        if (!markdown.includes(row)) problems.push(`${where}: not in the markdown as ${row}`);
      }
    }
  }
  return problems;
}

/** A block of a document a tool rewrites, between two markers (the benchmark's, the host guide's engine table). */
export interface DocBlock {
  /** What the block holds, for the error when a document lacks it. */
  readonly name: string;
  readonly begin: string;
  readonly end: string;
}

/** docs/benchmark.md: every table of a full run. */
export const DOCS_BLOCK: DocBlock = {
  name: 'benchmark',
  begin: '<!-- bench:begin: `npm run bench -- --update-docs` rewrites this block from a full run -->',
  end: '<!-- bench:end -->',
};
/** README.md: the headline figures of the same run. */
export const SUMMARY_BLOCK: DocBlock = {
  name: 'benchmark',
  begin: '<!-- bench-summary:begin: `npm run bench -- --update-docs` rewrites this block from a full run -->',
  end: '<!-- bench-summary:end -->',
};

/** `text` with what lies between the block's markers replaced by `content`. */
export function replaceBlock(text: string, block: DocBlock, content: string): string {
  const begin = text.indexOf(block.begin);
  const end = text.indexOf(block.end);
  if (begin < 0 || end < begin)
    throw new Error(`no ${block.name} block: add the lines\n${block.begin}\n${block.end}\nwhere it belongs`);
  return `${text.slice(0, begin + block.begin.length)}\n${content.trimEnd()}\n${text.slice(end)}`;
}

/** What lies between the block's markers, or null when the text has none. */
export function blockContent(text: string, block: DocBlock): string | null {
  const begin = text.indexOf(block.begin);
  const end = text.indexOf(block.end);
  return begin < 0 || end < begin ? null : text.slice(begin + block.begin.length, end).trim();
}

/**
 * The figures the README quotes, by section and name: what it costs (per load, and the release
 * signal a month and at scale), what a load runs, how fast a rollback reaches viewers, how big the
 * entry is. Each must exist in a full run (formatSummary refuses a run without one).
 */
export const HEADLINE_FIGURES: readonly { readonly section: string; readonly name: string; readonly label: string }[] =
  [
    { section: 'build-output', name: 'entry index.js, brotli', label: 'entry `index.js`, brotli' },
    {
      section: 'origin-requests',
      name: 'Lambda@Edge invocations per entry load, rollout at w = 10 %, fleet model',
      label: 'Lambda@Edge invocations per entry load, during a rollout',
    },
    {
      section: 'origin-requests',
      name: 'S3 GETs per entry load, rollout at w = 10 %',
      label: 'S3 GETs per entry load, during a rollout',
    },
    { section: 'cost', name: 'total, steady state', label: 'cost per million entry loads, steady' },
    { section: 'cost', name: 'total, rollout at w = 10 %', label: 'cost per million entry loads, during a rollout' },
    {
      section: 'cost',
      name: 'total, rollout at w = 10 %, full previews',
      label: 'cost per million entry loads, during a rollout, with full previews in force',
    },
    {
      section: 'rollback-reach',
      name: 'alarm to every viewer on stable, typical',
      label: 'alarm to every viewer on the stable build, typical',
    },
    {
      section: 'rollback-reach',
      name: 'alarm to every viewer on stable, worst case',
      label: 'alarm to every viewer on the stable build, worst',
    },
    {
      section: 'release-judge',
      name: '1 million loads a day, canary failing 30 % more: first failing load to every viewer on stable, median',
      label:
        'canary failing 30 % of its viewers at 1 million loads a day: first failing load to every viewer ' +
        'on stable, median',
    },
    {
      section: 'release-judge',
      name: '1 million loads a day, canary failing 30 % more: first failing load to every viewer on stable, worst',
      label: 'the same, worst of 200 releases',
    },
    {
      section: 'release-judge',
      name: '1 million loads a day, healthy: rolled back',
      label: 'healthy releases rolled back of 1,000, 1 million loads a day',
    },
    {
      section: 'release-signal',
      name: '1 million loads a day: cost a month',
      label: 'release signal a month, 1 million loads a day',
    },
    {
      section: 'release-signal',
      name: '100 million loads a day: cost per million loads',
      label: 'release signal per million loads, 100 million a day',
    },
    {
      section: 'edge-routers',
      name: 'viewer assignment (every load), rollout at 25 % with a ring: median',
      label: 'viewer assignment per load, median (harness)',
    },
  ];

/**
 * The README's table: the headline figures of a full run, with the previous design and the reference where measured.
 */
export function formatSummary(report: BenchReport): string {
  const rows = HEADLINE_FIGURES.map((headline) => {
    const figure = report.sections[headline.section]?.figures.find((candidate) => candidate.name === headline.name);
    if (figure === undefined)
      throw new Error(`the README's figure "${headline.name}" is not in section ${headline.section} of this run`);
    const other = (value: number | undefined) =>
      value === undefined ? '' : escapeCell(formatValue(value, figure.unit));
    return (
      `| ${escapeCell(headline.label)} | ${escapeCell(formatValue(figure.value, figure.unit))} | ` +
      `${other(figure.previous)} | ${other(figure.reference)} |`
    );
  });
  return [
    `Measured ${report.date.slice(0, 10)} on ${report.machine.cores} cores, build \`${report.buildId}\`. ` +
      `Previous: this project's previous design (an entry router on every load, the rollout in DNS; for the ` +
      `release signal, the metrics API that took a beacon per load); reference: the design it started ` +
      `from, reproduced.`,
    '',
    '| Figure | This design | Previous | Reference |',
    '| --- | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
}
