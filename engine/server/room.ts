import {
  decodePacket,
  encodePacket,
  type PreparedFrame,
  peekHelloNonce,
  prepareFrame,
} from '../codec/codec.ts';
import {
  type JoinPacket,
  type RefuseReason,
  type ReliableFrameBody,
  SESSION_ID_BYTES,
  type SessionId,
  type SessionPacket,
} from '../codec/frames.ts';
import type { ServerConfig } from '../config.ts';
import { macEqual, makeAcceptProof, makeJoinProof, toHex } from '../crypto.ts';
import { nameKey, utf8ByteLength, validateName } from '../names.ts';
import { type Environment, formatAddress, type PeerAddress } from '../port.ts';
import { type TimerChange, timerChangeFor } from '../turn.ts';
import { Deadlines } from './deadlines.ts';
import {
  COOKIE_SECRET_BYTES,
  type CookieSecrets,
  challengeFor,
  cookieIsCurrent,
  cookieIsValid,
  rotateSecrets,
} from './handshake.ts';
import { createServerStats, type DropReason, type ServerEvent, type ServerStats } from './server-events.ts';
import { ServerSession, type SessionDeath } from './session.ts';

/** What the room machine carries out after an event, in order: datagrams sent, log events emitted. */
export type RoomEffect =
  | { readonly kind: 'send'; readonly datagram: Uint8Array; readonly to: PeerAddress }
  | { readonly kind: 'emit'; readonly event: ServerEvent };

/** What an event left for the machine to do once it has been handled. */
export interface RoomTurn {
  readonly effects: readonly RoomEffect[];
  /**
   * The event opened a turn (it sent what it made ready at once): call {@link Room.endTurn} once the
   * turn is over, and flush if it says so.
   */
  readonly watchTurn: boolean;
  /** The room's one timer, armed for the earliest deadline of all its sessions. */
  readonly timer: TimerChange;
}

/** A recent JOIN's client nonce, remembered to answer duplicates and refuse replays. */
interface RecentJoin {
  readonly sessionId: SessionId;
  readonly expiresAtMs: number;
}

/** How the shutdown notice is faring. */
export interface ShutdownProgress {
  readonly memberCount: number;
  readonly confirmedCount: number;
}

const NO_EFFECTS: readonly RoomEffect[] = Object.freeze([]);

/**
 * The room: membership, name uniqueness, the single sequence of room events, the handshake, and the
 * sessions, which are plain objects it owns ({@link ServerSession}). Mutable, and owned by the one
 * server actor: the machine calls one handler per event (`datagram`, `shutdown`, `timer`, `flush`),
 * then {@link finishEvent} for what to carry out. The room never sends nor emits by itself; the
 * machine turns the effects into xstate actions.
 *
 * Sending is batched per turn: the first event of a turn sends what it made ready; later events of the
 * same turn only mark the sessions they gave something to send, and a flush once the turn is over
 * sends for all of them (see {@link finishEvent}). The room keeps one timer for all its sessions: the
 * earliest of their deadlines.
 */
export class Room {
  readonly config: ServerConfig;
  readonly #roomKey: Uint8Array;
  readonly #env: Environment;
  #secrets: CookieSecrets;
  readonly sessions = new Map<SessionId, ServerSession>();
  /** Members by case-folded name, in the order they joined. */
  readonly members = new Map<string, ServerSession>();
  /** Client nonces of recent joins, oldest first (they expire in the order they were made). */
  readonly recentJoins = new Map<string, RecentJoin>();
  /** Member sessions by the client nonce of the JOIN that opened them: a repeated JOIN finds its own. */
  readonly #byNonce = new Map<string, ServerSession>();
  /** The number of the last room event (joined, message, left); the room's single order. */
  #roomSeq = 0;
  readonly stats: ServerStats = createServerStats();
  #shutdown: ShutdownProgress | undefined;

  // What the event being handled did.
  #effects: RoomEffect[] = [];
  /** Sessions whose state the event changed: their outcome and deadline are looked at once it is done. */
  readonly #touched = new Set<ServerSession>();
  /** Sessions that dropped out of a fan-out (send queue full): dropped once the event is done. */
  readonly #overrun: ServerSession[] = [];

  // Across events.
  /** Sessions with something to send at the end of the turn. */
  readonly #unflushed = new Set<ServerSession>();
  /** An event of this turn has sent already: what later ones make ready waits for the turn's end. */
  #turnOpen = false;
  /** Every session's next timer deadline: the room's one timer is armed for the earliest. */
  readonly #deadlines = new Deadlines<ServerSession>();
  /** The deadline the room's timer is armed for, if any. */
  #timerAtMs: number | undefined;

