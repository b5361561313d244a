import { decodePacket, encodePacket, peekHelloNonce } from '../codec/codec.ts';
import {
  type JoinPacket,
  type MembersFrame,
  type RefuseReason,
  type ReliableFrameBody,
  SESSION_ID_BYTES,
  type SessionId,
  type SessionPacket,
} from '../codec/frames.ts';
import { macEqual, makeAcceptProof, makeJoinProof, toHex } from '../crypto.ts';
import type { LinkStats } from '../link/link.ts';
import type { LinkConfig } from '../link/link-config.ts';
import { nameKey, utf8ByteLength, validateName } from '../names.ts';
import { type Environment, formatAddress, type PeerAddress } from '../port.ts';
import {
  COOKIE_SECRET_BYTES,
  type CookieSecrets,
  challengeFor,
  cookieIsCurrent,
  cookieIsValid,
  rotateSecrets,
} from './handshake.ts';
import { createServerStats, type DropReason, type ServerEvent, type ServerStats } from './server-events.ts';
import type { SessionDeath } from './session-machine.ts';

/** Every limit of the server, named. */
export interface ServerConfig {
  /** Members the room holds at most; a join past it is refused with `room-full`. */
  readonly memberCountMax: number;
  /** Sessions at most, members and those still saying goodbye. */
  readonly sessionCountMax: number;
  /** Length of a cookie time slot; a cookie is good for one to two slots. */
  readonly cookieSlotMs: number;
  /** Recent joins remembered (to answer duplicates and refuse replays) at most. */
  readonly recentJoinCountMax: number;
  /**
   * A member whose client never sent a single packet after its ACCEPT (every ACCEPT was lost and the
   * client gave up) is announced as left after this long, instead of holding its name until the idle
   * timeout. Longer than a client's whole handshake, so that a client still retrying gets in.
   */
  readonly firstContactTimeoutMs: number;
  /**
   * A stopping server tells every member and waits at most this long for their acknowledgements
   * (the link retransmits meanwhile), then stops whatever is unconfirmed.
   */
  readonly shutdownTimeoutMs: number;
  /**
   * Names per MEMBERS frame at most: 30 names of 32 characters stay well inside one datagram. A
   * longer member list is split over several frames.
   */
  readonly membersPerFrameMax: number;
  readonly link: LinkConfig;
}

export interface SessionRecord {
  readonly sessionId: SessionId;
  readonly address: PeerAddress;
  readonly addressKey: string;
  readonly name: string;
  /** False once the member has quit and the session is only saying goodbye. */
  readonly member: boolean;
  /** The client nonce of the JOIN that opened it, hex: a repeated JOIN gets this session again. */
  readonly nonceKey: string;
}

export interface RoomState {
  readonly config: ServerConfig;
  readonly roomKey: Uint8Array;
  readonly env: Environment;
  readonly secrets: CookieSecrets;
  readonly sessions: ReadonlyMap<SessionId, SessionRecord>;
  /** Members by case-folded name, in the order they joined. */
  readonly members: ReadonlyMap<string, SessionId>;
  /** Client nonces of recent joins, with when they may be forgotten. */
  readonly recentJoins: ReadonlyMap<string, { readonly sessionId: SessionId; readonly expiresAtMs: number }>;
  /** The number of the last room event (joined, message, left); the room's single order. */
  readonly roomSeq: number;
  /** Counters: the one mutable part, owned by the room actor alone. */
  readonly stats: ServerStats;
  /** Set once the server is stopping: how many members were told, and how many have confirmed. */
  readonly shutdown: ShutdownProgress | undefined;
}

/** How the shutdown notice is faring. */
export interface ShutdownProgress {
  readonly memberCount: number;
  readonly confirmedCount: number;
}

