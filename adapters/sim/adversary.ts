import { Buffer } from 'node:buffer';
import { decodePacket, encodePacket, type WaitReason } from '../../engine/index.ts';
import { formatAddress, type PeerAddress } from '../../engine/port.ts';
import type { InjectionFate, SentDatagram, SimNetwork } from './network.ts';
import type { VirtualClock } from './virtual-clock.ts';

/**
 * The simulator's adversary: a node on the simulated network that sees a copy of every datagram sent
 * (an on-path eavesdropper) and injects datagrams of its own, claiming any source address. Every choice
 * it makes comes from its tape (an {@link AdversaryPlan}, drawn by fast-check inside the scenario, as the
 * fault tape is), so a run replays exactly from its scenario and shrinking removes injections. It never
 * drops or delays what others send: the fault tape does that.
 */

/** How the trace names the adversary: every injection is a send from this node. */
export const ADVERSARY_NODE = 'adversary';

/**
 * What an injection is made of:
 * - `replay`: an exact copy of a datagram seen earlier, to its destination or another node, now or later;
 * - `bit-flip`: a copy with one or more bits flipped, in its header, its body or anywhere;
 * - `truncate` / `extend`: a copy cut short, or with bytes appended;
 * - `reflect`: a copy sent back to its sender as from its receiver, or to the server as from a member;
 * - `forge-random`: bytes of the tape's own, nothing seen in them;
 * - `forge-header`: a seen datagram's header with a body of the tape's;
 * - `forge-packet-number`: a seen session packet under another packet number (its body, or the tape's);
 * - `forge-wait`: a WAIT (the server's "not now, come back later", not authenticated) for a handshake
 *   seen on the wire, with the tape's reason and retry-after, made when a JOIN goes by (what a WAIT
 *   answers), from that JOIN or another datagram that carries a client nonce.
 */
export const INJECTION_KINDS = [
  'replay',
  'bit-flip',
  'truncate',
  'extend',
  'reflect',
  'forge-random',
  'forge-header',
  'forge-packet-number',
  'forge-wait',
] as const;
export type InjectionKind = (typeof INJECTION_KINDS)[number];

/**
 * An address an injection goes to, or claims to come from, as the adversary knows them: the seen
 * datagram's own (its destination, or its sender), the server's (public), the `pick`-th client address
 * it has seen on the wire (modulo how many), or a stranger's that no node holds.
 */
export type AddressPick =
  | { readonly kind: 'as-seen' }
  | { readonly kind: 'server' }
  | { readonly kind: 'client'; readonly pick: number }
  | { readonly kind: 'stranger'; readonly pick: number };

/** Which seen datagrams a move may work from: any, those a client sent, or those the server sent. */
export type SourceFilter = 'any' | 'client' | 'server';

/** When a move fires, what it works from, and when what it makes goes out. */
export interface MoveTiming {
  /**
   * The move fires on the first datagram the adversary sees at or after this virtual time (a
   * `forge-wait`, on the first JOIN: a WAIT answers a JOIN, so it is armed then and waits for one).
   */
  readonly atMs: number;
  /** It works from the `back`-th datagram before that one (0: that very one), among those `of` allows. */
  readonly back: number;
  readonly of: SourceFilter;
  /** What it makes is held this long before it is sent: 0 races the original, more replays it later. */
  readonly delayMs: number;
}

/** Where a copy or forgery goes and whose address it claims. */
export interface Aim {
  readonly to: AddressPick;
  readonly from: AddressPick;
}

/** The number a `forge-packet-number` injection writes: this far past the seen one, or exactly this. */
export type PacketNumberPick = { readonly ahead: number } | { readonly exactly: number };

/** Byte strings on the tape are lowercase hex, so that a scenario stays plain JSON and a token short. */
export type Hex = string;

