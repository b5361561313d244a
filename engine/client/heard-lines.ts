import type { Origin } from '../codec/frames.ts';
import { nameKey } from '../names.ts';

/**
 * What a client has shown of each author: the origin its texts came from and the highest line number
 * shown. A member's texts come in order (the server relays them as it receives them, and a link
 * delivers in order), and an author that rejoins after a server restart resends, in order, those the
 * old server never confirmed to it: any the old server did relay come again, at or below the highest
 * shown, and are not shown twice. Mutable, owned by the client actor.
 *
 * One entry per author name (names are unique in a room): a new origin under a name (another program)
 * replaces the old. A name that left is not forgotten: the server may have dropped its member (a queue
 * that overflowed, a silence), whose client then rejoins and resends lines already shown. At most
 * `countMax` entries; past that the author heard from least recently goes.
 */
export class HeardLines {
  readonly #byName = new Map<string, { origin: Origin; line: number }>();
  readonly #countMax: number;

  constructor(countMax: number) {
    this.#countMax = countMax;
  }

  get size(): number {
    return this.#byName.size;
  }

  /** Whether `line` of `from`'s `origin` is new (to be shown); records it if so. */
  take(from: string, origin: Origin, line: number): boolean {
    const key = nameKey(from);
    const heard = this.#byName.get(key);
    if (heard !== undefined && heard.origin === origin) {
      if (line <= heard.line) {
        return false;
      }
      heard.line = line;
      // Moved to the end: the Map's order is then the order authors were last heard from.
      this.#byName.delete(key);
      this.#byName.set(key, heard);
      return true;
    }
    this.#byName.delete(key);
    if (this.#byName.size >= this.#countMax) {
      const oldest = this.#byName.keys().next();
      if (oldest.done !== true) {
        this.#byName.delete(oldest.value);
      }
    }
    this.#byName.set(key, { origin, line });
    return true;
  }
}
