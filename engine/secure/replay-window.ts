/**
 * Anti-replay for sealed packets, after RFC 6479 ("IPsec Anti-Replay Algorithm without Bit
 * Shifting"). An attacker can capture a sealed packet and send it again; it still verifies, so the
 * receiver must remember which packet numbers it has accepted. It remembers the last W of them in a
 * ring of 32-bit blocks: packet number n always lives at bit n mod 32 of block floor(n / 32) mod B,
 * so accepting a packet sets one bit and moving the window forward only clears whole blocks, never
 * shifts a bitmap.
 *
 * The ring holds one block more than the window needs (RFC 6479's redundant block): W = (B - 1) × 32.
 * When the highest packet number moves into a new block, the block it reuses is the oldest one, whose
 * numbers have all just fallen out of the window, so clearing it never forgets a number still inside.
 */

/** Bits of one block: a Uint32Array word, as JavaScript has no cheap 64-bit integers. */
const BLOCK_BITS = 32;
/** The smallest window allowed: the issue asks that at least 1024 packets may arrive out of order. */
export const REPLAY_WINDOW_BITS_MIN = 1024;
/** The window of a session unless configured otherwise: 2048 packets, in a ring of 65 blocks (260 bytes). */
export const REPLAY_WINDOW_BITS_DEFAULT = 2048;

/**
 * Which packet numbers of one direction have been accepted, among the last `sizeBits`.
 *
 * With `highest` the largest packet number accepted so far, a packet number n is accepted iff it has
 * not been accepted before and n > highest - sizeBits, that is, n lies among the `sizeBits` numbers
 * highest - sizeBits + 1 .. highest, or above highest. Older numbers are refused even if never seen:
 * the window cannot tell. The first packet is always accepted, whatever its number.
 *
 * Use it around the AEAD as RFC 6479 (and RFC 4303 §3.4.3) do: {@link wouldAccept} before opening,
 * to drop a replay cheaply, and {@link accept} only after the packet verified, so that a forged packet
 * can neither mark a number as seen nor move the window.
 *
 * @example
 * if (!window.wouldAccept(packetNumber)) return; // a replay, or too old
 * const frames = opener.open(header, packetNumber, sealed);
 * if (frames === undefined) return; // a forgery
 * window.accept(packetNumber);
 */
export class ReplayWindow {
  /** W: how many packet numbers, up to and including the highest, the window tells apart. */
  readonly sizeBits: number;
  /** The ring: W / 32 blocks and the redundant one. */
  readonly #blocks: Uint32Array;
  #highest: number | undefined;

  /** @throws Error unless `sizeBits` is a multiple of 32 and at least {@link REPLAY_WINDOW_BITS_MIN}. */
  constructor(sizeBits: number = REPLAY_WINDOW_BITS_DEFAULT) {
    if (!Number.isSafeInteger(sizeBits) || sizeBits < REPLAY_WINDOW_BITS_MIN || sizeBits % BLOCK_BITS !== 0) {
      throw new Error(
        `a replay window is a multiple of ${BLOCK_BITS} bits, at least ${REPLAY_WINDOW_BITS_MIN}, not ${sizeBits}`,
      );
    }
    this.sizeBits = sizeBits;
    this.#blocks = new Uint32Array(sizeBits / BLOCK_BITS + 1);
  }

  /** The largest packet number accepted so far; undefined before the first. */
  get highest(): number | undefined {
    return this.#highest;
  }

  /**
   * Whether `packetNumber` is new and within the window: the check before the AEAD. Changes nothing.
   *
   * @throws Error if `packetNumber` is not a non-negative safe integer (the codec never decodes one).
   */
  wouldAccept(packetNumber: number): boolean {
    checkPacketNumber(packetNumber);
    const highest = this.#highest;
    if (highest === undefined || packetNumber > highest) {
      return true;
    }
    if (packetNumber <= highest - this.sizeBits) {
      return false;
    }
    return (this.#blockOf(packetNumber) & bitOf(packetNumber)) === 0;
  }

  /**
   * Marks `packetNumber` as seen, moving the window forward if it is the new highest: the update after
   * the AEAD verified the packet.
   *
   * @throws Error if the window would refuse it: accepting a replay is the caller's bug.
   */
  accept(packetNumber: number): void {
    if (!this.wouldAccept(packetNumber)) {
      throw new Error(`packet number ${packetNumber} is a replay or too old, and cannot be accepted`);
    }
    if (this.#highest === undefined || packetNumber > this.#highest) {
      this.#advanceTo(packetNumber);
    }
    const index = blockIndex(packetNumber) % this.#blocks.length;
    this.#blocks[index] = (this.#blocks[index] ?? 0) | bitOf(packetNumber);
  }

  /**
   * Makes `packetNumber` the highest, clearing every block the ring reuses on the way: those between
   * the old highest's block (exclusive) and the new one's (inclusive), or all of them after a jump of
   * a whole ring or more.
   */
  #advanceTo(packetNumber: number): void {
    const newBlock = blockIndex(packetNumber);
    const oldBlock = this.#highest === undefined ? undefined : blockIndex(this.#highest);
    if (oldBlock === undefined || newBlock - oldBlock >= this.#blocks.length) {
      this.#blocks.fill(0);
    } else {
      for (let block = oldBlock + 1; block <= newBlock; block += 1) {
        this.#blocks[block % this.#blocks.length] = 0;
      }
    }
    this.#highest = packetNumber;
  }

  /** The ring's block that holds `packetNumber`'s bit. */
  #blockOf(packetNumber: number): number {
    return this.#blocks[blockIndex(packetNumber) % this.#blocks.length] ?? 0;
  }
}

function checkPacketNumber(packetNumber: number): void {
  if (!Number.isSafeInteger(packetNumber) || packetNumber < 0) {
    throw new Error(`packet number ${packetNumber} is not a non-negative safe integer`);
  }
}

/** The block, counted from packet number 0 and not yet wrapped onto the ring, that holds `packetNumber`. */
function blockIndex(packetNumber: number): number {
  return Math.floor(packetNumber / BLOCK_BITS);
}

/** `packetNumber`'s bit within its block, as a mask; `>>> 0` keeps bit 31 a positive number. */
function bitOf(packetNumber: number): number {
  return (1 << (packetNumber % BLOCK_BITS)) >>> 0;
}
