/**
 * No dependency runs code when it is installed, on every npm: the project's .npmrc sets
 * ignore-scripts (package.json's allowScripts is read only by npm 11.16 and later; the npm 10 that
 * ships with Node 20 and 22 ignores it). Under ignore-scripts npm still runs the script a command
 * names (`npm test`, `npm start`, `npm run <name>`) but skips its pre- and post-scripts and the
 * project's own install-time scripts, so the project must have none: they would be skipped without
 * a word.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** The file's settings as npm reads them: `key=value` lines, `#` and `;` comments. */
function npmrc(): Map<string, string> {
  const settings = new Map<string, string>();
  for (const line of readFileSync(path.join(ROOT, '.npmrc'), 'utf8').split('\n')) {
    const text = line.trim();
    if (text === '' || text.startsWith('#') || text.startsWith(';')) continue;
    const equals = text.indexOf('=');
    settings.set(
      (equals < 0 ? text : text.slice(0, equals)).trim(),
      equals < 0 ? 'true' : text.slice(equals + 1).trim(),
    );
  }
  return settings;
}

it('.npmrc turns install scripts off for every npm command', () => {
  expect(npmrc().get('ignore-scripts')).toBe('true');
});

/** The project's own install-time scripts: `npm ci` and `npm install` run them, unless ignore-scripts is set. */
const INSTALL_TIME = ['preinstall', 'install', 'postinstall', 'prepublish', 'preprepare', 'prepare', 'postprepare'];

it('package.json has no script ignore-scripts would skip: none at install time, no pre- or post-script', () => {
  const { scripts } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const names = Object.keys(scripts);
  const skipped = names.filter(
    (name) =>
      INSTALL_TIME.includes(name) || (/^(pre|post)./.test(name) && names.includes(name.replace(/^(pre|post)/, ''))),
  );
  expect(skipped).toEqual([]);
});
