import { randomBytes, randomInt } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  type ClientActor,
  type ClientEvent,
  createClient,
  createServer,
  type DropReason,
  type ServerActor,
  type ServerStats,
} from '../../engine/index.ts';
import { openUdp, type UdpEndpoint } from './endpoint.ts';
import { realEnvironment } from './environment.ts';

/**
 * A live room on loopback under a flood of hostile datagrams: random bytes, and truncated, extended
 * and bit-flipped copies of the members' own datagrams (which the fuzzer sees, as anyone on the path
 * would), sent at the server from a socket of its own and from the members' own sockets (as a spoofer
 * of their addresses would) while the members chat. What it reports is
 * what the guarantees are judged on: every line each member saw, and the server's counts and memory.
 * The bounded test (fuzz.test.ts) and the deep command (`npm run fuzz`) both run it.
 */

export interface FuzzOptions {
  /** Hostile datagrams to send in all. */
  readonly datagrams: number;
  readonly members: number;
  /** Lines each member says, spread over the flood. */
  readonly linesEach: number;
  /** Hostile datagrams sent before the fuzzer yields to the event loop (and so to the room). */
  readonly burst?: number;
  /** Called now and then with how many hostile datagrams are out. */
  readonly onProgress?: (sent: number) => void;
  /** An upper bound on the whole run; a run that reaches it reports `finished: false`. */
  readonly deadlineMs?: number;
}

export interface FuzzReport {
  readonly finished: boolean;
  readonly sent: number;
  /** Of them, copies of real datagrams (truncated, extended or flipped) rather than random bytes. */
  readonly mutatedCopies: number;
  /** For each member: the lines it was shown, as `author: text`, in the order it was shown them. */
  readonly shown: ReadonlyMap<string, readonly string[]>;
  /** The lines said, as `author: text`, each author's in order. */
  readonly said: readonly string[];
  /** Events that must not happen to a member under a flood: a leave, a close, an error. */
  readonly troubles: readonly string[];
  readonly dropped: Readonly<Record<DropReason, number>>;
  readonly stats: ServerStats;
  readonly memoryBefore: NodeJS.MemoryUsage;
  readonly memoryAfter: NodeJS.MemoryUsage;
  readonly elapsedMs: number;
}

const PASSWORD = 'fuzz-ruang-uji';
const LOOPBACK = '127.0.0.1';

interface Member {
  readonly name: string;
  readonly endpoint: UdpEndpoint;
  readonly client: ClientActor;
  readonly shown: string[];
  readonly sent: Uint8Array[];
}

/** One hostile datagram: random bytes, or a copy of a real one cut, extended or with bits flipped. */
function hostile(real: readonly Uint8Array[]): { datagram: Uint8Array; copy: boolean } {
  const source = real.length === 0 ? undefined : real[randomInt(real.length)];
  const kind = source === undefined ? 0 : randomInt(4);
  if (source === undefined || kind === 0) {
    return { datagram: randomBytes(randomInt(1201)), copy: false };
  }
  if (kind === 1) {
    return { datagram: source.slice(0, randomInt(source.length)), copy: true };
  }
  if (kind === 2) {
    const extended = new Uint8Array(Math.min(1300, source.length + 1 + randomInt(64)));
    extended.set(source);
    extended.set(randomBytes(extended.length - source.length), source.length);
    return { datagram: extended, copy: true };
  }
  const flipped = source.slice();
  for (let flip = 1 + randomInt(8); flip > 0; flip -= 1) {
    const at = randomInt(flipped.length);
    flipped[at] = (flipped[at] ?? 0) ^ (1 << randomInt(8));
  }
  return { datagram: flipped, copy: true };
}

async function join(name: string, server: UdpEndpoint, troubles: string[]): Promise<Member> {
  const endpoint = await openUdp({ host: LOOPBACK, port: 0 });
  const sent: Uint8Array[] = [];
  const env = realEnvironment({
    send: (datagram, to) => {
      // The fuzzer's copies: a bounded sample of what this member sends.
      if (sent.length < 256) {
        sent.push(datagram.slice());
      } else {
        sent[randomInt(256)] = datagram.slice();
      }
      endpoint.port.send(datagram, to);
    },
  });
  const client = createClient({ name, password: PASSWORD, server: server.local }, env);
  const shown: string[] = [];
  endpoint.onDatagram((datagram, from) => client.send({ type: 'datagram.received', datagram, from }));
  const welcomed = new Promise<void>((resolve, reject) => {
    client.on('*', (event: ClientEvent) => {
      if (event.type === 'welcome') {
        resolve();
      } else if (event.type === 'message') {
        shown.push(`${event.from}: ${event.text}`);
      } else if (
        event.type === 'closed' ||
        event.type === 'rejected' ||
        event.type === 'error' ||
        event.type === 'reconnecting' ||
        (event.type === 'left' && event.reason === 'timeout')
      ) {
        troubles.push(`${name}: ${JSON.stringify(event)}`);
        if (event.type === 'closed' || event.type === 'rejected') {
          reject(new Error(`${name} could not join: ${JSON.stringify(event)}`));
        }
      }
    });
  });
  client.start();
  await welcomed;
  return { name, endpoint, client, shown, sent };
}

