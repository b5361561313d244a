import assert from '../assert.ts';
import { utf8ByteLength, validateName } from '../names.ts';
import { ByteWriter, varintSize } from './bytes.ts';
import type { AckRange, Frame, ReliableFrame, ReliableFrameBody } from './frames.ts';
import { ORIGIN_BYTES, ORIGIN_SECRET_BYTES, TEXT_BYTES_MAX } from './frames.ts';
import {
  ACK_RANGE_COUNT_MAX,
  FRAME_TYPE_CODES,
  LEAVE_REASONS,
  PACKET_NUMBER_MAX,
  ROOM_REFUSAL_CODES,
  reasonCode,
  sessionIdToBytes,
} from './layout.ts';

/**
 * A frame is described once, as the sequence of fields it calls on a {@link FieldSink}, and that one
 * description is both measured (`frameSize`, with a sink that adds up sizes) and written (`writeFrame`,
 * with a sink that writes bytes): the size the link packs by cannot drift from the bytes it gets, and
 * no list of fields is built for either.
 */
interface FieldSink {
  u8(value: number): void;
  varint(value: number): void;
  /** A name; `lenient` for a CLAIM's, which the server checks (one byte a character, at most 255). */
  name(value: string, lenient?: boolean): void;
  text(value: string): void;
  /** An origin: its 8 bytes. */
  origin(value: string): void;
  /** Bytes of a fixed length, as they are. */
  bytes(value: Uint8Array): void;
}

/** Adds up the sizes of the fields it is given. One instance, reset before each use (synchronous). */
class SizeSink implements FieldSink {
  size = 0;

  u8(): void {
    this.size += 1;
  }

  varint(value: number): void {
    this.size += varintSize(value);
  }

  name(value: string): void {
    // Names are ASCII, so characters and bytes agree; an invalid name is caught when it is written.
    this.size += 1 + value.length;
  }

  text(value: string): void {
    const byteCount = utf8ByteLength(value);
    this.size += varintSize(byteCount) + byteCount;
  }

  origin(): void {
    this.size += ORIGIN_BYTES;
  }

  bytes(value: Uint8Array): void {
    this.size += value.length;
  }
}

/** Writes the fields it is given to its writer, checking each one's contract. */
class WriteSink implements FieldSink {
  writer: ByteWriter | undefined;

