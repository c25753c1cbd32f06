/**
 * `rollout preview add|list|remove`: show a build to the viewers inside an address prefix (the
 * people checking it: a laptop, an office) until a time, on every host page and whatever the
 * rollout (contracts/rollout-state.ts, "previews"). Previewed viewers are counted apart by the
 * release signal and never judged; a preview ends by itself at its time, which every reader
 * compares with its own clock.
 *
 * Edits go through the same conditional write as `ring` (editRolloutState): an edit never undoes
 * a state rollout sync wrote in between, and rollout sync carries the previews over. What `add`
 * refuses is refused before anything is written: a build a region's bucket lacks (its viewers
 * there would get 403s), a revoked build, more previews than the budget they share with the ring,
 * a store with no valid state. The revocation is read after the store's ETag, so a revocation
 * written meanwhile makes the write fail and the next attempt refuses the build.
 */
import { InvalidArgumentError } from 'commander';
import { ENTRY_PATH } from '../../contracts/distribution-paths';
import { STORE_PROPAGATION_MS } from '../../contracts/release-signal';
import {
  livePreviews,
  PREVIEW_LONGEST_MS,
  PREVIEW_SHORTEST_MS,
  sharedBudget,
  withoutPreview,
  withoutPreviewsOf,
  withPreview,
  type RolloutState,
} from '../../contracts/rollout-state';
import { addressGroups, inViewerPrefix, normalizeViewerPrefix } from '../../contracts/viewer-address';
import { errorMessage } from '../../rollout-control/aws-errors';
import { buildPresence, type BuildPresence } from '../../rollout-control/build-presence';
import { refuseRevoked } from '../../rollout-control/revocations';
import { readRolloutState } from '../../rollout-control/rollout-state-store';
import { formatDuration, parseDuration } from '../lib/cli';
import { previewViews, roughDuration, table, type PreviewView } from '../lib/rollout-view';
import {
  editableState,
  editRolloutState,
  requestSync,
  RolloutError,
  rolloutStoreArn,
  type CommandResult,
  type Context,
  type Invocation,
} from './context';

export type PreviewRequest =
  | { readonly action: 'list' }
  | {
      readonly action: 'add';
      readonly build: string;
      /** An address or prefix, as typed (checked by viewerPrefixProblem). */
      readonly viewer: string;
      /** How long from now, in milliseconds (checked by previewDuration). */
      readonly forMs: number;
    }
  /** Exactly one of the two: the preview of that prefix, or every preview of that build. */
  | { readonly action: 'remove'; readonly viewer?: string; readonly build?: string };

/** `--for`: a duration (30m, 2h, 1d) from a minute to seven days, or a usage error saying why not. */
export function previewDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms < PREVIEW_SHORTEST_MS)
    throw new InvalidArgumentError(
      `a preview lasts at least ${formatDuration(PREVIEW_SHORTEST_MS)}, got ${JSON.stringify(text)}: the rollout store ` +
        `takes up to ${STORE_PROPAGATION_MS / 1000}s to reach every edge, so a shorter one could end before its ` +
        'viewers see it.',
    );
  if (ms > PREVIEW_LONGEST_MS)
    throw new InvalidArgumentError(
      `a preview lasts at most 7 days, got ${JSON.stringify(text)}: add it again when it ends to keep it.`,
    );
  return ms;
}

export async function previewCommand(context: Context, invocation: Invocation): Promise<CommandResult> {
  const request = invocation.preview!;
  const arn = await rolloutStoreArn(context);
  if (request.action === 'list') return listPreviews(context, arn);
  if (request.action === 'add') return addPreview(context, arn, request);
  return removePreviews(context, arn, request);
}

const propagation = `within ${STORE_PROPAGATION_MS / 1000} s (the rollout store reaching every edge)`;

