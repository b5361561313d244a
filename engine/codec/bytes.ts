import assert from '../assert.ts';
import type { DecodeError, DecodeErrorKind } from './frames.ts';

/**
 * Byte-level reading and writing for the codec: big-endian fixed-size integers and QUIC
 * variable-length integers (RFC 9000 §16).
 *
 * The writer is pre-sized: the encoder computes each packet's exact size first, so a write past the end,
 * or a packet that does not fill its buffer, is a broken invariant of the encoder itself.
 *
 * The reader never throws. Its first failure is recorded (the error is "sticky") and every later read
 * returns a sentinel (0, or no bytes), so a decoder can read a whole structure straight through and check
 * `reader.error` once at the end, instead of testing a result after every field.
 */

const TWO_POW_32 = 0x1_0000_0000;
/** The largest value a varint may carry here: numbers stay exact in a JavaScript number. */
export const VARINT_MAX = Number.MAX_SAFE_INTEGER;
/** The 2-bit prefix values (RFC 9000 §16): the length of the varint is 1 << prefix bytes. */
const PREFIX_1_BYTE = 0b00;
const PREFIX_2_BYTES = 0b01;
const PREFIX_4_BYTES = 0b10;
const PREFIX_8_BYTES = 0b11;
/** The largest value each length can carry: 6, 14, 30 and 62 bits. */
const VARINT_1_BYTE_MAX = 0x3f;
const VARINT_2_BYTES_MAX = 0x3fff;
const VARINT_4_BYTES_MAX = 0x3fff_ffff;

/**
 * Bytes the shortest varint encoding of `value` takes: 1, 2, 4 or 8.
 *
 * @example varintSize(63) === 1; varintSize(64) === 2; varintSize(2 ** 32) === 8
 */
export function varintSize(value: number): 1 | 2 | 4 | 8 {
  if (value <= VARINT_1_BYTE_MAX) {
    return 1;
  }
  if (value <= VARINT_2_BYTES_MAX) {
    return 2;
  }
  if (value <= VARINT_4_BYTES_MAX) {
    return 4;
  }
  return 8;
}

/** Writes into a buffer of a size fixed up front; `bytes` is the result once it is full. */
export class ByteWriter {
  readonly bytes: Uint8Array;
  readonly #view: DataView;
  #offset = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.#view = new DataView(this.bytes.buffer);
  }

  get offset(): number {
    return this.#offset;
  }

  u8(value: number): void {
    if (!Number.isInteger(value)) {
      assert.fail(`u8 field ${value} is not an integer`);
    }
    if (!(value >= 0)) {
      assert.fail(`u8 field ${value} is negative`);
    }
    if (!(value <= 0xff)) {
      assert.fail(`u8 field ${value} is over 255`);
    }
    this.#view.setUint8(this.#claim(1), value);
  }

  u32(value: number): void {
    if (!Number.isInteger(value)) {
      assert.fail(`u32 field ${value} is not an integer`);
    }
    if (!(value >= 0)) {
      assert.fail(`u32 field ${value} is negative`);
    }
    if (!(value < TWO_POW_32)) {
      assert.fail(`u32 field ${value} is over 2^32 - 1`);
    }
    this.#view.setUint32(this.#claim(4), value);
  }

  bytesOf(source: Uint8Array): void {
    this.bytes.set(source, this.#claim(source.length));
  }

  /** Writes `count` zero bytes: the buffer starts zeroed, so this only moves past them. */
  zeros(count: number): void {
    if (!(count >= 0)) {
      assert.fail(`cannot write ${count} zero bytes`);
    }
    this.#claim(count);
  }

  /** Writes `value` as a varint in its shortest form. */
  varint(value: number): void {
    if (!Number.isSafeInteger(value)) {
      assert.fail(`varint field ${value} is not an integer up to 2^53 - 1`);
    }
    if (!(value >= 0)) {
      assert.fail(`varint field ${value} is negative`);
    }
    const size = varintSize(value);
    switch (size) {
      case 1:
        this.#view.setUint8(this.#claim(1), (PREFIX_1_BYTE << 6) | value);
        return;
      case 2:
        this.#view.setUint16(this.#claim(2), (PREFIX_2_BYTES << 14) | value);
        return;
      case 4:
        // `>>> 0` keeps the result unsigned: the prefix sets bit 31.
        this.#view.setUint32(this.#claim(4), ((PREFIX_4_BYTES << 30) | value) >>> 0);
        return;
      case 8: {
        // Bitwise operators work on 32 bits, so the 62-bit value is written as two halves.
        const at = this.#claim(8);
        const high = Math.floor(value / TWO_POW_32);
        this.#view.setUint32(at, ((PREFIX_8_BYTES << 30) | high) >>> 0);
        this.#view.setUint32(at + 4, value % TWO_POW_32);
        return;
      }
    }
  }

  #claim(count: number): number {
    const at = this.#offset;
    assert.ok(at + count <= this.bytes.length, 'the encoder computed a packet size too small for its fields');
    this.#offset = at + count;
    return at;
  }
}

