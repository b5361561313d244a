import type { AckRange } from '../codec/frames.ts';

/**
 * The set of packet numbers received, kept as disjoint ranges sorted from the largest down, as an ACK
 * frame carries them. Bounded: past `rangeCountMax` ranges the oldest is forgotten, which at worst
 * makes a very old duplicate look new (its frames are still recognised as duplicates by msgSeq).
 */
export class AckRanges {
  #ranges: AckRange[] = [];
  readonly #rangeCountMax: number;

  constructor(rangeCountMax: number) {
    this.#rangeCountMax = rangeCountMax;
  }

  get ranges(): readonly AckRange[] {
    return this.#ranges;
  }

  get isEmpty(): boolean {
    return this.#ranges.length === 0;
  }

  has(packetNumber: number): boolean {
    return this.#ranges.some((range) => range.smallest <= packetNumber && packetNumber <= range.largest);
  }

  /** Adds a packet number; returns false if it was already there. */
  add(packetNumber: number): boolean {
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
      ranges.pop();
    }
    return true;
  }
}
