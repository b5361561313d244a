import { randomBytes } from 'node:crypto';
import type { Clock, DatagramPort, Environment } from '../../engine/port.ts';
import { type CryptoSuite, REAL_CRYPTO } from '../../engine/secure/suite.ts';
import { nodeChaCha20Poly1305 } from './node-aead.ts';

/** The longest delay Node's setTimeout honours; longer ones would fire after 1 ms. */
export const TIMER_DELAY_MAX_MS = 2 ** 31 - 1;

/** A timer of {@link realClock}: a delay too long for one Node timer is covered by a chain of them. */
class RealTimer {
  #timeout: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;

  constructor(fn: () => void, delayMs: number) {
    if (delayMs === 0) {
      // "As soon as possible": after the datagrams already read in this turn of the event loop, so
      // that what they cause goes out together, and without the 1 ms floor of a 0 ms setTimeout.
      this.#immediate = setImmediate(fn);
    } else {
      this.#arm(fn, delayMs);
    }
  }

  #arm(fn: () => void, remainingMs: number): void {
    this.#timeout =
      remainingMs > TIMER_DELAY_MAX_MS
        ? setTimeout(() => this.#arm(fn, remainingMs - TIMER_DELAY_MAX_MS), TIMER_DELAY_MAX_MS)
        : setTimeout(fn, remainingMs);
  }

  cancel(): void {
    clearTimeout(this.#timeout);
    clearImmediate(this.#immediate);
  }
}

/** Node's timers as the engine's clock. A negative or NaN delay counts as 0; Infinity never fires. */
export const realClock: Clock = {
  setTimeout(fn, timeoutMs) {
    return new RealTimer(fn, Number.isNaN(timeoutMs) ? 0 : Math.max(timeoutMs, 0));
  },
  clearTimeout(id) {
    if (id instanceof RealTimer) {
      id.cancel();
    }
  },
};

function randomView(byteCount: number): Uint8Array {
  const bytes = randomBytes(byteCount);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function afterTurn(work: () => void): void {
  setImmediate(work);
}

/**
 * Whole milliseconds on a monotonic clock, near the Unix epoch: the process's start on the wall clock
 * plus the monotonic time since. Setting the wall clock does not move it, forward or back. Whole, as
 * Date.now's are: the engine has only ever seen whole milliseconds.
 */
export function monotonicNow(): number {
  return Math.floor(performance.timeOrigin + performance.now());
}

/**
 * The protocol's cryptography with node:crypto's ChaCha20-Poly1305 (OpenSSL's) for the packets: the
 * same primitive as @noble's, interoperable byte for byte, and about twice as fast on full datagrams
 * (`npm run bench -- --only crypto`).
 */
export const NODE_CRYPTO: CryptoSuite = { ...REAL_CRYPTO, aead: nodeChaCha20Poly1305 };

/**
 * The real world for the engine: this endpoint's port, Node's setTimeout/clearTimeout as the clock,
 * {@link monotonicNow} for every timer and budget, Date.now for a message's time, crypto.randomBytes,
 * setImmediate for the end of a turn, and {@link NODE_CRYPTO}.
 */
export function realEnvironment(port: DatagramPort): Environment {
  return {
    port,
    clock: realClock,
    now: monotonicNow,
    wallNow: () => Date.now(),
    random: randomView,
    afterTurn,
    crypto: NODE_CRYPTO,
  };
}
