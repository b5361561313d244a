import { randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import test, { type ExecutionContext } from 'ava';
import {
  type ClientActor,
  type ClientEvent,
  clientSession,
  createClient,
  createServer,
  decodePacket,
  encodePacket,
  formatAddress,
  type PeerAddress,
  type ServerActor,
  type ServerEvent,
  say,
  serverSessionStats,
} from '../../engine/index.ts';
import { openUdp, realEnvironment, type UdpEndpoint } from './index.ts';

// An on-path attacker against a live room on loopback. The attacker is a UDP proxy between the
// clients and the server: it sees every datagram, and what it sends from a client's upstream socket
// reaches the server from that client's address, what it sends from its front socket reaches the
// client from the server's address. Sealed bytes are treated as opaque throughout: the attacker knows
// the clear header (PROTOCOL.md, "SESSION") and nothing else.

const LOOPBACK = '127.0.0.1';
const PASSWORD = 'kunci-ruang-rapat-lantai-tiga';
/** An upper bound only: every wait ends on the event it waits for, and the machine may be loaded. */
const DEADLINE_MS = 60_000;
/** Version, type, session id and packet number: the clear header, the seal's associated data. */
const HEADER_BYTES = 14;
const TAG_BYTES = 16;
const PACKET_TYPE_SESSION = 0x06;
const PACKET_TYPE_CHALLENGE = 0x02;
const PACKET_TYPE_ACCEPT = 0x04;
const PACKET_TYPE_REFUSE = 0x05;

type MessageEvent = Extract<ClientEvent, { type: 'message' }>;
type DroppedEvent = Extract<ServerEvent, { type: 'datagram.dropped' }>;

/** Wakes waiters whenever something observable happens: a datagram anywhere, an actor's event. */
class Changes {
  readonly #waiters = new Set<() => void>();

  readonly notify = (): void => {
    for (const waiter of [...this.#waiters]) {
      waiter();
    }
  };

  until(done: () => boolean, what: string): Promise<void> {
    if (done()) {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      const waiter = () => {
        if (done()) {
          settle();
          resolve();
        }
      };
      const timer = setTimeout(() => {
        settle();
        reject(new Error(`gave up after ${DEADLINE_MS} ms waiting for ${what}`));
      }, DEADLINE_MS);
      this.#waiters.add(waiter);
    });
  }
}

type Direction = 'to-server' | 'to-client';

interface Captured {
  readonly direction: Direction;
  /** The client's own address, as `host:port`. */
  readonly client: string;
  readonly datagram: Uint8Array;
}

interface Route {
  readonly client: PeerAddress;
  readonly upstream: Socket;
  readonly bound: Promise<void>;
}

/** Fire and forget, as the attacker would: a failed send (socket closing at teardown) is no error here. */
function sendFrom(socket: Socket, datagram: Uint8Array, to: PeerAddress): void {
  try {
    socket.send(datagram, to.port, to.host, () => undefined);
  } catch {
    // Closed already: the test is over.
  }
}

/**
 * The attacker on the path. It records every datagram it passes on, in both directions; `copies`
 * decides how many copies of each go on (0 drops it, 2 replays it at once), `beforeServer` sees each
 * datagram to the server before the server does, and the two inject methods send the attacker's own.
 */
class OnPathProxy {
  readonly captured: Captured[] = [];
  readonly counts = { forwarded: 0, dropped: 0, duplicated: 0, injected: 0 };
  copies: (datagram: Uint8Array, direction: Direction) => number = () => 1;
  beforeServer: (datagram: Uint8Array, client: PeerAddress) => void = () => undefined;
  readonly #front: Socket;
  readonly #server: PeerAddress;
  readonly #routes = new Map<string, Route>();
  readonly #changed: () => void;

  private constructor(front: Socket, server: PeerAddress, changed: () => void) {
    this.#front = front;
    this.#server = server;
    this.#changed = changed;
    front.on('message', (message, remote) => {
      const client = { host: remote.address, port: remote.port };
      const route = this.#routeFor(client);
      const datagram = Uint8Array.from(message);
      this.beforeServer(datagram, client);
      this.#pass(datagram, 'to-server', route, route.upstream, this.#server);
    });
  }

  static async start(server: PeerAddress, changed: () => void): Promise<OnPathProxy> {
    const front = createSocket('udp4');
    front.on('error', () => undefined);
    await new Promise<void>((resolve) => front.bind(0, LOOPBACK, resolve));
    return new OnPathProxy(front, server, changed);
  }

  /** Where clients send: the server's address as they see it. */
  get address(): PeerAddress {
    return { host: LOOPBACK, port: this.#front.address().port };
  }

  /** The client's address as the server sees it. */
  async serverSideAddress(client: PeerAddress): Promise<PeerAddress> {
    const route = this.#route(client);
    await route.bound;
    return { host: LOOPBACK, port: route.upstream.address().port };
  }

  /** Sends to the server from the client's address: a spoof the server cannot tell from the client. */
  injectToServer(client: PeerAddress, datagram: Uint8Array): void {
    this.counts.injected += 1;
    sendFrom(this.#route(client).upstream, datagram, this.#server);
  }

  /** Sends to the client from the server's address as the client knows it. */
  injectToClient(client: PeerAddress, datagram: Uint8Array): void {
    this.counts.injected += 1;
    sendFrom(this.#front, datagram, client);
  }

  /** What passed on toward or from one client, in order. */
  from(direction: Direction, client: PeerAddress, since = 0): Uint8Array[] {
    const key = formatAddress(client);
    return this.captured
      .slice(since)
      .filter((entry) => entry.direction === direction && entry.client === key)
      .map((entry) => entry.datagram);
  }

  #route(client: PeerAddress): Route {
    const route = this.#routes.get(formatAddress(client));
    if (route === undefined) {
      throw new Error(`no datagram from ${formatAddress(client)} has passed the proxy yet`);
    }
    return route;
  }

  #routeFor(client: PeerAddress): Route {
    const key = formatAddress(client);
    const known = this.#routes.get(key);
    if (known !== undefined) {
      return known;
    }
    // One upstream socket per client, so that the server still sees one address per client. Sends
    // made before its bind completes are queued by node:dgram.
    const upstream = createSocket('udp4');
    upstream.on('error', () => undefined);
    const bound = new Promise<void>((resolve) => upstream.bind(0, LOOPBACK, resolve));
    const route: Route = { client, upstream, bound };
    upstream.on('message', (message) => {
      this.#pass(Uint8Array.from(message), 'to-client', route, this.#front, client);
    });
    this.#routes.set(key, route);
    return route;
  }

  #pass(datagram: Uint8Array, direction: Direction, route: Route, via: Socket, to: PeerAddress): void {
    this.captured.push({ direction, client: formatAddress(route.client), datagram });
    const copies = this.copies(datagram, direction);
    if (copies === 0) {
      this.counts.dropped += 1;
    }
    for (let copy = 0; copy < copies; copy += 1) {
      this.counts.forwarded += 1;
      this.counts.duplicated += copy === 0 ? 0 : 1;
      sendFrom(via, datagram, to);
    }
    this.#changed();
  }

  async close(): Promise<void> {
    const sockets = [this.#front, ...[...this.#routes.values()].map((route) => route.upstream)];
    await Promise.all(
      sockets.map(
        (socket) =>
          new Promise<void>((resolve) => {
            try {
              socket.close(() => resolve());
            } catch {
              resolve();
            }
          }),
      ),
    );
  }
}

interface ServerSide {
  readonly actor: ServerActor;
  readonly address: PeerAddress;
  readonly events: ServerEvent[];
  /** Datagrams whose handling made the server take a line from a member: they carried a SAY. */
  readonly sayCarriers: { readonly datagram: Uint8Array; readonly from: PeerAddress }[];
  /** Datagrams a session's link took: they opened under the session's keys and were news to it. */
  readonly taken: Uint8Array[];
}

interface Member {
  readonly name: string;
  readonly actor: ClientActor;
  readonly endpoint: UdpEndpoint;
  readonly events: ClientEvent[];
  /** Datagrams whose handling showed a message: they carried a MESSAGE. */
  readonly messageCarriers: Uint8Array[];
  /** The type byte of every datagram that reached the client, in order of arrival. */
  readonly arrivals: number[];
  /** Datagrams the client's link took: they opened under the session's keys and were news to it. */
  readonly taken: Uint8Array[];
}

/** A live server on loopback behind the attacker's proxy, and the members that join it through it. */
class Room {
  readonly changes = new Changes();
  /** Actors that failed: a bug, whatever the attack. */
  readonly failures: string[] = [];
  readonly password: string;
  server!: ServerSide;
  proxy!: OnPathProxy;

  private constructor(password: string) {
    this.password = password;
  }

  static async open(t: ExecutionContext, password = PASSWORD): Promise<Room> {
    const room = new Room(password);
    const endpoint = await openUdp({ host: LOOPBACK, port: 0 });
    t.teardown(() => endpoint.close());
    const actor = createServer({ password }, realEnvironment(endpoint.port));
    const server: ServerSide = { actor, address: endpoint.local, events: [], sayCarriers: [], taken: [] };
    let linesTaken = 0;
    actor.on('*', (event: ServerEvent) => {
      server.events.push(event);
      if (event.type === 'message.received') {
        linesTaken += 1;
      }
      room.changes.notify();
    });
    actor.subscribe({ error: (error) => room.failures.push(`server: ${String(error)}`) });
    endpoint.onDatagram((datagram, from) => {
      const before = linesTaken;
      const receivedBefore = linkReceived(actor);
      actor.send({ type: 'datagram.received', datagram, from });
      if (linesTaken > before) {
        server.sayCarriers.push({ datagram: datagram.slice(), from });
      }
      if (linkReceived(actor) > receivedBefore) {
        server.taken.push(datagram.slice());
      }
    });
    actor.start();
    t.teardown(() => {
      actor.stop();
    });
    room.server = server;
    room.proxy = await OnPathProxy.start(endpoint.local, room.changes.notify);
    t.teardown(() => room.proxy.close());
    return room;
  }

  until(done: () => boolean, what: string): Promise<void> {
    return this.changes.until(done, what);
  }

  /** A client talking to the server through the proxy, started, not yet waited for. */
  async start(t: ExecutionContext, name: string): Promise<Member> {
    const endpoint = await openUdp({ host: LOOPBACK, port: 0 });
    t.teardown(() => endpoint.close());
    const actor = createClient(
      { name, password: this.password, server: this.proxy.address },
      realEnvironment(endpoint.port),
    );
    const member: Member = {
      name,
      actor,
      endpoint,
      events: [],
      messageCarriers: [],
      arrivals: [],
      taken: [],
    };
    let shown = 0;
    actor.on('*', (event: ClientEvent) => {
      member.events.push(event);
      if (event.type === 'message') {
        shown += 1;
      }
      this.changes.notify();
    });
    actor.subscribe({ error: (error) => this.failures.push(`${name}: ${String(error)}`) });
    endpoint.onDatagram((datagram, from) => {
      member.arrivals.push(datagram[1] ?? -1);
      const before = shown;
      const receivedBefore = clientSession(actor)?.stats.datagramsReceived ?? 0;
      actor.send({ type: 'datagram.received', datagram, from });
      if (shown > before) {
        member.messageCarriers.push(datagram.slice());
      }
      if ((clientSession(actor)?.stats.datagramsReceived ?? 0) > receivedBefore) {
        member.taken.push(datagram.slice());
      }
      // The client's counters move without an event: wake whoever watches them.
      this.changes.notify();
    });
    actor.start();
    t.teardown(() => {
      actor.stop();
    });
    return member;
  }

  /** A client that is in the room: welcomed. */
  async join(t: ExecutionContext, name: string): Promise<Member> {
    const member = await this.start(t, name);
    await this.until(() => settled(member) !== undefined, `${name}'s login to settle`);
    if (settled(member) !== 'welcome') {
      throw new Error(`${name} did not get in: ${JSON.stringify(member.events)}`);
    }
    return member;
  }

  /** Says `text` as `author` and waits until every one of `audience` shows it. */
  async sayAndSeen(author: Member, text: string, audience: readonly Member[]): Promise<void> {
    const verdict = say(author.actor, text);
    if (!verdict.ok) {
      throw new Error(`${author.name} could not say "${text}": ${verdict.message}`);
    }
    await this.until(
      () => audience.every((member) => shown(member).includes(`${author.name}: ${text}`)),
      `"${text}" at ${audience.map((member) => member.name).join(', ')}`,
    );
  }

  /** The reasons of the server's drops of datagrams from `address`, in order. */
  drops(address: PeerAddress): string[] {
    const key = formatAddress(address);
    return this.server.events
      .filter((event): event is DroppedEvent => event.type === 'datagram.dropped' && event.address === key)
      .map((event) => event.reason);
  }

  /** Every line the server took from its members, as `name: text`. */
  linesTaken(): string[] {
    return this.server.events.flatMap((event) =>
      event.type === 'message.received' ? [`${event.from}: ${event.text}`] : [],
    );
  }

  /** A SAY the server took from `member`, as the datagram that carried it. */
  sayCarrierOf(member: Member, atServer: PeerAddress): Uint8Array {
    const carrier = this.server.sayCarriers.find(
      (entry) => formatAddress(entry.from) === formatAddress(atServer),
    )?.datagram;
    if (carrier === undefined) {
      throw new Error(`no datagram from ${member.name} carried a line`);
    }
    return carrier;
  }
}

/** How a login ended so far: `welcome`, `rejected`, `closed`, or undefined while it is under way. */
function settled(member: Member): string | undefined {
  return member.events.find(
    (event) => event.type === 'welcome' || event.type === 'rejected' || event.type === 'closed',
  )?.type;
}

/** What the member shows, as `name: text`, in order. */
function shown(member: Member): string[] {
  return member.events
    .filter((event): event is MessageEvent => event.type === 'message')
    .map((event) => `${event.from}: ${event.text}`);
}

/** Packets the server's sessions have taken, summed over the sessions it holds. */
function linkReceived(server: ServerActor): number {
  let received = 0;
  for (const session of serverSessionStats(server)) {
    received += session.stats.datagramsReceived;
  }
  return received;
}

/** How many of `taken` are, byte for byte, `datagram`. */
function timesTaken(taken: readonly Uint8Array[], datagram: Uint8Array): number {
  return taken.filter((entry) => Buffer.from(entry).equals(datagram)).length;
}

/**
 * What a forgery could have cost the member its session by: closing it, or a rejoin (which a client
 * may do when it believes its session gone).
 */
function interruptions(member: Member): string[] {
  return member.events
    .map((event) => event.type as string)
    .filter((type) => type === 'closed' || type === 'reconnecting' || type === 'rejoined');
}

function ignoredBy(member: Member): number {
  return member.actor.getSnapshot().context.datagramsIgnored;
}

function isSession(datagram: Uint8Array): boolean {
  const decoded = decodePacket(datagram);
  return decoded.ok && decoded.packet.type === 'session';
}

function packetNumberOf(datagram: Uint8Array): number {
  const decoded = decodePacket(datagram);
  if (!decoded.ok || decoded.packet.type !== 'session') {
    throw new Error('not a SESSION packet');
  }
  return decoded.packet.packetNumber;
}

/** The highest packet number among `datagrams`' SESSION packets, and the last of them. */
function lastSession(datagrams: readonly Uint8Array[]): {
  readonly datagram: Uint8Array;
  readonly number: number;
} {
  const sessions = datagrams.filter(isSession);
  const datagram = sessions.at(-1);
  if (datagram === undefined) {
    throw new Error('no SESSION packet was captured');
  }
  return { datagram, number: Math.max(...sessions.map(packetNumberOf)) };
}

/** A copy under another packet number: the header is in clear, and the attacker can write it. */
function renumbered(datagram: Uint8Array, packetNumber: number): Uint8Array {
  const copy = datagram.slice();
  new DataView(copy.buffer).setUint32(10, packetNumber);
  return copy;
}

function flipped(datagram: Uint8Array, offset: number): Uint8Array {
  const copy = datagram.slice();
  copy[offset] = (copy[offset] ?? 0) ^ 0x5a;
  return copy;
}

/** The header of `template` under `packetNumber`, and `sealedBytes` of noise in place of the sealed part. */
function withNoise(template: Uint8Array, packetNumber: number, sealedBytes: number): Uint8Array {
  const datagram = new Uint8Array(HEADER_BYTES + sealedBytes);
  datagram.set(template.subarray(0, HEADER_BYTES));
  datagram.set(randomBytes(sealedBytes), HEADER_BYTES);
  return renumbered(datagram, packetNumber);
}

/**
 * A well-formed SESSION packet for `template`'s session, sealed as the protocol seals (ChaCha20-Poly1305,
 * the header as associated data) but under a key of the attacker's own.
 */
function sealedUnderOtherKey(template: Uint8Array, packetNumber: number, plaintextBytes: number): Uint8Array {
  const header = renumbered(template.subarray(0, HEADER_BYTES), packetNumber);
  const sealed = chacha20poly1305(randomBytes(32), randomBytes(12), header).encrypt(
    randomBytes(plaintextBytes),
  );
  const datagram = new Uint8Array(HEADER_BYTES + sealed.length);
  datagram.set(header);
  datagram.set(sealed, HEADER_BYTES);
  return datagram;
}

/** Whether `haystack` holds `needle` anywhere. */
function contains(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(needle) !== -1;
}

test('a SESSION packet forged from a member’s own address is dropped as unauthentic; nobody sees it, and the member’s next lines get through', async (t) => {
  const room = await Room.open(t);
  const ana = await room.join(t, 'ana');
  const budi = await room.join(t, 'budi');
  await room.sayAndSeen(ana, 'pagi semua', [ana, budi]);
  const anaAtServer = await room.proxy.serverSideAddress(ana.endpoint.local);
  const said = room.sayCarrierOf(ana, anaAtServer);

  // The numbers ana will use next: taken now, before anything of hers with them has passed the proxy,
  // so that each forgery reaches the server before her own packet of that number.
  const capturedBefore = room.proxy.captured.length;
  const { datagram: template, number: last } = lastSession(room.proxy.from('to-server', ana.endpoint.local));
  const next = (index: number) => last + 1 + (index % 3);
  const forgeries = [
    flipped(renumbered(template, next(0)), HEADER_BYTES),
    flipped(renumbered(template, next(1)), (HEADER_BYTES + template.length) >> 1),
    flipped(renumbered(template, next(2)), template.length - 1),
    // Sealed bytes that verified once, under another header: the tag covers the header.
    renumbered(template, next(0)),
    renumbered(said, next(1)),
    flipped(renumbered(said, next(2)), said.length - TAG_BYTES - 1),
    withNoise(template, next(0), said.length - HEADER_BYTES),
    sealedUnderOtherKey(template, next(1), 24),
    sealedUnderOtherKey(template, next(2), said.length - HEADER_BYTES - TAG_BYTES),
  ];
  for (const forgery of forgeries) {
    room.proxy.injectToServer(ana.endpoint.local, forgery);
  }
  t.is(room.proxy.counts.injected, forgeries.length);
  await room.until(
    () => room.drops(anaAtServer).length >= forgeries.length,
    'the server to drop every forgery',
  );
  t.deepEqual(
    room.drops(anaAtServer),
    forgeries.map(() => 'unauthentic'),
  );
  t.deepEqual(
    forgeries.map((forgery) => timesTaken(room.server.taken, forgery)),
    forgeries.map(() => 0),
  );

  for (const text of ['ini benar aku, ana', 'baris kedua', 'baris ketiga']) {
    await room.sayAndSeen(ana, text, [ana, budi]);
  }
  // Ana's own packets under the numbers the forgeries used came after them, and the server took each:
  // a forgery marks no number as seen, or hers would have been dropped as replayed.
  const hers = room.proxy.from('to-server', ana.endpoint.local, capturedBefore).filter(isSession);
  for (const number of [next(0), next(1), next(2)]) {
    const own = hers.find((datagram) => packetNumberOf(datagram) === number);
    t.is(own === undefined ? 0 : timesTaken(room.server.taken, own), 1, `ana's packet ${number}`);
  }
  t.deepEqual(
    room.drops(anaAtServer),
    forgeries.map(() => 'unauthentic'),
  );

  const history = ['ana: pagi semua', 'ana: ini benar aku, ana', 'ana: baris kedua', 'ana: baris ketiga'];
  t.deepEqual(room.linesTaken(), history);
  t.deepEqual(shown(ana), history);
  t.deepEqual(shown(budi), history);
  t.deepEqual(room.failures, []);
});

test('a MESSAGE forged to a client, from a stranger or from the server’s own address, shows nothing, and the client keeps chatting', async (t) => {
  const room = await Room.open(t);
  const ana = await room.join(t, 'ana');
  const budi = await room.join(t, 'budi');
  await room.sayAndSeen(budi, 'halo dari budi', [ana, budi]);
  await room.sayAndSeen(ana, 'halo juga', [ana, budi]);
  const anaAtServer = await room.proxy.serverSideAddress(ana.endpoint.local);
  const carrier = ana.messageCarriers[0];
  if (carrier === undefined) {
    t.fail('no datagram showed budi’s line at ana');
    return;
  }
  // Ana's own SAY, reflected back to her: her session's id, the other direction's key.
  const reflected = room.sayCarrierOf(ana, anaAtServer);
  const { number: last } = lastSession(room.proxy.from('to-client', ana.endpoint.local));
  const forgeries = [
    renumbered(carrier, last + 1),
    flipped(renumbered(carrier, last + 1), HEADER_BYTES),
    flipped(renumbered(carrier, last + 2), carrier.length - 1),
    withNoise(carrier, last + 1, carrier.length - HEADER_BYTES),
    sealedUnderOtherKey(carrier, last + 2, carrier.length - HEADER_BYTES - TAG_BYTES),
    reflected,
    renumbered(reflected, last + 1),
  ];

  const stranger = await openUdp({ host: LOOPBACK, port: 0 });
  t.teardown(() => stranger.close());
  const ignoredBefore = ignoredBy(ana);
  const shownBefore = shown(ana);
  // From a stranger even the exact copy is a forgery: only the server's address speaks for the session.
  stranger.port.send(carrier, ana.endpoint.local);
  for (const forgery of forgeries) {
    stranger.port.send(forgery, ana.endpoint.local);
    room.proxy.injectToClient(ana.endpoint.local, forgery);
  }
  const sent = 1 + 2 * forgeries.length;
  t.is(room.proxy.counts.injected, forgeries.length);
  await room.until(() => ignoredBy(ana) >= ignoredBefore + sent, 'ana to set every forgery aside');
  t.deepEqual(shown(ana), shownBefore);
  t.deepEqual(
    forgeries.map((forgery) => timesTaken(ana.taken, forgery)),
    forgeries.map(() => 0),
  );
  t.is(timesTaken(ana.taken, carrier), 1, 'the genuine copy, from the server, and no other');

  await room.sayAndSeen(budi, 'masih aman?', [ana, budi]);
  await room.sayAndSeen(ana, 'aman', [ana, budi]);
  t.is(ignoredBy(ana) - ignoredBefore, sent, 'every forgery, and nothing genuine, was set aside');
  const history = ['budi: halo dari budi', 'ana: halo juga', 'budi: masih aman?', 'ana: aman'];
  t.deepEqual(shown(ana), history);
  t.deepEqual(shown(budi), history);
  t.deepEqual(interruptions(ana), []);
  t.deepEqual(room.failures, []);
});

test('forged session packets from a member’s address (a BYE or QUIT the attacker cannot seal) and a forged RESET do not remove the member', async (t) => {
  const room = await Room.open(t);
  const ana = await room.join(t, 'ana');
  const budi = await room.join(t, 'budi');
  await room.sayAndSeen(ana, 'sebelum', [ana, budi]);
  const anaAtServer = await room.proxy.serverSideAddress(ana.endpoint.local);
  const anaSession = room.server.events.find(
    (event) => event.type === 'member.joined' && event.name === 'ana',
  );
  if (anaSession?.type !== 'member.joined') {
    t.fail('the server announced no join of ana');
    return;
  }

  const hers = room.proxy.from('to-server', ana.endpoint.local).filter(isSession);
  const { datagram: template, number: last } = lastSession(hers);
  const next = (index: number) => last + 1 + (index % 4);
  const forgeries: Uint8Array[] = [];
  // A BYE takes a few bytes of frames: every small sealed size, as noise and under another key.
  for (let frameBytes = 1; frameBytes <= 16; frameBytes += 1) {
    forgeries.push(withNoise(template, next(frameBytes), frameBytes + TAG_BYTES));
    forgeries.push(sealedUnderOtherKey(template, next(frameBytes), frameBytes));
  }
  // Every packet of hers so far, a byte changed, under a fresh number.
  hers.forEach((datagram, index) => {
    const sealedBytes = datagram.length - HEADER_BYTES;
    forgeries.push(flipped(renumbered(datagram, next(index)), HEADER_BYTES + ((index * 7) % sealedBytes)));
  });
  for (const forgery of forgeries) {
    room.proxy.injectToServer(ana.endpoint.local, forgery);
  }
  // And a RESET of her session from the server's address, with a token the attacker had to guess.
  const resets = Array.from({ length: 5 }, () =>
    encodePacket({ type: 'reset', sessionId: anaSession.sessionId, token: randomBytes(16) }),
  );
  const ignoredBefore = ignoredBy(ana);
  for (const reset of resets) {
    room.proxy.injectToClient(ana.endpoint.local, reset);
  }
  t.is(room.proxy.counts.injected, forgeries.length + resets.length);
  await room.until(
    () => room.drops(anaAtServer).length >= forgeries.length,
    'the server to drop every forgery',
  );
  await room.until(() => ignoredBy(ana) >= ignoredBefore + resets.length, 'ana to set every RESET aside');
  t.deepEqual(
    room.drops(anaAtServer),
    forgeries.map(() => 'unauthentic'),
  );

  t.deepEqual(
    forgeries.map((forgery) => timesTaken(room.server.taken, forgery)),
    forgeries.map(() => 0),
  );

  await room.sayAndSeen(ana, 'masih di sini', [ana, budi]);
  // The server still holds her name: a newcomer asking for it, in any case, is turned away.
  const impostor = await room.start(t, 'ANA');
  await room.until(() => settled(impostor) !== undefined, 'the newcomer’s login to settle');
  t.like(
    impostor.events.find((event) => event.type === 'rejected'),
    { reason: 'name-taken' },
  );

  const gone = room.server.events.filter(
    (event) =>
      (event.type === 'member.left' || event.type === 'session.ended') &&
      event.sessionId === anaSession.sessionId,
  );
  t.deepEqual(gone, []);
  t.false(budi.events.some((event) => event.type === 'left'));
  t.deepEqual(interruptions(ana), []);
  t.deepEqual(shown(budi), ['ana: sebelum', 'ana: masih di sini']);
  t.deepEqual(room.failures, []);
});

/** Every code REFUSE and REFUSED have (1 to 5, 'version' among them), and codes around and far past them. */
const REFUSE_REASON_BYTES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 0x3f, 0x7f, 0x80, 0xfe, 0xff];
const REFUSES_PER_ANSWER = REFUSE_REASON_BYTES.length + 1;

test('forged REFUSEs (every reason code, known or not) answering every HELLO and JOIN at once do not keep a client out', async (t) => {
  const room = await Room.open(t);
  let refusesSent = 0;
  room.proxy.beforeServer = (datagram, client) => {
    const decoded = decodePacket(datagram);
    if (!decoded.ok || (decoded.packet.type !== 'hello' && decoded.packet.type !== 'join')) {
      return;
    }
    const nonce = decoded.packet.clientNonce;
    // Every reason code, known or not, in this version's format, and 'version' in version 1's too.
    // Not all 256 at once: a burst that size overflows the client's receive buffer, and a REFUSE that
    // never arrives proves nothing.
    for (const reason of REFUSE_REASON_BYTES) {
      room.proxy.injectToClient(client, Uint8Array.of(2, PACKET_TYPE_REFUSE, ...nonce, reason));
    }
    room.proxy.injectToClient(client, Uint8Array.of(1, PACKET_TYPE_REFUSE, ...nonce, 5));
    refusesSent += REFUSES_PER_ANSWER;
  };
  // The first HELLO gets the forgeries and nothing else: the server's answer is lost.
  let challengesLost = 0;
  room.proxy.copies = (datagram, direction) => {
    if (direction === 'to-client' && datagram[1] === PACKET_TYPE_CHALLENGE && challengesLost === 0) {
      challengesLost += 1;
      return 0;
    }
    return 1;
  };

  const ana = await room.start(t, 'ana');
  await room.until(() => settled(ana) !== undefined, 'ana’s login to settle');
  t.is(settled(ana), 'welcome', JSON.stringify(ana.events.filter((event) => event.type !== 'retrying')));
  t.is(challengesLost, 1);
  t.true(
    ana.events.some((event) => event.type === 'retrying'),
    'the first HELLO, answered by forgeries alone, was retried',
  );
  // Answers to at least the two HELLOs and the JOIN, each before the server's own.
  t.true(refusesSent >= 3 * REFUSES_PER_ANSWER, `${refusesSent} forged REFUSEs`);
  t.is(room.proxy.counts.injected, refusesSent);
  const firstChallenge = ana.arrivals.indexOf(PACKET_TYPE_CHALLENGE);
  t.true(firstChallenge >= 0);
  const refusedFirst = ana.arrivals.slice(0, firstChallenge).filter((type) => type === PACKET_TYPE_REFUSE);
  t.true(
    refusedFirst.length >= 2 * REFUSES_PER_ANSWER,
    `${refusedFirst.length} forged REFUSEs reached ana before the first CHALLENGE`,
  );
  // The REFUSE 'version' answers carried ana's nonce: she read them as answers, and did not believe them.
  t.true(ana.actor.getSnapshot().context.versionRefusals >= 2);
  t.false(ana.events.some((event) => event.type === 'rejected' || event.type === 'closed'));

  await room.sayAndSeen(ana, 'akhirnya masuk', [ana]);
  t.deepEqual(shown(ana), ['ana: akhirnya masuk']);
  t.deepEqual(room.failures, []);
});

test('every datagram replayed, and later a SAY replayed many times: each line is shown once to each member, and the server counts the replays', async (t) => {
  const room = await Room.open(t);
  room.proxy.copies = () => 2;
  const ana = await room.join(t, 'ana');
  const budi = await room.join(t, 'budi');
  const citra = await room.join(t, 'citra');
  const everyone = [ana, budi, citra];
  await room.sayAndSeen(ana, 'satu', everyone);
  await room.sayAndSeen(budi, 'dua', everyone);
  await room.sayAndSeen(citra, 'tiga', everyone);
  await room.sayAndSeen(ana, 'empat', everyone);
  t.true(room.proxy.counts.duplicated > 0);
  const replayedAtOnce = room.server.events.filter(
    (event) => event.type === 'datagram.dropped' && event.reason === 'replayed',
  ).length;
  t.true(replayedAtOnce > 0, 'the copies made at once were dropped as replayed');

  // Later: one SAY of ana's, replayed from her address, from another member's and from a stranger's;
  // one MESSAGE to budi, replayed from the server's address.
  const anaAtServer = await room.proxy.serverSideAddress(ana.endpoint.local);
  const budiAtServer = await room.proxy.serverSideAddress(budi.endpoint.local);
  const said = room.sayCarrierOf(ana, anaAtServer);
  const toBudi = budi.messageCarriers[0];
  if (toBudi === undefined) {
    t.fail('no datagram showed a line at budi');
    return;
  }
  const stranger = await openUdp({ host: LOOPBACK, port: 0 });
  t.teardown(() => stranger.close());
  const REPLAYS = 100;
  const anaReplayedBefore = room.drops(anaAtServer).filter((reason) => reason === 'replayed').length;
  const strangerWrongBefore = room.drops(stranger.local).length;
  const budiIgnoredBefore = ignoredBy(budi);
  const injectedBefore = room.proxy.counts.injected;
  for (let index = 0; index < REPLAYS; index += 1) {
    room.proxy.injectToServer(ana.endpoint.local, said);
    room.proxy.injectToClient(budi.endpoint.local, toBudi);
    if (index % 5 === 0) {
      room.proxy.injectToServer(budi.endpoint.local, said);
      stranger.port.send(said, room.server.address);
    }
  }
  t.is(room.proxy.counts.injected - injectedBefore, 2 * REPLAYS + REPLAYS / 5);
  await room.until(
    () =>
      room.drops(anaAtServer).filter((reason) => reason === 'replayed').length >= anaReplayedBefore + REPLAYS,
    'the server to drop every replay from ana’s address',
  );
  await room.until(
    () =>
      room.drops(budiAtServer).filter((reason) => reason === 'wrong-address').length >= REPLAYS / 5 &&
      room.drops(stranger.local).length >= strangerWrongBefore + REPLAYS / 5,
    'the server to drop every replay from elsewhere',
  );
  await room.until(() => ignoredBy(budi) >= budiIgnoredBefore + REPLAYS, 'budi to set every replay aside');
  t.deepEqual([...new Set(room.drops(stranger.local))], ['wrong-address']);

  t.is(timesTaken(room.server.taken, said), 1, 'the SAY was taken once, when it first came');
  t.is(timesTaken(budi.taken, toBudi), 1, 'the MESSAGE was taken once, when it first came');

  await room.sayAndSeen(citra, 'lima', everyone);
  const history = ['ana: satu', 'budi: dua', 'citra: tiga', 'ana: empat', 'citra: lima'];
  t.deepEqual(room.linesTaken(), history);
  for (const member of everyone) {
    t.deepEqual(shown(member), history, member.name);
  }
  t.false(
    room.server.events.some((event) => event.type === 'datagram.dropped' && event.reason === 'unauthentic'),
    'exact copies are replays, not forgeries',
  );
  t.deepEqual(room.failures, []);
});

test('no datagram on the wire holds a message text, a name or the password', async (t) => {
  const password = 'sandi-Rahasia: ümlaut, ñ & 🔑 (jangan dibocorkan)';
  const room = await Room.open(t, password);
  const ana = await room.join(t, 'Rahasia_Ana_1');
  const budi = await room.join(t, 'Rahasia_Budi_2');
  const everyone = [ana, budi];
  let long = '';
  for (let line = 0; Buffer.byteLength(long) < 1000; line += 1) {
    long += `baris ${line}: isi rapat yang rahasia; `;
  }
  long = long.slice(0, 1000);
  const texts = [
    'rapat dewan jam tiga di ruang 204',
    'PIN brankas: 7391-4420, jangan disebar',
    'ünïcödé tëxt — 日本語のひみつ 🤫',
    long,
  ];
  for (const [index, text] of texts.entries()) {
    await room.sayAndSeen(index % 2 === 0 ? ana : budi, text, everyone);
  }

  const captured = room.proxy.captured;
  // The capture is the whole conversation: every packet type, both ways, and a datagram big enough
  // to have held the longest text in clear.
  t.deepEqual([...new Set(captured.map((entry) => `${entry.direction} ${entry.datagram[1]}`))].sort(), [
    'to-client 2',
    'to-client 4',
    'to-client 6',
    'to-server 1',
    'to-server 3',
    'to-server 6',
  ]);
  t.true(captured.some((entry) => entry.direction === 'to-server' && entry.datagram.length > 1000));
  t.true(captured.some((entry) => entry.direction === 'to-client' && entry.datagram.length > 1000));
  // The search finds what does travel in clear: ana's session id, in the ACCEPT and in every header.
  const accept = room.proxy
    .from('to-client', ana.endpoint.local)
    .find((datagram) => datagram[1] === PACKET_TYPE_ACCEPT);
  const sessionId = accept?.subarray(18, 26) ?? new Uint8Array(8);
  t.true(
    captured.filter(
      (entry) => entry.datagram[1] === PACKET_TYPE_SESSION && contains(entry.datagram, sessionId),
    ).length > texts.length,
  );

  const secrets = [password, ana.name, budi.name, ...texts];
  const leaks: string[] = [];
  for (const secret of secrets) {
    // As typed and in NFC (the password enters the exchange in NFC); the whole of it, and every
    // 16-byte piece of the longer ones: a text split or trimmed is a leak too.
    const pieces: Uint8Array[] = [];
    for (const form of new Set([secret, secret.normalize('NFC')])) {
      const bytes = Buffer.from(form, 'utf8');
      pieces.push(bytes);
      for (let start = 0; start + 16 < bytes.length; start += 1) {
        pieces.push(bytes.subarray(start, start + 16));
      }
    }
    for (const [index, entry] of captured.entries()) {
      if (pieces.some((piece) => contains(entry.datagram, piece))) {
        leaks.push(`datagram ${index} (${entry.direction}) holds ${JSON.stringify(secret.slice(0, 40))}`);
      }
    }
  }
  t.deepEqual(leaks, []);
  t.deepEqual(room.failures, []);
});
