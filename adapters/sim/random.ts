import assert from 'node:assert/strict';
import { fnv1a32 } from './hash.ts';

/** sfc32's first outputs still echo the seed; skipping them is the customary warm-up. */
const WARM_UP_OUTPUT_COUNT = 12;
const UINT32_RANGE = 0x1_0000_0000;
const GOLDEN_GAMMA = 0x9e3779b9;

/**
 * A deterministic stream of pseudo-random numbers: the same seed gives the same stream on every
 * machine and Node version. Not cryptographic; simulations use it for nonces and session ids so that
 * one seed replays a run.
 */
export interface Random {
  /** The 32-bit seed this generator started from (its forks derive theirs from it). */
  readonly seed: number;
  /** A uniform integer in [0, 2^32). */
  nextUint32(): number;
  /** A uniform float in [0, 1), with 32 bits of resolution. */
  nextFloat(): number;
  /** `byteCount` fresh bytes. */
  bytes(byteCount: number): Uint8Array;
  /** A uniform integer in [min, max], both included; the range may span at most 2^32 values. */
  integer(min: number, max: number): number;
  /**
   * A child generator whose stream depends only on this generator's seed and `label`: forking does
   * not advance this generator, and a fork is the same whenever it is made. Give every consumer its
   * own fork, so that adding a consumer (or a draw in one) never shifts the others' streams.
   */
  fork(label: string): Random;
}

/** One splitmix32 output for `state`: a strong 32-bit mixer used for seeding. */
function mix32(state: number): number {
  let z = (state + GOLDEN_GAMMA) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** sfc32 (Chris Doty-Humphrey's Small Fast Counting generator): small, fast, and passes PractRand. */
class Sfc32 implements Random {
  readonly seed: number;
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    this.seed = seed;
    // splitmix32 spreads one 32-bit seed over the four words of state.
    this.#a = mix32(seed);
    this.#b = mix32(seed + GOLDEN_GAMMA);
    this.#c = mix32(seed + 2 * GOLDEN_GAMMA);
    this.#d = mix32(seed + 3 * GOLDEN_GAMMA);
    for (let index = 0; index < WARM_UP_OUTPUT_COUNT; index += 1) {
      this.nextUint32();
    }
  }

  nextUint32(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (((this.#c << 21) | (this.#c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  nextFloat(): number {
    return this.nextUint32() / UINT32_RANGE;
  }

  bytes(byteCount: number): Uint8Array {
    assert.ok(
      Number.isSafeInteger(byteCount) && byteCount >= 0,
      `byteCount must be a count, got ${byteCount}`,
    );
    const bytes = new Uint8Array(byteCount);
    for (let index = 0; index < byteCount; index += 4) {
      let word = this.nextUint32();
      const end = Math.min(index + 4, byteCount);
      for (let at = index; at < end; at += 1) {
        bytes[at] = word & 0xff;
        word >>>= 8;
      }
    }
    return bytes;
  }

  integer(min: number, max: number): number {
    assert.ok(Number.isSafeInteger(min), `min must be a safe integer, got ${min}`);
    assert.ok(Number.isSafeInteger(max), `max must be a safe integer, got ${max}`);
    assert.ok(min <= max, `min (${min}) must not exceed max (${max})`);
    const range = max - min + 1;
    assert.ok(range <= UINT32_RANGE, `the range [${min}, ${max}] spans more than 2^32 values`);
    // Rejection sampling: drawing from a multiple of `range` keeps every value equally likely.
    const limit = UINT32_RANGE - (UINT32_RANGE % range);
    let draw = this.nextUint32();
    while (draw >= limit) {
      draw = this.nextUint32();
    }
    return min + (draw % range);
  }

  fork(label: string): Random {
    const labelHash = fnv1a32(new TextEncoder().encode(label));
    return new Sfc32(mix32(mix32(this.seed) ^ labelHash));
  }
}

/**
 * Creates a seeded generator. `seed` is any safe integer; its low 32 bits are used.
 *
 * @example
 * ```ts
 * const random = createRandom(42);
 * const serverRandom = random.fork('server'); // unaffected by clients added later
 * const nonce = serverRandom.bytes(16);
 * const die = random.integer(1, 6);
 * ```
 */
export function createRandom(seed: number): Random {
  assert.ok(Number.isSafeInteger(seed), `the seed must be a safe integer, got ${seed}`);
  return new Sfc32(seed >>> 0);
}