async function listPreviews(context: Context, arn: string): Promise<CommandResult> {
  const state = editableState(context, await readRolloutState(context.clients.kvs, arn), 'add a preview');
  const now = context.now();
  const live = livePreviews(state, now);
  const inForce = previewViews(live, now);
  const ended = previewViews(
    (state.previews ?? []).filter((preview) => !live.includes(preview)),
    now,
  );
  const budget = sharedBudget(state);
  const rows = (views: readonly PreviewView[], left: boolean) =>
    table(
      views.map((p) => [
        p.viewer,
        `build ${p.build}`,
        `until ${p.until}`,
        left ? `${roughDuration(p.secondsLeft)} left` : '',
      ]),
    );
  const lines =
    inForce.length === 0
      ? ['No preview in force: every viewer gets the build the ring and the weight give it.']
      : [
          `Previews in force (${inForce.length}; with the ring they take ${budget.used} of ${budget.limit} bytes), ` +
            'their build on every host page whatever the rollout:',
          ...rows(inForce, true),
        ];
  if (ended.length > 0)
    lines.push(
      `Ended, still stored until the state is next written (the edges ignore them): ${ended.length}`,
      ...rows(ended, false),
    );
  return { json: { previews: inForce, expired: ended, bytes: budget.used, limitBytes: budget.limit }, lines };
}

async function addPreview(
  context: Context,
  arn: string,
  request: Extract<PreviewRequest, { action: 'add' }>,
): Promise<CommandResult> {
  const { build } = request;
  let presence: BuildPresence | undefined;
  const { result } = await editRolloutState(context, arn, async (read) => {
    const current = editableState(context, read, 'add the preview');
    await refuseRevoked(context.clients.kvs, arn, [build], 'previewed');
    presence ??= await buildPresence(context.clients.s3For, context.target.buckets, build);
    refuseMissing(context, build, presence);
    const now = context.now();
    const until = Math.ceil((now + request.forMs) / 1000);
    let next: RolloutState;
    try {
      next = withPreview(current, { build, viewer: request.viewer, until }, now);
    } catch (error) {
      throw new RolloutError(errorMessage(error));
    }
    const viewer = normalizeViewerPrefix(request.viewer)!;
    const replaced = livePreviews(current, now).find((preview) => preview.viewer === viewer) ?? null;
    return { next, result: { next, now, viewer, until, replaced } };
  });
  const { next, now, viewer, until, replaced } = result;
  // Rollout sync carries the previews over from the store; have it look now rather than within a minute.
  const syncRequested = await requestSync(context);
  const [added] = previewViews([{ build, viewer, until }], now);
  const budget = sharedBudget(next);
  const lines = [
    `Previewing build ${build} for viewers in ${viewer} until ${added!.until} ` +
      `(${roughDuration(added!.secondsLeft)} from now).`,
    `Their next load of ${ENTRY_PATH} gets it ${propagation}, on every host page and whatever the rollout; ` +
      'they are counted apart from the rollout and never judged.',
    ...(replaced === null
      ? []
      : [
          `It replaces the preview of build ${replaced.build} there (until ` +
            `${new Date(replaced.until * 1000).toISOString()}).`,
        ]),
    `It ends by itself then; to end it sooner: npm run rollout -- preview remove --viewer ${viewer}`,
  ];
  return {
    json: {
      action: 'add',
      build,
      viewer,
      until: added!.until,
      untilEpochSeconds: until,
      entry: ENTRY_PATH,
      propagationSeconds: STORE_PROPAGATION_MS / 1000,
      replaced: replaced === null ? null : previewViews([replaced], now)[0],
      previews: previewViews(livePreviews(next, now), now),
      bytes: budget.used,
      limitBytes: budget.limit,
      syncRequested,
    },
    lines,
  };
}

function refuseMissing(context: Context, build: string, presence: BuildPresence): void {
  if (presence.missing.length === 0) return;
  const { buckets } = context.target;
  if (presence.present.length === 0)
    throw new RolloutError(
      `no bucket holds build ${build} (its manifest, in ${Object.values(buckets).join(', ')}): check the id ` +
        '(`rollout status` and X-Build-Id show them), or upload the build first (npm run upload)',
    );
  throw new RolloutError(
    `build ${build} is not in every bucket: its manifest is missing from ` +
      `${presence.missing.map((region) => `${buckets[region]} (${region})`).join(', ')}, whose viewers would get ` +
      'errors; copy it there first (npm run backfill), then add the preview again',
  );
}

