/**
 * Kinesis Data Streams on loopback: kinesalite (npm, in memory, no install script) on 127.0.0.1
 * and a free port, with the release signal's one stream (resourceNames(config).signalStream, one
 * shard, as contracts/signal-capacity.ts sizes it) created and active before anything writes to it.
 * The local CloudFront writes its real-time log records there, and the local event source mapping
 * (signal-runner.ts) reads them back, both through the AWS SDK's own Kinesis client.
 *
 * The SDK's Kinesis client speaks HTTP/2 by default; against a loopback `http://` endpoint every
 * call would fail with "Protocol error", so it is given a plain HTTP/1.1 handler.
 */
import { CreateStreamCommand, DescribeStreamSummaryCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import kinesalite from 'kinesalite';
import type { AddressInfo } from 'node:net';

/** The stream's only shard: Kinesis names shards by index. */
export const SIGNAL_SHARD_ID = 'shardId-000000000000';

export interface KinesisServer {
  /** `http://127.0.0.1:<port>`: the Kinesis API. */
  readonly endpoint: string;
  readonly port: number;
  readonly streamName: string;
  /** A Kinesis client for this server (HTTP/1.1, placeholder credentials: kinesalite checks none). */
  readonly client: KinesisClient;
  close(): Promise<void>;
}

export async function startKinesisServer(options: {
  readonly streamName: string;
  readonly region?: string;
}): Promise<KinesisServer> {
  // A stream is ACTIVE at once here (500 ms in kinesalite by default, seconds in AWS).
  const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new KinesisClient({
    endpoint,
    region: options.region ?? 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: new NodeHttpHandler({ connectionTimeout: 2000, requestTimeout: 5000 }),
    maxAttempts: 1,
  });
  const close = async () => {
    client.destroy();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  };
  try {
    await client.send(new CreateStreamCommand({ StreamName: options.streamName, ShardCount: 1 }));
    for (let attempt = 0; ; attempt += 1) {
      const described = await client.send(new DescribeStreamSummaryCommand({ StreamName: options.streamName }));
      if (described.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
      if (attempt >= 100)
        throw new Error(
          `the loopback Kinesis stream ${options.streamName} is still ` +
            `${described.StreamDescriptionSummary?.StreamStatus} after 100 looks`,
        );
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { endpoint, port, streamName: options.streamName, client, close };
}