  #to(): ByteWriter {
    const writer = this.writer;
    assert.ok(writer !== undefined, 'a write sink is used only while it has a writer');
    return writer;
  }

  u8(value: number): void {
    this.#to().u8(value);
  }

  varint(value: number): void {
    this.#to().varint(value);
  }

  name(value: string, lenient = false): void {
    writeName(this.#to(), value, lenient);
  }

  text(value: string): void {
    writeText(this.#to(), value);
  }

  origin(value: string): void {
    // The session id's form and checks: 16 lowercase hex digits, 8 bytes.
    this.#to().bytesOf(sessionIdToBytes(value));
  }

  bytes(value: Uint8Array): void {
    this.#to().bytesOf(value);
  }
}

const utf8 = new TextEncoder();
const sizeSink = new SizeSink();
const writeSink = new WriteSink();

function describeFrame(frame: Frame, sink: FieldSink): void {
  sink.u8(FRAME_TYPE_CODES[frame.type]);
  switch (frame.type) {
    case 'ack':
      describeAck(frame.ranges, sink);
      return;
    case 'ping':
      return;
    default:
      sink.varint(frame.msgSeq);
      describeBody(frame, sink);
  }
}

/** The fields of a reliable frame after its type and msgSeq: what is the same for every recipient. */
function describeBody(body: ReliableFrameBody | ReliableFrame, sink: FieldSink): void {
  switch (body.type) {
    case 'claim':
      sink.name(body.name, true);
      assert.equal(body.originSecret.length, ORIGIN_SECRET_BYTES, 'an origin secret is 16 bytes');
      sink.bytes(body.originSecret);
      return;
    case 'refused':
      sink.u8(ROOM_REFUSAL_CODES[body.reason]);
      return;
    case 'say':
      sink.varint(body.line);
      sink.text(body.text);
      return;
    case 'bye':
    case 'goodbye':
    case 'shutdown':
      return;
    case 'members':
      sink.varint(body.roomSeq);
      sink.u8(body.final ? 1 : 0);
      sink.varint(body.names.length);
      for (const member of body.names) {
        sink.name(member);
      }
      return;
    case 'joined':
      sink.varint(body.roomSeq);
      sink.name(body.name);
      return;
    case 'message':
      sink.varint(body.roomSeq);
      sink.varint(body.timeMs);
      sink.name(body.from);
      sink.origin(body.origin);
      sink.varint(body.line);
      sink.text(body.text);
      return;
    case 'left':
      sink.varint(body.roomSeq);
      sink.u8(reasonCode(LEAVE_REASONS, body.reason));
      sink.name(body.name);
      return;
    case 'paced':
      sink.varint(body.ratePerSecond);
      sink.varint(body.burst);
      return;
  }
}

/** A range in words, for the message of a broken contract (built only then). */
function rangeWords(range: AckRange): string {
  return `ACK range ${range.smallest}..${range.largest}`;
}

/**
 * The varints of an ACK frame (RFC 9000 §19.3): largest acknowledged, the count of ranges after the
 * first, the first range's length, then a (gap, length) pair per further range.
 */
function describeAck(ranges: readonly AckRange[], sink: FieldSink): void {
  assert.ok(ranges.length >= 1, 'an ACK frame needs at least one range');
  if (!(ranges.length <= ACK_RANGE_COUNT_MAX)) {
    assert.fail(`an ACK frame holds at most ${ACK_RANGE_COUNT_MAX} ranges`);
  }
  let previous: AckRange | undefined;
  for (const range of ranges) {
    if (!Number.isInteger(range.smallest)) {
      assert.fail(`${rangeWords(range)} does not start at an integer`);
    }
    if (!Number.isInteger(range.largest)) {
      assert.fail(`${rangeWords(range)} does not end at an integer`);
    }
    if (!(range.smallest >= 0)) {
      assert.fail(`${rangeWords(range)} starts below 0`);
    }
    if (!(range.smallest <= range.largest)) {
      assert.fail(`${rangeWords(range)} ends before it starts`);
    }
    if (!(range.largest <= PACKET_NUMBER_MAX)) {
      assert.fail(`${rangeWords(range)} ends past the u32 packet numbers`);
    }
    if (previous === undefined) {
      sink.varint(range.largest);
      sink.varint(ranges.length - 1);
      sink.varint(range.largest - range.smallest);
    } else {
      // A gap of 0 means one missing packet number, so adjacent or overlapping ranges cannot be written.
      if (!(range.largest <= previous.smallest - 2)) {
        assert.fail('ACK ranges must be sorted, disjoint and non-adjacent');
      }
      sink.varint(previous.smallest - range.largest - 2);
      sink.varint(range.largest - range.smallest);
    }
    previous = range;
  }
}

/** Writes a name; a CLAIM's (`lenient`) need only fit a length byte and one byte per character. */
export function writeName(writer: ByteWriter, value: string, lenient = false): void {
  if (lenient) {
    if (!(value.length <= 0xff)) {
      assert.fail(`a name of ${value.length} characters does not fit its length byte`);
    }
    assert.ok(
      [...value].every((character) => (character.codePointAt(0) ?? 0x100) <= 0xff),
      'a name is written one byte per character',
    );
  } else {
    const validation = validateName(value);
    if (!validation.ok) {
      assert.fail(validation.message);
    }
  }
  writer.u8(value.length);
  for (let index = 0; index < value.length; index += 1) {
    writer.u8(value.charCodeAt(index));
  }
}

function writeText(writer: ByteWriter, value: string): void {
  // TextEncoder would silently turn a lone surrogate into U+FFFD: the peer would read other text.
  assert.ok(value.isWellFormed(), 'message text holds a lone surrogate');
  const bytes = utf8.encode(value);
  assert.ok(
    bytes.length <= TEXT_BYTES_MAX,
    `message text is ${bytes.length} bytes; at most ${TEXT_BYTES_MAX}`,
  );
  writer.varint(bytes.length);
  writer.bytesOf(bytes);
}

/**
 * The exact number of bytes `frame` adds to a SESSION packet. The reliable link packs frames with it.
 *
 * @example frameSize({ type: 'ping' }) === 1; frameSize({ type: 'bye', msgSeq: 64 }) === 3
 */
export function frameSize(frame: Frame): number {
  sizeSink.size = 0;
  describeFrame(frame, sizeSink);
  return sizeSink.size;
}

/** Writes one frame, asserting the invariants its fields must hold. */
export function writeFrame(writer: ByteWriter, frame: Frame): void {
  writeSink.writer = writer;
  try {
    describeFrame(frame, writeSink);
  } finally {
    writeSink.writer = undefined;
  }
}

/**
 * A reliable frame encoded once, for however many links carry it: everything after its type byte and
 * msgSeq, which each link adds as it packs the frame. The room prepares a message once and hands the
 * same object to every member's link.
 */
export interface PreparedFrame {
  readonly body: ReliableFrameBody;
  readonly typeCode: number;
  /** The frame's bytes after its type and msgSeq. */
  readonly tail: Uint8Array;
}

/** Encodes a reliable frame's body once, asserting its invariants (a valid name, text that fits). */
export function prepareFrame(body: ReliableFrameBody): PreparedFrame {
  sizeSink.size = 0;
  describeBody(body, sizeSink);
  const writer = new ByteWriter(sizeSink.size);
  writeSink.writer = writer;
  try {
    describeBody(body, writeSink);
  } finally {
    writeSink.writer = undefined;
  }
  assert.equal(writer.offset, writer.bytes.length, 'a frame body was measured larger than its fields');
  return { body, typeCode: FRAME_TYPE_CODES[body.type], tail: writer.bytes };
}

/** The bytes a prepared frame adds to a SESSION packet with this msgSeq. */
export function preparedFrameSize(prepared: PreparedFrame, msgSeq: number): number {
  return 1 + varintSize(msgSeq) + prepared.tail.length;
}

/** Writes a prepared frame with its msgSeq. */
export function writePreparedFrame(writer: ByteWriter, prepared: PreparedFrame, msgSeq: number): void {
  writer.u8(prepared.typeCode);
  writer.varint(msgSeq);
  writer.bytesOf(prepared.tail);
}
