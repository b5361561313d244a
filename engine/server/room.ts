import {
  acceptClearBytes,
  decodePacket,
  encodePacket,
  type PreparedFrame,
  peekForeignHello,
  prepareFrame,
  sessionIdToBytes,
} from '../codec/codec.ts';
import {
  type JoinPacket,
  type Origin,
  PROTOCOL_VERSION_1,
  type ReliableFrameBody,
  type RoomRefusal,
  type SayFrame,
  SESSION_ID_BYTES,
  type SealedSessionPacket,
  type SessionId,
  type WaitReason,
} from '../codec/frames.ts';
import { RESET_BYTES } from '../codec/layout.ts';
import type { ServerConfig } from '../config.ts';
import { macEqual, originOf, toHex } from '../crypto.ts';
import { nameKey, utf8ByteLength, validateName } from '../names.ts';
import { type Environment, formatAddress, type PeerAddress } from '../port.ts';
import {
  acceptSignedBytes,
  channelId,
  handshakeSid,
  resetKeyOf,
  resetTokenOf,
  sealAccept,
  sessionKeysOf,
} from '../secure/handshake-crypto.ts';
import { SessionProtection } from '../secure/session-protection.ts';
import { type CryptoSuite, REAL_CRYPTO } from '../secure/suite.ts';
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
import { LoginThrottle } from './login-throttle.ts';
import { RoomShare } from './room-share.ts';
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

/** A member paced again and again is told (PACED, and the log) at most this often. */
export const PACED_NOTICE_INTERVAL_MS = 10_000;

