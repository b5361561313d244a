import { SAYS_UNCONFIRMED_MAX, type SayFrame } from '../codec/frames.ts';
import type { ServerConfig } from '../config.ts';
import { TokenBucket } from './token-bucket.ts';

/** A member's share of the room: `sayBurst` texts at once, then `sayRatePerSecond` (ServerConfig). */
export type PaceLimits = Pick<ServerConfig, 'sayRatePerSecond' | 'sayBurst'>;

/** What becomes of a text a member sent. */
export type PaceVerdict =
  /** Its turn is now: relay it. */
  | 'relay'
  /** It waits for its turn (the member is over its rate); it is relayed when {@link SayPacer.due} says. */
  | 'wait'
  /**
   * More texts wait than a client may have unconfirmed ({@link SAYS_UNCONFIRMED_MAX}): no client that
   * follows the protocol sends this, so the member is a flooder, and is removed.
   */
  | 'overflow';

/**
 * One member's texts, paced to its fair share of the room: a token bucket of `sayBurst` that refills at
 * `sayRatePerSecond`, and the texts over it waiting in order, never dropped. A client keeps at most
 * {@link SAYS_UNCONFIRMED_MAX} texts unconfirmed (a text is confirmed when it comes back relayed), so
 * no more ever wait here for an honest one: that bounds the server's memory for a member, and makes
 * one member's flood its own problem. Its texts wait; nobody else's do.
 */
export class SayPacer {
  readonly #bucket: TokenBucket;
  #waiting: SayFrame[] = [];

  constructor(limits: PaceLimits, nowMs: number) {
    this.#bucket = new TokenBucket(limits.sayBurst, limits.sayRatePerSecond, nowMs);
  }

  /** Texts waiting for their turn. */
  get waitingCount(): number {
    return this.#waiting.length;
  }

  /**
   * Takes a text the member sent, in order. `waitingElsewhere` are its texts that passed here and wait
   * further on (for the room's share): a client's unconfirmed texts are all of them together.
   */
  offer(say: SayFrame, nowMs: number, waitingElsewhere = 0): PaceVerdict {
    if (this.#waiting.length + waitingElsewhere >= SAYS_UNCONFIRMED_MAX) {
      return 'overflow';
    }
    if (this.#waiting.length === 0 && this.#bucket.level(nowMs) >= 1) {
      this.#bucket.take();
      return 'relay';
    }
    this.#waiting.push(say);
    return 'wait';
  }

  /** The waiting texts whose turn has come by `nowMs`, oldest first (taken out). */
  due(nowMs: number): SayFrame[] {
    // A hair over, so that the turn computed by nextAtMs is never missed by a rounding.
    const tokens = Math.floor(this.#bucket.level(nowMs) + 1e-9);
    const count = Math.min(tokens, this.#waiting.length);
    if (count === 0) {
      return [];
    }
    this.#bucket.take(count);
    return this.#waiting.splice(0, count);
  }

  /** Every waiting text, whatever the rate (the member quits: what it said before goes first). */
  takeAll(): SayFrame[] {
    const all = this.#waiting;
    this.#waiting = [];
    return all;
  }

  /** When the next waiting text's turn comes; undefined when none waits. */
  nextAtMs(): number | undefined {
    if (this.#waiting.length === 0) {
      return undefined;
    }
    return this.#bucket.atMsFor(1);
  }
}