/** What the room machine carries out for a step of the room logic, in order. */
export type RoomEffect =
  | { readonly kind: 'send'; readonly datagram: Uint8Array; readonly to: PeerAddress }
  | { readonly kind: 'emit'; readonly event: ServerEvent }
  | { readonly kind: 'spawn'; readonly sessionId: SessionId; readonly address: PeerAddress }
  | { readonly kind: 'forward'; readonly sessionId: SessionId; readonly packet: SessionPacket }
  | { readonly kind: 'deliver'; readonly sessionId: SessionId; readonly frames: readonly ReliableFrameBody[] }
  | { readonly kind: 'goodbye'; readonly sessionId: SessionId }
  | { readonly kind: 'shutdown'; readonly sessionId: SessionId }
  | { readonly kind: 'stop'; readonly sessionId: SessionId };

export interface RoomStep {
  readonly state: RoomState;
  readonly effects: readonly RoomEffect[];
}

/** A room with nobody in it, its first cookie secret drawn from the environment. */
export function createRoomState(config: ServerConfig, roomKey: Uint8Array, env: Environment): RoomState {
  return {
    config,
    roomKey,
    env,
    secrets: {
      slot: Math.floor(env.now() / config.cookieSlotMs),
      current: env.random(COOKIE_SECRET_BYTES),
      previous: undefined,
    },
    sessions: new Map(),
    members: new Map(),
    recentJoins: new Map(),
    roomSeq: 0,
    stats: createServerStats(),
    shutdown: undefined,
  };
}

function drop(state: RoomState, from: PeerAddress, reason: DropReason, detail?: string): RoomStep {
  state.stats.datagramsDropped[reason] += 1;
  const event: ServerEvent =
    detail === undefined
      ? { type: 'datagram.dropped', address: formatAddress(from), reason }
      : { type: 'datagram.dropped', address: formatAddress(from), reason, detail };
  return { state, effects: [{ kind: 'emit', event }] };
}

/** A datagram arrived at the server. */
export function onDatagram(state: RoomState, datagram: Uint8Array, from: PeerAddress): RoomStep {
  state.stats.datagramsReceived += 1;
  const decoded = decodePacket(datagram);
  if (!decoded.ok) {
    const stepped = drop(state, from, 'malformed', decoded.error.kind);
    const nonce = decoded.error.kind === 'version' ? peekHelloNonce(datagram) : undefined;
    if (nonce === undefined) {
      return stepped;
    }
    // A client of another version learns why it gets no challenge; the reply is smaller than a HELLO.
    const refuse = encodePacket({ type: 'refuse', clientNonce: nonce, reason: 'version' });
    return { state, effects: [...stepped.effects, { kind: 'send', datagram: refuse, to: from }] };
  }
  const packet = decoded.packet;
  if (state.shutdown !== undefined && (packet.type === 'hello' || packet.type === 'join')) {
    return drop(state, from, 'shutting-down', packet.type);
  }
  switch (packet.type) {
    case 'hello': {
      const secrets = rotateSecrets(state.secrets, slotAt(state), state.env.random);
      const challenge = encodePacket(challengeFor(secrets, formatAddress(from), packet.clientNonce));
      if (challenge.length > datagram.length) {
        return drop(state, from, 'amplification');
      }
      return {
        state: secrets === state.secrets ? state : { ...state, secrets },
        effects: [
          { kind: 'send', datagram: challenge, to: from },
          {
            kind: 'emit',
            event: { type: 'handshake.challenged', address: formatAddress(from), reason: 'hello' },
          },
        ],
      };
    }
    case 'join':
      return onJoin(state, packet, from);
    case 'session':
      return onSessionPacket(state, packet, from);
    case 'challenge':
    case 'accept':
    case 'refuse':
      return drop(state, from, 'unexpected', packet.type);
  }
}

function slotAt(state: RoomState): number {
  return Math.floor(state.env.now() / state.config.cookieSlotMs);
}

function onSessionPacket(state: RoomState, packet: SessionPacket, from: PeerAddress): RoomStep {
  const record = state.sessions.get(packet.sessionId);
  if (record === undefined) {
    return drop(state, from, 'unknown-session');
  }
  if (record.addressKey !== formatAddress(from)) {
    return drop(state, from, 'wrong-address', `session ${packet.sessionId} belongs to ${record.addressKey}`);
  }
  return { state, effects: [{ kind: 'forward', sessionId: record.sessionId, packet }] };
}