/** What the room needs to know that nobody else may: the password and its identity. */
export interface RoomSecrets {
  /** The room password as the key exchange takes it (see `passwordBytes`). */
  readonly password: Uint8Array;
  /** The server's identity: a 32-byte Ed25519 secret seed, kept across restarts by the adapter. */
  readonly identitySecret: Uint8Array;
}

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
  /** The server's identity key, which every CHALLENGE carries and clients may pin. */
  readonly serverKey: Uint8Array;
  readonly #password: Uint8Array;
  readonly #identitySecret: Uint8Array;
  /** CPace's channel identifier: the exchange is bound to this server. */
  readonly #channel: Uint8Array;
  readonly #resetKey: Uint8Array;
  readonly #crypto: CryptoSuite;
  readonly #env: Environment;
  #secrets: CookieSecrets;
  readonly sessions = new Map<SessionId, ServerSession>();
  /** Members by case-folded name, in the order they joined. */
  readonly members = new Map<string, ServerSession>();
  /** Client nonces of recent joins, oldest first (they expire in the order they were made). */
  readonly recentJoins = new Map<string, RecentJoin>();
  /** Member sessions by the client nonce of the JOIN that opened them: a repeated JOIN finds its own. */
  readonly #byNonce = new Map<string, ServerSession>();
  /** Sessions held per source host (IP address), for `sessionsPerHostMax`; a host with none is absent. */
  readonly #sessionsByHost = new Map<string, number>();
  readonly #throttle: LoginThrottle;
  /** What every member's send queue takes from the room together: texts past it wait their turn. */
  readonly #share: RoomShare<ServerSession>;
  /** When the log last said that texts wait for the room's share. */
  #busyToldAtMs: number | undefined;
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

  constructor(config: ServerConfig, secrets: RoomSecrets, env: Environment) {
    this.config = config;
    this.#crypto = env.crypto ?? REAL_CRYPTO;
    this.#password = secrets.password;
    this.#identitySecret = secrets.identitySecret;
    this.serverKey = this.#crypto.signature.publicKey(secrets.identitySecret);
    this.#channel = channelId(this.serverKey);
    this.#resetKey = resetKeyOf(secrets.identitySecret);
    this.#env = env;
    this.#throttle = new LoginThrottle(config, env.now());
    this.#share = new RoomShare(config, env.now());
    this.#secrets = {
      slot: Math.floor(env.now() / config.cookieSlotMs),
      current: env.random(COOKIE_SECRET_BYTES),
      previous: undefined,
    };
  }

  get roomSeq(): number {
    return this.#roomSeq;
  }

  /** Texts waiting for the room's share, all members together. */
  get sharedSayCount(): number {
    return this.#share.waitingCount;
  }

  /** Texts of one member waiting for the room's share (with its own waiting, at most SAYS_UNCONFIRMED_MAX). */
  sharedSaysOf(session: ServerSession): number {
    return this.#share.waitingOf(session);
  }

  /** Hosts the login throttle remembers now (at most `throttledHostCountMax`). */
  get throttledHostCount(): number {
    return this.#throttle.hostCount;
  }

  /** Hosts holding a session now (each counted against `sessionsPerHostMax`). */
  get hostsWithSessions(): number {
    return this.#sessionsByHost.size;
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
      const foreign = decoded.error.kind === 'version' ? peekForeignHello(datagram) : undefined;
      if (foreign !== undefined) {
        // A client of another version learns why it gets no challenge, in its own format if it is version
        // 1 (which says to upgrade); the reply is smaller than a HELLO.
        const refuse = { type: 'refuse', clientNonce: foreign.clientNonce, reason: 'version' } as const;
        this.#send(
          foreign.version === PROTOCOL_VERSION_1
            ? encodePacket(refuse, PROTOCOL_VERSION_1)
            : encodePacket(refuse),
          from,
        );
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
        this.#onSessionPacket(packet, from, datagram.length);
        return;
      case 'hello': {
        this.#rotateSecrets();
        const address = formatAddress(from);
        const challenge = encodePacket(
          challengeFor(this.#secrets, address, packet.clientNonce, this.serverKey),
        );
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
      case 'reset':
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
    // A stopping room sequences nothing more: nothing waits for its share.
    this.#share.clear();
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
      // A member found dead now says nothing more: what it had waiting is forgotten as it leaves.
      if (session.link.dead === undefined) {
        for (const say of session.pacer.due(nowMs)) {
          this.#admit(session, say, nowMs);
        }
      }
      this.#touch(session);
    }
    for (const [author, say] of this.#share.due(nowMs)) {
      if (author.link.dead !== undefined) {
        continue;
      }
      this.#relay(author, say);
      if (author.quitting && this.#share.waitingOf(author) === 0) {
        this.#leave(author, { reason: 'quit' });
      }
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
        deadlines.set(session, session.deadlineMs());
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
        deadlines.set(session, session.deadlineMs());
      }
      this.#unflushed.clear();
    }
    const sessionsMs = deadlines.earliest();
    const shareMs = this.#share.nextAtMs();
    const earliestMs =
      shareMs === undefined || sessionsMs === undefined
        ? (sessionsMs ?? shareMs)
        : Math.min(sessionsMs, shareMs);
    const timer = timerChangeFor(earliestMs, this.#timerAtMs, nowMs);
    this.#timerAtMs = earliestMs;
    const effects = this.#effects.length === 0 ? NO_EFFECTS : this.#effects;
    if (effects !== NO_EFFECTS) {
      this.#effects = [];
    }
    return { effects, watchTurn, timer };
  }

  // ---- Sessions. ----

  #onSessionPacket(packet: SealedSessionPacket, from: PeerAddress, size: number): void {
    const session = this.sessions.get(packet.sessionId);
    if (session === undefined) {
      this.#drop(from, 'unknown-session');
      this.#reset(packet, from, size);
      return;
    }
    if (session.addressKey !== formatAddress(from)) {
      this.#drop(from, 'wrong-address', `session ${packet.sessionId} belongs to ${session.addressKey}`);
      return;
    }
    const opened = session.protection.open(packet);
    if (!opened.ok) {
      // Forged, replayed or corrupted: it changes nothing, not even the session's liveness, until the
      // key has faced as many forgeries as it may (RFC 9001 §6.6): then the session ends.
      this.#drop(from, opened.reason === 'malformed' ? 'malformed-frames' : opened.reason, opened.detail);
      if (session.protection.spent && session.phase !== 'closed') {
        this.#leave(session, { reason: 'timeout', cause: 'keys-spent' });
      }
      return;
    }
    if (!session.proven) {
      // Only a client with the room password could seal this: its key exchange is no longer unproven.
      session.proven = true;
      this.#throttle.prove(session.address.host);
    }
    const input = session.receive(opened.packet, this.#env.now());
    this.#touch(session);
    if (input.claim !== undefined) {
      this.#claim(session, input.claim.name, originOf(input.claim.originSecret));
    }
    for (const say of input.said) {
      if (!this.#offer(session, say)) {
        return;
      }
    }
    if (input.bye && !session.quitting) {
      this.#quit(session);
    }
  }

  /**
   * A member's BYE. What it said before goes first: what waits for its own share joins what waits for
   * the room's (its own rate no longer matters, it is leaving), and it leaves once the room has
   * relayed the last of it, in its turns like anyone's. A QUIT never jumps the room's share: members
   * quitting together would otherwise put everything they had waiting into every queue at once.
   */
  #quit(session: ServerSession): void {
    const nowMs = this.#env.now();
    for (const say of session.pacer.takeAll()) {
      this.#admit(session, say, nowMs);
    }
    if (session.member && this.#shutdown === undefined && this.#share.waitingOf(session) > 0) {
      session.quitting = true;
      return;
    }
    this.#leave(session, { reason: 'quit' });
  }

  /**
   * A session packet for a session this server does not hold (it restarted, or the session ended): a
   * RESET with the session's token tells its client at once, and only this server's identity could have
   * made it. Smaller than the packet it answers (no amplification).
   */
  #reset(packet: SealedSessionPacket, from: PeerAddress, size: number): void {
    if (size <= RESET_BYTES) {
      return;
    }
    const token = resetTokenOf(this.#resetKey, sessionIdToBytes(packet.sessionId));
    this.#send(encodePacket({ type: 'reset', sessionId: packet.sessionId, token }), from);
  }

  /**
   * A member's text, paced to its share of the room (SayPacer): relayed now, or when its turn comes.
   * The first to wait tells the client, once in a while (a PACED frame, and the log). A member with
   * more texts waiting than a client may have unconfirmed is a flooder: it is removed. False then.
   */
  #offer(author: ServerSession, say: SayFrame): boolean {
    // A quitting member's BYE was its last word.
    if (!author.member || this.#shutdown !== undefined || author.quitting) {
      return true;
    }
    const nowMs = this.#env.now();
    const waitingBefore = author.pacer.waitingCount;
    switch (author.pacer.offer(say, nowMs, this.#share.waitingOf(author))) {
      case 'relay':
        this.#admit(author, say, nowMs);
        return true;
      case 'wait':
        if (
          waitingBefore === 0 &&
          (author.pacedToldAtMs === undefined || nowMs - author.pacedToldAtMs >= PACED_NOTICE_INTERVAL_MS)
        ) {
          author.pacedToldAtMs = nowMs;
          const { sayRatePerSecond: ratePerSecond, sayBurst: burst } = this.config;
          this.#deliver(author, [prepareFrame({ type: 'paced', ratePerSecond, burst })]);
          this.#emit({
            type: 'member.paced',
            name: author.name,
            address: author.addressKey,
            sessionId: author.sessionId,
            ratePerSecond,
            burst,
          });
        }
        return true;
      case 'overflow':
        this.#leave(author, { reason: 'timeout', cause: 'flooding' });
        return false;
    }
  }

  /**
   * A text its author's share let through, offered to the room's (RoomShare): relayed now, or when
   * its author's turn comes. The log says so once in a while when texts wait for the room.
   */
  #admit(author: ServerSession, say: SayFrame, nowMs: number): void {
    if (this.#share.offer(author, say, nowMs)) {
      this.#relay(author, say);
      return;
    }
    if (this.#busyToldAtMs === undefined || nowMs - this.#busyToldAtMs >= PACED_NOTICE_INTERVAL_MS) {
      this.#busyToldAtMs = nowMs;
      this.#emit({
        type: 'room.busy',
        waitingCount: this.#share.waitingCount,
        authorCount: this.#share.authorCount,
        ratePerSecond: this.config.roomSayRatePerSecond,
        burst: this.config.roomSayBurst,
      });
    }
  }

  /** A member said something: it is sequenced and relayed to every member, its author included. */
  #relay(author: ServerSession, say: SayFrame): void {
    // A stopping room sequences nothing more: the author's client reports the text as not delivered.
    if (!author.member || this.#shutdown !== undefined) {
      return;
    }
    this.#roomSeq += 1;
    const roomSeq = this.#roomSeq;
    // The wall clock's time (the message's time, shown to people); whole milliseconds on the wire.
    const timeMs = Math.floor(this.#env.wallNow?.() ?? this.#env.now());
    const text = say.text;
    const { origin, name: from } = author;
    this.#emit({
      type: 'message.received',
      roomSeq,
      sessionId: author.sessionId,
      from,
      origin,
      line: say.line,
      text,
      byteCount: utf8ByteLength(text),
      timeMs,
    });
    this.#broadcast({ type: 'message', roomSeq, timeMs, from, origin, line: say.line, text });
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
    this.#countHostSession(session.address.host, -1);
    this.#share.forget(session);
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

  /** One session more (+1) or fewer (-1) for `host`; a host with none is forgotten. */
  #countHostSession(host: string, change: 1 | -1): void {
    const count = (this.#sessionsByHost.get(host) ?? 0) + change;
    if (count > 0) {
      this.#sessionsByHost.set(host, count);
    } else {
      this.#sessionsByHost.delete(host);
    }
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
    const opened = this.#byNonce.get(nonceKey);
    if (opened !== undefined && opened.addressKey === address && macEqual(opened.clientShare, join.share)) {
      // The client did not get its ACCEPT (or the JOIN was duplicated): the same ACCEPT again, with no
      // second key exchange and no change. It goes to the session's address and is smaller than the JOIN.
      this.#send(opened.accept, from);
      return;
    }
    if (!cookieIsValid(secrets, address, join)) {
      if (!cookieIsCurrent(secrets, join)) {
        // A cookie from a slot already forgotten: the client took long (its JOIN was lost, or slow).
        // A fresh challenge, stateless and smaller than the JOIN, lets it try again.
        this.#send(encodePacket(challengeFor(secrets, address, join.clientNonce, this.serverKey)), from);
        this.#emit({ type: 'handshake.challenged', address, reason: 'cookie-expired' });
        return;
      }
      this.#drop(from, 'bad-cookie');
      return;
    }
    const replacing = opened !== undefined && opened.addressKey === address ? opened : undefined;
    if (replacing !== undefined) {
      if (replacing.claimed) {
        this.#drop(from, 'replayed-join');
        return;
      }
    } else if (this.recentJoins.has(nonceKey)) {
      this.#drop(from, 'replayed-join');
      return;
    }
    // The JOIN's cookie proved its address: what that host may have is asked now, and only now (nobody
    // can spend another host's budget), before any key exchange work.
    const host = from.host;
    const nowMs = this.#env.now();
    const hostSessions = (this.#sessionsByHost.get(host) ?? 0) - (replacing === undefined ? 0 : 1);
    if (hostSessions >= this.config.sessionsPerHostMax) {
      this.#wait(join, from, 'host-quota', this.config.firstContactTimeoutMs, 'host-quota');
      return;
    }
    const verdict = this.#throttle.admit(host, nowMs);
    if (!verdict.ok) {
      this.#wait(
        join,
        from,
        verdict.reason,
        verdict.retryAfterMs,
        verdict.reason === 'throttled' ? 'throttled' : 'overloaded',
      );
      return;
    }
    if (this.sessions.size - (replacing === undefined ? 0 : 1) >= this.config.sessionCountMax) {
      this.#wait(join, from, 'load', this.config.cookieSlotMs, 'full');
      return;
    }
    this.#pruneRecentJoins();
    if (this.recentJoins.size >= this.config.recentJoinCountMax) {
      this.#wait(join, from, 'load', this.config.cookieSlotMs, 'busy');
      return;
    }
    if (replacing !== undefined) {
      // A new exchange on the same handshake, with a cookie this server gave that address (a fresh one
      // after the first expired): the session the first opened can never be used by that client; it
      // gives way. Only after the cookie: whoever saw the nonce cannot end a session with a made-up one.
      this.#end(replacing, false);
    }
    this.#open(join, from, nonceKey);
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

  /**
   * The key exchange, for a JOIN whose cookie proved its address: the session opens with the keys it
   * gives, and the ACCEPT carries the server's share and, sealed, the reset token and the signature over
   * the whole exchange. A client with another password derives other keys: it cannot open the ACCEPT,
   * and nothing it sends on the session will open here.
   */
  #open(join: JoinPacket, from: PeerAddress, nonceKey: string): void {
    const crypto = this.#crypto;
    const nowMs = this.#env.now();
    // Charged before any curve work: a share the exchange refuses (the identity point costs a scalar
    // multiplication before it is found out) spends the budget like any exchange that proves nothing.
    this.#throttle.charge(from.host, nowMs);
    const sid = handshakeSid(join.clientNonce, join.cookie);
    const response = crypto.keyExchange.respond({
      prs: this.#password,
      ci: this.#channel,
      sid,
      random: this.#env.random(crypto.keyExchange.randomByteCount),
      peerShare: join.share,
    });
    if (response === undefined) {
      this.#drop(from, 'bad-share');
      return;
    }
    const sessionId = this.#newSessionId();
    const sessionIdBytes = sessionIdToBytes(sessionId);
    const clear = acceptClearBytes(join.clientNonce, sessionId, response.share);
    const signature = crypto.signature.sign(
      this.#identitySecret,
      acceptSignedBytes(this.#channel, sid, join.share, response.share, sessionIdBytes),
    );
    const resetToken = resetTokenOf(this.#resetKey, sessionIdBytes);
    const sealed = sealAccept(crypto.aead, response.isk, clear, { resetToken, signature });
    const accept = new Uint8Array(clear.length + sealed.length);
    accept.set(clear);
    accept.set(sealed, clear.length);
    const session = new ServerSession(
      {
        sessionId,
        address: from,
        addressKey: formatAddress(from),
        nonceKey,
        clientShare: join.share,
        accept,
        protection: new SessionProtection(
          sessionKeysOf(response.isk, sessionIdBytes),
          'server',
          crypto.aead,
          this.config.link.forgeriesMax,
        ),
      },
      this.config.link,
      nowMs,
      this.config.firstContactTimeoutMs,
      this.config,
    );
    this.sessions.set(sessionId, session);
    this.#countHostSession(from.host, +1);
    this.#byNonce.set(nonceKey, session);
    this.recentJoins.set(nonceKey, { sessionId, expiresAtMs: nowMs + 2 * this.config.cookieSlotMs });
    this.#touch(session);
    this.#send(accept, from);
    this.#emit({ type: 'session.opened', address: session.addressKey, sessionId, handshake: nonceKey });
    const stats = this.stats;
    stats.sessionCountHighWater = Math.max(stats.sessionCountHighWater, this.sessions.size);
    stats.recentJoinCountHighWater = Math.max(stats.recentJoinCountHighWater, this.recentJoins.size);
  }

  /**
   * A session's first frame claims a name. Its packet opened with the session's keys, so its client
   * ran the key exchange with the right password: it becomes a member, or is refused (sealed, so
   * nobody else can refuse it).
   */
  #claim(session: ServerSession, name: string, origin: Origin): void {
    if (this.#shutdown !== undefined) {
      return;
    }
    session.name = name;
    session.origin = origin;
    const holder = this.members.get(nameKey(name));
    if (holder !== undefined && holder !== session && holder.origin === origin) {
      // The holder's own client, rejoining (its CLAIM holds the secret behind the holder's origin):
      // its old session is gone for it (its keys are spent, or it was reset), so it gives way.
      this.#leave(holder, { reason: 'timeout', cause: 'rejoined' });
    }
    const refusal: RoomRefusal | undefined = !validateName(name).ok
      ? 'bad-name'
      : this.members.has(nameKey(name))
        ? 'name-taken'
        : this.members.size >= this.config.memberCountMax
          ? 'room-full'
          : undefined;
    if (refusal !== undefined) {
      this.stats.joinsRefused += 1;
      session.refuse(refusal);
      this.#emit({ type: 'join.refused', address: session.addressKey, name, reason: refusal });
      return;
    }
    this.#roomSeq += 1;
    const roomSeq = this.#roomSeq;
    // The others hear of the newcomer before it is a member; it learns of itself in its member list.
    this.#broadcast({ type: 'joined', roomSeq, name });
    session.member = true;
    this.members.set(nameKey(name), session);
    const names: string[] = [];
    for (const member of this.members.values()) {
      names.push(member.name);
    }
    this.#deliver(session, membersFrames(roomSeq, names, this.config.membersPerFrameMax));
    this.#emit({
      type: 'member.joined',
      roomSeq,
      name,
      address: session.addressKey,
      sessionId: session.sessionId,
      handshake: session.nonceKey,
      memberCount: this.members.size,
    });
    const stats = this.stats;
    stats.memberCountHighWater = Math.max(stats.memberCountHighWater, this.members.size);
  }

  // ---- Effects. ----

  #send(datagram: Uint8Array, to: PeerAddress): void {
    this.#effects.push({ kind: 'send', datagram, to });
  }

  #emit(event: ServerEvent): void {
    this.#effects.push({ kind: 'emit', event });
  }

  /**
   * No key exchange for this JOIN now: the client is told why and when to try again (a WAIT, smaller
   * than the JOIN), and the JOIN is counted as dropped, so that a flood of them is summed in the log.
   */
  #wait(
    join: JoinPacket,
    from: PeerAddress,
    reason: WaitReason,
    retryAfterMs: number,
    dropReason: DropReason,
  ): void {
    this.#send(encodePacket({ type: 'wait', clientNonce: join.clientNonce, reason, retryAfterMs }), from);
    this.#drop(from, dropReason, `${reason}: retry after ${retryAfterMs} ms`);
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