/** Runs a room under the flood, then closes everything it opened. */
export async function fuzzRoom(options: FuzzOptions): Promise<FuzzReport> {
  const startedMs = Date.now();
  const deadlineMs = options.deadlineMs ?? 600_000;
  const burst = options.burst ?? 16;
  const serverEndpoint = await openUdp({ host: LOOPBACK, port: 0 });
  const server: ServerActor = createServer({ password: PASSWORD }, realEnvironment(serverEndpoint.port));
  serverEndpoint.onDatagram((datagram, from) => server.send({ type: 'datagram.received', datagram, from }));
  server.start();
  const troubles: string[] = [];
  server.on('member.left', (event) => troubles.push(`server: ${event.name} left (${event.reason})`));
  const members: Member[] = [];
  const fuzzer = await openUdp({ host: LOOPBACK, port: 0 });
  try {
    for (let index = 0; index < options.members; index += 1) {
      members.push(await join(`anggota${index}`, serverEndpoint, troubles));
    }
    // Measured once the room is up: what the flood adds, not what the room itself holds.
    global.gc?.();
    const memoryBefore = process.memoryUsage();
    const said: string[] = [];
    const totalLines = options.members * options.linesEach;
    const everyHostile = Math.max(1, Math.floor(options.datagrams / Math.max(1, totalLines)));
    let sent = 0;
    let mutatedCopies = 0;
    let lineIndex = 0;
    while (sent < options.datagrams && Date.now() - startedMs < deadlineMs) {
      for (let index = 0; index < burst && sent < options.datagrams; index += 1) {
        const real = members.flatMap((member) => member.sent);
        const { datagram, copy } = hostile(real);
        // Half from a socket of its own, half from a member's (a spoofer's source address): those pass
        // the address check and reach the seal, the replay window and the decoder.
        const from = randomInt(2) === 0 ? fuzzer : members[randomInt(members.length)]?.endpoint;
        (from ?? fuzzer).port.send(datagram, serverEndpoint.local);
        sent += 1;
        mutatedCopies += copy ? 1 : 0;
        if (sent % everyHostile === 0 && lineIndex < totalLines) {
          const member = members[lineIndex % members.length];
          if (member !== undefined) {
            const text = `baris ${Math.floor(lineIndex / members.length)} dari ${member.name}`;
            member.client.send({ type: 'chat.say', text });
            said.push(`${member.name}: ${text}`);
          }
          lineIndex += 1;
        }
      }
      options.onProgress?.(sent);
      await nextTurn();
    }
    // The lines the flood left unsaid, then everything settles: every member has seen every line.
    for (; lineIndex < totalLines; lineIndex += 1) {
      const member = members[lineIndex % members.length];
      if (member !== undefined) {
        const text = `baris ${Math.floor(lineIndex / members.length)} dari ${member.name}`;
        member.client.send({ type: 'chat.say', text });
        said.push(`${member.name}: ${text}`);
      }
    }
    const settled = () => members.every((member) => member.shown.length >= said.length);
    while (!settled() && Date.now() - startedMs < deadlineMs && troubles.length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    global.gc?.();
    const memoryAfter = process.memoryUsage();
    const room = server.getSnapshot().context.room;
    return {
      finished: settled(),
      sent,
      mutatedCopies,
      shown: new Map(members.map((member) => [member.name, [...member.shown]])),
      said,
      troubles,
      dropped: { ...room.stats.datagramsDropped },
      stats: room.stats,
      memoryBefore,
      memoryAfter,
      elapsedMs: Date.now() - startedMs,
    };
  } finally {
    for (const member of members) {
      member.client.stop();
      await member.endpoint.close();
    }
    server.stop();
    await fuzzer.close();
    await serverEndpoint.close();
  }
}
