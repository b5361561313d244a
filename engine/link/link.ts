import assert from 'node:assert/strict';
import { encodePacket, frameSize, SESSION_HEADER_BYTES } from '../codec/codec.ts';
import {
  type AckFrame,
  DATAGRAM_SIZE_MAX,
  type ReliableFrame,
  type ReliableFrameBody,
  type SessionId,
  type SessionPacket,
} from '../codec/frames.ts';
import { AckRanges } from './ack-ranges.ts';
import type { LinkConfig } from './link-config.ts';
import { RttEstimator } from './rtt.ts';

/** Why a link gave up on its peer. */
export type LinkDeath = 'idle-timeout' | 'retransmit-limit';

/** A packet is declared lost once a packet this many numbers later has been acknowledged (RFC 9002). */
const PACKET_REORDER_THRESHOLD = 3;

interface SentPacket {
  readonly packetNumber: number;
  readonly sentAtMs: number;
  readonly frames: readonly ReliableFrame[];
  readonly ping: boolean;
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
 * after `retransmitCountMax` consecutive timeouts or `idleTimeoutMs` of silence.
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
  readonly #unacked = new Map<number, ReliableFrame>();
  /** Frames never sent, oldest first. */
  #fresh: ReliableFrame[] = [];
  /** Frames whose packet was lost, to send again before anything fresh, lowest msgSeq first. */
  #lost: ReliableFrame[] = [];
  readonly #inFlight = new Map<number, SentPacket>();
  /**
   * Packets declared lost, kept (at most `windowCount`, oldest evicted) so that a late acknowledgement
   * still clears their frames and proves the peer alive: a slow path is not a dead peer.
   */
  readonly #declaredLost = new Map<number, SentPacket>();
  #pingPending = false;
  #rtoDeadlineMs: number | undefined;
  #consecutiveTimeouts = 0;
  #lastAckElicitingSentAtMs: number;

  // Receiving.
  readonly #received: AckRanges;
  #ackPending = false;
  #nextDeliverMsgSeq = 0;
  readonly #reorderBuffer = new Map<number, ReliableFrame>();
  #lastReceivedAtMs: number;

  constructor(config: LinkConfig, sessionId: SessionId, nowMs: number) {
    this.config = config;
    this.sessionId = sessionId;
    this.#rtt = new RttEstimator(config);
    this.#received = new AckRanges(config.ackRangeCountMax);
    this.#lastReceivedAtMs = nowMs;
    this.#lastAckElicitingSentAtMs = nowMs;
  }

  /** Set once the peer is declared dead; a dead link neither sends nor delivers. */
  get dead(): LinkDeath | undefined {
    return this.#dead;
  }

  /** Reliable frames queued or in flight, not yet acknowledged. */
  get sendQueueCount(): number {
    return this.#unacked.size;
  }

  /** The current retransmission timeout, for logs and tests. */
  get rtoMs(): number {
    return this.#rtt.rtoMs;
  }

  /**
   * Queues a reliable frame. Returns false, queuing nothing, when `sendQueueCountMax` frames are
   * already waiting: the caller decides whether to refuse its user or drop the peer.
   */
  enqueue(body: ReliableFrameBody): boolean {
    if (this.#dead !== undefined || this.#unacked.size >= this.config.sendQueueCountMax) {
      return false;
    }
    const frame = { ...body, msgSeq: this.#nextMsgSeq } as ReliableFrame;
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
    this.#lastReceivedAtMs = nowMs;
    const isNew = this.#received.add(packet.packetNumber);
    if (!isNew) {
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
    if (this.#ackPending || this.#pingPending || this.#hasSendableFrame()) {
      return nowMs;
    }
    let deadline = this.#lastReceivedAtMs + this.config.idleTimeoutMs;
    if (this.#rtoDeadlineMs !== undefined) {
      deadline = Math.min(deadline, this.#rtoDeadlineMs);
    } else {
      deadline = Math.min(deadline, this.#keepaliveDeadlineMs());
    }
    return deadline;
  }

  /** Runs whichever timers are due: idle timeout, retransmission timeout, keepalive. */
  handleTimeout(nowMs: number): void {
    if (this.#dead !== undefined) {
      return;
    }
    if (nowMs >= this.#lastReceivedAtMs + this.config.idleTimeoutMs) {
      this.#dead = 'idle-timeout';
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

  #keepaliveDeadlineMs(): number {
    return Math.max(this.#lastReceivedAtMs, this.#lastAckElicitingSentAtMs) + this.config.keepaliveIntervalMs;
  }

  #onRetransmitTimeout(): void {
    this.stats.retransmitTimeouts += 1;
    this.#consecutiveTimeouts += 1;
    if (this.#consecutiveTimeouts > this.config.retransmitCountMax) {
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
    this.#consecutiveTimeouts = 0;
    const lost = [...this.#inFlight.values()].filter(
      (packet) => packet.packetNumber + PACKET_REORDER_THRESHOLD <= largest,
    );
    for (const packet of lost) {
      this.#inFlight.delete(packet.packetNumber);
    }
    this.#declareLost(lost);
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
    let budget = DATAGRAM_SIZE_MAX - SESSION_HEADER_BYTES;
    const frames: (ReliableFrame | AckFrame | { readonly type: 'ping' })[] = [];
    if (this.#ackPending && !this.#received.isEmpty) {
      const ack: AckFrame = { type: 'ack', ranges: this.#received.ranges };
      budget -= frameSize(ack);
      frames.push(ack);
    }
    const reliable: ReliableFrame[] = [];
    budget = this.#takeLost(reliable, budget);
    budget = this.#takeFresh(reliable, budget);
    const ping = this.#pingPending && reliable.length === 0;
    if (reliable.length === 0 && !ping && frames.length === 0) {
      return undefined;
    }
    frames.push(...reliable);
    if (ping) {
      frames.push({ type: 'ping' });
      this.stats.pingsSent += 1;
    }
    const packetNumber = this.#nextPacketNumber;
    this.#nextPacketNumber += 1;
    const datagram = encodePacket({ type: 'session', sessionId: this.sessionId, packetNumber, frames });
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

  #takeLost(into: ReliableFrame[], budget: number): number {
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
      const size = frameSize(frame);
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

  #takeFresh(into: ReliableFrame[], budget: number): number {
    let remaining = budget;
    const windowEnd = this.#windowEndMsgSeq();
    let taken = 0;
    for (const frame of this.#fresh) {
      const size = frameSize(frame);
      if (frame.msgSeq >= windowEnd || size > remaining) {
        break;
      }
      into.push(frame);
      remaining -= size;
      taken += 1;
    }
    if (taken > 0) {
      this.#fresh = this.#fresh.slice(taken);
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
