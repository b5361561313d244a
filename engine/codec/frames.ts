/**
 * The typed form of everything that crosses the wire. PROTOCOL.md documents each byte; this file is
 * the contract the codec encodes from and decodes to.
 */

/** The protocol version this build speaks: the first byte of every datagram. */
export const PROTOCOL_VERSION = 1;
/** The largest UDP payload we ever send or accept. */
export const DATAGRAM_SIZE_MAX = 1200;
// The limits on names and texts are the naming rules' (names.ts), which the wire carries.
export { NAME_LENGTH_MAX, TEXT_BYTES_MAX } from '../names.ts';
/** A HELLO is padded to at least this size so that no reply to it is larger (no amplification). */
export const HELLO_SIZE_MIN = 64;
export const NONCE_BYTES = 16;
export const COOKIE_BYTES = 16;
export const PROOF_BYTES = 16;
export const SESSION_ID_BYTES = 8;
/** A session id on the wire is 8 bytes; in the engine it is their 16-digit lowercase hex form. */
export type SessionId = string;

export type RefuseReason = 'bad-password' | 'name-taken' | 'bad-name' | 'room-full' | 'version';
export type LeaveReason = 'quit' | 'timeout';

// ---- Handshake packets: each is a whole datagram. ----

/** Client -> server: opens a handshake. Padded to HELLO_SIZE_MIN bytes. */
export interface HelloPacket {
  readonly type: 'hello';
  readonly clientNonce: Uint8Array;
}
/** Server -> client: a stateless cookie the client must echo; it also serves as the server's nonce. */
export interface ChallengePacket {
  readonly type: 'challenge';
  readonly clientNonce: Uint8Array;
  readonly timeSlot: number;
  readonly cookie: Uint8Array;
}
/** Client -> server: the echoed cookie, the name, and a proof that the client knows the room key. */
export interface JoinPacket {
  readonly type: 'join';
  readonly clientNonce: Uint8Array;
  readonly timeSlot: number;
  readonly cookie: Uint8Array;
  readonly proof: Uint8Array;
  readonly name: string;
}
/** Server -> client: the session is open; the proof shows the server knows the room key too. */
export interface AcceptPacket {
  readonly type: 'accept';
  readonly clientNonce: Uint8Array;
  readonly sessionId: SessionId;
  readonly proof: Uint8Array;
}
/** Server -> client: the join is refused, and why. */
export interface RefusePacket {
  readonly type: 'refuse';
  readonly clientNonce: Uint8Array;
  readonly reason: RefuseReason;
}
/** Either direction, after the handshake: a numbered packet of frames for one session. */
export interface SessionPacket {
  readonly type: 'session';
  readonly sessionId: SessionId;
  readonly packetNumber: number;
  readonly frames: readonly Frame[];
}

export type Packet = HelloPacket | ChallengePacket | JoinPacket | AcceptPacket | RefusePacket | SessionPacket;

// ---- Frames inside a session packet. ----

/** One run of acknowledged packet numbers, inclusive at both ends, `smallest <= largest`. */
export interface AckRange {
  readonly smallest: number;
  readonly largest: number;
}
/** Acknowledges packet numbers; ranges are disjoint, not adjacent, and sorted from the largest down. */
export interface AckFrame {
  readonly type: 'ack';
  readonly ranges: readonly AckRange[];
}
/** Asks for an acknowledgement and nothing else: the keepalive. */
export interface PingFrame {
  readonly type: 'ping';
}

/** Client -> server: a chat message. */
export interface SayFrame {
  readonly type: 'say';
  readonly msgSeq: number;
  readonly text: string;
}
/** Client -> server: the client leaves (the user typed QUIT). */
export interface ByeFrame {
  readonly type: 'bye';
  readonly msgSeq: number;
}
/**
 * Server -> client: the member list at `roomSeq` (the joiner's own join), in one or more frames;
 * the last one has `final` set.
 */
export interface MembersFrame {
  readonly type: 'members';
  readonly msgSeq: number;
  readonly roomSeq: number;
  readonly final: boolean;
  readonly names: readonly string[];
}
/** Server -> client: someone joined the room. */
export interface JoinedFrame {
  readonly type: 'joined';
  readonly msgSeq: number;
  readonly roomSeq: number;
  readonly name: string;
}
/** Server -> client: a message, relayed to everyone including its author (as its confirmation). */
export interface MessageFrame {
  readonly type: 'message';
  readonly msgSeq: number;
  readonly roomSeq: number;
  /** When the server sequenced it, in the server's `now()` milliseconds. */
  readonly timeMs: number;
  readonly from: string;
  readonly text: string;
}
/** Server -> client: someone left the room. */
export interface LeftFrame {
  readonly type: 'left';
  readonly msgSeq: number;
  readonly roomSeq: number;
  readonly name: string;
  readonly reason: LeaveReason;
}
/** Server -> client: the client's BYE was processed; the session ends. */
export interface GoodbyeFrame {
  readonly type: 'goodbye';
  readonly msgSeq: number;
}

/** Server -> client: the server is stopping and closes the room; the session ends. */
export interface ShutdownFrame {
  readonly type: 'shutdown';
  readonly msgSeq: number;
}

/** Frames delivered reliably, in `msgSeq` order, exactly once. */
export type ReliableFrame =
  | SayFrame
  | ByeFrame
  | MembersFrame
  | JoinedFrame
  | MessageFrame
  | LeftFrame
  | GoodbyeFrame
  | ShutdownFrame;
export type Frame = AckFrame | PingFrame | ReliableFrame;

/** A reliable frame before the link has given it a `msgSeq`. */
export type ReliableFrameBody = ReliableFrame extends infer F
  ? F extends ReliableFrame
    ? Omit<F, 'msgSeq'>
    : never
  : never;

// ---- Decoding errors: values, never exceptions. ----

export type DecodeErrorKind =
  | 'too-short'
  | 'too-long'
  | 'version'
  | 'unknown-packet-type'
  | 'unknown-frame-type'
  | 'bad-varint'
  | 'bad-utf8'
  | 'bad-name'
  | 'text-too-long'
  | 'bad-field'
  | 'bad-ack'
  | 'no-frames'
  | 'trailing-bytes';

export interface DecodeError {
  readonly kind: DecodeErrorKind;
  /** A sentence for logs: what was wrong and where. */
  readonly message: string;
  /** Byte offset in the datagram where decoding stopped. */
  readonly offset: number;
  /** Set for `version`: the version byte the datagram carried. */
  readonly version?: number;
}

export type DecodeResult =
  | { readonly ok: true; readonly packet: Packet }
  | { readonly ok: false; readonly error: DecodeError };
