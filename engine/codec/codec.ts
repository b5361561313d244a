/**
 * The wire codec: packets to datagrams and back. Pure and total: `encodePacket` asserts the caller's
 * invariants, `decodePacket` returns a typed error for any bytes it cannot accept and never throws.
 * PROTOCOL.md documents the layout byte by byte.
 */
export { decodePacket, peekHelloNonce } from './decode.ts';
export {
  encodePacket,
  encodeSessionPacket,
  type NumberedFrame,
  type OutgoingSessionPacket,
  sessionPacketSize,
} from './encode.ts';
export { frameSize, type PreparedFrame, preparedFrameSize, prepareFrame } from './encode-frames.ts';
export { ACK_RANGE_COUNT_MAX, SESSION_HEADER_BYTES, sessionIdFromBytes, sessionIdToBytes } from './layout.ts';
