/**
 * The wire codec: packets to datagrams and back. Pure and total: `encodePacket` asserts the caller's
 * invariants, `decodePacket` returns a typed error for any bytes it cannot accept and never throws.
 * SESSION packets are decoded in two steps: `decodePacket` reads the header and leaves the sealed
 * frames, which only the session's keys open; `decodeFrames` reads the opened frames. PROTOCOL.md
 * documents the layout byte by byte.
 */
export { decodeFrames, decodePacket, peekForeignHello } from './decode.ts';
export {
  acceptClearBytes,
  encodePacket,
  encodeSessionPlaintext,
  type NumberedFrame,
  type OutgoingSessionPacket,
  type SessionPlaintext,
  sessionPacketSize,
} from './encode.ts';
export { frameSize, type PreparedFrame, preparedFrameSize, prepareFrame } from './encode-frames.ts';
export {
  ACK_RANGE_COUNT_MAX,
  SESSION_HEADER_BYTES,
  SESSION_OVERHEAD_BYTES,
  sessionIdFromBytes,
  sessionIdToBytes,
} from './layout.ts';
