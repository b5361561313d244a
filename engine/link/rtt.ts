/**
 * The retransmission timeout of RFC 6298: a smoothed round-trip time and its variation, an initial
 * timeout of one second, doubling on every expiry, clamped between a floor and a ceiling.
 *
 * One deliberate difference: the RFC rounds the timeout up to one second; we take the floor from
 * configuration (200 ms by default, as Linux does for TCP) because a chat on a LAN should not stall
 * for a second over one lost datagram.
 */
export interface RttConfig {
  readonly rtoInitialMs: number;
  readonly rtoMinMs: number;
  readonly rtoMaxMs: number;
}

/** The clock granularity G of RFC 6298, in milliseconds. */
const CLOCK_GRANULARITY_MS = 1;

export class RttEstimator {
  #smoothedMs: number | undefined;
  #variationMs = 0;
  #rtoMs: number;
  readonly #config: RttConfig;

  constructor(config: RttConfig) {
    this.#config = config;
    this.#rtoMs = this.#clamp(config.rtoInitialMs);
  }

  /** The current retransmission timeout. */
  get rtoMs(): number {
    return this.#rtoMs;
  }

  /** The smoothed round-trip time, once there has been a sample. */
  get smoothedMs(): number | undefined {
    return this.#smoothedMs;
  }

  /** Takes one round-trip measurement (RFC 6298 section 2.2 and 2.3). */
  sample(rttMs: number): void {
    const measured = Math.max(0, rttMs);
    if (this.#smoothedMs === undefined) {
      this.#smoothedMs = measured;
      this.#variationMs = measured / 2;
    } else {
      this.#variationMs = 0.75 * this.#variationMs + 0.25 * Math.abs(this.#smoothedMs - measured);
      this.#smoothedMs = 0.875 * this.#smoothedMs + 0.125 * measured;
    }
    this.#rtoMs = this.#clamp(this.#smoothedMs + Math.max(CLOCK_GRANULARITY_MS, 4 * this.#variationMs));
  }

  /** Doubles the timeout after it expired (RFC 6298 section 5.5). */
  backOff(): void {
    this.#rtoMs = this.#clamp(this.#rtoMs * 2);
  }

  #clamp(rtoMs: number): number {
    return Math.min(this.#config.rtoMaxMs, Math.max(this.#config.rtoMinMs, rtoMs));
  }
}