function refuse(state: RoomState, join: JoinPacket, from: PeerAddress, reason: RefuseReason): RoomStep {
  state.stats.joinsRefused += 1;
  const address = formatAddress(from);
  return {
    state,
    effects: [
      {
        kind: 'send',
        datagram: encodePacket({ type: 'refuse', clientNonce: join.clientNonce, reason }),
        to: from,
      },
      { kind: 'emit', event: { type: 'join.refused', address, name: join.name, reason } },
    ],
  };
}

function onJoin(stateBefore: RoomState, join: JoinPacket, from: PeerAddress): RoomStep {
  const secrets = rotateSecrets(stateBefore.secrets, slotAt(stateBefore), stateBefore.env.random);
  const state = secrets === stateBefore.secrets ? stateBefore : { ...stateBefore, secrets };
  const address = formatAddress(from);
  const nonceKey = toHex(join.clientNonce);
  const admitted = findAdmitted(state, address, nonceKey);
  if (admitted !== undefined) {
    // The client did not get its ACCEPT (or the JOIN was duplicated): the same session again, proved
    // over the cookie this JOIN carries, which is a fresh one if the first expired while it retried.
    // The answer goes to the address the session belongs to and is smaller than the JOIN.
    const proof = makeAcceptProof(state.roomKey, join.clientNonce, join.cookie, admitted.sessionId);
    const accept = encodePacket({
      type: 'accept',
      clientNonce: join.clientNonce,
      sessionId: admitted.sessionId,
      proof,
    });
    return { state, effects: [{ kind: 'send', datagram: accept, to: from }] };
  }
  if (!cookieIsValid(secrets, address, join)) {
    if (!cookieIsCurrent(secrets, join)) {
      // A cookie from a slot already forgotten: the client took long (its JOIN was lost, or slow).
      // A fresh challenge, stateless and smaller than the JOIN, lets it try again.
      const challenge = encodePacket(challengeFor(secrets, address, join.clientNonce));
      return {
        state,
        effects: [
          { kind: 'send', datagram: challenge, to: from },
          { kind: 'emit', event: { type: 'handshake.challenged', address, reason: 'cookie-expired' } },
        ],
      };
    }
    return drop(state, from, 'bad-cookie');
  }
  if (state.recentJoins.has(nonceKey)) {
    return drop(state, from, 'replayed-join');
  }
  // The name before the proof: a proof over a name the client cannot have meant would be refused as a
  // wrong password, which would mislead; and "bad name" tells someone without the password nothing.
  if (!validateName(join.name).ok) {
    return refuse(state, join, from, 'bad-name');
  }
  if (!macEqual(makeJoinProof(state.roomKey, join.clientNonce, join.cookie, join.name), join.proof)) {
    return refuse(state, join, from, 'bad-password');
  }
  if (state.members.has(nameKey(join.name))) {
    return refuse(state, join, from, 'name-taken');
  }
  if (
    state.members.size >= state.config.memberCountMax ||
    state.sessions.size >= state.config.sessionCountMax
  ) {
    return refuse(state, join, from, 'room-full');
  }
  const nowMs = state.env.now();
  const recentJoins = pruneRecentJoins(state.recentJoins, nowMs);
  if (recentJoins.size >= state.config.recentJoinCountMax) {
    return drop(state, from, 'busy');
  }
  return admit({ ...state, recentJoins }, join, from, nonceKey);
}

/** The live member session a JOIN with this nonce from this address already opened, if any. */
function findAdmitted(state: RoomState, address: string, nonceKey: string): SessionRecord | undefined {
  for (const record of state.sessions.values()) {
    if (record.member && record.addressKey === address && record.nonceKey === nonceKey) {
      return record;
    }
  }
  return undefined;
}

function pruneRecentJoins(recentJoins: RoomState['recentJoins'], nowMs: number): RoomState['recentJoins'] {
  let pruned: Map<string, { readonly sessionId: SessionId; readonly expiresAtMs: number }> | undefined;
  for (const [nonce, entry] of recentJoins) {
    if (entry.expiresAtMs <= nowMs) {
      pruned ??= new Map(recentJoins);
      pruned.delete(nonce);
    }
  }
  return pruned ?? recentJoins;
}

