import { endRunTmpdir } from './fixtures/run-tmpdir';

/**
 * Fails the run when a test left anything in the temporary folder: each suite removes what it
 * made (folders, servers' files, unpacked handlers). The names say who: every test names its
 * folders by a prefix of its own. Removed here either way, so a failed run leaves nothing either.
 */
export default async function globalTeardown(): Promise<void> {
  const left = endRunTmpdir();
  if (left.length > 0) {
    throw new Error(
      `tests left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} in the temporary folder (removed now; ` +
        `find the suite by its prefix and remove it there): ${left.join(', ')}`,
    );
  }
}
