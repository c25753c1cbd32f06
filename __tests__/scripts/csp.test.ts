/**
 * `npm run csp`: the policy text from the config, what the command prints, and what it refuses.
 * That the policy is enough for the widget (and not more than it needs) is the browser's to say:
 * __tests__/local/host-csp.test.ts serves a host page with exactly this policy.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseConfig } from '../../config';
import { errorReportUrl } from '../../contracts/error-report';
import { cspCommand, formatPolicy, hostCsp, parseOrigin } from '../../scripts/csp';
import { EXIT_DONE, EXIT_FAILED, EXIT_USAGE, invoke, UsageError } from '../../scripts/lib/cli';

const BASE = {
  domain: 'widget.example.com',
  hostedZone: { name: 'example.com' },
  primaryRegion: 'us-east-1',
  regions: ['us-east-1'],
};
const config = parseConfig(BASE, 'test');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'csp-test-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function configFile(name: string, overrides: Record<string, unknown>): string {
  const file = path.join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ ...BASE, ...overrides }));
  return file;
}

async function run(argv: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  const lines: string[] = [];
  let err = '';
  let help = '';
  const code = await invoke(
    cspCommand((line) => lines.push(line)),
    argv,
    { out: (text) => (help += text), error: (text) => (err += text) },
  );
  return { code, out: lines.join('\n') + help, err };
}

describe('hostCsp', () => {
  it('allows the custom domain for scripts and error reports, and nothing else', () => {
    const csp = hostCsp(config);
    expect(csp.distribution).toBe('https://widget.example.com');
    expect(csp.errorReportUrl).toBe('https://widget.example.com/api/e');
    expect(csp.directives).toEqual({
      'script-src': ['https://widget.example.com'],
      'connect-src': ['https://widget.example.com'],
    });
    expect(csp.policy).toBe(
      "default-src 'none'; script-src https://widget.example.com; connect-src https://widget.example.com",
    );
    expect(csp.meta).toBe(`<meta http-equiv="Content-Security-Policy" content="${csp.policy}">`);
  });

  it(
    'allows in connect-src exactly where the widget sends an error: the URL the contract builds ' +
      'from the script URL',
    () => {
      const csp = hostCsp(config, 'https://d1234abcd.cloudfront.net');
      const sent = new URL(errorReportUrl(`${csp.distribution}/assets/index.js`, '0123456789abcdef', 'x'.repeat(500)));
      expect(`${sent.origin}${sent.pathname}`).toBe(csp.errorReportUrl);
      expect(csp.directives['connect-src']).toEqual([sent.origin]);
    },
  );

  it('takes the origin it is given over the domain, and needs one without a custom domain', () => {
    expect(hostCsp(config, 'https://d1234abcd.cloudfront.net').directives['script-src']).toEqual([
      'https://d1234abcd.cloudfront.net',
    ]);
    const cloudFrontOnly = parseConfig({ ...BASE, customDomain: false }, 'test');
    expect(() => hostCsp(cloudFrontOnly)).toThrow(UsageError);
    expect(() => hostCsp(cloudFrontOnly)).toThrow(/--origin https:\/\/<distribution-domain>/);
    expect(hostCsp(cloudFrontOnly, 'https://d1234abcd.cloudfront.net').policy).toBe(
      "default-src 'none'; script-src https://d1234abcd.cloudfront.net; connect-src https://d1234abcd.cloudfront.net",
    );
  });
});

describe('parseOrigin', () => {
  it('normalizes an origin: lowercase host, no default port, no trailing slash', () => {
    expect(parseOrigin('HTTPS://D1234.CloudFront.net:443/')).toBe('https://d1234.cloudfront.net');
    expect(parseOrigin('https://widget.example.com:8443')).toBe('https://widget.example.com:8443');
    expect(parseOrigin('http://127.0.0.1:40123')).toBe('http://127.0.0.1:40123');
    expect(parseOrigin('http://localhost:8080')).toBe('http://localhost:8080');
  });

  it.each([
    ['d1234.cloudfront.net', /is not a URL/],
    ['http://widget.example.com', /serves over https/],
    ['ftp://widget.example.com', /serves over https/],
    ['https://widget.example.com/assets/index.js', /more than an origin.*https:\/\/widget\.example\.com\./],
    ['https://widget.example.com/?a=1', /more than an origin/],
    ['https://user@widget.example.com', /more than an origin/],
  ])('refuses %s', (text, message) => {
    expect(() => parseOrigin(text)).toThrow(UsageError);
    expect(() => parseOrigin(text)).toThrow(message);
  });
});

describe('formatPolicy', () => {
  it('writes directives in the order given, sources separated by spaces', () => {
    expect(
      formatPolicy({ 'default-src': ["'none'"], 'script-src': ["'self'", 'https://a.example'], 'img-src': [] }),
    ).toBe("default-src 'none'; script-src 'self' https://a.example; img-src");
  });
});

describe('npm run csp', () => {
  it('prints the header and the <meta> element for the configured domain', async () => {
    const { code, out } = await run(['--config', configFile('custom', {})]);
    expect(code).toBe(EXIT_DONE);
    const lines = out.split('\n');
    expect(lines).toContain(
      "Content-Security-Policy: default-src 'none'; script-src https://widget.example.com; connect-src " +
        'https://widget.example.com',
    );
    expect(lines).toContain(
      `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src ` +
        `https://widget.example.com; connect-src https://widget.example.com">`,
    );
    expect(lines).toContain('#   script-src https://widget.example.com');
    expect(lines).toContain('#   connect-src https://widget.example.com');
    expect(out).toContain('an error sends one GET to https://widget.example.com/api/e');
    expect(out).not.toMatch(/beacon|metrics/i);
  });

  it('prints one JSON object with --json', async () => {
    const { code, out } = await run([
      '--config',
      configFile('json', {}),
      '--json',
      '--origin',
      'http://127.0.0.1:40123',
    ]);
    expect(code).toBe(EXIT_DONE);
    expect(JSON.parse(out)).toEqual(hostCsp(config, 'http://127.0.0.1:40123'));
  });

  it('exits 2 naming --origin when the config has no custom domain, and uses the one given', async () => {
    const file = configFile('cloudfront', { customDomain: false });
    const refused = await run(['--config', file]);
    expect(refused.code).toBe(EXIT_USAGE);
    expect(refused.out).toBe('');
    expect(refused.err).toMatch(/customDomain is false.*--origin/);
    const given = await run(['--config', file, '--json', '--origin', 'https://d1234abcd.cloudfront.net']);
    expect(given.code).toBe(EXIT_DONE);
    expect(JSON.parse(given.out).directives['script-src']).toEqual(['https://d1234abcd.cloudfront.net']);
  });

  it('exits 2 on a bad origin or an unknown option, 1 on a config it cannot read', async () => {
    expect(
      (await run(['--config', configFile('bad-origin', {}), '--origin', 'https://widget.example.com/x'])).code,
    ).toBe(EXIT_USAGE);
    expect((await run(['--config', configFile('unknown', {}), '--header-only'])).code).toBe(EXIT_USAGE);
    const missing = await run(['--config', path.join(dir, 'missing.json')]);
    expect(missing.code).toBe(EXIT_FAILED);
    expect(missing.err).toMatch(/missing\.json/);
  });

  it('shows its options and examples under --help', async () => {
    const { code, out } = await run(['--help']);
    expect(code).toBe(EXIT_DONE);
    expect(out).toContain('--origin <url>');
    expect(out).toContain('--json');
    expect(out).toContain('npm run csp -- --origin https://d1234abcd.cloudfront.net');
  });
});
