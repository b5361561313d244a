import type { Link } from '../link/link.ts';
import { type Environment, formatAddress, type PeerAddress } from '../port.ts';
import type { SessionProtection } from '../secure/session-protection.ts';
import { type TimerChange, timerChangeFor } from '../turn.ts';

/** What a client event left its link to do: send now, watch for the end of the turn, change the timer. */
export interface LinkTurn {
  /** Datagrams wait in the outbox: run {@link ClientSession.transmit} as an action to send them. */
  readonly send: boolean;
  /** The event opened a turn: run {@link ClientSession.watchTurn} as an action. */
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
  readonly protection: SessionProtection;
  /** The token a RESET for this session must carry (from the sealed ACCEPT). */
  readonly resetToken: Uint8Array;
  /** The key of the server that signed the handshake (hex), for the welcome. */
  readonly serverKeyHex: string;
  /**
   * The address the client's JOIN went to, which the server is known to receive on: the session sends
   * there, whatever the ACCEPT's source said (a source anyone on the path can spoof).
   */
  readonly server: PeerAddress;
  /** The highest of the client's own lines this session has sent (queued on its link). */
  sentLine = 0;
  /** The user quit while texts were held back by the window: the BYE goes once the last has gone. */
  byePending = false;
  readonly #serverKey: string;
  /** The address the ACCEPT came from, if another: a server on several addresses may answer from it. */
  readonly #answeredFromKey: string;
  readonly #env: Environment;
  /** The deadline the timer is armed for, if any. */
  #timerAtMs: number | undefined;
  /** An event of this turn has sent already: what later ones make ready waits for the turn's end. */
  #turnOpen = false;
  /** Datagrams decided on by the last event, sent by the {@link transmit} action. */
  #outbox = NO_DATAGRAMS;

  /**
   * The action that sends what {@link finishEvent} put in the outbox, to the server. Made once, like
   * {@link watchTurn}: an event's actions allocate nothing for them.
   */
  readonly transmit: () => void;
  /** The action that asks the environment to run `atTurnEnd` once the current turn is over. */
  readonly watchTurn: () => void;

  /**
   * `atTurnEnd` is the machine's end-of-turn work: call {@link endTurn}, and send the flush event if
   * it says so (see `closeTurn`).
   */
  constructor(
    init: {
      readonly link: Link;
      readonly protection: SessionProtection;
      readonly resetToken: Uint8Array;
      readonly server: PeerAddress;
      /** Where the ACCEPT came from: packets are taken from there too (and from `server`). */
      readonly answeredFrom: PeerAddress;
      readonly serverKeyHex: string;
    },
    env: Environment,
    atTurnEnd: () => void,
  ) {
    const { link, server } = init;
    this.link = link;
    this.protection = init.protection;
    this.resetToken = init.resetToken;
    this.serverKeyHex = init.serverKeyHex;
    this.server = server;
    this.#serverKey = formatAddress(server);
    this.#answeredFromKey = formatAddress(init.answeredFrom);
    this.#env = env;
    this.transmit = () => {
      const datagrams = this.#outbox;
      this.#outbox = NO_DATAGRAMS;
      for (const datagram of datagrams) {
        this.#env.port.send(datagram, this.server);
      }
    };
    this.watchTurn = () => this.#env.afterTurn(atTurnEnd);
  }

  /**
   * Whether a session packet is this session's: its id, from the address the server accepted us
   * from (as the server takes ours only from the address it accepted), so that a stranger who saw the
   * session id cannot speak for the server from elsewhere.
   */
  owns(packet: { readonly sessionId: string }, from: PeerAddress): boolean {
    if (packet.sessionId !== this.link.sessionId) {
      return false;
    }
    const fromKey = formatAddress(from);
    return fromKey === this.#serverKey || fromKey === this.#answeredFromKey;
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
    let send = false;
    let watchTurn = false;
    if (link.wantsToSend() && !sendNow) {
      if (this.#turnOpen) {
        // Sent at the end of the turn; the deadline is looked at then (a send arms the retransmission timer).
        return { send, watchTurn, timer: 'keep' };
      }
      this.#turnOpen = true;
      watchTurn = true;
      sendNow = true;
    }
    if (sendNow) {
      const datagrams = link.poll(nowMs);
      if (datagrams.length > 0) {
        // Appended: an outbox not yet sent (its action still to run) keeps its datagrams, in order.
        this.#outbox = this.#outbox.length === 0 ? datagrams : [...this.#outbox, ...datagrams];
        send = true;
      }
    }
    const deadlineMs = link.timerDeadlineMs();
    const timer = timerChangeFor(deadlineMs, this.#timerAtMs, nowMs);
    this.#timerAtMs = deadlineMs;
    return { send, watchTurn, timer };
  }
}
