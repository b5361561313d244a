import assert from '../assert.ts';
import {
  encodeSessionPlaintext,
  frameSize,
  type NumberedFrame,
  type PreparedFrame,
  preparedFrameSize,
  prepareFrame,
  SESSION_OVERHEAD_BYTES,
  sessionIdToBytes,
} from '../codec/codec.ts';
import {
  type AckFrame,
  DATAGRAM_SIZE_MAX,
  type ReliableFrame,
  type ReliableFrameBody,
  type SessionId,
  type SessionPacket,
} from '../codec/frames.ts';
import type { Seal } from '../secure/session-protection.ts';
import { AckRanges } from './ack-ranges.ts';
import type { LinkConfig } from './link-config.ts';
import { RttEstimator } from './rtt.ts';

/**
 * Why a link gave up on its peer: silence for the idle timeout, the retransmission limit reached in
 * silence, (for a link opened before its peer ever spoke, as a server's session is) no word at all
 * within the first-contact timeout, or its key used up (`packetNumberMax` packets sealed, or
 * `forgeriesMax` forgeries faced: the session must end, and a client joins again with new keys).
 */
export type LinkDeath = 'idle-timeout' | 'retransmit-limit' | 'never-heard-from' | 'keys-spent';

/** How a link starts. */
export interface LinkOptions {
  /**
   * The peer has not spoken on this link yet and has this long to (a server's session, opened by a
   * JOIN whose client may still be retrying its handshake): until it does, neither the idle timeout
   * nor the retransmission limit applies, and silence past this ends the link as `never-heard-from`.
   * Without it, the link counts the peer as heard from at its start (a client's link, opened by the
   * server's ACCEPT).
   */
  readonly firstContactTimeoutMs?: number;
}

/** A packet is declared lost once a packet this many numbers later has been acknowledged (RFC 9002). */
const PACKET_REORDER_THRESHOLD = 3;

interface SentPacket {
  readonly packetNumber: number;
  readonly sentAtMs: number;
  readonly frames: readonly NumberedFrame[];
  readonly ping: boolean;
}

/** The tables a link keeps, each with a named maximum ({@link linkTableBounds}). */
export interface LinkTableSizes {
  /** Reliable frames queued or in flight, not yet acknowledged. */
  readonly unacked: number;
  /** Frames never sent yet. */
  readonly fresh: number;
  /** Frames whose packet was lost, waiting to go again. */
  readonly lost: number;
  /** Packets sent and neither acknowledged nor declared lost. */
  readonly inFlight: number;
  /** Packets declared lost, kept so that a late acknowledgement still counts. */
  readonly declaredLost: number;
  /** Frames received ahead of a gap, waiting to be delivered in order. */
  readonly reorderBuffer: number;
  /** Ranges of received packet numbers, as the next ACK carries them. */
  readonly ackRanges: number;
}

/**
 * The most each table of a link may hold under `config`, whatever the peer or the network does:
 * the send queue is refused past `sendQueueCountMax`; frames in flight lie within the window, one
 * PING packet at most beside them; declared-lost packets are evicted past the window; frames beyond
 * the window are refused; an ACK carries at most `ackRangeCountMax` ranges.
 */
export function linkTableBounds(config: LinkConfig): LinkTableSizes {
  return {
    unacked: config.sendQueueCountMax,
    fresh: config.sendQueueCountMax,
    lost: config.sendQueueCountMax,
    inFlight: config.windowCount + 1,
    declaredLost: config.windowCount,
    reorderBuffer: config.windowCount,
    ackRanges: config.ackRangeCountMax,
  };
}

/** What a link has counted since it started; the simulation checks the high-water marks. */
export interface LinkStats {
  datagramsSent: number;
  datagramsReceived: number;
  framesSent: number;
  framesRetransmitted: number;
  framesDelivered: number;
  duplicatePacketsReceived: number;
  duplicateFramesReceived: number;
  framesOutsideWindow: number;
  retransmitTimeouts: number;
  pingsSent: number;
  sendQueueHighWater: number;
  reorderBufferHighWater: number;
}