/** One entry of the adversary's tape: one injection, if it fires and the plan's bounds allow it. */
export type AdversaryMove = MoveTiming &
  (
    | ({ readonly kind: 'replay' } & Aim)
    | ({
        readonly kind: 'bit-flip';
        readonly region: 'header' | 'body' | 'any';
        /** Bit positions within the region (modulo its size in bits), most significant bit first. */
        readonly bits: readonly number[];
      } & Aim)
    | ({
        readonly kind: 'truncate' /** Bytes kept, modulo the datagram's length. */;
        readonly keep: number;
      } & Aim)
    | ({ readonly kind: 'extend'; readonly extra: Hex } & Aim)
    | {
        readonly kind: 'reflect';
        /** Absent: back to its sender, as from its receiver. Present: to the server, as this client pick. */
        readonly toServerAs?: number;
      }
    | ({ readonly kind: 'forge-random'; readonly bytes: Hex } & Aim)
    | ({ readonly kind: 'forge-header'; readonly body: Hex } & Aim)
    | ({
        readonly kind: 'forge-packet-number';
        readonly packetNumber: PacketNumberPick;
        /** The body after the header; the seen packet's own when absent. */
        readonly body?: Hex;
      } & Aim)
    | ({
        readonly kind: 'forge-wait';
        /** The reason it gives: an index into {@link FORGED_WAIT_REASONS}, modulo their count. */
        readonly reason: number;
        /** The retry-after it asks for: a u32, 0 to 2^32 − 1 ms. */
        readonly retryAfterMs: number;
      } & Aim)
  );

/**
 * The adversary of a scenario (`Scenario.adversary`; absent, there is none): its tape of moves and its
 * bounds. An injection goes out only at a time in [`startAtMs`, `stopAtMs`) and only while fewer than
 * `injectionCountMax` have; either bound absent is no bound.
 */
export interface AdversaryPlan {
  readonly startAtMs: number;
  readonly stopAtMs?: number;
  readonly injectionCountMax?: number;
  readonly moves: readonly AdversaryMove[];
}

/**
 * What the adversary knows of the protocol's public layout: how long a datagram's header is, and
 * where a session packet's number lies. It is protocol v1's (PROTOCOL.md), which protocol v2 keeps
 * for its SESSION packets (the 14 header bytes are the AEAD's associated data); a layout that
 * changes changes here.
 */
export interface WireAnatomy {
  /** How many leading bytes of `datagram` are header (at most its length). */
  headerBytes(datagram: Uint8Array): number;
  /** Where a session packet's u32 packet number lies, or undefined for a datagram that has none. */
  packetNumberOffset(datagram: Uint8Array): number | undefined;
}

/** Byte 1 of a SESSION packet, its header's size, and where its packet number lies. */
const SESSION_TYPE = 0x06;
const SESSION_HEADER_BYTES = 14;
const PACKET_NUMBER_OFFSET = 10;
/** Version, type and the 16-byte client nonce: what names a handshake, as a session id names a session. */
const HANDSHAKE_HEADER_BYTES = 18;

export const WIRE_ANATOMY: WireAnatomy = {
  headerBytes: (datagram) =>
    Math.min(
      datagram.byteLength,
      datagram[1] === SESSION_TYPE ? SESSION_HEADER_BYTES : HANDSHAKE_HEADER_BYTES,
    ),
  packetNumberOffset: (datagram) =>
    datagram[1] === SESSION_TYPE && datagram.byteLength >= SESSION_HEADER_BYTES
      ? PACKET_NUMBER_OFFSET
      : undefined,
};

/** The reasons a forged WAIT may give (protocol v2's WAIT reasons, in their order on the wire). */
export const FORGED_WAIT_REASONS: readonly WaitReason[] = ['load', 'throttled', 'host-quota'];

/** The largest retry-after a WAIT can carry: it is a u32 on the wire. */
export const RETRY_AFTER_MS_MAX = 0xffff_ffff;

/** A handshake seen on the wire: its client nonce, and which end of it sent the datagram. */
export interface SeenHandshake {
  readonly clientNonce: Uint8Array;
  /** A HELLO or a JOIN (the client's); otherwise a CHALLENGE, ACCEPT, REFUSE or WAIT (the server's). */
  readonly byClient: boolean;
}

