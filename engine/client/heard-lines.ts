import type { Origin } from '../codec/frames.ts';

/**
 * What a client has shown of each author: the highest line number shown of each origin. An origin is
 * one client's (the server tags each message with the hash of the secret its author's CLAIM holds), and
 * a client's texts come in order (the server relays them as it receives them, and a link delivers in
 * order); a client that rejoins after a server restart, or after the server dropped it, resends in
 * order those the old session never confirmed: any that were relayed come again, at or below the
 * highest shown, and are not shown twice. Mutable, owned by the client actor.
 *
 * An author that left is not forgotten: the server may have dropped it (a silence, a full queue), and
 * it then rejoins and resends. At most `countMax` origins; past that the one first heard goes (an
 * author gone with a restarted server, or long since).
 */
export class HeardLines {
  readonly #highest = new Map<Origin, number>();
  readonly #countMax: number;

  constructor(countMax: number) {
    this.#countMax = countMax;
  }

  get size(): number {
    return this.#highest.size;
  }

  /** Whether `line` of `origin` is new (to be shown); records it if so. */
  take(origin: Origin, line: number): boolean {
    const highest = this.#highest.get(origin);
    if (highest !== undefined) {
      if (line <= highest) {
        return false;
      }
      this.#highest.set(origin, line);
      return true;
    }
    if (this.#highest.size >= this.#countMax) {
      const first = this.#highest.keys().next();
      if (first.done !== true) {
        this.#highest.delete(first.value);
      }
    }
    this.#highest.set(origin, line);
    return true;
  }
}
