import assert from 'node:assert/strict';
import { type DatagramPort, type Environment, formatAddress, type PeerAddress } from '../../engine/port.ts';
import { fnv1a32Hex } from './hash.ts';
import { type Partition, PartitionSchedule } from './partitions.ts';
import {
  createNetworkCounters,
  type NetworkStats,
  SENT_KEPT_MAX,
  type SimNode,
  snapshotStats,
} from './sim-node.ts';
import type { DatagramTraceEntry, NetworkDropReason, Trace } from './trace.ts';
import type { VirtualClock } from './virtual-clock.ts';

export type { Partition } from './partitions.ts';
export type { NetworkStats, NodeStats } from './sim-node.ts';

/** A bound on attached nodes, so a runaway scenario fails loudly instead of exhausting memory. */
export const NODE_COUNT_MAX = 4096;

/**
 * What the network does to one sent datagram. The n-th datagram sent (counting every send from every
 * node, in order) gets the n-th decision of the fault tape; past the tape's end, {@link NO_FAULT}.
 * - `drop`: lost (trace reason `loss`); `duplicate` and `delayMs` then do not matter.
 * - `delayMs`: extra delay on top of the latency; unequal delays reorder datagrams.
 * - `duplicate`: a second copy arrives `delayMs + 1` ms after the first, so a bigger delay also makes a
 *   later duplicate.
 * - `lateCopyMs`: one more copy arrives this long after the latency, seconds or minutes later, as
 *   from a queue that held it; with `drop`, that late copy is the only one that arrives.
 * Every field at its zero value means "deliver normally", so shrinking a tape moves toward fewer faults.
 */
export interface FaultDecision {
  readonly drop: boolean;
  readonly duplicate: boolean;
  readonly delayMs: number;
  readonly lateCopyMs?: number;
}

export const NO_FAULT: FaultDecision = Object.freeze({ drop: false, duplicate: false, delayMs: 0 });

/**
 * A datagram sent again, long after, as a network that holds copies (or someone replaying what they
 * captured) would: at `atMs`, the `nth` datagram `from` ever sent (0 for its first, at most the first
 * {@link SENT_KEPT_MAX}) arrives again where it went. Nothing happens if `from` never sent that many.
 */
export interface Replay {
  readonly atMs: number;
  readonly from: string;
  readonly nth: number;
}

/** What a datagram carries, in words for people: the trace and the diagram show it beside the send. */
export interface DatagramLabel {
  /** Short, in protocol words: `HELLO`, `JOIN ana`, `ACK+MESSAGE #4`. */
  readonly text: string;
  /** It carries only acknowledgements and keepalives (ACK and PING frames), nothing a user sees. */
  readonly ackOrPingOnly: boolean;
  /** The packet type (`hello`, `session`, …), or `undecodable`. */
  readonly packetType: string;
  /** The session a session packet belongs to, when its header names one in the clear. */
  readonly sessionId?: string;
}

/**
 * Labels a datagram from its bytes, once, when its label is first read. The network knows nothing of the protocol,
 * so the describer is given to it: today's datagrams are decoded in the clear, and a protocol whose
 * datagrams are encrypted can plug in one that holds the keys.
 */
export type DescribeDatagram = (datagram: Uint8Array) => DatagramLabel;

export interface SimNetworkOptions {
  readonly clock: VirtualClock;
  readonly trace: Trace;
  /** Every delivery takes at least this long. */
  readonly latencyMs: number;
  readonly faultTape: readonly FaultDecision[];
  readonly partitions: readonly Partition[];
  /** Old datagrams to send again at planned times. */
  readonly replays?: readonly Replay[];
  /**
   * Labels every datagram sent, into its `send` trace entry. Without one (the default) the network does
   * nothing extra per datagram, and the trace carries sizes and hashes only.
   */
  readonly describe?: DescribeDatagram;
}

/** What a node does with a datagram delivered to it. */
export type Receive = (datagram: Uint8Array, from: PeerAddress) => void;

/**
 * A datagram a live node has just sent, as an on-path eavesdropper sees it (the adversary's tap,
 * {@link SimNetwork.observeSends}). `bytes` is the sender's own buffer: copy it to keep it.
 */
export interface SentDatagram {
  readonly t: number;
  readonly bytes: Uint8Array;
  /** The sending node's name and address. */
  readonly from: string;
  readonly fromAddress: PeerAddress;
  readonly to: PeerAddress;
  /** The node that holds `to` as it is sent, or the address when none does. */
  readonly toName: string;
  /** The network's number for the send. */
  readonly send: number;
}

