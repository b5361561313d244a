import type { DecodeErrorKind, LeaveReason, Origin, RefuseReason, SessionId } from '../codec/frames.ts';
import type { LinkStats } from '../link/link.ts';
import type { SessionDeath } from './session.ts';

/** Why the server dropped a datagram without acting on it. */
export type DropReason =
  /** The bytes are not a packet of this protocol (the detail says what was wrong). */
  | 'malformed'
  /** A session packet for a session the server does not have (ended, or never existed). */
  | 'unknown-session'
  /** A session packet from an address other than the session's: a replay, or a spoof. */
  | 'wrong-address'
  /** A JOIN whose cookie is not one this server issued to that address recently. */
  | 'bad-cookie'
  /** A JOIN for a session that has already ended (a late duplicate or a replay). */
  | 'replayed-join'
  /** A HELLO too small to answer without amplifying. */
  | 'amplification'
  /** A packet only a server sends, arriving at the server. */
  | 'unexpected'
  /** The table of recent joins is full: a WAIT `load`, no key exchange. */
  | 'busy'
  /** The session table is full (`sessionCountMax`): a WAIT `load`, no key exchange. */
  | 'full'
  /** The JOIN's host has too many unproven key exchanges: a WAIT `throttled` with its backoff. */
  | 'throttled'
  /** The key exchange budget is spent (under load): a WAIT `load`. */
  | 'overloaded'
  /** The JOIN's host holds `sessionsPerHostMax` sessions: a WAIT `host-quota`. */
  | 'host-quota'
  /** A HELLO or JOIN while the server is stopping. */
  | 'shutting-down'
  /** A JOIN whose key exchange share is not a valid one (the exchange refuses it). */
  | 'bad-share'
  /** A session packet that does not verify under its session's key: forged, corrupted, or misdirected. */
  | 'unauthentic'
  /** A session packet whose number was seen before or is older than the replay window. */
  | 'replayed'
  /** A session packet that verified but whose frames do not decode: the peer is broken. */
  | 'malformed-frames';

/**
 * Everything the server does, as events a log can print (the original printed every action). The room
 * emits them with xstate's `emit`; subscribe with `server.on('*', …)` or by type.
 */
export type ServerEvent =
  /** A CHALLENGE sent: for a HELLO, or afresh for a JOIN whose cookie's slot had passed. */
  | {
      readonly type: 'handshake.challenged';
      readonly address: string;
      readonly reason: 'hello' | 'cookie-expired';
    }
  /**
   * A JOIN's key exchange is done and its session opened (the ACCEPT sent); its client becomes a member
   * once its first packet, sealed with the session's keys, claims a name.
   */
  | {
      readonly type: 'session.opened';
      readonly address: string;
      readonly sessionId: SessionId;
      /** The client nonce of the handshake (hex). */
      readonly handshake: string;
    }
  | {
      readonly type: 'member.joined';
      readonly roomSeq: number;
      readonly name: string;
      readonly address: string;
      readonly sessionId: SessionId;
      /** The client nonce of the handshake that opened it (hex): one handshake, one session. */
      readonly handshake: string;
      readonly memberCount: number;
    }
  | {
      readonly type: 'join.refused';
      readonly address: string;
      readonly name: string;
      readonly reason: RefuseReason;
    }
  | {
      readonly type: 'message.received';
      readonly roomSeq: number;
      /** The author's session: a name can pass from one member to another over time. */
      readonly sessionId: SessionId;
      readonly from: string;
      /** The author's origin and number for the text: a text resent after a rejoin has the same. */
      readonly origin: Origin;
      readonly line: number;
      readonly text: string;
      readonly byteCount: number;
      readonly timeMs: number;
    }
  | { readonly type: 'message.relayed'; readonly roomSeq: number; readonly recipientCount: number }
  /** A member sends faster than its share (`sayRatePerSecond`, `sayBurst`): its texts wait their turn. */
  | {
      readonly type: 'member.paced';
      readonly name: string;
      readonly address: string;
      readonly sessionId: SessionId;
      readonly ratePerSecond: number;
      readonly burst: number;
    }
  /**
   * Texts wait for the room's share (`roomSayRatePerSecond`, `roomSayBurst`): the members together send
   * faster than it, and take turns. Said at most once every ten seconds.
   */
  | {
      readonly type: 'room.busy';
      /** Texts waiting for the room, and the members they are from, when it was said. */
      readonly waitingCount: number;
      readonly authorCount: number;
      readonly ratePerSecond: number;
      readonly burst: number;
    }
  | {
      readonly type: 'member.left';
      readonly roomSeq: number;
      readonly name: string;
      readonly address: string;
      readonly sessionId: SessionId;
      readonly reason: LeaveReason;
      /** For a timeout: what the link saw. */
      readonly cause?: SessionDeath;
      readonly memberCount: number;
    }
  | {
      readonly type: 'session.ended';
      readonly sessionId: SessionId;
      readonly address: string;
      /** What the session's link counted over its life. */
      readonly stats: Readonly<LinkStats>;
    }
  /** The server is stopping and has told its members. */
  | { readonly type: 'server.closing'; readonly memberCount: number }
  /** The server has stopped: every member confirmed the notice, or the shutdown timeout passed. */
  | { readonly type: 'server.stopped'; readonly memberCount: number; readonly confirmedCount: number }
  | {
      readonly type: 'datagram.dropped';
      readonly address: string;
      readonly reason: DropReason;
      readonly detail?: DecodeErrorKind | string;
    };

/** Counters the server keeps; `datagramsDropped` is by reason. */
export interface ServerStats {
  datagramsReceived: number;
  datagramsDropped: Record<DropReason, number>;
  joinsRefused: number;
  messagesRelayed: number;
  /** The most the room has held at once: a simulation checks them against the limits. */
  sessionCountHighWater: number;
  memberCountHighWater: number;
  recentJoinCountHighWater: number;
}

export function createServerStats(): ServerStats {
  return {
    datagramsReceived: 0,
    datagramsDropped: {
      malformed: 0,
      'unknown-session': 0,
      'wrong-address': 0,
      'bad-cookie': 0,
      'replayed-join': 0,
      amplification: 0,
      unexpected: 0,
      busy: 0,
      full: 0,
      throttled: 0,
      overloaded: 0,
      'host-quota': 0,
      'shutting-down': 0,
      'bad-share': 0,
      unauthentic: 0,
      replayed: 0,
      'malformed-frames': 0,
    },
    joinsRefused: 0,
    messagesRelayed: 0,
    sessionCountHighWater: 0,
    memberCountHighWater: 0,
    recentJoinCountHighWater: 0,
  };
}