/**
 * One end of a reliable, ordered, exactly-once channel of frames over datagrams, without I/O: the
 * owner feeds it packets and the time, and sends the datagrams `poll` returns (the quinn-proto and h11
 * pattern). Packet numbers only go up; lost frames travel again in new packets. Acknowledgements carry
 * ranges; the retransmission timer follows RFC 6298; a quiet link sends keepalive PINGs; a peer is dead
 * after `retransmitCountMax` timeouts in a row with nothing heard from it, or `idleTimeoutMs` of silence.
 *
 * @example
 * const link = new Link(LINK_CONFIG_DEFAULT, sessionId, now());
 * link.enqueue({ type: 'say', text: 'halo' });
 * for (const datagram of link.poll(now())) port.send(datagram, server);
 * // later: link.receive(packet, now()) returns frames in order; link.handleTimeout(now()) on the timer.
 */
export class Link {
  readonly config: LinkConfig;
  readonly sessionId: SessionId;
  readonly stats: LinkStats = {
    datagramsSent: 0,
    datagramsReceived: 0,
    framesSent: 0,
    framesRetransmitted: 0,
    framesDelivered: 0,
    duplicatePacketsReceived: 0,
    duplicateFramesReceived: 0,
    framesOutsideWindow: 0,
    retransmitTimeouts: 0,
    pingsSent: 0,
    sendQueueHighWater: 0,
    reorderBufferHighWater: 0,
  };
  readonly #rtt: RttEstimator;
  #dead: LinkDeath | undefined;

  // Sending.
  #nextPacketNumber = 0;
  #nextMsgSeq = 0;
  /** Every reliable frame not yet acknowledged, by msgSeq; insertion order is msgSeq order. */
  readonly #unacked = new Map<number, NumberedFrame>();
  /** Frames never sent, oldest first. */
  readonly #fresh: NumberedFrame[] = [];
  /** Frames whose packet was lost, to send again before anything fresh, lowest msgSeq first. */
  readonly #lost: NumberedFrame[] = [];
  readonly #inFlight = new Map<number, SentPacket>();
  /**
   * Packets declared lost, kept (at most `windowCount`, oldest evicted) so that a late acknowledgement
   * still clears their frames and proves the peer alive: a slow path is not a dead peer.
   */
  readonly #declaredLost = new Map<number, SentPacket>();
  #pingPending = false;
  #rtoDeadlineMs: number | undefined;
  /**
   * Retransmission timeouts in a row with not a single new packet from the peer in between. Only
   * silence kills a link: a peer whose packets keep arriving is alive, even if ours are slow to get
   * through (they are still retried, and its idle timeout or ours settles a path that stays one-way).
   */
  #silentTimeouts = 0;
  #lastAckElicitingSentAtMs: number;

  // Receiving.
  readonly #received: AckRanges;
  #ackPending = false;
  #nextDeliverMsgSeq = 0;
  readonly #reorderBuffer = new Map<number, ReliableFrame>();
  #lastReceivedAtMs: number;
  /** Until the peer's first packet: when the link gives up on ever hearing from it. */
  #firstContactDeadlineMs: number | undefined;

  readonly #sessionIdBytes: Uint8Array;

  readonly #seal: Seal;

  /**
   * `seal` protects every packet the link builds (the session's keys, see `SessionProtection`): a link
   * never sends a packet in clear.
   */
  constructor(
    config: LinkConfig,
    sessionId: SessionId,
    nowMs: number,
    seal: Seal,
    options: LinkOptions = {},
  ) {
    this.config = config;
    this.#seal = seal;
    this.sessionId = sessionId;
    this.#sessionIdBytes = sessionIdToBytes(sessionId);
    this.#rtt = new RttEstimator(config);
    this.#received = new AckRanges(config.ackRangeCountMax);
    this.#lastReceivedAtMs = nowMs;
    this.#lastAckElicitingSentAtMs = nowMs;
    this.#firstContactDeadlineMs =
      options.firstContactTimeoutMs === undefined ? undefined : nowMs + options.firstContactTimeoutMs;
  }