/**
 * The handshake a datagram belongs to, if it is a handshake packet: every one carries its client
 * nonce in the clear, and what type of packet it is says who sent it.
 */
export function seenHandshake(datagram: Uint8Array): SeenHandshake | undefined {
  const decoded = decodePacket(datagram);
  if (!decoded.ok) {
    return undefined;
  }
  const packet = decoded.packet;
  switch (packet.type) {
    case 'hello':
    case 'join':
      return { clientNonce: packet.clientNonce, byClient: true };
    case 'challenge':
    case 'accept':
    case 'refuse':
    case 'wait':
      return { clientNonce: packet.clientNonce, byClient: false };
    default:
      return undefined;
  }
}

function isJoin(datagram: Uint8Array): boolean {
  const decoded = decodePacket(datagram);
  return decoded.ok && decoded.packet.type === 'join';
}

export function hexOf(bytes: Uint8Array): Hex {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function bytesOfHex(hex: Hex): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** A datagram the adversary saw, with who sent it where. */
export interface SeenDatagram {
  readonly t: number;
  /** The network's number for its send. */
  readonly send: number;
  readonly from: string;
  readonly fromAddress: PeerAddress;
  readonly to: PeerAddress;
  readonly toName: string;
  /** A view into the adversary's log: copy it to change it. */
  readonly bytes: Uint8Array;
}

/**
 * Every datagram the adversary saw, in order, in one growing buffer: what it works from, and what
 * the checker searches for secrets sent in the clear (one native search per secret, not one per
 * datagram).
 */
export class WireLog {
  #buffer = new Uint8Array(1 << 16);
  #length = 0;
  readonly #starts: number[] = [];
  readonly #seen: Omit<SeenDatagram, 'bytes'>[] = [];

  get count(): number {
    return this.#seen.length;
  }

  /** Total bytes seen. */
  get byteCount(): number {
    return this.#length;
  }

  append(sent: SentDatagram): void {
    const size = sent.bytes.byteLength;
    if (this.#length + size > this.#buffer.byteLength) {
      const grown = new Uint8Array(Math.max(2 * this.#buffer.byteLength, this.#length + size));
      grown.set(this.#buffer.subarray(0, this.#length));
      this.#buffer = grown;
    }
    this.#buffer.set(sent.bytes, this.#length);
    this.#starts.push(this.#length);
    this.#length += size;
    this.#seen.push({
      t: sent.t,
      send: sent.send,
      from: sent.from,
      fromAddress: { host: sent.fromAddress.host, port: sent.fromAddress.port },
      to: { host: sent.to.host, port: sent.to.port },
      toName: sent.toName,
    });
  }

  /** The `index`-th datagram seen (0 for the first). */
  at(index: number): SeenDatagram | undefined {
    const seen = this.#seen[index];
    const start = this.#starts[index];
    if (seen === undefined || start === undefined) {
      return undefined;
    }
    return { ...seen, bytes: this.#buffer.subarray(start, this.#endOf(index)) };
  }

  /** The index of the first datagram that holds `needle` whole (not across two), or undefined. */
  find(needle: Uint8Array): number | undefined {
    if (needle.byteLength === 0) {
      return undefined;
    }
    const haystack = Buffer.from(this.#buffer.buffer, this.#buffer.byteOffset, this.#length);
    for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) {
      const index = this.#indexAt(at);
      if (at + needle.byteLength <= this.#endOf(index)) {
        return index;
      }
    }
    return undefined;
  }

  #endOf(index: number): number {
    return this.#starts[index + 1] ?? this.#length;
  }

  /** The datagram whose bytes hold offset `at`: the last start at or before it. */
  #indexAt(at: number): number {
    let low = 0;
    let high = this.#starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((this.#starts[middle] ?? 0) <= at) {
        low = middle;
      } else {
        high = middle - 1;
      }
    }
    return low;
  }
}

