/**
 * A token bucket: `capacity` tokens at most, refilled at `perSecond`, on the clock the caller passes
 * (the room's `now()`). A reading never moves the clock back: a time before the last one refills
 * nothing. Shared by the login throttle's global budget and each member's pacing.
 */
export class TokenBucket {
  readonly #capacity: number;
  readonly #perSecond: number;
  #tokens: number;
  #atMs: number;

  constructor(capacity: number, perSecond: number, nowMs: number) {
    this.#capacity = capacity;
    this.#perSecond = perSecond;
    this.#tokens = capacity;
    this.#atMs = nowMs;
  }

  /** The tokens there are at `nowMs` (refilled up to then). */
  level(nowMs: number): number {
    const elapsedMs = Math.max(0, nowMs - this.#atMs);
    this.#atMs = Math.max(this.#atMs, nowMs);
    this.#tokens = Math.min(this.#capacity, this.#tokens + (elapsedMs * this.#perSecond) / 1000);
    return this.#tokens;
  }

  /** Spends `count` tokens (after a `level` that found them). */
  take(count = 1): void {
    this.#tokens -= count;
  }

  /** How long after the last reading the bucket holds `level` tokens (0 if it does already). */
  msUntil(level: number): number {
    return Math.ceil((Math.max(0, level - this.#tokens) * 1000) / this.#perSecond);
  }

  /** When the bucket holds `level` tokens, on the caller's clock. */
  atMsFor(level: number): number {
    return this.#atMs + this.msUntil(level);
  }
}
