/**
 * An authoritative DNS server on loopback that answers TXT records, for the routers' latency
 * record (`_bucket.<domain>`) when no Route53 is around: edge tests point the bundled routers at it
 * through `EDGE_DNS_SERVER`, and the local mode runs one for the whole session.
 *
 *   const dns = await startDnsServer({ records: { '_bucket.widget.example.com': 'us-east-1' } });
 *   process.env.EDGE_DNS_SERVER = dns.address;      // "127.0.0.1:<port>"
 *   dns.setTxt('_bucket.widget.example.com', 'eu-west-1');
 *   dns.setFault('_bucket.widget.example.com', { kind: 'drop' });   // no answer: the client times out
 *   await dns.close();
 *
 * It speaks real DNS (dns-packet) over UDP and over TCP on the same port. A UDP answer larger than
 * the client's buffer (512 bytes, or its EDNS payload size) goes out truncated (TC bit, no answers)
 * so the client retries over TCP, as resolvers do with large TXT records. Unknown names get
 * NXDOMAIN; known names asked for another type get an empty NOERROR answer.
 *
 * As a command: `npm run dns-server -- --port 5300 --txt name=value [--txt name=value]` (`--help`).
 */
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as dnsPacket from 'dns-packet';

/**
 * One TXT record: a value (split into 255-byte character-strings, as Route53 stores long values),
 * or the character-strings themselves.
 */
export type TxtRecordValue = string | readonly string[];

/** What goes wrong for a name, on purpose. */
export type DnsFault =
  /** Never answer: the client runs into its timeout. */
  | { readonly kind: 'drop' }
  /** Answer normally, after `ms`. */
  | { readonly kind: 'delay'; readonly ms: number }
  | { readonly kind: 'nxdomain' }
  | { readonly kind: 'servfail' }
  | { readonly kind: 'refused' }
  /** A reply with the right id whose body is random bytes. */
  | { readonly kind: 'garbage' };

export interface DnsServerOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /**
   * The port for both UDP and TCP; the server fails when either side is taken.
   * @default 0: a free port pair, found again if another process takes the TCP side of the port UDP got
   */
  readonly port?: number;
  /** Without `port`: a port to try first, before a free one (if either side of it is taken). @default none */
  readonly preferredPort?: number;
  /**
   * TTL of every answer, in seconds. Low by default because a caching resolver in between must
   * not hide the changes a test or the local mode makes.
   * @default 0
   */
  readonly ttl?: number;
  /** Initial TXT records, one per name (several per name with `setTxt`). @default none */
  readonly records?: Readonly<Record<string, TxtRecordValue>>;
}

export interface DnsQueryLog {
  readonly name: string;
  readonly type: string;
  readonly transport: 'udp' | 'tcp';
}

export interface DnsServer {
  readonly host: string;
  readonly port: number;
  /** `host:port`, the form `EDGE_DNS_SERVER` and `Resolver.setServers` take. */
  readonly address: string;
  /** Replaces the TXT records of `name`: each argument after the name is one record. */
  setTxt(name: string, ...records: TxtRecordValue[]): void;
  /** Removes `name`: it answers NXDOMAIN from now on. */
  deleteRecord(name: string): void;
  /** Injects a fault for `name` (null clears it); faults win over records. */
  setFault(name: string, fault: DnsFault | null): void;
  /** Every query received since the start or the last `clearQueries()`, oldest first. */
  queries(name?: string): readonly DnsQueryLog[];
  clearQueries(): void;
  close(): Promise<void>;
}