/** The addresses the adversary knows: the server's, and the clients' it has seen, in order. */
export interface Knowledge {
  readonly server: PeerAddress;
  readonly clients: readonly PeerAddress[];
}

/** A datagram of the adversary's making, ready to go: its bytes, the address it claims, where it goes. */
export interface Crafted {
  readonly bytes: Uint8Array;
  readonly from: PeerAddress;
  readonly to: PeerAddress;
}

/** An address no node of a simulation holds (clients are on 10.0.1.x, the server on 10.0.0.1). */
export function strangerAddress(pick: number): PeerAddress {
  return { host: `10.0.66.${(pick % 250) + 1}`, port: 40_000 + (pick % 20_000) };
}

function pickAddress(pick: AddressPick, asSeen: PeerAddress, knowledge: Knowledge): PeerAddress {
  switch (pick.kind) {
    case 'as-seen':
      return asSeen;
    case 'server':
      return knowledge.server;
    case 'client':
      return knowledge.clients[pick.pick % Math.max(1, knowledge.clients.length)] ?? asSeen;
    case 'stranger':
      return strangerAddress(pick.pick);
  }
}

/**
 * The distinct bit positions (in the whole datagram, most significant bit of byte 0 first) that
 * `bits` name within `region`; a region with no bytes (a body-less datagram's body) means anywhere.
 */
export function flippedPositions(
  length: number,
  headerBytes: number,
  region: 'header' | 'body' | 'any',
  bits: readonly number[],
): number[] {
  let [start, end] =
    region === 'header' ? [0, headerBytes] : region === 'body' ? [headerBytes, length] : [0, length];
  if (end <= start) {
    [start, end] = [0, length];
  }
  const span = (end - start) * 8;
  if (span === 0) {
    return [];
  }
  return [...new Set(bits.map((bit) => start * 8 + (bit % span)))].sort((a, b) => a - b);
}

/** A copy of `bytes` with the bits at `positions` flipped. */
export function flipBits(bytes: Uint8Array, positions: readonly number[]): Uint8Array {
  const flipped = bytes.slice();
  for (const position of positions) {
    const at = position >> 3;
    flipped[at] = (flipped[at] ?? 0) ^ (0x80 >> (position & 7));
  }
  return flipped;
}

function concat(head: Uint8Array, tail: Uint8Array): Uint8Array {
  const joined = new Uint8Array(head.byteLength + tail.byteLength);
  joined.set(head);
  joined.set(tail, head.byteLength);
  return joined;
}

function aimed(aim: Aim, source: SeenDatagram, knowledge: Knowledge, bytes: Uint8Array): Crafted {
  return {
    bytes,
    from: pickAddress(aim.from, source.fromAddress, knowledge),
    to: pickAddress(aim.to, source.to, knowledge),
  };
}

/** A `forge-packet-number` datagram: the seen header under another number, then a body. */
function renumbered(
  move: Extract<AdversaryMove, { kind: 'forge-packet-number' }>,
  source: Uint8Array,
  anatomy: WireAnatomy,
): Uint8Array | undefined {
  const offset = anatomy.packetNumberOffset(source);
  if (offset === undefined) {
    return undefined;
  }
  const bytes =
    move.body === undefined
      ? source.slice()
      : concat(source.subarray(0, anatomy.headerBytes(source)), bytesOfHex(move.body));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const number =
    'ahead' in move.packetNumber
      ? view.getUint32(offset) + move.packetNumber.ahead
      : move.packetNumber.exactly;
  view.setUint32(offset, number >>> 0);
  return bytes;
}

/**
 * A `forge-wait` datagram: a WAIT for the seen handshake's nonce, with the tape's reason and
 * retry-after. As seen, it goes to the handshake's client as from the server it talks to (the reply
 * the server would send), whichever end sent the datagram seen; the aim may send it elsewhere.
 */