  constructor(config: ServerConfig, roomKey: Uint8Array, env: Environment) {
    this.config = config;
    this.#roomKey = roomKey;
    this.#env = env;
    this.#secrets = {
      slot: Math.floor(env.now() / config.cookieSlotMs),
      current: env.random(COOKIE_SECRET_BYTES),
      previous: undefined,
    };
  }

  get roomSeq(): number {
    return this.#roomSeq;
  }

  /** Set once the server is stopping: how many members were told, and how many have confirmed. */
  get shutdownProgress(): ShutdownProgress | undefined {
    return this.#shutdown;
  }

  // ---- Events. ----

  /** A datagram arrived. */
  datagram(datagram: Uint8Array, from: PeerAddress): void {
    this.stats.datagramsReceived += 1;
    const decoded = decodePacket(datagram);
    if (!decoded.ok) {
      this.#drop(from, 'malformed', decoded.error.kind);
      const nonce = decoded.error.kind === 'version' ? peekHelloNonce(datagram) : undefined;
      if (nonce !== undefined) {
        // A client of another version learns why it gets no challenge; the reply is smaller than a HELLO.
        this.#send(encodePacket({ type: 'refuse', clientNonce: nonce, reason: 'version' }), from);
      }
      return;
    }
    const packet = decoded.packet;
    if (this.#shutdown !== undefined && (packet.type === 'hello' || packet.type === 'join')) {
      this.#drop(from, 'shutting-down', packet.type);
      return;
    }
    switch (packet.type) {
      case 'session':
        this.#onSessionPacket(packet, from);
        return;
      case 'hello': {
        this.#rotateSecrets();
        const address = formatAddress(from);
        const challenge = encodePacket(challengeFor(this.#secrets, address, packet.clientNonce));
        if (challenge.length > datagram.length) {
          this.#drop(from, 'amplification');
          return;
        }
        this.#send(challenge, from);
        this.#emit({ type: 'handshake.challenged', address, reason: 'hello' });
        return;
      }
      case 'join':
        this.#onJoin(packet, from);
        return;
      case 'challenge':
      case 'accept':
      case 'refuse':
        this.#drop(from, 'unexpected', packet.type);
        return;
    }
  }

  /**
   * The server is stopping: every member is told (a reliable SHUTDOWN frame, after everything already
   * queued for it), and the room admits and sequences nothing more. The machine stops once every
   * session has ended or `shutdownTimeoutMs` has passed.
   */
  shutdown(): void {
    if (this.#shutdown !== undefined) {
      return;
    }
    const memberCount = this.members.size;
    for (const session of this.members.values()) {
      session.close('shutdown');
      this.#touch(session);
    }
    this.#shutdown = { memberCount, confirmedCount: 0 };
    this.#emit({ type: 'server.closing', memberCount });
  }

  /**
   * The room's timer fired: runs the timers of the sessions whose deadline has come (only theirs), and
   * sends what they made ready. The timer is then armed again for the earliest deadline of all.
   */
  timer(): void {
    this.#timerAtMs = undefined;
    const nowMs = this.#env.now();
    for (const session of this.#deadlines.takeDue(nowMs)) {
      session.link.handleTimeout(nowMs);
      this.#touch(session);
    }
  }

  /**
   * The turn is over (the machine calls this from the environment's `afterTurn`): closes it, and says
   * whether sessions were given something to send after the turn's first send, so that a flush event
   * must send it.
   */
  endTurn(): boolean {
    this.#turnOpen = false;
    return this.#unflushed.size > 0;
  }

  /**
   * What the event just handled leaves to do. It ends the sessions the event finished. It sends what
   * sessions have ready: at once after a timer or a flush, and for the first event of a turn that has
   * anything to send (which opens the turn); what later events of the same turn make ready waits for
   * the turn's end, so that what many datagrams read in one turn make ready goes out together, and a
   * lone datagram costs no flush event. And it says how the timer must change so that it fires at the
   * earliest deadline of all, and only then (a timer that fires with nothing due is an event for
   * nothing).
   */
  finishEvent(sendNow: boolean): RoomTurn {
    this.#settle();
    const nowMs = this.#env.now();
    const deadlines = this.#deadlines;
    for (const session of this.#touched) {
      if (session.link.wantsToSend()) {
        // Its deadline is looked at once it has sent (a send arms the retransmission timer).
        this.#unflushed.add(session);
      } else {
        deadlines.set(session, session.link.timerDeadlineMs());
      }
    }
    this.#touched.clear();
    let watchTurn = false;
    if (!sendNow && this.#unflushed.size > 0 && !this.#turnOpen) {
      this.#turnOpen = true;
      watchTurn = true;
      sendNow = true;
    }
    if (sendNow) {
      for (const session of this.#unflushed) {
        for (const datagram of session.link.poll(nowMs)) {
          this.#effects.push({ kind: 'send', datagram, to: session.address });
        }
        deadlines.set(session, session.link.timerDeadlineMs());
      }
      this.#unflushed.clear();
    }
    const earliestMs = deadlines.earliest();
    const timer = timerChangeFor(earliestMs, this.#timerAtMs, nowMs);
    this.#timerAtMs = earliestMs;
    const effects = this.#effects.length === 0 ? NO_EFFECTS : this.#effects;
    if (effects !== NO_EFFECTS) {
      this.#effects = [];
    }
    return { effects, watchTurn, timer };
  }

  // ---- Sessions. ----

  #onSessionPacket(packet: SessionPacket, from: PeerAddress): void {
    const session = this.sessions.get(packet.sessionId);
    if (session === undefined) {
      this.#drop(from, 'unknown-session');
      return;
    }
    if (session.addressKey !== formatAddress(from)) {
      this.#drop(from, 'wrong-address', `session ${packet.sessionId} belongs to ${session.addressKey}`);
      return;
    }
    const input = session.receive(packet, this.#env.now());
    this.#touch(session);
    for (const text of input.said) {
      this.#relay(session, text);
    }
    if (input.bye) {
      this.#leave(session, { reason: 'quit' });
    }
  }

  /** A member said something: it is sequenced and relayed to every member, its author included. */
  #relay(author: ServerSession, text: string): void {
    // A stopping room sequences nothing more: the author's client reports the text as not delivered.
    if (!author.member || this.#shutdown !== undefined) {
      return;
    }
    this.#roomSeq += 1;
    const roomSeq = this.#roomSeq;
    // The wire carries whole milliseconds; a clock with a fractional reading (performance.now) is floored.
    const timeMs = Math.floor(this.#env.now());
    this.#emit({
      type: 'message.received',
      roomSeq,
      sessionId: author.sessionId,
      from: author.name,
      text,
      byteCount: utf8ByteLength(text),
      timeMs,
    });
    this.#broadcast({ type: 'message', roomSeq, timeMs, from: author.name, text });
    this.stats.messagesRelayed += 1;
    this.#emit({ type: 'message.relayed', roomSeq, recipientCount: this.members.size });
  }

  /** One frame to every member: encoded once, queued at each. */
  #broadcast(body: ReliableFrameBody, except?: ServerSession): void {
    const frames = [prepareFrame(body)];
    for (const member of this.members.values()) {
      if (member !== except) {
        this.#deliver(member, frames);
      }
    }
  }

  #deliver(session: ServerSession, frames: readonly PreparedFrame[]): void {
    if (session.deliver(frames)) {
      this.#touch(session);
    } else {
      this.#overrun.push(session);
    }
  }

  /** A member leaves: by QUIT (its session then says goodbye) or because its session died. */
  #leave(
    session: ServerSession,
    leave: { readonly reason: 'quit' } | { readonly reason: 'timeout'; readonly cause: SessionDeath },
  ): void {
    if (session.member) {
      session.member = false;
      this.members.delete(nameKey(session.name));
      this.#roomSeq += 1;
      const roomSeq = this.#roomSeq;
      this.#broadcast({ type: 'left', roomSeq, name: session.name, reason: leave.reason });
      const left = {
        type: 'member.left',
        roomSeq,
        name: session.name,
        address: session.addressKey,
        sessionId: session.sessionId,
        memberCount: this.members.size,
      } as const;
      this.#emit(
        leave.reason === 'quit'
          ? { ...left, reason: 'quit' }
          : { ...left, reason: 'timeout', cause: leave.cause },
      );
    }
    if (leave.reason === 'quit') {
      session.close('goodbye');
      this.#touch(session);
    } else {
      this.#end(session, false);
    }
  }

  /**
   * Ends every session the event finished: those that fell behind in a fan-out, the dead, and the
   * closing ones now settled. Announcing one member's departure may overrun another's queue, so this
   * goes on until nothing more ends.
   */
  #settle(): void {
    do {
      for (let overrun = this.#overrun.shift(); overrun !== undefined; overrun = this.#overrun.shift()) {
        if (overrun.phase === 'open' && this.sessions.has(overrun.sessionId)) {
          this.#leave(overrun, { reason: 'timeout', cause: 'send-queue-full' });
        }
      }
      // A Set visits what is added while it is read: the sessions a departure touches are looked at
      // too, and an ended session is taken out of it.
      for (const session of this.#touched) {
        const outcome = session.outcome();
        if (outcome === undefined) {
          continue;
        }
        if ('death' in outcome) {
          this.#leave(session, { reason: 'timeout', cause: outcome.death });
        } else {
          this.#end(session, outcome.confirmed);
        }
      }
    } while (this.#overrun.length > 0);
  }

  /** A session is over (goodbye acknowledged, or dead): forget it. */
  #end(session: ServerSession, confirmed: boolean): void {
    if (!this.sessions.delete(session.sessionId)) {
      return;
    }
    if (this.#byNonce.get(session.nonceKey) === session) {
      this.#byNonce.delete(session.nonceKey);
    }
    session.markClosed();
    this.#touched.delete(session);
    this.#unflushed.delete(session);
    this.#deadlines.set(session, undefined);
    const stats = session.link.stats;
    // A member's session that ends confirmed during a shutdown has acknowledged the notice.
    if (this.#shutdown !== undefined && confirmed && session.member) {
      this.#shutdown = { ...this.#shutdown, confirmedCount: this.#shutdown.confirmedCount + 1 };
    }
    // A session its client never spoke on ended before the client got its ACCEPT: the client may still
    // be retrying with that nonce, and must not find itself refused as a replay. (A client that got
    // its ACCEPT always answers, so a session never heard from was never completed by anyone; and
    // the first-contact timeout outlives every cookie, so a copy of that JOIN is refused anyway.)
    if (stats.datagramsReceived === 0) {
      this.recentJoins.delete(session.nonceKey);
    }
    this.#emit({
      type: 'session.ended',
      sessionId: session.sessionId,
      address: session.addressKey,
      stats: { ...stats },
    });
  }

  #touch(session: ServerSession): void {
    this.#touched.add(session);
  }

  // ---- The handshake. ----

  #rotateSecrets(): void {
    this.#secrets = rotateSecrets(
      this.#secrets,
      Math.floor(this.#env.now() / this.config.cookieSlotMs),
      this.#env.random,
    );
  }

  #onJoin(join: JoinPacket, from: PeerAddress): void {
    this.#rotateSecrets();
    const secrets = this.#secrets;
    const address = formatAddress(from);
    const nonceKey = toHex(join.clientNonce);
    const admitted = this.#findAdmitted(address, nonceKey);
    if (admitted !== undefined) {
      // The client did not get its ACCEPT (or the JOIN was duplicated): the same session again, proved
      // over the cookie this JOIN carries, which is a fresh one if the first expired while it retried.
      // The answer goes to the address the session belongs to and is smaller than the JOIN.
      const proof = makeAcceptProof(this.#roomKey, join.clientNonce, join.cookie, admitted.sessionId);
      this.#send(
        encodePacket({ type: 'accept', clientNonce: join.clientNonce, sessionId: admitted.sessionId, proof }),
        from,
      );
      return;
    }
    if (!cookieIsValid(secrets, address, join)) {
      if (!cookieIsCurrent(secrets, join)) {
        // A cookie from a slot already forgotten: the client took long (its JOIN was lost, or slow).
        // A fresh challenge, stateless and smaller than the JOIN, lets it try again.
        this.#send(encodePacket(challengeFor(secrets, address, join.clientNonce)), from);
        this.#emit({ type: 'handshake.challenged', address, reason: 'cookie-expired' });
        return;
      }
      this.#drop(from, 'bad-cookie');
      return;
    }
    if (this.recentJoins.has(nonceKey)) {
      this.#drop(from, 'replayed-join');
      return;
    }
    // The name before the proof: a proof over a name the client cannot have meant would be refused as a
    // wrong password, which would mislead; and "bad name" tells someone without the password nothing.
    if (!validateName(join.name).ok) {
      this.#refuse(join, from, 'bad-name');
      return;
    }
    if (!macEqual(makeJoinProof(this.#roomKey, join.clientNonce, join.cookie, join.name), join.proof)) {
      this.#refuse(join, from, 'bad-password');
      return;
    }
    if (this.members.has(nameKey(join.name))) {
      this.#refuse(join, from, 'name-taken');
      return;
    }
    if (
      this.members.size >= this.config.memberCountMax ||
      this.sessions.size >= this.config.sessionCountMax
    ) {
      this.#refuse(join, from, 'room-full');
      return;
    }
    this.#pruneRecentJoins();
    if (this.recentJoins.size >= this.config.recentJoinCountMax) {
      this.#drop(from, 'busy');
      return;
    }
    this.#admit(join, from, nonceKey);
  }

  /** The live member session a JOIN with this nonce from this address already opened, if any. */
  #findAdmitted(address: string, nonceKey: string): ServerSession | undefined {
    const session = this.#byNonce.get(nonceKey);
    return session?.member === true && session.addressKey === address ? session : undefined;
  }

  /** Forgets the joins whose cookies can no longer be replayed: they expire in the order they were made. */
  #pruneRecentJoins(): void {
    const nowMs = this.#env.now();
    for (const [nonce, entry] of this.recentJoins) {
      if (entry.expiresAtMs > nowMs) {
        return;
      }
      this.recentJoins.delete(nonce);
    }
  }

  #newSessionId(): SessionId {
    for (;;) {
      const sessionId = toHex(this.#env.random(SESSION_ID_BYTES));
      if (!this.sessions.has(sessionId)) {
        return sessionId;
      }
    }
  }

  #admit(join: JoinPacket, from: PeerAddress, nonceKey: string): void {
    const sessionId = this.#newSessionId();
    const nowMs = this.#env.now();
    const session = new ServerSession(
      { sessionId, address: from, addressKey: formatAddress(from), name: join.name, nonceKey },
      this.config.link,
      nowMs,
      this.config.firstContactTimeoutMs,
    );
    const proof = makeAcceptProof(this.#roomKey, join.clientNonce, join.cookie, sessionId);
    this.#roomSeq += 1;
    const roomSeq = this.#roomSeq;
    // The others hear of the newcomer before it is a member; it learns of itself in its member list.
    this.#broadcast({ type: 'joined', roomSeq, name: join.name });
    this.sessions.set(sessionId, session);
    this.members.set(nameKey(join.name), session);
    this.#byNonce.set(nonceKey, session);
    this.recentJoins.set(nonceKey, { sessionId, expiresAtMs: nowMs + 2 * this.config.cookieSlotMs });
    this.#send(encodePacket({ type: 'accept', clientNonce: join.clientNonce, sessionId, proof }), from);
    const names: string[] = [];
    for (const member of this.members.values()) {
      names.push(member.name);
    }
    this.#deliver(session, membersFrames(roomSeq, names, this.config.membersPerFrameMax));
    this.#emit({
      type: 'member.joined',
      roomSeq,
      name: join.name,
      address: session.addressKey,
      sessionId,
      handshake: nonceKey,
      memberCount: this.members.size,
    });
    const stats = this.stats;
    stats.sessionCountHighWater = Math.max(stats.sessionCountHighWater, this.sessions.size);
    stats.memberCountHighWater = Math.max(stats.memberCountHighWater, this.members.size);
    stats.recentJoinCountHighWater = Math.max(stats.recentJoinCountHighWater, this.recentJoins.size);
  }

  #refuse(join: JoinPacket, from: PeerAddress, reason: RefuseReason): void {
    this.stats.joinsRefused += 1;
    this.#send(encodePacket({ type: 'refuse', clientNonce: join.clientNonce, reason }), from);
    this.#emit({ type: 'join.refused', address: formatAddress(from), name: join.name, reason });
  }

  // ---- Effects. ----

  #send(datagram: Uint8Array, to: PeerAddress): void {
    this.#effects.push({ kind: 'send', datagram, to });
  }

  #emit(event: ServerEvent): void {
    this.#effects.push({ kind: 'emit', event });
  }

  #drop(from: PeerAddress, reason: DropReason, detail?: string): void {
    this.stats.datagramsDropped[reason] += 1;
    const address = formatAddress(from);
    this.#emit(
      detail === undefined
        ? { type: 'datagram.dropped', address, reason }
        : { type: 'datagram.dropped', address, reason, detail },
    );
  }
}

/** A member list as MEMBERS frames of at most `perFrameMax` names, the last one marked final. */
function membersFrames(roomSeq: number, names: readonly string[], perFrameMax: number): PreparedFrame[] {
  const frames: PreparedFrame[] = [];
  for (let start = 0; start < names.length; start += perFrameMax) {
    frames.push(
      prepareFrame({
        type: 'members',
        roomSeq,
        final: start + perFrameMax >= names.length,
        names: names.slice(start, start + perFrameMax),
      }),
    );
  }
  return frames;
}
