/**
 * `npm run s3-server`: the loopback S3 server (loopback/s3-server.ts) on its own, to try
 * `npm run upload` and `npm run cleanup` without AWS.
 */
import { Option, type Command } from 'commander';
import { resourceNames } from '../config';
import { startS3Server } from '../loopback/s3-server';
import { configOption, defineCommand, runCommand, wholeNumber } from './lib/cli';
import { commandContext } from './lib/command-context';

interface S3ServerFlags {
  readonly port: number;
  readonly dir?: string;
  readonly config?: string;
}

export function s3ServerCommand(): Command {
  return defineCommand({
    name: 'npm run s3-server --',
    summary:
      'An S3-compatible server on loopback with one bucket per configured region, to try `npm run upload` and ' +
      '`npm run cleanup` without AWS.',
    examples: [
      'npm run s3-server                                 # on port 4568, objects in a temporary folder',
      'npm run s3-server -- --port 4600 --dir /tmp/buckets',
      'npm run upload -- --endpoint http://127.0.0.1:4568    # then, in another terminal',
    ],
  })
    .addOption(configOption())
    .addOption(new Option('--port <port>', 'the port to listen on').argParser(wholeNumber(1, 65535)).default(4568))
    .addOption(
      new Option('--dir <folder>', 'where the objects are kept (default: a temporary folder, removed on exit)'),
    )
    .action(async (flags: S3ServerFlags, command: Command) => {
      const { config, out } = commandContext(command, flags);
      const names = resourceNames(config);
      const buckets = config.regions.map((region) => names.bucket(region));
      const server = await startS3Server({ buckets, port: flags.port, directory: flags.dir });
      out(`S3-compatible server on ${server.endpoint}, objects in ${server.directory}`);
      for (const bucket of buckets) out(`  bucket ${bucket}`);
      out(`upload a build to it: npm run upload -- --endpoint ${server.endpoint}`);
      const stop = () => void server.stop().then(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

if (require.main === module) runCommand(s3ServerCommand());
