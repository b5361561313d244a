import assert from '../assert.ts';
import { ByteWriter } from './bytes.ts';
import {
  frameSize,
  type PreparedFrame,
  preparedFrameSize,
  writeFrame,
  writeName,
  writePreparedFrame,
} from './encode-frames.ts';
import type { AckFrame, Packet } from './frames.ts';
import {
  COOKIE_BYTES,
  DATAGRAM_SIZE_MAX,
  HELLO_SIZE_MIN,
  NONCE_BYTES,
  PROOF_BYTES,
  PROTOCOL_VERSION,
  SESSION_ID_BYTES,
} from './frames.ts';
import {
  ACCEPT_BYTES,
  CHALLENGE_BYTES,
  JOIN_FIXED_BYTES,
  PACKET_TYPE_CODES,
  REFUSE_BYTES,
  REFUSE_REASONS,
  reasonCode,
  SESSION_HEADER_BYTES,
  sessionIdToBytes,
} from './layout.ts';

/**
 * Encoding whole packets. The size of a packet is computed first, from the same field lists as
 * `frameSize`, so that each datagram is one exact allocation and the size limit is checked before any
 * byte is written.
 */

function packetSize(packet: Packet): number {
  switch (packet.type) {
    case 'hello':
      return HELLO_SIZE_MIN;
    case 'challenge':
      return CHALLENGE_BYTES;
    case 'join':
      return JOIN_FIXED_BYTES + 1 + packet.name.length;
    case 'accept':
      return ACCEPT_BYTES;
    case 'refuse':
      return REFUSE_BYTES;
    case 'session':
      return packet.frames.reduce((size, frame) => size + frameSize(frame), SESSION_HEADER_BYTES);
  }
}

function writeFixedBytes(writer: ByteWriter, bytes: Uint8Array, expectedLength: number): void {
  if (bytes.length !== expectedLength) {
    assert.fail(`a field of ${bytes.length} bytes must have ${expectedLength}`);
  }
  writer.bytesOf(bytes);
}

function writeBody(writer: ByteWriter, packet: Packet): void {
  switch (packet.type) {
    case 'hello':
      // Zero padding makes a HELLO as large as any reply to it (no amplification).
      writeFixedBytes(writer, packet.clientNonce, NONCE_BYTES);
      writer.zeros(HELLO_SIZE_MIN - writer.offset);
      return;
    case 'challenge':
      writeFixedBytes(writer, packet.clientNonce, NONCE_BYTES);
      writer.u32(packet.timeSlot);
      writeFixedBytes(writer, packet.cookie, COOKIE_BYTES);
      return;
    case 'join':
      writeFixedBytes(writer, packet.clientNonce, NONCE_BYTES);
      writer.u32(packet.timeSlot);
      writeFixedBytes(writer, packet.cookie, COOKIE_BYTES);
      writeFixedBytes(writer, packet.proof, PROOF_BYTES);
      writeName(writer, packet.name, true);
      return;
    case 'accept':
      writeFixedBytes(writer, packet.clientNonce, NONCE_BYTES);
      writer.bytesOf(sessionIdToBytes(packet.sessionId));
      writeFixedBytes(writer, packet.proof, PROOF_BYTES);
      return;
    case 'refuse':
      writeFixedBytes(writer, packet.clientNonce, NONCE_BYTES);
      writer.u8(reasonCode(REFUSE_REASONS, packet.reason));
      return;
    case 'session':
      assert.ok(packet.frames.length >= 1, 'a SESSION packet needs at least one frame');
      writer.bytesOf(sessionIdToBytes(packet.sessionId));
      writer.u32(packet.packetNumber);
      for (const frame of packet.frames) {
        writeFrame(writer, frame);
      }
      return;
  }
}

/**
 * Encodes a packet into one datagram. A packet that breaks the contract (an invalid name, text over
 * TEXT_BYTES_MAX, a nonce of the wrong length, more than DATAGRAM_SIZE_MAX bytes in all...) is a bug in
 * the caller, and fails an assertion.
 *
 * @example encodePacket({ type: 'refuse', clientNonce: new Uint8Array(16), reason: 'room-full' }).length === 19
 */
export function encodePacket(packet: Packet): Uint8Array {
  const size = packetSize(packet);
  assert.ok(
    size <= DATAGRAM_SIZE_MAX,
    `a ${packet.type} packet of ${size} bytes exceeds ${DATAGRAM_SIZE_MAX}`,
  );
  const writer = new ByteWriter(size);
  writer.u8(PROTOCOL_VERSION);
  writer.u8(PACKET_TYPE_CODES[packet.type]);
  writeBody(writer, packet);
  assert.equal(writer.offset, size, 'the encoder computed a packet size larger than its fields');
  return writer.bytes;
}

/** A reliable frame as a link sends it: prepared once, numbered by this link. */
export interface NumberedFrame {
  readonly msgSeq: number;
  readonly prepared: PreparedFrame;
}

/**
 * A SESSION packet as the link builds it: its frames in wire order (an ACK first if any, then the
 * reliable frames, then a PING if asked), the session id already in bytes.
 */
export interface OutgoingSessionPacket {
  readonly sessionIdBytes: Uint8Array;
  readonly packetNumber: number;
  readonly ack: AckFrame | undefined;
  readonly frames: readonly NumberedFrame[];
  readonly ping: boolean;
}

/** The size of {@link encodeSessionPacket}'s datagram, without building it. */
export function sessionPacketSize(packet: OutgoingSessionPacket): number {
  let size =
    SESSION_HEADER_BYTES + (packet.ack === undefined ? 0 : frameSize(packet.ack)) + (packet.ping ? 1 : 0);
  for (const frame of packet.frames) {
    size += preparedFrameSize(frame.prepared, frame.msgSeq);
  }
  return size;
}

/**
 * Encodes a SESSION packet from prepared frames: the same bytes as `encodePacket` gives for the same
 * frames, with each frame's body copied, not encoded again.
 */
export function encodeSessionPacket(packet: OutgoingSessionPacket): Uint8Array {
  assert.ok(
    packet.ack !== undefined || packet.frames.length > 0 || packet.ping,
    'a SESSION packet needs at least one frame',
  );
  assert.equal(packet.sessionIdBytes.length, SESSION_ID_BYTES, 'a session id is 8 bytes');
  const size = sessionPacketSize(packet);
  if (!(size <= DATAGRAM_SIZE_MAX)) {
    assert.fail(`a session packet of ${size} bytes exceeds ${DATAGRAM_SIZE_MAX}`);
  }
  const writer = new ByteWriter(size);
  writer.u8(PROTOCOL_VERSION);
  writer.u8(PACKET_TYPE_CODES.session);
  writer.bytesOf(packet.sessionIdBytes);
  writer.u32(packet.packetNumber);
  if (packet.ack !== undefined) {
    writeFrame(writer, packet.ack);
  }
  for (const frame of packet.frames) {
    writePreparedFrame(writer, frame.prepared, frame.msgSeq);
  }
  if (packet.ping) {
    writeFrame(writer, { type: 'ping' });
  }
  assert.equal(writer.offset, size, 'the encoder computed a packet size larger than its fields');
  return writer.bytes;
}