/** What becomes of an injected datagram: handed to a node (by name), or dropped, and why. */
export type InjectionFate =
  | { readonly deliveredTo: string }
  | { readonly dropped: 'crashed' | 'no-such-node'; readonly to: string };

/** How an injected datagram travels: {@link SimNetwork.inject}. */
export interface InjectionOptions {
  /** Who injects it, as the trace names the sender (the datagram itself claims another address). */
  readonly by: string;
  /** In the trace, before what the datagram carries: what kind of injection it is, and as whom. */
  readonly note: string;
  /** How long it takes to arrive. */
  readonly transitMs: number;
  readonly onFate?: (fate: InjectionFate) => void;
}

/**
 * A datagram on the wire. Its bytes are the network's own copy. It goes to an address: whoever holds
 * that address when it arrives receives it (a newcomer on a reused address gets an old datagram).
 */
interface InFlight {
  readonly bytes: Uint8Array;
  readonly from: SimNode;
  readonly toAddress: PeerAddress;
  /** Who held the address when it was sent: named in the trace if nobody holds it on arrival. */
  readonly sentTo: SimNode;
  readonly sendIndex: number;
  readonly hash: string;
}

/**
 * A deterministic lossy network between named nodes, delivering through a {@link VirtualClock}.
 * Drops, duplicates and delays come from a fault tape, partitions from a schedule, crashes from
 * {@link crash}; everything that happens is counted in {@link stats} and recorded in the trace.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const network = new SimNetwork({ clock, trace: new Trace(), latencyMs: 5, faultTape: [], partitions: [] });
 * const ana = network.attach('ana', { host: '10.0.0.2', port: 5000 }, () => {});
 * network.attach('server', { host: '10.0.0.1', port: 8080 }, (datagram, from) => console.log(datagram, from));
 * ana.send(new Uint8Array([1, 2, 3]), { host: '10.0.0.1', port: 8080 });
 * clock.runUntil(10, 1000); // the server logs the datagram at 5 ms
 * ```
 */
export class SimNetwork {
  readonly #clock: VirtualClock;
  readonly #trace: Trace;
  readonly #latencyMs: number;
  readonly #faultTape: readonly FaultDecision[];
  readonly #partitions: PartitionSchedule;
  readonly #describe: DescribeDatagram | undefined;
  readonly #nodesByName = new Map<string, SimNode>();
  // Host then port, so that routing a datagram builds no address string.
  readonly #nodesByHost = new Map<string, Map<number, SimNode>>();
  readonly #counters = createNetworkCounters();
  #healed = false;
  #sendObserver: ((sent: SentDatagram) => void) | undefined;
  #injectedCount = 0;

  constructor(options: SimNetworkOptions) {
    assert.ok(Number.isFinite(options.latencyMs) && options.latencyMs >= 0, 'latencyMs must be at least 0');
    for (const [index, decision] of options.faultTape.entries()) {
      assert.ok(
        decision.delayMs >= 0,
        `fault tape entry ${index} has a negative delay (${decision.delayMs})`,
      );
    }
    this.#clock = options.clock;
    this.#trace = options.trace;
    this.#latencyMs = options.latencyMs;
    this.#faultTape = options.faultTape;
    this.#partitions = new PartitionSchedule(options.partitions);
    this.#describe = options.describe;
    for (const replay of options.replays ?? []) {
      this.#clock.setTimeout(() => this.#replay(replay), replay.atMs);
    }
  }

