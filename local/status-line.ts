/**
 * The one line `npm start` keeps up to date: which builds, at what weight, how many entries each
 * build served, and the alarm. Pure, so its wording is tested.
 */
import type { ControlPlaneStatus } from './control-plane';
import type { EmulatorStats } from './cloudfront-emulator';

function short(buildId: string): string {
  return buildId.slice(0, 8);
}

export function formatStatusLine(status: ControlPlaneStatus, served: EmulatorStats): string {
  const parts = [`stable ${short(status.stable.buildId)} (v${status.stable.version})`];
  parts.push(status.canary ? `canary ${short(status.canary.buildId)} (v${status.canary.version}) ${(status.canary.weight / 100).toFixed(0)}%` : 'no canary');
  const counts = Object.entries(served.entryByBuild)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([buildId, count]) => `${short(buildId)}×${count}`);
  parts.push(`served ${counts.length > 0 ? counts.join(' ') : 'nothing yet'}`);
  if (status.deployment) parts.push(`${status.deployment.id} ${status.deployment.status}`);
  parts.push(`alarm ${status.alarm?.state ?? 'OK'}`);
  return parts.join(' | ');
}