function newSessionId(state: RoomState): SessionId {
  for (;;) {
    const sessionId = toHex(state.env.random(SESSION_ID_BYTES));
    if (!state.sessions.has(sessionId)) {
      return sessionId;
    }
  }
}

function admit(state: RoomState, join: JoinPacket, from: PeerAddress, nonceKey: string): RoomStep {
  const sessionId = newSessionId(state);
  const proof = makeAcceptProof(state.roomKey, join.clientNonce, join.cookie, sessionId);
  const accept = encodePacket({ type: 'accept', clientNonce: join.clientNonce, sessionId, proof });
  const record: SessionRecord = {
    sessionId,
    address: from,
    addressKey: formatAddress(from),
    name: join.name,
    member: true,
    nonceKey,
  };
  const roomSeq = state.roomSeq + 1;
  const others = [...state.members.values()];
  const members = new Map(state.members).set(nameKey(join.name), sessionId);
  const sessions = new Map(state.sessions).set(sessionId, record);
  const nowMs = state.env.now();
  const recentJoins = new Map(state.recentJoins).set(nonceKey, {
    sessionId,
    expiresAtMs: nowMs + 2 * state.config.cookieSlotMs,
  });
  const names = [...members.values()].map((id) => sessions.get(id)?.name ?? id);
  const effects: RoomEffect[] = [
    { kind: 'spawn', sessionId, address: from },
    { kind: 'send', datagram: accept, to: from },
    { kind: 'deliver', sessionId, frames: membersFrames(roomSeq, names, state.config.membersPerFrameMax) },
  ];
  for (const other of others) {
    effects.push({
      kind: 'deliver',
      sessionId: other,
      frames: [{ type: 'joined', roomSeq, name: join.name }],
    });
  }
  effects.push({
    kind: 'emit',
    event: {
      type: 'member.joined',
      roomSeq,
      name: join.name,
      address: record.addressKey,
      sessionId,
      handshake: nonceKey,
      memberCount: members.size,
    },
  });
  const stats = state.stats;
  stats.sessionCountHighWater = Math.max(stats.sessionCountHighWater, sessions.size);
  stats.memberCountHighWater = Math.max(stats.memberCountHighWater, members.size);
  stats.recentJoinCountHighWater = Math.max(stats.recentJoinCountHighWater, recentJoins.size);
  return { state: { ...state, sessions, members, recentJoins, roomSeq }, effects };
}

function membersFrames(
  roomSeq: number,
  names: readonly string[],
  perFrameMax: number,
): Omit<MembersFrame, 'msgSeq'>[] {
  const frames: Omit<MembersFrame, 'msgSeq'>[] = [];
  for (let start = 0; start < names.length; start += perFrameMax) {
    const chunk = names.slice(start, start + perFrameMax);
    frames.push({
      type: 'members',
      roomSeq,
      final: start + perFrameMax >= names.length,
      names: chunk,
    });
  }
  return frames;
}

/** A member said something: it is sequenced and relayed to every member, its author included. */
export function onSaid(state: RoomState, sessionId: SessionId, text: string): RoomStep {
  const record = state.sessions.get(sessionId);
  // A stopping room sequences nothing more: the author's client reports the text as not delivered.
  if (record === undefined || !record.member || state.shutdown !== undefined) {
    return { state, effects: [] };
  }
  const roomSeq = state.roomSeq + 1;
  // The wire carries whole milliseconds; a clock with a fractional reading (performance.now) is floored.
  const timeMs = Math.floor(state.env.now());
  const frame: ReliableFrameBody = { type: 'message', roomSeq, timeMs, from: record.name, text };
  const effects: RoomEffect[] = [
    {
      kind: 'emit',
      event: {
        type: 'message.received',
        roomSeq,
        sessionId,
        from: record.name,
        text,
        byteCount: utf8ByteLength(text),
        timeMs,
      },
    },
  ];
  for (const member of state.members.values()) {
    effects.push({ kind: 'deliver', sessionId: member, frames: [frame] });
  }
  state.stats.messagesRelayed += 1;
  effects.push({
    kind: 'emit',
    event: { type: 'message.relayed', roomSeq, recipientCount: state.members.size },
  });
  return { state: { ...state, roomSeq }, effects };
}

