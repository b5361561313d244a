import type { SayFrame } from '../codec/frames.ts';
import type { ServerConfig } from '../config.ts';
import { TokenBucket } from './token-bucket.ts';

/** The room's share: `roomSayBurst` texts relayed at once, room-wide, then `roomSayRatePerSecond` (ServerConfig). */
export type RoomShareLimits = Pick<ServerConfig, 'roomSayRatePerSecond' | 'roomSayBurst'>;

/**
 * What every member's send queue takes from the room together. A relayed text puts one MESSAGE in
 * every member's queue, so many members each sending their whole burst at the same instant would fill
 * a queue that one member's burst never could (32 members × 40 texts is past a queue of 1024 frames),
 * and members who keep up with any fair share would be removed as too slow. So the texts their
 * authors' own shares let through are relayed at most `roomSayBurst` at once, then
 * `roomSayRatePerSecond`, for the whole room; past it they wait here, each author's in order, and the
 * authors take turns (round robin), one text each a turn: a member's text waits behind at most one of
 * every other member that has texts waiting. A member is then removed as too slow only when it cannot
 * take the room's rate.
 *
 * Owners are the room's sessions; a leaving one is forgotten, a quitting one takes its texts back.
 */
export class RoomShare<Owner> {
  readonly #bucket: TokenBucket;
  /** Authors with texts waiting, in turn order: a Map keeps insertion order, and one served goes to the back. */
  readonly #waiting = new Map<Owner, SayFrame[]>();
  #count = 0;

  constructor(limits: RoomShareLimits, nowMs: number) {
    this.#bucket = new TokenBucket(limits.roomSayBurst, limits.roomSayRatePerSecond, nowMs);
  }

  /** Texts waiting for the room, all authors together. */
  get waitingCount(): number {
    return this.#count;
  }

  /** Authors with texts waiting for the room. */
  get authorCount(): number {
    return this.#waiting.size;
  }

  /** Texts of `owner` waiting for the room. */
  waitingOf(owner: Owner): number {
    return this.#waiting.get(owner)?.length ?? 0;
  }

  /**
   * Takes a text its author's share let through. True: relay it now (nobody waits, and the room has a
   * token). False: it waits its author's turn.
   */
  offer(owner: Owner, say: SayFrame, nowMs: number): boolean {
    if (this.#waiting.size === 0 && this.#bucket.level(nowMs) >= 1) {
      this.#bucket.take();
      return true;
    }
    const queue = this.#waiting.get(owner);
    if (queue === undefined) {
      this.#waiting.set(owner, [say]);
    } else {
      queue.push(say);
    }
    this.#count += 1;
    return false;
  }

  /** The texts whose turn has come by `nowMs`, one per author in turn, as many as the room has tokens. */
  due(nowMs: number): [Owner, SayFrame][] {
    if (this.#waiting.size === 0) {
      return [];
    }
    // A hair over, so that the turn computed by nextAtMs is never missed by a rounding.
    let tokens = Math.floor(this.#bucket.level(nowMs) + 1e-9);
    const turns: [Owner, SayFrame][] = [];
    while (tokens > 0) {
      const first = this.#waiting.entries().next();
      if (first.done === true) {
        break;
      }
      const [owner, queue] = first.value;
      const say = queue.shift() as SayFrame;
      this.#waiting.delete(owner);
      if (queue.length > 0) {
        this.#waiting.set(owner, queue);
      }
      turns.push([owner, say]);
      tokens -= 1;
    }
    this.#count -= turns.length;
    this.#bucket.take(turns.length);
    return turns;
  }

  /** Every text of `owner` still waiting, taken out in order (it quits: what it said goes first). */
  takeAll(owner: Owner): SayFrame[] {
    const queue = this.#waiting.get(owner);
    if (queue === undefined) {
      return [];
    }
    this.#waiting.delete(owner);
    this.#count -= queue.length;
    return queue;
  }

  /** Forgets `owner` and its waiting texts (it left without a goodbye: they are not relayed). */
  forget(owner: Owner): void {
    this.takeAll(owner);
  }

  /** Forgets every waiting text (the room stops: it sequences nothing more). */
  clear(): void {
    this.#waiting.clear();
    this.#count = 0;
  }

  /** When the next waiting text's turn comes; undefined when none waits. */
  nextAtMs(): number | undefined {
    return this.#waiting.size === 0 ? undefined : this.#bucket.atMsFor(1);
  }
}
