import type { PreparedFrame } from '../codec/codec.ts';
import type { ClaimFrame, Origin, RoomRefusal, SayFrame, SessionId, SessionPacket } from '../codec/frames.ts';
import { Link, type LinkDeath } from '../link/link.ts';
import type { LinkConfig } from '../link/link-config.ts';
import type { PeerAddress } from '../port.ts';
import type { SessionProtection } from '../secure/session-protection.ts';
import { type PaceLimits, SayPacer } from './say-pacer.ts';

/**
 * Why a session ended without a goodbye: its link died, it fell too far behind (its send queue
 * could not take what the room had for it), its client rejoined, or it sent more texts than a client
 * may have unconfirmed (`flooding`: see SayPacer).
 */
export type SessionDeath = LinkDeath | 'send-queue-full' | 'rejoined' | 'flooding';

/** Where a session is in its life; see {@link ServerSession}. */
export type SessionPhase = 'open' | 'closing' | 'closed';

/** What a packet on an open session brought the room. */
export interface SessionInput {
  /** The name the peer claims: its session's first frame, once (the room admits or refuses it). */
  readonly claim: ClaimFrame | undefined;
  /** The texts the member said, in order. */
  readonly said: readonly SayFrame[];
  /** The member sent BYE: it quits. */
  readonly bye: boolean;
}

const NOTHING: SessionInput = Object.freeze({
  claim: undefined,
  said: Object.freeze([]) as readonly SayFrame[],
  bye: false,
});

/**
 * One peer of the server: the reliable link to it, its packet protection, and what the room knows of it
 * (name, address, the handshake that opened it). A plain object the room owns and calls; it never calls
 * the room back. A session opens with the ACCEPT, before it is a member: its peer proves it holds the
 * session's keys with its first packet, which must begin with a CLAIM of a name; the room then admits
 * it (a member) or refuses it (REFUSED, and the session closes).
 *
 * | phase     | a packet from the peer                        | a delivery from the room           | goodbye or shutdown     | ends when                                       |
 * | --------- | --------------------------------------------- | ---------------------------------- | ----------------------- | ----------------------------------------------- |
 * | `open`    | acknowledged; its SAYs and BYE go to the room | queued, or refused: the queue is full (the room drops the peer) | queued; → `closing` | its link dies (the room announces a timeout) |
 * | `closing` | acknowledged; its frames are ignored          | never given (it is no member)      | already given           | everything is acknowledged (confirmed), or the link dies (not) |
 * | `closed`  | —                                             | —                                  | —                       | the room has forgotten it                       |
 *
 * One place in the send queue is always kept for the GOODBYE or the SHUTDOWN (a session sends one of
 * them, once), so that a QUIT is always confirmed and a stopping server can always say so.
 */
export class ServerSession {
  readonly sessionId: SessionId;
  readonly address: PeerAddress;
  /** The address as text: the key the room checks every packet's source against. */
  readonly addressKey: string;
  /** The name it claimed; empty until then. */
  name = '';
  /** The origin it claimed with the name, which its messages carry; empty until then. */
  origin: Origin = '';
  /** The client nonce of the JOIN that opened it, hex: a repeated JOIN gets this session again. */
  readonly nonceKey: string;
  /** The client's key exchange share in that JOIN: a retransmitted JOIN carries the same. */
  readonly clientShare: Uint8Array;
  /** The ACCEPT sent for it, sent again as it was for a retransmitted JOIN (no second key exchange). */
  readonly accept: Uint8Array;
  readonly protection: SessionProtection;
  readonly link: Link;
  #phase: SessionPhase = 'open';
  /** Whether the peer's CLAIM has come (the first reliable frame it sends, and only that one). */
  #claimed = false;
  /** Its member's texts, paced to its share of the room. */
  readonly pacer: SayPacer;
  /** When its client was last told it is paced (a PACED frame), if ever. */
  pacedToldAtMs: number | undefined;
  /**
   * Its BYE came while its texts waited for the room's share: it leaves once the room has relayed
   * the last of them (in its turns, like anyone's), and takes no more texts meanwhile.
   */
  quitting = false;
  /** Whether a packet of its peer has opened: its client holds the room password (the throttle is told). */
  proven = false;
  /** True once admitted (its claim granted); false again once it has quit or been dropped. */
  member = false;

