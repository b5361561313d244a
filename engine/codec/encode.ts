import assert from '../assert.ts';
import { ByteWriter } from './bytes.ts';
import {
  frameSize,
  type PreparedFrame,
  preparedFrameSize,
  writeFrame,
  writePreparedFrame,
} from './encode-frames.ts';
import type { AckFrame, Packet } from './frames.ts';
import {
  COOKIE_BYTES,
  DATAGRAM_SIZE_MAX,
  HELLO_SIZE_MIN,
  JOIN_SIZE_MIN,
  NONCE_BYTES,
  PROTOCOL_VERSION,
  PROTOCOL_VERSION_1,
  RESET_TOKEN_BYTES,
  SERVER_KEY_BYTES,
  SESSION_ID_BYTES,
  SHARE_BYTES,
  TAG_BYTES,
} from './frames.ts';
import {
  ACCEPT_BYTES,
  ACCEPT_CLEAR_BYTES,
  ACCEPT_SECRET_BYTES,
  CHALLENGE_BYTES,
  PACKET_TYPE_CODES,
  REFUSE_BYTES,
  REFUSE_REASONS,
  RESET_BYTES,
  reasonCode,
  SESSION_HEADER_BYTES,
  SESSION_OVERHEAD_BYTES,
  sessionIdToBytes,
  WAIT_BYTES,
  WAIT_REASONS,
} from './layout.ts';

/**
 * Encoding whole packets. The size of a packet is computed first, so that each datagram is one exact
 * allocation and the size limit is checked before any byte is written. SESSION packets are encoded
 * by their link in two parts, the header and the frames, which the link seals (see
 * {@link encodeSessionPlaintext}).
 */

type HandshakePacket = Exclude<Packet, { readonly type: 'session' }>;

function packetSize(packet: HandshakePacket): number {
  switch (packet.type) {
    case 'hello':
      return HELLO_SIZE_MIN;
    case 'challenge':
      return CHALLENGE_BYTES;
    case 'join':
      return JOIN_SIZE_MIN;
    case 'accept':
      return ACCEPT_BYTES;
    case 'refuse':
      return REFUSE_BYTES;
    case 'reset':
      return RESET_BYTES;
    case 'wait':
      return WAIT_BYTES;
  }
}

function writeFixedBytes(writer: ByteWriter, bytes: Uint8Array, expectedLength: number): void {
  if (bytes.length !== expectedLength) {
    assert.fail(`a field of ${bytes.length} bytes must have ${expectedLength}`);
  }
  writer.bytesOf(bytes);
}

function writeBody(writer: ByteWriter, packet: HandshakePacket): void {
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
      writeFixedBytes(writer, packet.serverKey, SERVER_KEY_BYTES);
      return;
    case 'join':
      writeFixedBytes(writer, packet.clientNonce, NONCE_BYTES);
      writer.u32(packet.timeSlot);
      writeFixedBytes(writer, packet.cookie, COOKIE_BYTES);
      writeFixedBytes(writer, packet.share, SHARE_BYTES);
      // Zero padding: the ACCEPT that answers a JOIN is smaller than it (no amplification).
      writer.zeros(JOIN_SIZE_MIN - writer.offset);
      return;
    case 'accept':
      writeAcceptClear(writer, packet.clientNonce, packet.sessionId, packet.share);
      writeFixedBytes(writer, packet.sealed, ACCEPT_SECRET_BYTES + TAG_BYTES);
      return;
    case 'refuse':
      writeFixedBytes(writer, packet.clientNonce, NONCE_BYTES);
      writer.u8(reasonCode(REFUSE_REASONS, packet.reason));
      return;
    case 'reset':
      writer.bytesOf(sessionIdToBytes(packet.sessionId));
      writeFixedBytes(writer, packet.token, RESET_TOKEN_BYTES);
      return;
    case 'wait':
      writeFixedBytes(writer, packet.clientNonce, NONCE_BYTES);
      writer.u8(reasonCode(WAIT_REASONS, packet.reason));
      writer.u32(packet.retryAfterMs);
      return;
  }
}

