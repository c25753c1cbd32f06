/**
 * `npm run dns-server`: the loopback DNS server (loopback/dns-server.ts) on its own.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { startDnsServer } from '../loopback/dns-server';
import { defineCommand, runCommand, wholeNumber } from './lib/cli';
import { commandContext } from './lib/command-context';

interface DnsServerFlags {
  readonly host: string;
  readonly port?: number;
  readonly ttl: number;
  readonly txt: Readonly<Record<string, string>>;
}

/** `--txt name=value`, repeatable: the records so far plus this one. */
function txtRecord(text: string, records: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`write a record as name=value, got ${JSON.stringify(text)}.`);
  return { ...records, [text.slice(0, eq)]: text.slice(eq + 1) };
}

export function dnsServerCommand(): Command {
  return defineCommand({
    name: 'npm run dns-server --',
    summary:
      'A DNS server on loopback, UDP and TCP on one port, answering the TXT records given (what the local mode ' +
      'and the edge tests use in place of Route53).',
    examples: [
      'npm run dns-server -- --port 5300 --txt _bucket.widget.example.com=eu-west-1',
      'dig @127.0.0.1 -p 5300 TXT _bucket.widget.example.com   # ask it',
    ],
  })
    .addOption(new Option('--host <address>', 'the loopback address to listen on').default('127.0.0.1'))
    .addOption(
      new Option('--port <port>', 'the UDP and TCP port (default: a free one)').argParser(wholeNumber(1, 65535)),
    )
    .addOption(new Option('--ttl <seconds>', 'TTL of every answer').argParser(wholeNumber(0)).default(0))
    .addOption(
      new Option('--txt <name=value>', 'a TXT record; repeat for more').argParser(txtRecord).default({}, 'none'),
    )
    .action(async (flags: DnsServerFlags, command: Command) => {
      const { out } = commandContext(command, {});
      const server = await startDnsServer({ host: flags.host, port: flags.port, ttl: flags.ttl, records: flags.txt });
      out(`DNS server on ${server.address} (udp+tcp), ${Object.keys(flags.txt).length} TXT record(s); Ctrl-C stops it`);
      const stop = () => void server.close().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

if (require.main === module) runCommand(dnsServerCommand());