/** Reads a datagram front to back; see the file comment for how failures are reported. */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  #offset: number;
  #error: DecodeError | undefined;

  constructor(bytes: Uint8Array, offset = 0) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#offset = offset;
  }

  get offset(): number {
    return this.#offset;
  }

  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  /** The first failure, if any read has failed. */
  get error(): DecodeError | undefined {
    return this.#error;
  }

  /** Records a failure unless one is already recorded: the first cause is the one worth reporting. */
  fail(kind: DecodeErrorKind, message: string, offset = this.#offset): void {
    this.#error ??= { kind, message, offset };
  }

  u8(): number {
    const at = this.#take(1);
    return at === undefined ? 0 : this.#view.getUint8(at);
  }

  u32(): number {
    const at = this.#take(4);
    return at === undefined ? 0 : this.#view.getUint32(at);
  }

  /** A copy of the next `count` bytes, so that a decoded packet never aliases a reused receive buffer. */
  bytes(count: number): Uint8Array {
    const at = this.#take(count);
    return at === undefined ? new Uint8Array(0) : new Uint8Array(this.#bytes.subarray(at, at + count));
  }

  /**
   * The next `count` bytes as a view into the datagram, not a copy: only for a field decoded into
   * something else at once (a name, a text), never kept.
   */
  view(count: number): Uint8Array {
    const at = this.#take(count);
    return at === undefined ? new Uint8Array(0) : this.#bytes.subarray(at, at + count);
  }

  /** Reads a varint of any of the four lengths; non-shortest encodings are accepted, as RFC 9000 asks. */
  varint(): number {
    const start = this.#offset;
    if (this.remaining < 1) {
      this.#take(1);
      return 0;
    }
    const prefix = this.#view.getUint8(start) >> 6;
    const at = this.#take(1 << prefix);
    if (at === undefined) {
      return 0;
    }
    switch (prefix) {
      case PREFIX_1_BYTE:
        return this.#view.getUint8(at) & VARINT_1_BYTE_MAX;
      case PREFIX_2_BYTES:
        return this.#view.getUint16(at) & VARINT_2_BYTES_MAX;
      case PREFIX_4_BYTES:
        return this.#view.getUint32(at) & VARINT_4_BYTES_MAX;
      default:
        return this.#varint8(at);
    }
  }

  #varint8(at: number): number {
    const high = this.#view.getUint32(at) & VARINT_4_BYTES_MAX;
    const low = this.#view.getUint32(at + 4);
    const value = high * TWO_POW_32 + low;
    if (!Number.isSafeInteger(value)) {
      this.fail('bad-varint', `the varint at byte ${at} exceeds 2^53 - 1, the largest exact number`, at);
      return 0;
    }
    return value;
  }

  /** Claims `count` bytes and returns where they start, or records 'too-short' and returns undefined. */
  #take(count: number): number | undefined {
    if (this.#error !== undefined) {
      return undefined;
    }
    const at = this.#offset;
    if (count > this.remaining) {
      this.fail(
        'too-short',
        `the datagram ends at byte ${this.#bytes.length} but ${count} more bytes were needed at byte ${at}`,
      );
      return undefined;
    }
    this.#offset = at + count;
    return at;
  }
}