  /**
   * Registers a node; datagrams to `address` are handed to `receive`. Returns the node's port. An
   * address is held by one node at a time: a node may take it once its holder has been released.
   */
  attach(name: string, address: PeerAddress, receive: Receive): DatagramPort {
    assert.ok(!this.#nodesByName.has(name), `a node named "${name}" is already attached`);
    assert.ok(!this.isHeld(address), `${formatAddress(address)} already belongs to a node`);
    assert.ok(this.#nodesByName.size < NODE_COUNT_MAX, `at most ${NODE_COUNT_MAX} nodes may attach`);
    const node: SimNode = {
      name,
      index: this.#nodesByName.size,
      address: { host: address.host, port: address.port },
      receive,
      crashed: false,
      sentCount: 0,
      receivedCount: 0,
      highestSendIndexFrom: new Map(),
      firstSent: [],
    };
    this.#nodesByName.set(name, node);
    const byPort = this.#nodesByHost.get(address.host) ?? new Map<number, SimNode>();
    byPort.set(address.port, node);
    this.#nodesByHost.set(address.host, byPort);
    return { send: (datagram, to) => this.#send(node, datagram, to) };
  }

  /**
   * Attaches a node and returns the whole {@link Environment} its engine actor needs: the port, the
   * virtual clock, its `now` and the given random source.
   */
  environmentFor(
    name: string,
    address: PeerAddress,
    receive: Receive,
    options: { readonly random: (byteCount: number) => Uint8Array },
  ): Environment {
    const port = this.attach(name, address, receive);
    return {
      port,
      clock: this.#clock,
      now: this.#clock.now,
      random: options.random,
      afterTurn: this.#clock.afterStep,
    };
  }

  /** The node goes silent for good: its sends are dropped, and so is every datagram that reaches it. */
  crash(name: string): void {
    const node = this.#nodesByName.get(name);
    assert.ok(node !== undefined, `cannot crash "${name}": no node has that name`);
    node.crashed = true;
  }

  isCrashed(name: string): boolean {
    return this.#nodesByName.get(name)?.crashed === true;
  }

  /** Whether a node that has not been released holds `address`. */
  isHeld(address: PeerAddress): boolean {
    return this.#lookup(address) !== undefined;
  }

  /**
   * The node's process is gone and its socket closed: it goes silent as after a crash, and its
   * address is free for another node to attach to.
   */
  release(name: string): void {
    const node = this.#nodesByName.get(name);
    assert.ok(node !== undefined, `cannot release "${name}": no node has that name`);
    node.crashed = true;
    const byPort = this.#nodesByHost.get(node.address.host);
    if (byPort?.get(node.address.port) === node) {
      byPort.delete(node.address.port);
    }
  }

  /**
   * Ends the faults: later sends ignore the fault tape, and partitions no longer block anything (also
   * for datagrams already in flight). Crashed nodes stay crashed.
   */
  heal(): void {
    this.#healed = true;
  }

  // ---- The adversary's hooks (adversary.ts): a tap on every send, and injections. ----

  /**
   * Shows `observer` every datagram a live node sends, at the moment it is sent (as an on-path
   * eavesdropper would see it, whatever the fault tape then does to it). One observer at a time;
   * undefined removes it.
   */
  observeSends(observer: ((sent: SentDatagram) => void) | undefined): void {
    this.#sendObserver = observer;
  }

  /**
   * Puts a datagram of someone's making on the wire now, claiming to come from `as` (any address,
   * held or not), toward `to`; after `transitMs` it reaches whoever holds `to` then, unless that node
   * crashed. Neither the fault tape nor partitions touch it (the adversary sits on every path), and no
   * statistic of the network counts it: the injector keeps its own. The trace records its send
   * (numbered -1, -2, …, apart from the nodes' sends), its delivery or drop, from `options.by`.
   */
  inject(datagram: Uint8Array, as: PeerAddress, to: PeerAddress, options: InjectionOptions): void {
    this.#injectedCount += 1;
    const send = -this.#injectedCount;
    const bytes = datagram.slice();
    const hash = fnv1a32Hex(bytes);
    const sentTo = this.#lookup(to)?.name ?? formatAddress(to);
    const describe = this.#describe;
    const note = options.note;
    const t = this.#clock.now();
    this.#trace.append(
      describe === undefined
        ? { t, kind: 'send', from: options.by, to: sentTo, size: bytes.byteLength, hash, send, label: note }
        : new LabelledSend(t, options.by, sentTo, bytes, hash, send, (b) => {
            const label = describe(b);
            return { ...label, text: `${note}: ${label.text}` };
          }),
    );
    const from = { host: as.host, port: as.port };
    const toAddress = { host: to.host, port: to.port };
    this.#clock.setTimeout(() => {
      const node = this.#lookup(toAddress);
      const name = node?.name ?? sentTo;
      const entry = { t: this.#clock.now(), from: options.by, to: name, size: bytes.byteLength, hash, send };
      if (node === undefined || node.crashed) {
        const reason = node === undefined ? 'no-such-node' : 'crashed';
        this.#trace.append({ ...entry, kind: 'drop', reason });
        options.onFate?.({ dropped: reason, to: name });
        return;
      }
      this.#trace.append({ ...entry, kind: 'deliver' });
      options.onFate?.({ deliveredTo: node.name });
      node.receive(bytes, from);
    }, options.transitMs);
  }

  /** A snapshot of the counters. */
  get stats(): NetworkStats {
    return snapshotStats(this.#counters, this.#nodesByName.values());
  }

  #lookup(address: PeerAddress): SimNode | undefined {
    return this.#nodesByHost.get(address.host)?.get(address.port);
  }

  #isPartitioned(from: SimNode, to: SimNode): boolean {
    return !this.#healed && this.#partitions.blocks(from.name, to.name, this.#clock.now());
  }

