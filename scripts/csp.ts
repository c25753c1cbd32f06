/**
 * `npm run csp`: the Content-Security-Policy directives a host page needs for the widget, from the
 * config, as a header value and as a `<meta http-equiv>` element (docs/host-integration.md).
 *
 *   npm run csp                                          for https://<domain> (customDomain: true)
 *   npm run csp -- --origin https://d1234.cloudfront.net  the distribution's origin, given
 *   npm run csp -- --json                                one JSON object
 *
 * What the widget needs, read from webapp/src and the built output, and held to it by
 * __tests__/local/host-csp.test.ts in a real browser under exactly this policy:
 *   script-src   the distribution: index.js, and the chunks its webpack runtime adds as <script>
 *   connect-src  the distribution: the one GET an error sends, a no-cors fetch of /api/e
 *                (webapp/src/error-report.ts); a healthy load sends nothing
 * Nothing else: its CSS is a constructed stylesheet (CSP governs <style> elements, not the
 * CSSOM), and it loads no images, fonts, frames or workers. The printed policy starts with
 * `default-src 'none'` to say so: a page holding only the widget could send it as it is.
 */
import { Option, type Command } from 'commander';
import type { DeployConfig } from '../config';
import { ERROR_REPORT_PATH } from '../contracts/error-report';
import { configOption, defineCommand, runCommand, UsageError } from './lib/cli';
import { commandContext } from './lib/command-context';

/** The directives the widget needs, in the order they are printed. */
export const WIDGET_DIRECTIVES = ['script-src', 'connect-src'] as const;
export type WidgetDirective = (typeof WIDGET_DIRECTIVES)[number];
export type Directives = Readonly<Record<string, readonly string[]>>;

export interface HostCsp {
  /** Where index.js and its chunks come from. */
  readonly distribution: string;
  /** Where an error report goes (with `?b=<buildId>&m=<message>`): always on the distribution. */
  readonly errorReportUrl: string;
  /** What the widget needs, directive → sources: add them to the same directives of your policy. */
  readonly directives: Readonly<Record<WidgetDirective, readonly string[]>>;
  /** The header value: `default-src 'none'` and the directives, a whole policy for a page holding only the widget. */
  readonly policy: string;
  /** The same policy as a <meta http-equiv> element, for pages that cannot set headers. */
  readonly meta: string;
}

/**
 * The distribution's origin: `--origin` when given, else `https://<domain>` when the distribution
 * serves on its custom domain. Without one it serves on a CloudFront domain chosen at deploy
 * time, which the config cannot know.
 */
export function distributionOrigin(config: Pick<DeployConfig, 'domain' | 'customDomain'>, origin?: string): string {
  if (origin !== undefined) return parseOrigin(origin);
  if (config.customDomain) return `https://${config.domain}`;
  throw new UsageError(
    'customDomain is false, so the distribution serves on the CloudFront domain it gets at deploy time, which ' +
      "the config cannot know; pass it as --origin https://<distribution-domain> (the delivery stack's " +
      'distribution-domain output, printed by cdktf deploy).',
  );
}

/** `https://host[:port]` (or http:// on loopback, for the local distribution), normalized; anything else is refused. */
export function parseOrigin(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(
      `--origin ${JSON.stringify(text)} is not a URL; write the distribution's origin, ` +
        `e.g. https://d1234abcd.cloudfront.net.`,
    );
  }
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new UsageError(
      `--origin ${JSON.stringify(text)}: the distribution serves over https (http only on loopback, for the ` +
        `local distribution).`,
    );
  }
  if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) {
    throw new UsageError(
      `--origin ${JSON.stringify(text)} is more than an origin; write scheme://host[:port] only, e.g. ${url.origin}.`,
    );
  }
  return url.origin;
}

export function hostCsp(config: Pick<DeployConfig, 'domain' | 'customDomain'>, origin?: string): HostCsp {
  const distribution = distributionOrigin(config, origin);
  const errorReportUrl = `${distribution}${ERROR_REPORT_PATH}`;
  // The report is a fetch, so connect-src; no-cors needs no more than that (no preflight, no answer read).
  const directives = { 'script-src': [distribution], 'connect-src': [distribution] };
  const policy = formatPolicy({ 'default-src': ["'none'"], ...directives });
  return {
    distribution,
    errorReportUrl,
    directives,
    policy,
    meta: `<meta http-equiv="Content-Security-Policy" content="${policy}">`,
  };
}

/** `a x y; b z`: directives in the order given, each with its sources. */
export function formatPolicy(directives: Directives): string {
  return Object.entries(directives)
    .map(([name, sources]) => [name, ...sources].join(' '))
    .join('; ');
}

interface CspFlags {
  readonly config?: string;
  readonly origin?: string;
  readonly json: boolean;
}

/** `print` receives each line (without its newline); tests pass their own. @default stdout */
export function cspCommand(print?: (line: string) => void): Command {
  return defineCommand({
    name: 'npm run csp --',
    summary:
      'The Content-Security-Policy directives a host page needs for the widget (script-src for its scripts, ' +
      'connect-src for the one GET an error sends, both the distribution), as a header value and a <meta ' +
      'http-equiv> element. The distribution is https://<domain> when customDomain is true; ' +
      'otherwise pass --origin.',
    examples: [
      'npm run csp                                          # for https://<domain>',
      'npm run csp -- --origin https://d1234abcd.cloudfront.net   # customDomain: false (the deploy prints the domain)',
      'npm run csp -- --origin http://127.0.0.1:8080        # the local distribution (npm start)',
      'npm run csp -- --json                                # {distribution, errorReportUrl, directives, policy, meta}',
    ],
  })
    .addOption(configOption())
    .addOption(
      new Option(
        '--origin <url>',
        "the distribution's origin, scheme://host[:port] (default: https://<domain> when customDomain is true)",
      ),
    )
    .addOption(new Option('--json', 'print one JSON object').default(false))
    .action((flags: CspFlags, command: Command) => {
      const context = commandContext(command, flags, { out: print });
      const { out } = context;
      const csp = hostCsp(context.config, flags.origin);
      if (flags.json) {
        context.printJson(csp);
        return;
      }
      out(
        `# The widget at ${csp.distribution}/assets/index.js needs these sources (a healthy load sends ` +
          `nothing; an error sends one GET to ${csp.errorReportUrl}):`,
      );
      for (const name of WIDGET_DIRECTIVES) out(`#   ${name} ${csp.directives[name].join(' ')}`);
      out(
        "# Add them to the same directives of your policy. default-src 'none' below shows the widget needs " +
          'nothing else; keep your own default-src.',
      );
      out('');
      out('# HTTP response header:');
      out(`Content-Security-Policy: ${csp.policy}`);
      out('');
      out('# Or, first thing in <head>:');
      out(csp.meta);
    });
}

if (require.main === module) runCommand(cspCommand());