function forgedWait(
  move: Extract<AdversaryMove, { kind: 'forge-wait' }>,
  source: SeenDatagram,
  knowledge: Knowledge,
): Crafted | undefined {
  const handshake = seenHandshake(source.bytes);
  if (handshake === undefined) {
    return undefined;
  }
  const reason = FORGED_WAIT_REASONS[move.reason % FORGED_WAIT_REASONS.length] ?? 'load';
  const bytes = encodePacket({
    type: 'wait',
    clientNonce: handshake.clientNonce.slice(),
    reason,
    retryAfterMs: Math.min(move.retryAfterMs, RETRY_AFTER_MS_MAX),
  });
  const [client, server] = handshake.byClient
    ? [source.fromAddress, source.to]
    : [source.to, source.fromAddress];
  return {
    bytes,
    from: pickAddress(move.from, server, knowledge),
    to: pickAddress(move.to, client, knowledge),
  };
}

/**
 * What one move makes of the datagram it works from, or undefined when it can make nothing of it (a
 * datagram with no bytes to flip or cut, a packet number where there is none, a WAIT for a datagram
 * of no handshake). Pure: the unit tests hold each kind to what it claims.
 */
export function craft(
  move: AdversaryMove,
  source: SeenDatagram,
  knowledge: Knowledge,
  anatomy: WireAnatomy = WIRE_ANATOMY,
): Crafted | undefined {
  const bytes = source.bytes;
  switch (move.kind) {
    case 'replay':
      return aimed(move, source, knowledge, bytes.slice());
    case 'bit-flip': {
      const positions = flippedPositions(
        bytes.byteLength,
        anatomy.headerBytes(bytes),
        move.region,
        move.bits,
      );
      return positions.length === 0 ? undefined : aimed(move, source, knowledge, flipBits(bytes, positions));
    }
    case 'truncate':
      return bytes.byteLength === 0
        ? undefined
        : aimed(move, source, knowledge, bytes.slice(0, move.keep % bytes.byteLength));
    case 'extend': {
      const extra = bytesOfHex(move.extra);
      return extra.byteLength === 0 ? undefined : aimed(move, source, knowledge, concat(bytes, extra));
    }
    case 'reflect':
      return move.toServerAs === undefined
        ? { bytes: bytes.slice(), from: source.to, to: source.fromAddress }
        : {
            bytes: bytes.slice(),
            from: pickAddress({ kind: 'client', pick: move.toServerAs }, source.fromAddress, knowledge),
            to: knowledge.server,
          };
    case 'forge-random':
      return aimed(move, source, knowledge, bytesOfHex(move.bytes));
    case 'forge-header':
      return aimed(
        move,
        source,
        knowledge,
        concat(bytes.subarray(0, anatomy.headerBytes(bytes)), bytesOfHex(move.body)),
      );
    case 'forge-packet-number': {
      const forged = renumbered(move, bytes, anatomy);
      return forged === undefined ? undefined : aimed(move, source, knowledge, forged);
    }
    case 'forge-wait':
      return forgedWait(move, source, knowledge);
  }
}

/** Whose address an injection claims: the server's, a client's the adversary has seen, or nobody's. */
export type SpoofKind = 'server' | 'member' | 'stranger';

/** One injection that went out, and what became of it. */
export interface InjectionRecord {
  readonly t: number;
  readonly kind: InjectionKind;
  /** Its move's index in the plan. */
  readonly move: number;
  /** The network's number for the send of the datagram it was made from. */
  readonly source: number;
  readonly from: PeerAddress;
  readonly to: PeerAddress;
  readonly spoofedAs: SpoofKind;
  readonly bytes: Uint8Array;
  /** Who it reached (`server` or `client`), or `nobody`; undefined while in flight. */
  readonly reached: 'server' | 'client' | 'nobody' | undefined;
}