async function removePreviews(
  context: Context,
  arn: string,
  request: Extract<PreviewRequest, { action: 'remove' }>,
): Promise<CommandResult> {
  const viewer = request.viewer === undefined ? null : normalizeViewerPrefix(request.viewer);
  const { result, written } = await editRolloutState(context, arn, async (read) => {
    const current = editableState(context, read, 'edit the previews');
    const now = context.now();
    const live = livePreviews(current, now);
    const removed = live.filter((preview) =>
      viewer === null ? preview.build === request.build : preview.viewer === viewer,
    );
    const next =
      viewer === null ? withoutPreviewsOf(current, request.build!, now) : withoutPreview(current, viewer, now);
    return { next: removed.length === 0 ? null : next, result: { now, live, removed } };
  });
  const { now, live, removed } = result;
  const syncRequested = written ? await requestSync(context) : false;
  const left = live.length - removed.length;
  const remaining = `${left === 0 ? 'No' : left} preview${left === 1 ? '' : 's'} in force now.`;
  const json = {
    action: 'remove',
    ...(viewer === null ? { build: request.build } : { viewer }),
    changed: written,
    removed: previewViews(removed, now),
    previews: previewViews(
      live.filter((preview) => !removed.includes(preview)),
      now,
    ),
    syncRequested,
  };
  if (removed.length === 0) {
    // As for `ring remove`: nothing to remove is not a failure; it says so and writes nothing.
    const holding = viewer === null ? [] : live.filter((preview) => covers(preview.viewer, viewer));
    return {
      json,
      lines: [
        viewer === null
          ? `Not previewed: no preview in force shows build ${request.build}.`
          : `Not previewed: no preview in force is for ${viewer}.` +
            (holding.length === 0
              ? ''
              : ` ${holding.map((p) => `${p.viewer} (build ${p.build})`).join(', ')} holds it: remove ` +
                `${holding.length === 1 ? 'that prefix' : 'one of those prefixes'} with --viewer.`),
        remaining,
      ],
    };
  }
  return {
    json,
    lines: [
      ...removed.map(
        (p) =>
          `Ended the preview of build ${p.build} for ${p.viewer} (it was to last until ` +
          `${new Date(p.until * 1000).toISOString()}).`,
      ),
      `Their next load of ${ENTRY_PATH} gets the build the rollout gives them, ${propagation}.`,
      remaining,
    ],
  };
}

/** Whether the stored prefix `prefix` holds every address of the normalized prefix `inner`. */
function covers(prefix: string, inner: string): boolean {
  const [address, length] = inner.split('/');
  const groups = addressGroups(address!);
  return (
    groups !== null && inViewerPrefix(groups, prefix) && Number(length) >= Number(prefix.slice(prefix.indexOf('/') + 1))
  );
}

/**
 * For `rollout revoke`: ends every preview of `buildId` (in force or ended but still stored), so
 * that no viewer is assigned a revoked build by a preview (the viewer-assignment function rewrites
 * a previewed viewer's entry to its build; the 410 gate covers only the build's own URL). Writes
 * nothing when no preview names it, or when the store holds no valid state (it names no build).
 * Returns the previews that were in force.
 */
export async function endPreviewsOf(context: Context, arn: string, buildId: string): Promise<PreviewView[]> {
  const { result } = await editRolloutState(context, arn, async (read) => {
    const state = read.stored?.state;
    const now = context.now();
    const named = (state?.previews ?? []).filter((preview) => preview.build === buildId);
    if (!state || named.length === 0) return { next: null, result: [] };
    const live = livePreviews(state, now);
    return {
      next: withoutPreviewsOf(state, buildId, now),
      result: previewViews(
        named.filter((preview) => live.includes(preview)),
        now,
      ),
    };
  });
  return result;
}
