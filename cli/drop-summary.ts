import type { DropReason } from '../engine/index.ts';

/** How many drop lines of one reason are printed one by one in an interval before they are summed. */
export const DROPS_SHOWN_PER_INTERVAL = 5;
/** The interval a flood of drops is summed over. */
export const DROP_INTERVAL_MS = 10_000;
/** Distinct addresses counted per reason and interval, at most (a spoofed flood has any number). */
export const DROP_ADDRESSES_COUNTED_MAX = 1024;

/** A reason's drops in one interval beyond those shown one by one. */
export interface DropTally {
  readonly reason: DropReason;
  readonly count: number;
  /** Distinct source addresses among them; `addressesCapped` when there were more than were counted. */
  readonly addressCount: number;
  readonly addressesCapped: boolean;
  readonly intervalMs: number;
}

interface Tally {
  shown: number;
  hidden: number;
  addresses: Set<string>;
  capped: boolean;
}

/**
 * Decides which dropped datagrams a server log shows one by one, and sums up the rest: the first
 * {@link DROPS_SHOWN_PER_INTERVAL} of each reason in each interval are shown, the others are counted
 * (with how many addresses they came from) and reported once the interval is over. A flood of hostile
 * datagrams then costs the log a few lines per interval, not one line (and its CPU) per datagram.
 * Memory is bounded: one tally per reason, at most {@link DROP_ADDRESSES_COUNTED_MAX} addresses each.
 */
export class DropSummary {
  readonly #intervalMs: number;
  readonly #shownMax: number;
  #startMs: number | undefined;
  #tallies = new Map<DropReason, Tally>();

  constructor(options: { readonly intervalMs?: number; readonly shownMax?: number } = {}) {
    this.#intervalMs = options.intervalMs ?? DROP_INTERVAL_MS;
    this.#shownMax = options.shownMax ?? DROPS_SHOWN_PER_INTERVAL;
  }

  /**
   * A datagram was dropped at `nowMs`: whether to show it on its own line. Summaries of an interval
   * that ended come back first, in `due`.
   */
  drop(
    reason: DropReason,
    address: string,
    nowMs: number,
  ): { readonly show: boolean; readonly due: DropTally[] } {
    const due = this.due(nowMs);
    this.#startMs ??= nowMs;
    let tally = this.#tallies.get(reason);
    if (tally === undefined) {
      tally = { shown: 0, hidden: 0, addresses: new Set(), capped: false };
      this.#tallies.set(reason, tally);
    }
    if (tally.shown < this.#shownMax) {
      tally.shown += 1;
      return { show: true, due };
    }
    tally.hidden += 1;
    if (tally.addresses.size < DROP_ADDRESSES_COUNTED_MAX) {
      tally.addresses.add(address);
    } else if (!tally.addresses.has(address)) {
      tally.capped = true;
    }
    return { show: false, due };
  }

  /** The summaries of the interval, if it is over at `nowMs` (a timer calls this too); then a new one starts. */
  due(nowMs: number): DropTally[] {
    if (this.#startMs === undefined || nowMs - this.#startMs < this.#intervalMs) {
      return [];
    }
    const tallies: DropTally[] = [];
    for (const [reason, tally] of this.#tallies) {
      if (tally.hidden > 0) {
        tallies.push({
          reason,
          count: tally.hidden,
          addressCount: tally.addresses.size,
          addressesCapped: tally.capped,
          intervalMs: this.#intervalMs,
        });
      }
    }
    this.#tallies = new Map();
    this.#startMs = undefined;
    return tallies;
  }
}