/** A member leaves: by QUIT (the session then says goodbye) or because its session died. */
export function onLeave(
  state: RoomState,
  sessionId: SessionId,
  leave:
    | { readonly reason: 'quit' }
    | { readonly reason: 'timeout'; readonly cause: SessionDeath; readonly stats: Readonly<LinkStats> },
): RoomStep {
  const record = state.sessions.get(sessionId);
  if (record === undefined) {
    return { state, effects: [] };
  }
  const effects: RoomEffect[] = [];
  let next = state;
  if (record.member) {
    const roomSeq = state.roomSeq + 1;
    const members = new Map(state.members);
    members.delete(nameKey(record.name));
    const sessions = new Map(state.sessions).set(sessionId, { ...record, member: false });
    for (const member of members.values()) {
      effects.push({
        kind: 'deliver',
        sessionId: member,
        frames: [{ type: 'left', roomSeq, name: record.name, reason: leave.reason }],
      });
    }
    const left: ServerEvent =
      leave.reason === 'quit'
        ? {
            type: 'member.left',
            roomSeq,
            name: record.name,
            address: record.addressKey,
            sessionId,
            reason: 'quit',
            memberCount: members.size,
          }
        : {
            type: 'member.left',
            roomSeq,
            name: record.name,
            address: record.addressKey,
            sessionId,
            reason: 'timeout',
            cause: leave.cause,
            memberCount: members.size,
          };
    effects.push({ kind: 'emit', event: left });
    next = { ...state, members, sessions, roomSeq };
  }
  if (leave.reason === 'quit') {
    effects.push({ kind: 'goodbye', sessionId });
    return { state: next, effects };
  }
  return endSession(next, sessionId, leave.stats, effects);
}

/**
 * The server is stopping: every member is told (a reliable SHUTDOWN frame, after everything already
 * queued for it), and the room admits nobody and sequences nothing more. The machine stops once every
 * session has ended or `shutdownTimeoutMs` has passed.
 */
export function onShutdown(state: RoomState): RoomStep {
  if (state.shutdown !== undefined) {
    return { state, effects: [] };
  }
  const effects: RoomEffect[] = [];
  for (const sessionId of state.members.values()) {
    effects.push({ kind: 'shutdown', sessionId });
  }
  const memberCount = state.members.size;
  effects.push({ kind: 'emit', event: { type: 'server.closing', memberCount } });
  return { state: { ...state, shutdown: { memberCount, confirmedCount: 0 } }, effects };
}

/** A session is over (goodbye acknowledged, or dead): forget it and stop its actor. */
export function endSession(
  state: RoomState,
  sessionId: SessionId,
  stats: Readonly<LinkStats>,
  effectsBefore: readonly RoomEffect[] = [],
  confirmed = false,
): RoomStep {
  const record = state.sessions.get(sessionId);
  if (record === undefined) {
    return { state, effects: effectsBefore };
  }
  const sessions = new Map(state.sessions);
  sessions.delete(sessionId);
  // A member's session that ends confirmed during a shutdown has acknowledged the notice.
  const shutdown =
    state.shutdown !== undefined && record.member && confirmed
      ? { ...state.shutdown, confirmedCount: state.shutdown.confirmedCount + 1 }
      : state.shutdown;
  // A session its client never spoke on ended before the client got its ACCEPT: the client may still
  // be retrying that JOIN, and must not find it refused as a replay. (A client that got its ACCEPT
  // always answers, so a session never heard from was never completed by anyone.)
  let recentJoins = state.recentJoins;
  if (stats.datagramsReceived === 0 && recentJoins.has(record.nonceKey)) {
    const forgotten = new Map(recentJoins);
    forgotten.delete(record.nonceKey);
    recentJoins = forgotten;
  }
  return {
    state: { ...state, sessions, shutdown, recentJoins },
    effects: [
      ...effectsBefore,
      { kind: 'stop', sessionId },
      { kind: 'emit', event: { type: 'session.ended', sessionId, address: record.addressKey, stats } },
    ],
  };
}
