/**
 * The typed form of everything that crosses the wire. PROTOCOL.md documents each byte; this file is
 * the contract the codec encodes from and decodes to.
 */

/** The protocol version this build speaks: the first byte of every datagram. */
export const PROTOCOL_VERSION = 2;
/** The version before: a client of it is answered in its own format and told to upgrade. */
export const PROTOCOL_VERSION_1 = 1;
/** The largest UDP payload we ever send or accept. */
export const DATAGRAM_SIZE_MAX = 1200;
// The limits on names and texts are the naming rules' (names.ts), which the wire carries.
export { NAME_LENGTH_MAX, TEXT_BYTES_MAX } from '../names.ts';
/** A HELLO is padded to at least this size so that no reply to it is larger (no amplification). */
export const HELLO_SIZE_MIN = 96;
/** A version 1 HELLO's minimum, for answering one with a version 1 REFUSE. */
export const HELLO_V1_SIZE_MIN = 64;
/** A JOIN is padded to at least this size: the ACCEPT that answers it is smaller. */
export const JOIN_SIZE_MIN = 160;
export const NONCE_BYTES = 16;
export const COOKIE_BYTES = 16;
export const SESSION_ID_BYTES = 8;
/** The server's identity: an Ed25519 public key. */
export const SERVER_KEY_BYTES = 32;
/** A key exchange share (CPace's Ya or Yb, a ristretto255 element). */
export const SHARE_BYTES = 32;
/** An Ed25519 signature. */
export const SIGNATURE_BYTES = 64;
/** What the server gives a client to recognise a reset of its session (a stateless reset). */
export const RESET_TOKEN_BYTES = 16;
/** The authentication tag that ends every sealed part (ChaCha20-Poly1305). */
export const TAG_BYTES = 16;
/** A session id on the wire is 8 bytes; in the engine it is their 16-digit lowercase hex form. */
export type SessionId = string;
/**
 * A client's origin: 8 bytes that name it across its sessions (16 lowercase hex digits in the engine,
 * like a session id), a hash of the origin secret it draws once and claims in every session it opens.
 * With the client's own line numbers it names each text, so that members recognise a text resent after
 * a rejoin and show it once; and the secret proves a rejoin is the client's own.
 */
export type Origin = string;
export const ORIGIN_BYTES = 8;
/** The secret behind an origin: it travels only in the CLAIM, sealed to the server. */
export const ORIGIN_SECRET_BYTES = 16;

/**
 * Why a login failed, as the client reports it. Only `version` travels in a (plain) REFUSE packet; the
 * room's refusals travel sealed in a REFUSED frame; `bad-password` is never sent: a client concludes it
 * when answers came and none could be opened with its key.
 */
export type RefuseReason =
  | 'bad-password'
  | 'name-taken'
  | 'bad-name'
  | 'room-full'
  | 'version'
  | 'server-key'
  | WaitReason;
/**
 * Why the server will not run a key exchange for a JOIN now (a WAIT packet): its budget of key
 * exchanges is spent (`load`), the JOIN's address has run too many that never proved the password
 * (`throttled`), or it holds as many sessions as one address may (`host-quota`).
 */
export type WaitReason = 'load' | 'throttled' | 'host-quota';
/** The refusals a REFUSED frame carries, after the key exchange proved both sides. */
export type RoomRefusal = 'name-taken' | 'bad-name' | 'room-full';
export type LeaveReason = 'quit' | 'timeout';

// ---- Handshake packets: each is a whole datagram. ----

/** Client -> server: opens a handshake. Padded to HELLO_SIZE_MIN bytes. */
export interface HelloPacket {
  readonly type: 'hello';
  readonly clientNonce: Uint8Array;
}
/**
 * Server -> client: a stateless cookie the client must echo, and the server's identity key, which the
 * key exchange is bound to (and which a client that pinned the server checks).
 */
export interface ChallengePacket {
  readonly type: 'challenge';
  readonly clientNonce: Uint8Array;
  readonly timeSlot: number;
  readonly cookie: Uint8Array;
  readonly serverKey: Uint8Array;
}
/** Client -> server: the echoed cookie and the client's key exchange share. Padded to JOIN_SIZE_MIN. */
export interface JoinPacket {
  readonly type: 'join';
  readonly clientNonce: Uint8Array;
  readonly timeSlot: number;
  readonly cookie: Uint8Array;
  readonly share: Uint8Array;
}
/**
 * Server -> client: the session id, the server's share, and, sealed with a key only the two ends of a
 * key exchange with the right password hold, the reset token and the server's signature.
 */
