import { Resolver } from 'node:dns';
import { Resolver as PromiseResolver } from 'node:dns/promises';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';
import { startDnsServer, type DnsServer } from '../../loopback/dns-server';

describe('loopback DNS server', () => {
  let server: DnsServer;
  let resolver: Resolver;

  beforeAll(async () => {
    server = await startDnsServer({ records: { '_rollout.widget.test': 'v=1 first' } });
    // Generous: a loaded machine must not turn an answer into a timeout. The drop fault has a resolver of its own.
    resolver = new Resolver({ timeout: 3000, tries: 1 });
    resolver.setServers([server.address]);
  });
  afterAll(() => server.close());
  beforeEach(() => server.clearQueries());

  const txt = (name: string, using: Resolver = resolver) =>
    new Promise<{ records?: string[][]; code?: string }>((resolve) => {
      using.resolveTxt(name, (error, records) =>
        resolve(error ? { code: (error as NodeJS.ErrnoException).code } : { records }),
      );
    });

  it('listens on loopback and says where, in the form EDGE_DNS_SERVER takes', () => {
    expect(server.address).toBe(`127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
  });

  it('answers TXT records, case-insensitively, and changes answers at run time', async () => {
    expect(await txt('_rollout.widget.test')).toEqual({ records: [['v=1 first']] });
    server.setTxt('_rollout.widget.test', 'v=1 second');
    expect(await txt('_ROLLOUT.Widget.Test.')).toEqual({ records: [['v=1 second']] });
    server.setTxt('_bucket.widget.test', 'eu-west-1', ['us-', 'east-1']);
    expect(await txt('_bucket.widget.test')).toEqual({ records: [['eu-west-1'], ['us-', 'east-1']] });
    server.deleteRecord('_bucket.widget.test');
    expect(await txt('_bucket.widget.test')).toEqual({ code: 'ENOTFOUND' });
  });

  it('answers NXDOMAIN for unknown names and an empty answer for other types of known names', async () => {
    expect(await txt('unknown.widget.test')).toEqual({ code: 'ENOTFOUND' });
    const a = await new Promise<string | undefined>((resolve) =>
      resolver.resolve4('_rollout.widget.test', (error) => resolve((error as NodeJS.ErrnoException | null)?.code)),
    );
    expect(a).toBe('ENODATA');
  });

  it(
    'splits long values into 255-byte strings and sends ' + 'large answers over TCP after a truncated UDP reply',
    async () => {
      const long = 'x'.repeat(3000);
      server.setTxt('big.widget.test', long);
      const { records } = await txt('big.widget.test');
      expect(records).toHaveLength(1);
      expect(records![0]!.every((part) => part.length <= 255)).toBe(true);
      expect(records![0]!.join('')).toBe(long);
      expect(server.queries('big.widget.test').map((q) => q.transport)).toEqual(['udp', 'tcp']);
    },
  );

  it('injects faults per name and clears them', async () => {
    server.setTxt('faulty.widget.test', 'fine');
    server.setFault('faulty.widget.test', { kind: 'nxdomain' });
    expect(await txt('faulty.widget.test')).toEqual({ code: 'ENOTFOUND' });
    server.setFault('faulty.widget.test', { kind: 'servfail' });
    expect(await txt('faulty.widget.test')).toEqual({ code: 'ESERVFAIL' });
    server.setFault('faulty.widget.test', { kind: 'refused' });
    expect(await txt('faulty.widget.test')).toEqual({ code: 'EREFUSED' });
    server.setFault('faulty.widget.test', { kind: 'garbage' });
    expect(await txt('faulty.widget.test')).toEqual({ code: 'EBADRESP' });
    server.setFault('faulty.widget.test', { kind: 'drop' });
    const impatient = new Resolver({ timeout: 100, tries: 1 });
    impatient.setServers([server.address]);
    expect(await txt('faulty.widget.test', impatient)).toEqual({ code: 'ETIMEOUT' });
    // Other names are unaffected.
    expect(await txt('_rollout.widget.test')).toEqual({ records: [['v=1 second']] });
    server.setFault('faulty.widget.test', null);
    expect(await txt('faulty.widget.test')).toEqual({ records: [['fine']] });
  });

  it('answers late on a delay fault', async () => {
    server.setTxt('slow.widget.test', 'eventually');
    server.setFault('slow.widget.test', { kind: 'delay', ms: 60 });
    const started = Date.now();
    expect(await txt('slow.widget.test')).toEqual({ records: [['eventually']] });
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
  });

  it('logs queries by name and transport', async () => {
    await txt('_rollout.widget.test');
    await txt('other.widget.test');
    expect(server.queries('_rollout.widget.test')).toEqual([
      { name: '_rollout.widget.test', type: 'TXT', transport: 'udp' },
    ]);
    expect(server.queries()).toHaveLength(2);
  });

  it('ignores datagrams that are not DNS and keeps serving', async () => {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.send(Buffer.from('hello'), server.port, '127.0.0.1', () => resolve()));
    socket.close();
    expect(await txt('_rollout.widget.test')).toEqual({ records: [['v=1 second']] });
  });

  it('honours an EDNS buffer size above 512 bytes before truncating', async () => {
    server.setTxt('medium.widget.test', 'y'.repeat(900));
    const socket = dgram.createSocket('udp4');
    const reply = new Promise<dnsPacket.DecodedPacket>((resolve) =>
      socket.once('message', (message) => resolve(dnsPacket.decode(message))),
    );
    const query = dnsPacket.encode({
      type: 'query',
      id: 7,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'TXT', name: 'medium.widget.test' }],
      additionals: [{ type: 'OPT', name: '.', udpPayloadSize: 1232 } as dnsPacket.OptAnswer],
    });
    socket.send(query, server.port, '127.0.0.1');
    const answer = await reply;
    socket.close();
    expect(answer.flag_tc).toBe(false);
    expect(answer.answers).toHaveLength(1);
  });
});

describe('DNS server lifecycle', () => {
  describe('when another process holds the TCP side of the port UDP got', () => {
    let taken: net.Server;
    let port: number;
    beforeEach(async () => {
      // A TCP port whose UDP side is free: what a process starting at the same moment leaves.
      taken = net.createServer();
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      port = (taken.address() as net.AddressInfo).port;
    });
    afterEach(() => new Promise<void>((resolve) => taken.close(() => resolve())));

    it('moves both sides to a free pair when any port will do', async () => {
      const moved = await startDnsServer({ preferredPort: port, records: { 'a.widget.test': 'moved' } });
      try {
        expect(moved.port).not.toBe(port);
        const own = new PromiseResolver({ timeout: 3000, tries: 1 });
        own.setServers([moved.address]);
        expect(await own.resolveTxt('a.widget.test')).toEqual([['moved']]);
      } finally {
        await moved.close();
      }
    });

    it('fails, naming the port, when that port was asked for', async () => {
      await expect(startDnsServer({ port })).rejects.toThrow(
        `DNS server: UDP port ${port} is ours but TCP 127.0.0.1:${port} is taken`,
      );
    });
  });

  it('closes (twice is fine) and frees its port', async () => {
    const server = await startDnsServer();
    await server.close();
    await server.close();
    const again = await startDnsServer({ port: server.port });
    expect(again.port).toBe(server.port);
    await again.close();
  });
});
