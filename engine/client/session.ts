import type { SessionPacket } from '../codec/frames.ts';
import type { Link } from '../link/link.ts';
import { formatAddress, type PeerAddress } from '../port.ts';
import { delayUntil } from '../turn.ts';

/** What a client event left its link to do: send now, send at the end of the turn, arm the timer. */
export interface LinkTurn {
  /** Datagrams to send now, to {@link ClientSession.server}. */
  readonly datagrams: readonly Uint8Array[];
  /** The link has something to send: flush it once the turn is over. */
  readonly flushAfterTurn: boolean;
  /** Arm the client's one timer this many ms from now (replacing the one armed); undefined: keep it. */
  readonly timerInMs: number | undefined;
}

const NO_DATAGRAMS: readonly Uint8Array[] = Object.freeze([]);

/**
 * The client's side of an accepted session: the reliable link and the server's address, with the
 * bookkeeping of the client's one link timer and its end-of-turn flush. Mutable, owned by the client
 * actor alone, like the server's sessions; the machine carries out what {@link finishEvent} returns.
 */
export class ClientSession {
  readonly link: Link;
  /** The address the ACCEPT came from: the only one this session takes packets from. */
  readonly server: PeerAddress;
  readonly #serverKey: string;
  /** The deadline the timer is armed for, if any. */
  #timerAtMs: number | undefined;
  #flushAsked = false;

  constructor(link: Link, server: PeerAddress) {
    this.link = link;
    this.server = server;
    this.#serverKey = formatAddress(server);
  }

  /**
   * Whether a session packet is this session's: its id, from the address the server accepted us
   * from (as the server takes ours only from the address it accepted), so that a stranger who saw the
   * session id cannot speak for the server from elsewhere.
   */
  owns(packet: SessionPacket, from: PeerAddress): boolean {
    return packet.sessionId === this.link.sessionId && formatAddress(from) === this.#serverKey;
  }

  /** The timer fired: runs the link's due timers. */
  timer(nowMs: number): void {
    this.#timerAtMs = undefined;
    const deadlineMs = this.link.timerDeadlineMs();
    if (deadlineMs !== undefined && deadlineMs <= nowMs) {
      this.link.handleTimeout(nowMs);
    }
  }

  /** The end-of-turn flush arrived. */
  flush(): void {
    this.#flushAsked = false;
  }

  /**
   * What the event just handled leaves to do: send now (after the timer, a flush, or the server's last
   * word) or at the end of the turn (after a datagram or a command, so that what one turn makes ready
   * goes out together); and whether the timer must fire sooner than it is armed for.
   */
  finishEvent(nowMs: number, sendNow: boolean): LinkTurn {
    const link = this.link;
    let datagrams = NO_DATAGRAMS;
    let flushAfterTurn = false;
    let deadlineMs: number | undefined;
    if (!link.wantsToSend()) {
      deadlineMs = link.timerDeadlineMs();
    } else if (sendNow) {
      datagrams = link.poll(nowMs);
      deadlineMs = link.timerDeadlineMs();
    } else if (!this.#flushAsked) {
      this.#flushAsked = true;
      flushAfterTurn = true;
    }
    let timerInMs: number | undefined;
    if (deadlineMs !== undefined && deadlineMs < (this.#timerAtMs ?? Number.POSITIVE_INFINITY)) {
      this.#timerAtMs = deadlineMs;
      timerInMs = delayUntil(deadlineMs, nowMs);
    }
    return { datagrams, flushAfterTurn, timerInMs };
  }
}