  /** Set once the peer is declared dead; a dead link neither sends nor delivers. */
  get dead(): LinkDeath | undefined {
    return this.#dead;
  }

  /** Reliable frames queued or in flight, not yet acknowledged. */
  get sendQueueCount(): number {
    return this.#unacked.size;
  }

  /**
   * Calls `visit` for each table with its size now, its maximum ({@link linkTableBounds}) and the
   * `owner` given, allocating nothing: a simulation checks every table after every step.
   */
  visitTables<TOwner>(
    visit: (table: keyof LinkTableSizes, size: number, max: number, owner: TOwner) => void,
    owner: TOwner,
  ): void {
    const config = this.config;
    visit('unacked', this.#unacked.size, config.sendQueueCountMax, owner);
    visit('fresh', this.#fresh.length, config.sendQueueCountMax, owner);
    visit('lost', this.#lost.length, config.sendQueueCountMax, owner);
    visit('inFlight', this.#inFlight.size, config.windowCount + 1, owner);
    visit('declaredLost', this.#declaredLost.size, config.windowCount, owner);
    visit('reorderBuffer', this.#reorderBuffer.size, config.windowCount, owner);
    visit('ackRanges', this.#received.rangeCount, config.ackRangeCountMax, owner);
  }

  /** How much each table holds now; {@link linkTableBounds} says how much it may. */
  tableSizes(): LinkTableSizes {
    return {
      unacked: this.#unacked.size,
      fresh: this.#fresh.length,
      lost: this.#lost.length,
      inFlight: this.#inFlight.size,
      declaredLost: this.#declaredLost.size,
      reorderBuffer: this.#reorderBuffer.size,
      ackRanges: this.#received.rangeCount,
    };
  }

  /** The current retransmission timeout, for logs and tests. */
  get rtoMs(): number {
    return this.#rtt.rtoMs;
  }

  /**
   * Queues a reliable frame. Returns false, queuing nothing, when `sendQueueCountMax` frames are
   * already waiting: the caller decides whether to refuse its user or drop the peer.
   */
  enqueue(body: ReliableFrameBody | PreparedFrame): boolean {
    if (this.#dead !== undefined || this.#unacked.size >= this.config.sendQueueCountMax) {
      return false;
    }
    // A room prepares a frame it sends to many once; a frame given as a body is prepared here.
    const prepared = 'tail' in body ? body : prepareFrame(body);
    const frame: NumberedFrame = { msgSeq: this.#nextMsgSeq, prepared };
    this.#nextMsgSeq += 1;
    this.#unacked.set(frame.msgSeq, frame);
    this.#fresh.push(frame);
    this.stats.sendQueueHighWater = Math.max(this.stats.sendQueueHighWater, this.#unacked.size);
    return true;
  }

  /**
   * Takes a packet from the peer; returns the reliable frames it completes, in msgSeq order, each
   * exactly once.
   */
  receive(packet: SessionPacket, nowMs: number): readonly ReliableFrame[] {
    if (this.#dead !== undefined) {
      return [];
    }
    this.stats.datagramsReceived += 1;
    const isNew = this.#received.add(packet.packetNumber);
    if (isNew) {
      // Only a packet never seen before is a sign of life: a duplicate, or a copy that arrives long
      // after (a network that delays, or someone replaying), says nothing about the peer now.
      this.#lastReceivedAtMs = nowMs;
      this.#silentTimeouts = 0;
      this.#firstContactDeadlineMs = undefined;
    } else {
      this.stats.duplicatePacketsReceived += 1;
    }
    let ackEliciting = false;
    for (const frame of packet.frames) {
      if (frame.type === 'ack') {
        this.#onAck(frame, nowMs);
      } else if (frame.type === 'ping') {
        ackEliciting = true;
      } else {
        ackEliciting = true;
        this.#accept(frame);
      }
    }
    if (ackEliciting) {
      this.#ackPending = true;
    }
    return this.#drainInOrder();
  }

  /** Builds the datagrams to send now: acknowledgements, lost frames, fresh frames within the window, a PING. */
  poll(nowMs: number): Uint8Array[] {
    const datagrams: Uint8Array[] = [];
    if (this.#dead !== undefined) {
      return datagrams;
    }
    for (;;) {
      const datagram = this.#buildPacket(nowMs);
      if (datagram === undefined) {
        return datagrams;
      }
      datagrams.push(datagram);
    }
  }

  /** When `handleTimeout` (or `poll`) next has work: undefined only for a dead link. */
  nextDeadlineMs(nowMs: number): number | undefined {
    if (this.#dead !== undefined) {
      return undefined;
    }
    return this.wantsToSend() ? nowMs : this.timerDeadlineMs();
  }

  /** Whether `poll` would send something now: an acknowledgement, a PING, or a frame the window lets go. */
  wantsToSend(): boolean {
    return this.#dead === undefined && (this.#ackPending || this.#pingPending || this.#hasSendableFrame());
  }

  /**
   * When `handleTimeout` next has work (the idle, first-contact, retransmission or keepalive
   * deadline), whatever is ready to send now: the owner's one timer is armed for this. Undefined only
   * for a dead link.
   */
  timerDeadlineMs(): number | undefined {
    if (this.#dead !== undefined) {
      return undefined;
    }
    const silence = this.#silenceDeadlineMs();
    return Math.min(silence, this.#rtoDeadlineMs ?? this.#keepaliveDeadlineMs());
  }

  /** Runs whichever timers are due: idle timeout, retransmission timeout, keepalive. */
  handleTimeout(nowMs: number): void {
    if (this.#dead !== undefined) {
      return;
    }
    if (nowMs >= this.#silenceDeadlineMs()) {
      this.#dead = this.#firstContactDeadlineMs === undefined ? 'idle-timeout' : 'never-heard-from';
      return;
    }
    if (this.#rtoDeadlineMs !== undefined && nowMs >= this.#rtoDeadlineMs) {
      this.#onRetransmitTimeout();
      return;
    }
    if (this.#rtoDeadlineMs === undefined && nowMs >= this.#keepaliveDeadlineMs()) {
      this.#pingPending = true;
    }
  }

  /** When silence ends the link: the idle timeout, or before first contact the first-contact deadline. */
  #silenceDeadlineMs(): number {
    return this.#firstContactDeadlineMs ?? this.#lastReceivedAtMs + this.config.idleTimeoutMs;
  }

  /**
   * When a quiet link next sends a PING. Never before the peer's first word: a peer that has not
   * spoken may not hold the keys at all (a server's session opens before its client proved it has the
   * password), and keeping it awake is not the link's business.
   */
  #keepaliveDeadlineMs(): number {
    if (this.#firstContactDeadlineMs !== undefined) {
      return Number.POSITIVE_INFINITY;
    }
    return Math.max(this.#lastReceivedAtMs, this.#lastAckElicitingSentAtMs) + this.config.keepaliveIntervalMs;
  }

  #onRetransmitTimeout(): void {
    this.stats.retransmitTimeouts += 1;
    this.#silentTimeouts += 1;
    // Before the peer's first word, only the first-contact deadline ends the link: the peer may still
    // be handshaking, and its retried JOIN must find the session there.
    if (this.#silentTimeouts > this.config.retransmitCountMax && this.#firstContactDeadlineMs === undefined) {
      this.#dead = 'retransmit-limit';
      return;
    }
    this.#rtt.backOff();
    const lost = [...this.#inFlight.values()];
    this.#inFlight.clear();
    this.#rtoDeadlineMs = undefined;
    this.#declareLost(lost);
    // Nothing left to resend means the timer fired for data acknowledged by other packets; probe
    // anyway, so that a silent peer is still noticed.
    if (this.#lost.length === 0 && !this.#hasSendableFrame()) {
      this.#pingPending = true;
    }
  }

  #declareLost(packets: readonly SentPacket[]): void {
    let added = false;
    for (const packet of packets) {
      this.#declaredLost.set(packet.packetNumber, packet);
      if (this.#declaredLost.size > this.config.windowCount) {
        const oldest = this.#declaredLost.keys().next();
        if (oldest.done !== true) {
          this.#declaredLost.delete(oldest.value);
        }
      }
      for (const frame of packet.frames) {
        if (this.#unacked.has(frame.msgSeq)) {
          this.#lost.push(frame);
          added = true;
        }
      }
      if (packet.ping) {
        this.#pingPending = true;
      }
    }
    if (added) {
      this.#lost.sort((a, b) => a.msgSeq - b.msgSeq);
    }
  }

  #onAck(frame: AckFrame, nowMs: number): void {
    const largest = frame.ranges[0]?.largest;
    if (largest === undefined) {
      return;
    }
    const ackedInFlight = this.#takeAcked(this.#inFlight, frame);
    // A packet already declared lost may be acknowledged late: its frames arrived, and the peer is alive,
    // but its time is no RTT sample (Karn's rule).
    const ackedLate = this.#takeAcked(this.#declaredLost, frame);
    const newlyAcked = ackedInFlight.length > 0 || ackedLate.length > 0;
    const largestNewlySentAtMs = ackedInFlight.find((packet) => packet.packetNumber === largest)?.sentAtMs;
    if (!newlyAcked) {
      return;
    }
    if (largestNewlySentAtMs !== undefined) {
      this.#rtt.sample(nowMs - largestNewlySentAtMs);
    }
    const lost: SentPacket[] = [];
    for (const packet of this.#inFlight.values()) {
      if (packet.packetNumber + PACKET_REORDER_THRESHOLD <= largest) {
        lost.push(packet);
      }
    }
    for (const packet of lost) {
      this.#inFlight.delete(packet.packetNumber);
    }
    if (lost.length > 0) {
      this.#declareLost(lost);
    }
    // RFC 6298 (5.2, 5.3): restart the timer when new data is acknowledged, stop it when none is left.
    this.#rtoDeadlineMs = this.#inFlight.size > 0 ? nowMs + this.#rtt.rtoMs : undefined;
  }

  /** Removes from `packets` those the ACK covers, and their frames from the unacknowledged set. */
  #takeAcked(packets: Map<number, SentPacket>, ack: AckFrame): SentPacket[] {
    const acked: SentPacket[] = [];
    for (const packet of packets.values()) {
      if (rangesContain(ack.ranges, packet.packetNumber)) {
        acked.push(packet);
      }
    }
    for (const packet of acked) {
      packets.delete(packet.packetNumber);
      for (const frame of packet.frames) {
        this.#unacked.delete(frame.msgSeq);
      }
    }
    return acked;
  }

  #accept(frame: ReliableFrame): void {
    const msgSeq = frame.msgSeq;
    if (msgSeq < this.#nextDeliverMsgSeq || this.#reorderBuffer.has(msgSeq)) {
      this.stats.duplicateFramesReceived += 1;
      return;
    }
    if (msgSeq >= this.#nextDeliverMsgSeq + this.config.windowCount) {
      // A conforming peer never sends past the window; such a frame is a protocol violation.
      this.stats.framesOutsideWindow += 1;
      return;
    }
    this.#reorderBuffer.set(msgSeq, frame);
    this.stats.reorderBufferHighWater = Math.max(this.stats.reorderBufferHighWater, this.#reorderBuffer.size);
  }

  #drainInOrder(): readonly ReliableFrame[] {
    const delivered: ReliableFrame[] = [];
    for (;;) {
      const frame = this.#reorderBuffer.get(this.#nextDeliverMsgSeq);
      if (frame === undefined) {
        break;
      }
      this.#reorderBuffer.delete(this.#nextDeliverMsgSeq);
      this.#nextDeliverMsgSeq += 1;
      delivered.push(frame);
    }
    this.stats.framesDelivered += delivered.length;
    return delivered;
  }

  /** The lowest msgSeq not yet acknowledged; frames at or beyond it plus the window wait. */
  #windowEndMsgSeq(): number {
    const oldest = this.#unacked.keys().next();
    const base = oldest.done === true ? this.#nextMsgSeq : oldest.value;
    return base + this.config.windowCount;
  }

  #hasSendableFrame(): boolean {
    if (this.#lost.some((frame) => this.#unacked.has(frame.msgSeq))) {
      return true;
    }
    const next = this.#fresh[0];
    return next !== undefined && next.msgSeq < this.#windowEndMsgSeq();
  }

  #buildPacket(nowMs: number): Uint8Array | undefined {
    if (this.#nextPacketNumber > this.config.packetNumberMax) {
      // No packet number may seal twice under one key: the session ends here, cleanly.
      this.#dead = 'keys-spent';
      return undefined;
    }
    let budget = DATAGRAM_SIZE_MAX - SESSION_OVERHEAD_BYTES;
    let ack: AckFrame | undefined;
    if (this.#ackPending && !this.#received.isEmpty) {
      ack = { type: 'ack', ranges: this.#received.ranges };
      budget -= frameSize(ack);
    }
    const reliable: NumberedFrame[] = [];
    budget = this.#takeLost(reliable, budget);
    budget = this.#takeFresh(reliable, budget);
    const ping = this.#pingPending && reliable.length === 0;
    if (reliable.length === 0 && !ping && ack === undefined) {
      return undefined;
    }
    if (ping) {
      this.stats.pingsSent += 1;
    }
    const packetNumber = this.#nextPacketNumber;
    this.#nextPacketNumber += 1;
    const { header, plaintext } = encodeSessionPlaintext({
      sessionIdBytes: this.#sessionIdBytes,
      packetNumber,
      ack,
      frames: reliable,
      ping,
    });
    const sealed = this.#seal(header, packetNumber, plaintext);
    const datagram = new Uint8Array(header.length + sealed.length);
    datagram.set(header);
    datagram.set(sealed, header.length);
    assert.ok(datagram.length <= DATAGRAM_SIZE_MAX);
    this.#ackPending = false;
    this.#pingPending = false;
    this.stats.datagramsSent += 1;
    this.stats.framesSent += reliable.length;
    if (reliable.length > 0 || ping) {
      this.#inFlight.set(packetNumber, { packetNumber, sentAtMs: nowMs, frames: reliable, ping });
      this.#lastAckElicitingSentAtMs = nowMs;
      this.#rtoDeadlineMs ??= nowMs + this.#rtt.rtoMs;
    }
    return datagram;
  }

  #takeLost(into: NumberedFrame[], budget: number): number {
    let remaining = budget;
    while (this.#lost.length > 0) {
      const frame = this.#lost[0];
      if (frame === undefined) {
        break;
      }
      if (!this.#unacked.has(frame.msgSeq)) {
        this.#lost.shift();
        continue;
      }
      const size = preparedFrameSize(frame.prepared, frame.msgSeq);
      if (size > remaining) {
        break;
      }
      this.#lost.shift();
      into.push(frame);
      remaining -= size;
      this.stats.framesRetransmitted += 1;
    }
    return remaining;
  }

  #takeFresh(into: NumberedFrame[], budget: number): number {
    let remaining = budget;
    const windowEnd = this.#windowEndMsgSeq();
    let taken = 0;
    for (const frame of this.#fresh) {
      const size = preparedFrameSize(frame.prepared, frame.msgSeq);
      if (frame.msgSeq >= windowEnd || size > remaining) {
        break;
      }
      into.push(frame);
      remaining -= size;
      taken += 1;
    }
    if (taken > 0) {
      this.#fresh.splice(0, taken);
    }
    return remaining;
  }
}

function rangesContain(
  ranges: readonly { smallest: number; largest: number }[],
  packetNumber: number,
): boolean {
  for (const range of ranges) {
    if (packetNumber > range.largest) {
      return false;
    }
    if (packetNumber >= range.smallest) {
      return true;
    }
  }
  return false;
}