export interface AcceptPacket {
  readonly type: 'accept';
  readonly clientNonce: Uint8Array;
  readonly sessionId: SessionId;
  readonly share: Uint8Array;
  /** The sealed reset token and signature, with their tag. */
  readonly sealed: Uint8Array;
}
/** Server -> client: the handshake is refused because the client speaks another version. Not authenticated. */
export interface RefusePacket {
  readonly type: 'refuse';
  readonly clientNonce: Uint8Array;
  readonly reason: RefuseReason;
}
/**
 * Server -> client: the server will not run the key exchange for this JOIN now; the client may try
 * again after `retryAfterMs`. Not authenticated (nothing is shared yet), so a client waits at most a
 * bounded number of times, and takes a genuine ACCEPT that comes meanwhile.
 */
export interface WaitPacket {
  readonly type: 'wait';
  readonly clientNonce: Uint8Array;
  readonly reason: WaitReason;
  readonly retryAfterMs: number;
}
/** Server -> client: the server holds no session with this id (it restarted); the token proves it. */
export interface ResetPacket {
  readonly type: 'reset';
  readonly sessionId: SessionId;
  readonly token: Uint8Array;
}
/**
 * Either direction, after the handshake, as it arrives: the header in clear (the associated data of the
 * seal) and the sealed frames. Only the session's keys make frames of it ({@link SessionPacket}).
 */
export interface SealedSessionPacket {
  readonly type: 'session';
  readonly sessionId: SessionId;
  readonly packetNumber: number;
  /** The header's bytes, a view into the datagram. */
  readonly header: Uint8Array;
  /** The sealed frames with their tag, a view into the datagram. */
  readonly sealed: Uint8Array;
}
/** A session packet once opened: its number and frames. */
export interface SessionPacket {
  readonly sessionId: SessionId;
  readonly packetNumber: number;
  readonly frames: readonly Frame[];
}

export type Packet =
  | HelloPacket
  | ChallengePacket
  | JoinPacket
  | AcceptPacket
  | RefusePacket
  | ResetPacket
  | WaitPacket
  | SealedSessionPacket;

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

/**
 * Client -> server, the first frame of every session: the name the client asks for, and its origin
 * secret (the same in every session of the client).
 */
export interface ClaimFrame {
  readonly type: 'claim';
  readonly msgSeq: number;
  readonly name: string;
  readonly originSecret: Uint8Array;
}
/** Server -> client: the room refuses the claim; the session ends. */
export interface RefusedFrame {
  readonly type: 'refused';
  readonly msgSeq: number;
  readonly reason: RoomRefusal;
}
/**
 * Client -> server: a chat message, with the client's number for it (from 1, counted across the
 * client's sessions: a text resent after a rejoin keeps its number).
 */
export interface SayFrame {
  readonly type: 'say';
  readonly msgSeq: number;
  readonly line: number;
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
  /** When the server sequenced it: the server's wall clock (`Environment.wallNow`), in milliseconds since the epoch. */
  readonly timeMs: number;
  readonly from: string;
  /** The author's origin and number for the text (its CLAIM's and SAY's): who resent what. */
  readonly origin: Origin;
  readonly line: number;
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

/**
 * Server -> client: the member's texts are coming faster than the room takes them from one member:
 * at most `burst` at once, then `ratePerSecond`. The rest wait their turn at the server (and the client
 * holds back what is beyond its window of {@link SAYS_UNCONFIRMED_MAX}).
 */
export interface PacedFrame {
  readonly type: 'paced';
  readonly msgSeq: number;
  readonly ratePerSecond: number;
  readonly burst: number;
}

/**
 * Texts a client has sent on a session and not yet seen confirmed, at most: the server holds as many
 * of a member's texts waiting for their turn, and takes a member past it for a flooder.
 */
export const SAYS_UNCONFIRMED_MAX = 64;

/** Server -> client: the server is stopping and closes the room; the session ends. */
export interface ShutdownFrame {
  readonly type: 'shutdown';
  readonly msgSeq: number;
}

/** Frames delivered reliably, in `msgSeq` order, exactly once. */
export type ReliableFrame =
  | ClaimFrame
  | RefusedFrame
  | SayFrame
  | ByeFrame
  | MembersFrame
  | JoinedFrame
  | MessageFrame
  | LeftFrame
  | GoodbyeFrame
  | ShutdownFrame
  | PacedFrame;
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

export type FramesResult =
  | { readonly ok: true; readonly frames: readonly Frame[] }
  | { readonly ok: false; readonly error: DecodeError };