/** What the adversary did over a run: the run record's `adversary`, what the checker reads. */
export interface AdversaryReport {
  /** Datagrams it saw (every one a live node sent). */
  readonly seenCount: number;
  /** Injections that went out, by kind. */
  readonly injected: Readonly<Record<InjectionKind, number>>;
  readonly injectionCount: number;
  /** Injections that arrived, by the kind of node that received them; `nobody` for the dropped. */
  readonly reached: { readonly server: number; readonly client: number; readonly nobody: number };
  /** Injections by whose address they claimed. */
  readonly spoofedAs: Readonly<Record<SpoofKind, number>>;
  /** Moves that fired but whose injection the plan's bounds held back (outside the window, or past the count). */
  readonly heldBack: number;
  /** Moves that fired with nothing to work from (nothing seen yet of what they take). */
  readonly idle: number;
  readonly injections: readonly InjectionRecord[];
  /** Every datagram it saw. */
  readonly wire: WireLog;
}

function zeroByKind(): Record<InjectionKind, number> {
  return Object.fromEntries(INJECTION_KINDS.map((kind) => [kind, 0])) as Record<InjectionKind, number>;
}

export interface AdversaryOptions {
  readonly network: SimNetwork;
  readonly clock: VirtualClock;
  readonly plan: AdversaryPlan;
  /** The server's node name and address (public: every client is told it). */
  readonly server: { readonly node: string; readonly address: PeerAddress };
  /** The network's latency: the adversary sits halfway along every path, so its datagrams take half. */
  readonly latencyMs: number;
  readonly anatomy?: WireAnatomy;
}

/**
 * The adversary of one run, attached to a network's tap: it logs every datagram, fires each move of
 * its plan on the first datagram it sees at or after the move's time (a forged WAIT on the first JOIN
 * then), and injects what the move makes once the move's delay has passed, within the plan's bounds.
 *
 * @example
 * ```ts
 * const adversary = new Adversary({ network, clock, plan, server: { node: 'server', address }, latencyMs: 5 });
 * clock.runUntil(30_000, 100_000);
 * adversary.report().injected; // { replay: 2, 'bit-flip': 1, … }
 * ```
 */
export class Adversary {
  readonly #network: SimNetwork;
  readonly #clock: VirtualClock;
  readonly #plan: AdversaryPlan;
  readonly #server: { readonly node: string; readonly address: PeerAddress };
  readonly #transitMs: number;
  readonly #anatomy: WireAnatomy;
  readonly #wire = new WireLog();
  /** The plan's moves in the order they fire (by time, then by place on the tape), with their index. */
  readonly #queue: readonly { readonly move: AdversaryMove; readonly index: number }[];
  #nextMove = 0;
  /** `forge-wait` moves whose time has come, in the order they came due, each waiting for a JOIN. */
  readonly #armed: { readonly move: AdversaryMove; readonly index: number }[] = [];
  readonly #clients: PeerAddress[] = [];
  /** Node names by address, as learnt from the wire: for the trace's notes. */
  readonly #names = new Map<string, string>();
  readonly #injections: { record: InjectionRecord; reached: InjectionRecord['reached'] }[] = [];
  #heldBack = 0;
  #idle = 0;

  constructor(options: AdversaryOptions) {
    this.#network = options.network;
    this.#clock = options.clock;
    this.#plan = options.plan;
    this.#server = options.server;
    this.#transitMs = Math.floor(options.latencyMs / 2);
    this.#anatomy = options.anatomy ?? WIRE_ANATOMY;
    this.#queue = options.plan.moves
      .map((move, index) => ({ move, index }))
      .sort((a, b) => a.move.atMs - b.move.atMs || a.index - b.index);
    this.#names.set(formatAddress(options.server.address), options.server.node);
    options.network.observeSends((sent) => this.#see(sent));
  }

  #see(sent: SentDatagram): void {
    this.#wire.append(sent);
    this.#learn(sent.fromAddress, sent.from);
    this.#learn(sent.to, sent.toName);
    for (let due = this.#queue[this.#nextMove]; due !== undefined && due.move.atMs <= sent.t; ) {
      this.#nextMove += 1;
      if (due.move.kind === 'forge-wait') {
        this.#armed.push(due);
      } else {
        this.#fire(due.move, due.index);
      }
      due = this.#queue[this.#nextMove];
    }
    if (this.#armed.length > 0 && isJoin(sent.bytes)) {
      for (const armed of this.#armed.splice(0)) {
        this.#fire(armed.move, armed.index);
      }
    }
  }