  #send(from: SimNode, datagram: Uint8Array, toAddress: PeerAddress): void {
    const sendIndex = this.#counters.sent;
    this.#counters.sent += 1;
    from.sentCount += 1;
    const decision = this.#healed ? NO_FAULT : (this.#faultTape[sendIndex] ?? NO_FAULT);
    const to = this.#lookup(toAddress);
    const toName = to?.name ?? formatAddress(toAddress);
    const hash = fnv1a32Hex(datagram);
    this.#recordSend(from.name, toName, datagram, hash, sendIndex);
    if (from.firstSent.length < SENT_KEPT_MAX) {
      from.firstSent.push({
        bytes: datagram.slice(),
        to: { host: toAddress.host, port: toAddress.port },
        sendIndex,
      });
    }
    if (from.crashed) {
      this.#drop('crashed', from.name, toName, datagram.byteLength, hash, sendIndex);
    } else if (to === undefined) {
      this.#drop('no-such-node', from.name, toName, datagram.byteLength, hash, sendIndex);
    } else if (this.#isPartitioned(from, to)) {
      this.#drop('partition', from.name, toName, datagram.byteLength, hash, sendIndex);
    } else {
      // Copy now: the sender may reuse its buffer as soon as send returns. Each copy gets its own
      // bytes, in case a receiver keeps or alters one.
      const flight = (): InFlight => ({
        bytes: datagram.slice(),
        from,
        toAddress: { host: toAddress.host, port: toAddress.port },
        sentTo: to,
        sendIndex,
        hash,
      });
      if (decision.drop) {
        this.#drop('loss', from.name, toName, datagram.byteLength, hash, sendIndex);
      } else {
        this.#schedule(flight(), this.#latencyMs + decision.delayMs);
        if (decision.duplicate) {
          this.#counters.duplicated += 1;
          this.#record('duplicate', from.name, toName, datagram.byteLength, hash, sendIndex);
          this.#schedule(flight(), this.#latencyMs + 2 * decision.delayMs + 1);
        }
      }
      const lateCopyMs = decision.lateCopyMs ?? 0;
      if (lateCopyMs > 0) {
        this.#counters.duplicated += 1;
        this.#counters.lateCopies += 1;
        this.#record('duplicate', from.name, toName, datagram.byteLength, hash, sendIndex);
        this.#schedule(flight(), this.#latencyMs + lateCopyMs);
      }
    }
    // The adversary's tap: every datagram that leaves a live node, after the network has dealt with it.
    if (this.#sendObserver !== undefined && !from.crashed) {
      const fromAddress = from.address;
      this.#sendObserver({
        t: this.#clock.now(),
        bytes: datagram,
        from: from.name,
        fromAddress,
        to: toAddress,
        toName,
        send: sendIndex,
      });
    }
  }

  /** A planned replay: the old datagram enters the network again, as its sender's copy did once. */
  #replay(replay: Replay): void {
    const from = this.#nodesByName.get(replay.from);
    const old = from?.firstSent[replay.nth];
    if (from === undefined || old === undefined) {
      return;
    }
    const to = this.#lookup(old.to);
    const toName = to?.name ?? formatAddress(old.to);
    const hash = fnv1a32Hex(old.bytes);
    this.#counters.duplicated += 1;
    this.#counters.replays += 1;
    this.#record('duplicate', from.name, toName, old.bytes.byteLength, hash, old.sendIndex);
    if (to === undefined) {
      this.#drop('no-such-node', from.name, toName, old.bytes.byteLength, hash, old.sendIndex);
      return;
    }
    const flight: InFlight = {
      bytes: old.bytes.slice(),
      from,
      toAddress: old.to,
      sentTo: to,
      sendIndex: old.sendIndex,
      hash,
    };
    this.#schedule(flight, this.#latencyMs);
  }

  #schedule(flight: InFlight, delayMs: number): void {
    this.#counters.inFlight += 1;
    this.#clock.setTimeout(() => this.#deliver(flight), delayMs);
  }

  #deliver(flight: InFlight): void {
    this.#counters.inFlight -= 1;
    const from = flight.from;
    const to = this.#lookup(flight.toAddress) ?? flight.sentTo;
    if (to.crashed) {
      this.#drop('crashed', from.name, to.name, flight.bytes.byteLength, flight.hash, flight.sendIndex);
      return;
    }
    if (this.#isPartitioned(from, to)) {
      this.#drop('partition', from.name, to.name, flight.bytes.byteLength, flight.hash, flight.sendIndex);
      return;
    }
    this.#counters.delivered += 1;
    to.receivedCount += 1;
    const highest = to.highestSendIndexFrom.get(from.index);
    if (highest !== undefined && flight.sendIndex < highest) {
      this.#counters.reordered += 1;
    } else {
      to.highestSendIndexFrom.set(from.index, flight.sendIndex);
    }
    this.#record('deliver', from.name, to.name, flight.bytes.byteLength, flight.hash, flight.sendIndex);
    // A receiver that throws has broken an invariant: let it fail the run where it happened.
    to.receive(flight.bytes, from.address);
  }

  #drop(reason: NetworkDropReason, from: string, to: string, size: number, hash: string, send: number): void {
    this.#counters.dropped[reason] += 1;
    this.#trace.append({ t: this.#clock.now(), kind: 'drop', from, to, size, hash, send, reason });
  }

  #recordSend(from: string, to: string, datagram: Uint8Array, hash: string, send: number): void {
    const t = this.#clock.now();
    const describe = this.#describe;
    this.#trace.append(
      describe === undefined
        ? { t, kind: 'send', from, to, size: datagram.byteLength, hash, send }
        : new LabelledSend(t, from, to, datagram, hash, send, describe),
    );
  }

  #record(
    kind: 'duplicate' | 'deliver',
    from: string,
    to: string,
    size: number,
    hash: string,
    send: number,
  ): void {
    this.#trace.append({ t: this.#clock.now(), kind, from, to, size, hash, send });
  }
}

