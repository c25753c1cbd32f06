/**
 * Reads Terraform's human-readable plan (`terraform plan -no-color`, or `cdktf plan --no-color`,
 * which prefixes each block with the stack name and annotates addresses with construct paths):
 * which resources would change and how. Drift detection and the pull-request plan comment both
 * report through it. The text format is Terraform's stable UI; the fixtures in
 * __tests__/fixtures/plans are captured from real runs.
 */

export type PlanAction = 'create' | 'update' | 'replace' | 'delete' | 'read' | 'move' | 'import' | 'forget';

export interface PlannedChange {
  readonly address: string;
  readonly action: PlanAction;
  /** For a move, the new address. */
  readonly to?: string;
}

export interface PlanSummary {
  /** Resource actions, in plan order. */
  readonly changes: readonly PlannedChange[];
  /** Addresses Terraform found changed or deleted outside of Terraform (refresh notes). */
  readonly changedOutside: readonly string[];
  readonly outputsChanged: boolean;
  /** Terraform said "No changes." */
  readonly noChanges: boolean;
  /** `Plan: 1 to add, 2 to change, 0 to destroy.`, when present. */
  readonly summaryLine: string | null;
}

const ACTIONS: readonly [string, PlanAction][] = [
  ['will be created', 'create'],
  ['will be updated in-place', 'update'],
  ['must be replaced', 'replace'],
  ['is tainted, so must be replaced', 'replace'],
  ['will be destroyed', 'delete'],
  ['will be read during apply', 'read'],
  ['will be imported', 'import'],
  ['will no longer be managed by Terraform', 'forget'],
];

export const ACTION_SYMBOL: Readonly<Record<PlanAction, string>> = {
  create: '+',
  update: '~',
  replace: '-/+',
  delete: '-',
  read: '<=',
  move: '→',
  import: '←',
  forget: '.',
};

// `  # <address>[ (<construct path>)] <phrase>`; the construct path is what cdktf adds.
const CHANGE_LINE = new RegExp(
  `^\\s*# (.+?)(?: \\(([^()]*)\\))? (${ACTIONS.map(([phrase]) => phrase.replace(/[.,]/g, '\\$&')).join('|')})$`,
);
const MOVE_LINE = /^\s*# (.+?)(?: \(([^()]*)\))? has moved to (.+)$/;
const OUTSIDE_LINE = /^\s*# (.+?)(?: \(([^()]*)\))? (?:has changed|has been deleted)$/;

export function parsePlan(text: string): PlanSummary {
  const changes: PlannedChange[] = [];
  const changedOutside: string[] = [];
  let summaryLine: string | null = null;
  for (const line of cleanPlanOutput(text).split('\n')) {
    const [, changed, , phrase] = CHANGE_LINE.exec(line) ?? [];
    const action = ACTIONS.find(([known]) => known === phrase)?.[1];
    if (changed !== undefined && action !== undefined) {
      changes.push({ address: changed, action });
      continue;
    }
    const [, moved, , to] = MOVE_LINE.exec(line) ?? [];
    if (moved !== undefined && to !== undefined) {
      changes.push({ address: moved, action: 'move', to });
      continue;
    }
    const [, outside] = OUTSIDE_LINE.exec(line) ?? [];
    if (outside !== undefined) {
      changedOutside.push(outside);
      continue;
    }
    const [, summary] = /^\s*(Plan: \d+ to .*\.)\s*$/.exec(line) ?? [];
    if (summary !== undefined) summaryLine = summary;
  }
  return {
    changes,
    changedOutside,
    outputsChanged: /^\s*Changes to Outputs:\s*$/m.test(cleanPlanOutput(text)),
    noChanges: /^\s*No changes\. /m.test(cleanPlanOutput(text)),
    summaryLine,
  };
}

/** Without ANSI escapes, spinner frames, carriage returns, or cdktf's `<stack>  ` column. */
export function cleanPlanOutput(text: string): string {
  const lines = text
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character starts the terminal codes this is about
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '')
    .replace(/\r/g, '')
    .split('\n')
    .filter((line) => !/^\s*[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]\s/.test(line));
  // cdktf writes `<stack>  <text>` on the first line of a block and pads the following ones.
  const prefix = /^([A-Za-z0-9_-]+) {2}\S/.exec(lines.find((line) => /^[A-Za-z0-9_-]+ {2}\S/.test(line)) ?? '')?.[1];
  if (!prefix) return lines.join('\n');
  const pad = ' '.repeat(prefix.length + 2);
  return lines
    .map((line) =>
      line === prefix
        ? ''
        : line.startsWith(`${prefix}  `)
          ? line.slice(prefix.length + 2)
          : line.startsWith(pad)
            ? line.slice(pad.length)
            : line,
    )
    .join('\n');
}

/** `~ update  aws_s3_bucket.x` lines, one per change. */
export function describeChanges(changes: readonly PlannedChange[]): string[] {
  return changes.map(
    (change) =>
      `${ACTION_SYMBOL[change.action].padEnd(3)} ${change.action.padEnd(7)} ` +
      `${change.address}${change.to ? ` → ${change.to}` : ''}`,
  );
}