  #learn(address: PeerAddress, name: string): void {
    const key = formatAddress(address);
    if (!this.#names.has(key)) {
      this.#names.set(key, name);
      this.#clients.push({ host: address.host, port: address.port });
    }
  }

  #fire(move: AdversaryMove, index: number): void {
    const source = this.#source(move);
    const crafted =
      source === undefined
        ? undefined
        : craft(move, source, { server: this.#server.address, clients: [...this.#clients] }, this.#anatomy);
    if (source === undefined || crafted === undefined) {
      this.#idle += 1;
      return;
    }
    const sourceSend = source.send;
    this.#clock.setTimeout(() => this.#send(move, index, sourceSend, crafted), move.delayMs);
  }

  /** The `back`-th latest datagram seen that the move may work from (the oldest such, if fewer). */
  #source(move: AdversaryMove): SeenDatagram | undefined {
    const server = formatAddress(this.#server.address);
    let found: SeenDatagram | undefined;
    let skipped = 0;
    for (let index = this.#wire.count - 1; index >= 0; index -= 1) {
      const seen = this.#wire.at(index);
      if (seen === undefined) {
        break;
      }
      const fromServer = formatAddress(seen.fromAddress) === server;
      const allowed =
        (move.of === 'any' || (move.of === 'server') === fromServer) &&
        (move.kind !== 'forge-packet-number' || this.#anatomy.packetNumberOffset(seen.bytes) !== undefined) &&
        (move.kind !== 'forge-wait' || seenHandshake(seen.bytes) !== undefined);
      if (allowed) {
        found = seen;
        if (skipped === move.back) {
          break;
        }
        skipped += 1;
      }
    }
    return found;
  }

  #send(move: AdversaryMove, index: number, source: number, crafted: Crafted): void {
    const now = this.#clock.now();
    const plan = this.#plan;
    if (
      now < plan.startAtMs ||
      (plan.stopAtMs !== undefined && now >= plan.stopAtMs) ||
      (plan.injectionCountMax !== undefined && this.#injections.length >= plan.injectionCountMax)
    ) {
      this.#heldBack += 1;
      return;
    }
    const spoofedAs = this.#spoofKind(crafted.from);
    const entry = {
      record: {
        t: now,
        kind: move.kind,
        move: index,
        source,
        from: crafted.from,
        to: crafted.to,
        spoofedAs,
        bytes: crafted.bytes,
        reached: undefined,
      } satisfies InjectionRecord,
      reached: undefined as InjectionRecord['reached'],
    };
    this.#injections.push(entry);
    const as = this.#names.get(formatAddress(crafted.from)) ?? formatAddress(crafted.from);
    this.#network.inject(crafted.bytes, crafted.from, crafted.to, {
      by: ADVERSARY_NODE,
      note: `${move.kind} as ${as}`,
      transitMs: this.#transitMs,
      onFate: (fate: InjectionFate) => {
        entry.reached =
          'dropped' in fate ? 'nobody' : fate.deliveredTo === this.#server.node ? 'server' : 'client';
      },
    });
  }

  #spoofKind(address: PeerAddress): SpoofKind {
    const key = formatAddress(address);
    if (key === formatAddress(this.#server.address)) {
      return 'server';
    }
    return this.#clients.some((client) => formatAddress(client) === key) ? 'member' : 'stranger';
  }

  /** What it did so far. */
  report(): AdversaryReport {
    const injected = zeroByKind();
    const reached = { server: 0, client: 0, nobody: 0 };
    const spoofedAs: Record<SpoofKind, number> = { server: 0, member: 0, stranger: 0 };
    const injections: InjectionRecord[] = [];
    for (const { record, reached: fate } of this.#injections) {
      injected[record.kind] += 1;
      spoofedAs[record.spoofedAs] += 1;
      if (fate !== undefined) {
        reached[fate] += 1;
      }
      injections.push({ ...record, reached: fate });
    }
    return {
      seenCount: this.#wire.count,
      injected,
      injectionCount: injections.length,
      reached,
      spoofedAs,
      heldBack: this.#heldBack,
      idle: this.#idle,
      injections,
      wire: this.#wire,
    };
  }
}