/**
 * A send entry whose label is worked out from a copy of the datagram when it is first read (by the
 * checker, a log, a diagram, the JSON trace), not when it is sent: most runs are never read that
 * closely, and labelling every datagram was a tenth of a run's time. Serialises exactly as a plain
 * entry with the label's fields would.
 */
class LabelledSend implements DatagramTraceEntry {
  readonly t: number;
  readonly kind = 'send' as const;
  readonly from: string;
  readonly to: string;
  readonly size: number;
  readonly hash: string;
  readonly send: number;
  readonly #bytes: Uint8Array;
  readonly #describe: DescribeDatagram;
  #label: DatagramLabel | undefined;

  constructor(
    t: number,
    from: string,
    to: string,
    datagram: Uint8Array,
    hash: string,
    send: number,
    describe: DescribeDatagram,
  ) {
    this.t = t;
    this.from = from;
    this.to = to;
    this.size = datagram.byteLength;
    this.hash = hash;
    this.send = send;
    // A copy: the sender may reuse its buffer as soon as send returns.
    this.#bytes = datagram.slice();
    this.#describe = describe;
  }

  #labelled(): DatagramLabel {
    this.#label ??= this.#describe(this.#bytes);
    return this.#label;
  }

  get label(): string {
    return this.#labelled().text;
  }

  get packet(): string {
    return this.#labelled().packetType;
  }

  get session(): string | undefined {
    return this.#labelled().sessionId;
  }

  get ackOrPingOnly(): true | undefined {
    return this.#labelled().ackOrPingOnly ? true : undefined;
  }

  /** The entry's JSON, keys in the trace's fixed order. */
  toJSON(): DatagramTraceEntry {
    const { t, kind, from, to, size, hash, send, label, packet, session, ackOrPingOnly } = this;
    return {
      t,
      kind,
      from,
      to,
      size,
      hash,
      send,
      label,
      packet,
      ...(session === undefined ? {} : { session }),
      ...(ackOrPingOnly === undefined ? {} : { ackOrPingOnly }),
    };
  }
}