const CLASSIC_UDP_LIMIT = 512;
const MAX_UDP_LIMIT = 4096;
/** Free port pairs tried before giving up, when another process keeps taking the TCP side. */
const PORT_ATTEMPTS = 10;
const RCODE = { NOERROR: 0, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

export async function startDnsServer(options: DnsServerOptions = {}): Promise<DnsServer> {
  const host = options.host ?? '127.0.0.1';
  const ttl = options.ttl ?? 0;
  const records = new Map<string, Buffer[][]>();
  const faults = new Map<string, DnsFault>();
  const log: DnsQueryLog[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sockets = new Set<net.Socket>();

  let open = true;

  const setTxt = (name: string, ...values: TxtRecordValue[]): void => {
    records.set(normalize(name), values.map(toCharacterStrings));
  };
  for (const [name, value] of Object.entries(options.records ?? {})) setTxt(name, value);

  /** Answers one query through `reply`, or stays silent (not DNS, or a `drop` fault). */
  const answer = (message: Buffer, transport: 'udp' | 'tcp', reply: (data: Buffer) => void): void => {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return; // not DNS: a real server drops it too
    }
    const question = query.questions?.[0];
    if (query.type !== 'query' || !question) return;
    const name = normalize(question.name);
    log.push({ name, type: question.type, transport });

    const respond = (rcode: number, answers: dnsPacket.Answer[]): void => {
      const opt = query.additionals?.find((rr) => rr.type === 'OPT') as dnsPacket.OptAnswer | undefined;
      const limit =
        transport === 'tcp'
          ? 65535
          : Math.min(MAX_UDP_LIMIT, Math.max(CLASSIC_UDP_LIMIT, opt?.udpPayloadSize ?? CLASSIC_UDP_LIMIT));
      const base = {
        type: 'response' as const,
        id: query.id,
        flags: dnsPacket.AUTHORITATIVE_ANSWER | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) | rcode,
        questions: [question],
        additionals: opt ? [{ type: 'OPT', name: '.', udpPayloadSize: MAX_UDP_LIMIT } as dnsPacket.OptAnswer] : [],
      };
      let packet = dnsPacket.encode({ ...base, answers });
      if (packet.length > limit)
        packet = dnsPacket.encode({ ...base, flags: base.flags | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
      reply(packet);
    };

    const send = (): void => {
      const stored = records.get(name);
      if (!stored) return respond(RCODE.NXDOMAIN, []);
      if (question.type !== 'TXT') return respond(RCODE.NOERROR, []);
      // dns-packet converts strings in place, so hand it copies.
      respond(
        RCODE.NOERROR,
        stored.map((strings) => ({ type: 'TXT', name: question.name, class: 'IN', ttl, data: strings.slice() })),
      );
    };

    const fault = faults.get(name);
    switch (fault?.kind) {
      case undefined:
        return send();
      case 'drop':
        return;
      case 'delay': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          send();
        }, fault.ms);
        timers.add(timer);
        return;
      }
      case 'nxdomain':
        return respond(RCODE.NXDOMAIN, []);
      case 'servfail':
        return respond(RCODE.SERVFAIL, []);
      case 'refused':
        return respond(RCODE.REFUSED, []);
      case 'garbage': {
        // Right id and QR bit, so the client takes it for the answer, then nonsense: claims
        // answers it does not carry.
        const header = Buffer.alloc(12);
        header.writeUInt16BE(query.id ?? 0, 0);
        header.writeUInt16BE(0x8400, 2);
        header.writeUInt16BE(1, 4);
        header.writeUInt16BE(3, 6);
        return reply(Buffer.concat([header, randomBytes(40)]));
      }
    }
  };

  // TCP on the same port: DNS over TCP frames every message with a 2-byte length.
  const tcp = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const length = buffered.readUInt16BE(0);
        const message = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        answer(message, 'tcp', (data) => {
          if (!socket.destroyed) {
            const framed = Buffer.alloc(2 + data.length);
            framed.writeUInt16BE(data.length, 0);
            data.copy(framed, 2);
            socket.write(framed);
          }
        });
      }
    });
  });
  // UDP on a port, then TCP on the same one. With a free port asked for, another process may take
  // the TCP side of the port UDP got between the two binds: then both move to another port.
  const bindUdp = async (port: number): Promise<dgram.Socket> => {
    const socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.on('message', (message, remote) => {
      answer(message, 'udp', (data) => {
        if (open) socket.send(data, remote.port, remote.address);
      });
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    socket.on('error', () => undefined); // a client that went away is not the server's problem
    return socket;
  };
  const listenTcp = (port: number) =>
    new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
  const fixed = options.port !== undefined && options.port !== 0;
  let udp: dgram.Socket | undefined;
  let port = 0;
  for (let attempt = 1; udp === undefined; attempt += 1) {
    const requested = fixed ? options.port! : attempt === 1 ? (options.preferredPort ?? 0) : 0;
    let candidate: dgram.Socket;
    try {
      candidate = await bindUdp(requested);
    } catch (error) {
      if (requested === 0 || fixed) throw error;
      continue; // the preferred port's UDP side is taken: a free one
    }
    port = candidate.address().port;
    try {
      await listenTcp(port);
      udp = candidate;
    } catch (error) {
      candidate.close();
      if (fixed || attempt >= PORT_ATTEMPTS)
        throw new Error(
          `DNS server: UDP port ${port} is ours but TCP ${host}:${port} is taken ` +
            `(${(error as Error).message}); start again.`,
        );
    }
  }
  const udpSocket = udp;

  return {
    host,
    port,
    address: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    setTxt,
    deleteRecord: (name) => void records.delete(normalize(name)),
    setFault: (name, fault) => {
      if (fault) faults.set(normalize(name), fault);
      else faults.delete(normalize(name));
    },
    queries: (name) => (name === undefined ? log.slice() : log.filter((entry) => entry.name === normalize(name))),
    clearQueries: () => {
      log.length = 0;
    },
    close: async () => {
      if (!open) return;
      open = false;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udpSocket.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** A TXT character-string holds at most 255 bytes; longer values are split the way Route53 requires. */
function toCharacterStrings(value: TxtRecordValue): Buffer[] {
  const parts = typeof value === 'string' ? [value] : value;
  const strings: Buffer[] = [];
  for (const part of parts) {
    const bytes = Buffer.from(part, 'utf8');
    if (bytes.length === 0) strings.push(bytes);
    for (let offset = 0; offset < bytes.length; offset += 255) strings.push(bytes.subarray(offset, offset + 255));
  }
  return strings;
}