function isNaturalNumber(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isHex(value: unknown): value is Hex {
  return typeof value === 'string' && /^(?:[0-9a-f]{2})*$/.test(value);
}

function isAddressPick(value: unknown): value is AddressPick {
  const pick = value as Record<string, unknown> | null;
  if (typeof pick !== 'object' || pick === null) {
    return false;
  }
  return pick.kind === 'as-seen' || pick.kind === 'server'
    ? true
    : (pick.kind === 'client' || pick.kind === 'stranger') && isNaturalNumber(pick.pick);
}

/** Whether the fields a kind of move adds are well formed. */
function kindFieldsValid(move: Record<string, unknown>): boolean {
  const aim = isAddressPick(move.to) && isAddressPick(move.from);
  switch (move.kind) {
    case 'replay':
      return aim;
    case 'bit-flip':
      return (
        aim &&
        ['header', 'body', 'any'].includes(move.region as string) &&
        Array.isArray(move.bits) &&
        move.bits.every(isNaturalNumber)
      );
    case 'truncate':
      return aim && isNaturalNumber(move.keep);
    case 'extend':
      return aim && isHex(move.extra);
    case 'reflect':
      return move.toServerAs === undefined || isNaturalNumber(move.toServerAs);
    case 'forge-random':
      return aim && isHex(move.bytes);
    case 'forge-header':
      return aim && isHex(move.body);
    case 'forge-packet-number': {
      const number = move.packetNumber as Record<string, unknown> | null;
      return (
        aim &&
        (move.body === undefined || isHex(move.body)) &&
        typeof number === 'object' &&
        number !== null &&
        (isNaturalNumber(number.ahead) || isNaturalNumber(number.exactly))
      );
    }
    case 'forge-wait':
      return (
        aim &&
        isNaturalNumber(move.reason) &&
        isNaturalNumber(move.retryAfterMs) &&
        move.retryAfterMs <= RETRY_AFTER_MS_MAX
      );
    default:
      return false;
  }
}

/** Whether `value` (read from a replay token) is an adversary plan this version can run. */
export function isAdversaryPlan(value: unknown): value is AdversaryPlan {
  const plan = value as Record<string, unknown> | null;
  return (
    typeof plan === 'object' &&
    plan !== null &&
    isNaturalNumber(plan.startAtMs) &&
    (plan.stopAtMs === undefined || isNaturalNumber(plan.stopAtMs)) &&
    (plan.injectionCountMax === undefined || isNaturalNumber(plan.injectionCountMax)) &&
    Array.isArray(plan.moves) &&
    plan.moves.every((entry: unknown) => {
      const move = entry as Record<string, unknown> | null;
      return (
        typeof move === 'object' &&
        move !== null &&
        isNaturalNumber(move.atMs) &&
        isNaturalNumber(move.back) &&
        isNaturalNumber(move.delayMs) &&
        ['any', 'client', 'server'].includes(move.of as string) &&
        kindFieldsValid(move)
      );
    })
  );
}

/** One line about an adversary plan, for a scenario's summary. */
export function adversarySummary(plan: AdversaryPlan): string {
  const bounds = [
    ...(plan.startAtMs > 0 ? [`from ${plan.startAtMs} ms`] : []),
    ...(plan.stopAtMs === undefined ? [] : [`until ${plan.stopAtMs} ms`]),
    ...(plan.injectionCountMax === undefined ? [] : [`at most ${plan.injectionCountMax}`]),
  ];
  const count = plan.moves.length;
  return `an adversary of ${count} move${count === 1 ? '' : 's'}${bounds.length === 0 ? '' : ` (${bounds.join(', ')})`}`;
}
