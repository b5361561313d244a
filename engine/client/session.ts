import type { SessionPacket } from '../codec/frames.ts';
import type { Link } from '../link/link.ts';
import { formatAddress, type PeerAddress } from '../port.ts';
import { type TimerChange, timerChangeFor } from '../turn.ts';

/** What a client event left its link to do: send now, watch for the end of the turn, change the timer. */
export interface LinkTurn {
  /** Datagrams to send now, to {@link ClientSession.server}. */
  readonly datagrams: readonly Uint8Array[];
  /** The event opened a turn: call {@link ClientSession.endTurn} once it is over, and flush if it says so. */
  readonly watchTurn: boolean;
  /** The client's one link timer, armed for the link's next deadline. */
  readonly timer: TimerChange;
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
  /** An event of this turn has sent already: what later ones make ready waits for the turn's end. */
  #turnOpen = false;

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

  /**
   * The turn is over (the machine calls this from the environment's `afterTurn`): closes it, and says
   * whether the link was given something to send after the turn's first send (a flush must send it).
   */
  endTurn(): boolean {
    this.#turnOpen = false;
    return this.link.wantsToSend();
  }

  /**
   * What the event just handled leaves to do: send now (after the timer, a flush, the server's last
   * word, or for the first event of a turn with anything to send, which opens the turn) or at the end of
   * the turn (for later events of an open turn, so that what one turn makes ready goes out together);
   * and how the timer must change to fire at the link's next deadline, and only then.
   */
  finishEvent(nowMs: number, sendNow: boolean): LinkTurn {
    const link = this.link;
    let datagrams = NO_DATAGRAMS;
    let watchTurn = false;
    if (link.wantsToSend() && !sendNow) {
      if (this.#turnOpen) {
        // Sent at the end of the turn; the deadline is looked at then (a send arms the retransmission timer).
        return { datagrams, watchTurn, timer: 'keep' };
      }
      this.#turnOpen = true;
      watchTurn = true;
      sendNow = true;
    }
    if (sendNow) {
      datagrams = link.poll(nowMs);
    }
    const deadlineMs = link.timerDeadlineMs();
    const timer = timerChangeFor(deadlineMs, this.#timerAtMs, nowMs);
    this.#timerAtMs = deadlineMs;
    return { datagrams, watchTurn, timer };
  }
}