  constructor(
    init: {
      readonly sessionId: SessionId;
      readonly address: PeerAddress;
      readonly addressKey: string;
      readonly nonceKey: string;
      readonly clientShare: Uint8Array;
      readonly accept: Uint8Array;
      readonly protection: SessionProtection;
    },
    linkConfig: LinkConfig,
    nowMs: number,
    firstContactTimeoutMs: number,
    paceLimits: PaceLimits,
  ) {
    this.sessionId = init.sessionId;
    this.address = init.address;
    this.addressKey = init.addressKey;
    this.nonceKey = init.nonceKey;
    this.clientShare = init.clientShare;
    this.accept = init.accept;
    this.protection = init.protection;
    this.link = new Link(linkConfig, init.sessionId, nowMs, init.protection.seal, { firstContactTimeoutMs });
    this.pacer = new SayPacer(paceLimits, nowMs);
  }

  /** When the room must next look at this session: its link's timers, or its next paced text's turn. */
  deadlineMs(): number | undefined {
    const link = this.link.timerDeadlineMs();
    const paced = this.pacer.nextAtMs();
    return paced === undefined || link === undefined ? link : Math.min(link, paced);
  }

  /** Whether its peer has claimed a name yet. */
  get claimed(): boolean {
    return this.#claimed;
  }

  get phase(): SessionPhase {
    return this.#phase;
  }

  /**
   * Takes a packet from the peer. On an open session, returns what its new frames said; a closing
   * session only acknowledges (its member has left, or the room is stopping).
   */
  receive(packet: SessionPacket, nowMs: number): SessionInput {
    if (this.#phase === 'closed') {
      return NOTHING;
    }
    const frames = this.link.receive(packet, nowMs);
    if (this.#phase !== 'open' || frames.length === 0) {
      return NOTHING;
    }
    let claim: ClaimFrame | undefined;
    let said: SayFrame[] | undefined;
    let bye = false;
    for (const frame of frames) {
      if (!this.#claimed) {
        // The first reliable frame must be the CLAIM; a peer that says anything before is not heard.
        if (frame.type === 'claim') {
          this.#claimed = true;
          claim = frame;
        }
        continue;
      }
      if (frame.type === 'say') {
        said ??= [];
        said.push(frame);
      } else if (frame.type === 'bye') {
        bye = true;
      }
      // A second CLAIM, or server-to-client frame types arriving here, are a confused peer's; the link
      // has acknowledged them and there is nothing else to do.
    }
    return claim === undefined && said === undefined && !bye
      ? NOTHING
      : { claim, said: said ?? NOTHING.said, bye };
  }

  /**
   * Queues frames the room sends this member. Returns false, queuing none of them, when they would
   * take the place kept for the goodbye: the peer is too slow to take what the room sends, and the
   * room drops it rather than let it hold the room's memory hostage.
   */
  deliver(frames: readonly PreparedFrame[]): boolean {
    if (this.#phase !== 'open') {
      return true;
    }
    const link = this.link;
    if (link.sendQueueCount + frames.length > link.config.sendQueueCountMax - 1) {
      return false;
    }
    for (const frame of frames) {
      link.enqueue(frame);
    }
    return true;
  }

  /** Says the last word (GOODBYE after a QUIT, SHUTDOWN when the server stops) and starts closing. */
  close(lastWord: 'goodbye' | 'shutdown'): void {
    if (this.#phase !== 'open') {
      return;
    }
    this.link.enqueue({ type: lastWord });
    this.#phase = 'closing';
  }

  /** Refuses the claim (REFUSED with the reason, its last word) and starts closing. */
  refuse(reason: RoomRefusal): void {
    if (this.#phase !== 'open') {
      return;
    }
    this.link.enqueue({ type: 'refused', reason });
    this.#phase = 'closing';
  }

  /**
   * A closing session is done when the peer has acknowledged everything (`confirmed`) or its link
   * died (not confirmed); an open one is done only when its link died. Undefined while it goes on.
   */
  outcome(): { readonly confirmed: boolean } | { readonly death: SessionDeath } | undefined {
    const link = this.link;
    if (this.#phase === 'closing') {
      if (link.sendQueueCount === 0) {
        return { confirmed: true };
      }
      return link.dead === undefined ? undefined : { confirmed: false };
    }
    if (this.#phase === 'open' && link.dead !== undefined) {
      return { death: link.dead };
    }
    return undefined;
  }

  /** The room has forgotten this session: it sends and takes nothing more. */
  markClosed(): void {
    this.#phase = 'closed';
  }
}