function writeAcceptClear(
  writer: ByteWriter,
  clientNonce: Uint8Array,
  sessionId: string,
  share: Uint8Array,
): void {
  writeFixedBytes(writer, clientNonce, NONCE_BYTES);
  writer.bytesOf(sessionIdToBytes(sessionId));
  writeFixedBytes(writer, share, SHARE_BYTES);
}

/**
 * The clear part of an ACCEPT, from its version byte to the end of the server's share: the associated
 * data its sealed part is bound to.
 */
export function acceptClearBytes(clientNonce: Uint8Array, sessionId: string, share: Uint8Array): Uint8Array {
  const writer = new ByteWriter(ACCEPT_CLEAR_BYTES);
  writer.u8(PROTOCOL_VERSION);
  writer.u8(PACKET_TYPE_CODES.accept);
  writeAcceptClear(writer, clientNonce, sessionId, share);
  return writer.bytes;
}

/**
 * Encodes a packet into one datagram. A packet that breaks the contract (an invalid name, text over
 * TEXT_BYTES_MAX, a nonce of the wrong length, more than DATAGRAM_SIZE_MAX bytes in all...) is a bug in
 * the caller, and fails an assertion.
 *
 * @example encodePacket({ type: 'refuse', clientNonce: new Uint8Array(16), reason: 'room-full' }).length === 19
 */
export function encodePacket(packet: HandshakePacket, version: number = PROTOCOL_VERSION): Uint8Array {
  const size = packetSize(packet);
  assert.ok(
    size <= DATAGRAM_SIZE_MAX,
    `a ${packet.type} packet of ${size} bytes exceeds ${DATAGRAM_SIZE_MAX}`,
  );
  const writer = new ByteWriter(size);
  // Another version only for REFUSE 'version', in the format of the client being refused.
  if (
    !(
      version === PROTOCOL_VERSION ||
      (version === PROTOCOL_VERSION_1 && packet.type === 'refuse' && packet.reason === 'version')
    )
  ) {
    assert.fail(
      `only a REFUSE 'version' is written in version ${PROTOCOL_VERSION_1}, not a ${packet.type} in ${version}`,
    );
  }
  writer.u8(version);
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

/** The size of the datagram a SESSION packet makes once sealed, without building it. */
export function sessionPacketSize(packet: OutgoingSessionPacket): number {
  let size =
    SESSION_OVERHEAD_BYTES + (packet.ack === undefined ? 0 : frameSize(packet.ack)) + (packet.ping ? 1 : 0);
  for (const frame of packet.frames) {
    size += preparedFrameSize(frame.prepared, frame.msgSeq);
  }
  return size;
}

/** A SESSION packet before its seal: the header (the associated data) and the frames (the plaintext). */
export interface SessionPlaintext {
  readonly header: Uint8Array;
  readonly plaintext: Uint8Array;
}

/**
 * Encodes a SESSION packet's header and frames, for its link to seal: the datagram is the header and
 * the sealed frames. Its sealed size is checked against DATAGRAM_SIZE_MAX first.
 */
export function encodeSessionPlaintext(packet: OutgoingSessionPacket): SessionPlaintext {
  assert.ok(
    packet.ack !== undefined || packet.frames.length > 0 || packet.ping,
    'a SESSION packet needs at least one frame',
  );
  assert.equal(packet.sessionIdBytes.length, SESSION_ID_BYTES, 'a session id is 8 bytes');
  const size = sessionPacketSize(packet);
  if (!(size <= DATAGRAM_SIZE_MAX)) {
    assert.fail(`a session packet of ${size} bytes exceeds ${DATAGRAM_SIZE_MAX}`);
  }
  const writer = new ByteWriter(size - TAG_BYTES);
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
  assert.equal(writer.offset, size - TAG_BYTES, 'the encoder computed a packet size larger than its fields');
  const bytes = writer.bytes;
  return { header: bytes.subarray(0, SESSION_HEADER_BYTES), plaintext: bytes.subarray(SESSION_HEADER_BYTES) };
}
