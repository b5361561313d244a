import type { AckRange } from '../codec/frames.ts';

/**
 * The set of packet numbers received, kept as disjoint ranges sorted from the largest down, as an ACK
 * frame carries them. Bounded: past `rangeCountMax` ranges the oldest is forgotten, and every number
 * up to the top of a forgotten range counts as seen from then on (the floor): a very old packet is
 * taken for a duplicate rather than for news, so a late copy can never pass for a sign of life. (A
 * genuinely late packet below the floor loses nothing: its frames are still read, and the sender
 * resends whatever the peer does not acknowledge.)
 */
export class AckRanges {
  #ranges: AckRange[] = [];
  readonly #rangeCountMax: number;
  /** Every packet number up to this one counts as seen; -1 until a range has been forgotten. */
  #floor = -1;

  constructor(rangeCountMax: number) {
    this.#rangeCountMax = rangeCountMax;
  }

  get ranges(): readonly AckRange[] {
    return this.#ranges;
  }

  get isEmpty(): boolean {
    return this.#ranges.length === 0;
  }

  /** Ranges held now: at most the `rangeCountMax` given at construction. */
  get rangeCount(): number {
    return this.#ranges.length;
  }

  has(packetNumber: number): boolean {
    return (
      packetNumber <= this.#floor ||
      this.#ranges.some((range) => range.smallest <= packetNumber && packetNumber <= range.largest)
    );
  }

  /** Adds a packet number; returns false if it was already there. */
  add(packetNumber: number): boolean {
    if (packetNumber <= this.#floor) {
      return false;
    }
    const ranges = this.#ranges;
    const first = ranges[0];
    // The common case: packets arrive in order, extending the newest range.
    if (first !== undefined && packetNumber === first.largest + 1) {
      ranges[0] = { smallest: first.smallest, largest: packetNumber };
      return true;
    }
    let index = 0;
    while (index < ranges.length) {
      const range = ranges[index];
      if (range === undefined || packetNumber > range.largest) {
        break;
      }
      if (packetNumber >= range.smallest) {
        return false;
      }
      index += 1;
    }
    // Insert before `index`, merging with the neighbour above (index - 1) and below (index).
    const above = ranges[index - 1];
    const below = ranges[index];
    const joinsAbove = above !== undefined && above.smallest === packetNumber + 1;
    const joinsBelow = below !== undefined && below.largest === packetNumber - 1;
    if (joinsAbove && joinsBelow) {
      ranges.splice(index - 1, 2, { smallest: below.smallest, largest: above.largest });
    } else if (joinsAbove) {
      ranges[index - 1] = { smallest: packetNumber, largest: above.largest };
    } else if (joinsBelow) {
      ranges[index] = { smallest: below.smallest, largest: packetNumber };
    } else {
      ranges.splice(index, 0, { smallest: packetNumber, largest: packetNumber });
    }
    if (ranges.length > this.#rangeCountMax) {
      const forgotten = ranges.pop();
      this.#floor = Math.max(this.#floor, forgotten?.largest ?? -1);
    }
    return true;
  }
}
