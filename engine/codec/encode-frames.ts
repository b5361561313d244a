import assert from 'node:assert/strict';
import { utf8ByteLength, validateName } from '../names.ts';
import { ByteWriter, varintSize } from './bytes.ts';
import type { AckRange, Frame, ReliableFrame, ReliableFrameBody } from './frames.ts';
import { TEXT_BYTES_MAX } from './frames.ts';
import {
  ACK_RANGE_COUNT_MAX,
  FRAME_TYPE_CODES,
  LEAVE_REASONS,
  PACKET_NUMBER_MAX,
  reasonCode,
} from './layout.ts';

/**
 * A frame is described once, as a list of fields, and that list is both measured (`frameSize`) and
 * written (`encodePacket`): the size the link packs by cannot drift from the bytes it gets.
 */
type Field =
  | { readonly kind: 'u8'; readonly value: number }
  | { readonly kind: 'varint'; readonly value: number }
  | { readonly kind: 'name'; readonly value: string }
  | { readonly kind: 'text'; readonly value: string };

const utf8 = new TextEncoder();

const u8 = (value: number): Field => ({ kind: 'u8', value });
const varint = (value: number): Field => ({ kind: 'varint', value });
const name = (value: string): Field => ({ kind: 'name', value });
const text = (value: string): Field => ({ kind: 'text', value });

function frameFields(frame: Frame): readonly Field[] {
  const type = u8(FRAME_TYPE_CODES[frame.type]);
  switch (frame.type) {
    case 'ack':
      return [type, ...ackValues(frame.ranges).map(varint)];
    case 'ping':
      return [type];
    default:
      return [type, varint(frame.msgSeq), ...bodyFields(frame)];
  }
}

/** The fields of a reliable frame after its type and msgSeq: what is the same for every recipient. */
function bodyFields(body: ReliableFrameBody | ReliableFrame): readonly Field[] {
  switch (body.type) {
    case 'say':
      return [text(body.text)];
    case 'bye':
    case 'goodbye':
    case 'shutdown':
      return [];
    case 'members':
      return [
        varint(body.roomSeq),
        u8(body.final ? 1 : 0),
        varint(body.names.length),
        ...body.names.map(name),
      ];
    case 'joined':
      return [varint(body.roomSeq), name(body.name)];
    case 'message':
      return [varint(body.roomSeq), varint(body.timeMs), name(body.from), text(body.text)];
    case 'left':
      return [varint(body.roomSeq), u8(reasonCode(LEAVE_REASONS, body.reason)), name(body.name)];
  }
}

/**
 * The varints of an ACK frame (RFC 9000 §19.3): largest acknowledged, the count of ranges after the
 * first, the first range's length, then a (gap, length) pair per further range.
 */
/** A range in words, for the message of a broken contract (built only then). */
function rangeWords(range: AckRange): string {
  return `ACK range ${range.smallest}..${range.largest}`;
}

function ackValues(ranges: readonly AckRange[]): number[] {
  assert.ok(ranges.length >= 1, 'an ACK frame needs at least one range');
  if (!(ranges.length <= ACK_RANGE_COUNT_MAX)) {
    assert.fail(`an ACK frame holds at most ${ACK_RANGE_COUNT_MAX} ranges`);
  }
  const values: number[] = [];
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
      values.push(range.largest, ranges.length - 1, range.largest - range.smallest);
    } else {
      // A gap of 0 means one missing packet number, so adjacent or overlapping ranges cannot be written.
      assert.ok(
        range.largest <= previous.smallest - 2,
        'ACK ranges must be sorted, disjoint and non-adjacent',
      );
      values.push(previous.smallest - range.largest - 2, range.largest - range.smallest);
    }
    previous = range;
  }
  return values;
}

function fieldSize(field: Field): number {
  switch (field.kind) {
    case 'u8':
      return 1;
    case 'varint':
      return varintSize(field.value);
    case 'name':
      // Names are ASCII, so characters and bytes agree; an invalid name is caught when it is written.
      return 1 + field.value.length;
    case 'text': {
      const byteCount = utf8ByteLength(field.value);
      return varintSize(byteCount) + byteCount;
    }
  }
}

function writeField(writer: ByteWriter, field: Field): void {
  switch (field.kind) {
    case 'u8':
      writer.u8(field.value);
      return;
    case 'varint':
      writer.varint(field.value);
      return;
    case 'name':
      writeName(writer, field.value);
      return;
    case 'text':
      writeText(writer, field.value);
      return;
  }
}

/** Writes a name; a JOIN's (`lenient`) need only fit a length byte and one byte per character. */
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
  let size = 0;
  for (const field of frameFields(frame)) {
    size += fieldSize(field);
  }
  return size;
}

/** Writes one frame, asserting the invariants its fields must hold. */
export function writeFrame(writer: ByteWriter, frame: Frame): void {
  for (const field of frameFields(frame)) {
    writeField(writer, field);
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
  const fields = bodyFields(body);
  let size = 0;
  for (const field of fields) {
    size += fieldSize(field);
  }
  const writer = new ByteWriter(size);
  for (const field of fields) {
    writeField(writer, field);
  }
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
