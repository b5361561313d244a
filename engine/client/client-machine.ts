import { and, assign, emit, enqueueActions, setup } from 'xstate';
import { acceptClearBytes, decodePacket, encodePacket, sessionIdToBytes } from '../codec/codec.ts';
import {
  type AcceptPacket,
  type ChallengePacket,
  NONCE_BYTES,
  ORIGIN_SECRET_BYTES,
  type Origin,
  type RefusePacket,
  type ResetPacket,
  type RoomRefusal,
  SAYS_UNCONFIRMED_MAX,
  type SealedSessionPacket,
  type WaitPacket,
} from '../codec/frames.ts';
import type { ClientConfig } from '../config.ts';
import { macEqual, originOf, toHex } from '../crypto.ts';
import { Link } from '../link/link.ts';
import { validateName } from '../names.ts';
import { type DatagramReceived, type Environment, formatAddress, type PeerAddress } from '../port.ts';
import {
  type AcceptSecret,
  acceptSignedBytes,
  channelId,
  handshakeSid,
  openAccept,
  sessionKeysOf,
} from '../secure/handshake-crypto.ts';
import { SessionProtection } from '../secure/session-protection.ts';
import { type CryptoSuite, REAL_CRYPTO } from '../secure/suite.ts';
import { changeTimer, closeTurn, type TimerEnqueue } from '../turn.ts';
import { type ClientEvent, type CloseReason, describeRefusal } from './client-events.ts';
import { applyDelivered } from './deliver.ts';
import { HeardLines } from './heard-lines.ts';
import { OwnLines } from './own-lines.ts';
import { type ClientPhase, sayVerdict } from './say.ts';
import { ClientSession } from './session.ts';

export interface ClientInput {
  readonly name: string;
  /** Whether a server's identity key is the one expected (pinned); any key when absent. */
  readonly expectServerKey?: ((serverKey: Uint8Array) => boolean) | undefined;
  /** The room password as the key exchange takes it (see `passwordBytes`). */
  readonly password: Uint8Array;
  readonly server: PeerAddress;
  readonly config: ClientConfig;
  readonly env: Environment;
}

export type ClientCommand =
  | { readonly type: 'chat.say'; readonly text: string }
  | { readonly type: 'chat.quit' };

/** The client's one link timer (handshake retries and the quit timeout are the statechart's own). */
const CLIENT_TIMER = 'client.timer';

export type ClientMachineEvent =
  | DatagramReceived
  | ClientCommand
  /** The link's timer fired. */
  | { readonly type: typeof CLIENT_TIMER }
  /** The turn in which the link was given something to send is over: send it. */
  | { readonly type: 'client.flush' };

/** JOIN attempts in a row answered only by ACCEPTs that do not verify before the client concludes. */
export const UNVERIFIED_ATTEMPTS_FOR_VERDICT = 3;

/** The one timer's event, shared: an event's actions allocate none. */
const CLIENT_TIMER_EVENT: ClientMachineEvent = Object.freeze({ type: CLIENT_TIMER });

/** The key exchange under way with one CHALLENGE's server. */
export interface Exchange {
  readonly challenge: ChallengePacket;
  readonly ci: Uint8Array;
  readonly sid: Uint8Array;
  readonly share: Uint8Array;
  finish(peerShare: Uint8Array): Uint8Array | undefined;
}

/** An ACCEPT that verified: the exchange's ISK opened it and the server's signature holds. */
interface ProvedAccept {
  readonly packet: AcceptPacket;
  readonly from: PeerAddress;
  readonly isk: Uint8Array;
  readonly secret: AcceptSecret;
}

export interface ClientContext {
  readonly name: string;
  readonly expectServerKey?: ((serverKey: Uint8Array) => boolean) | undefined;
  readonly password: Uint8Array;
  readonly crypto: CryptoSuite;
  readonly server: PeerAddress;
  readonly config: ClientConfig;
  readonly env: Environment;
  readonly clientNonce: Uint8Array;
  /** The key exchange of the current CHALLENGE; a fresh cookie starts another. */
  readonly exchange: Exchange | undefined;
  readonly handshakeAttempt: number;
  /**
   * Answers that came but did not verify (an ACCEPT that does not open with our key or whose signature
   * fails): a wrong password, or someone interfering. The client keeps trying, and tries at most
   * `acceptTriesMax` of them per exchange (each is one online guess for whoever sent it).
   */
  readonly unverifiedAnswers: number;
  /** Of them, those tried against the current exchange: at most `acceptTriesMax`. */
  readonly exchangeTries: number;
  /**
   * JOIN attempts answered only by ACCEPTs that did not verify. With a wrong password every answer is
   * such an ACCEPT (the server sends the same one for every copy of a JOIN), so after
   * {@link UNVERIFIED_ATTEMPTS_FOR_VERDICT} of them the client says so, instead of after every retry.
   * Attempts go at the retry timer's pace, and forgeries within one count once: a forger who answers
   * first does not stop the genuine ACCEPT of the same attempt from verifying.
   */
  readonly unverifiedAttempts: number;
  /** Whether the JOIN attempt under way has had an ACCEPT that did not verify. */
  readonly attemptUnverified: boolean;
  /** REFUSE 'version' answers: not authenticated, so believed only when nothing else answered. */
  readonly versionRefusals: number;
  /**
   * WAITs taken in this handshake (the server would not run the key exchange yet): at most
   * `waitCountMax`, since they are not authenticated; `waitMs` is how long the one under way lasts.
   */
  readonly waits: number;
  readonly waitMs: number;
  /** CHALLENGEs whose server key is not the one expected: ignored, and reported if nothing else came. */
  readonly keyMismatches: number;
  /** Fresh CHALLENGEs taken in this handshake, for cookies that expired while the JOIN was retried. */
  readonly cookieRenewals: number;
  /**
   * Whether the attempt under way took a fresh CHALLENGE already: one per attempt at most, so that
   * forged ones (a CHALLENGE is not authenticated) cost at most an attempt each, never the handshake.
   */
  readonly attemptRenewed: boolean;
  /** Created when the server accepts (and again for each rejoin). */
  readonly session: ClientSession | undefined;
  /**
   * Drawn once: every session of this client claims it (sealed, to the server alone), and proves with
   * it that a rejoin is this client's.
   */
  readonly originSecret: Uint8Array;
  /** Its hash, which the server tags the client's texts with: members know a resent text by it. */
  readonly origin: Origin;
  /** The client's texts until the server confirms them: they go out once a session is open. */
  readonly own: OwnLines;
  /** What the client has shown of the others' texts, across its sessions. */
  readonly heard: HeardLines;
  /** When the client rejoined after a RESET (the recent ones: at most `rejoinCountMax` in the window). */
  readonly rejoinTimesMs: readonly number[];
  /** During and after a rejoin: the texts it resends, for the `rejoined` event. */
  readonly resentCount: number | undefined;
  /** Member names gathered from MEMBERS frames until the final one. */
  readonly welcomeNames: readonly string[];
  /** The room as this client knows it: the members, in the order they joined. */
  readonly members: readonly string[];
  /** How the server ended the session, once a frame did: it confirmed our QUIT, or closed the room. */
  readonly ended: 'goodbye' | 'shutdown' | 'refused' | undefined;
  /** Why the room refused our claim, when it did. */
  readonly refusal: RoomRefusal | undefined;
  readonly closeReason: CloseReason;
  readonly closeMessage: string;
  /** Datagrams that changed nothing: not decodable, not ours, or not for the state the client is in. */
  readonly datagramsIgnored: number;
}

/** A datagram as the client reads it: one of its handshake's answers, a packet of its session, or none. */
type Reading =
  | { readonly kind: 'challenge'; readonly packet: ChallengePacket }
  | { readonly kind: 'accept'; readonly accept: ProvedAccept | undefined }
  | { readonly kind: 'refuse'; readonly packet: RefusePacket }
  | { readonly kind: 'wait'; readonly packet: WaitPacket }
  | { readonly kind: 'session'; readonly packet: SealedSessionPacket }
  | { readonly kind: 'reset'; readonly packet: ResetPacket }
  | { readonly kind: 'none' };

const NOT_OURS: Reading = Object.freeze({ kind: 'none' });

/**
 * Each received datagram is decoded once, however many guards and actions look at it while the client
 * handles it: the last reading is kept with the event and what it was read against (the client's nonce
 * and session), and any other event, client or session reads afresh.
 */
let lastRead:
  | {
      event: object;
      clientNonce: Uint8Array;
      session: ClientSession | undefined;
      exchange: Exchange | undefined;
      reading: Reading;
    }
  | undefined;

function read(context: ClientContext, event: ClientMachineEvent): Reading {
  if (event.type !== 'datagram.received') {
    return NOT_OURS;
  }
  if (
    lastRead !== undefined &&
    lastRead.event === event &&
    lastRead.clientNonce === context.clientNonce &&
    lastRead.session === context.session &&
    lastRead.exchange === context.exchange
  ) {
    return lastRead.reading;
  }
  const reading = readDatagram(context, event.datagram, event.from);
  lastRead = {
    event,
    clientNonce: context.clientNonce,
    session: context.session,
    exchange: context.exchange,
    reading,
  };
  return reading;
}

/**
 * Verifies an ACCEPT for the exchange under way: the server's share gives the ISK, the ISK opens the
 * sealed part, and the server's identity key (the CHALLENGE's) signed the whole exchange. Undefined if
 * any step fails: a wrong password, or a forgery.
 */
function proveAccept(
  context: ClientContext,
  packet: AcceptPacket,
  from: PeerAddress,
): ProvedAccept | undefined {
  const exchange = context.exchange;
  if (exchange === undefined || context.exchangeTries >= context.config.acceptTriesMax) {
    return undefined;
  }
  const isk = exchange.finish(packet.share);
  if (isk === undefined) {
    return undefined;
  }
  const clear = acceptClearBytes(packet.clientNonce, packet.sessionId, packet.share);
  const secret = openAccept(context.crypto.aead, isk, clear, packet.sealed);
  if (secret === undefined) {
    return undefined;
  }
  const signed = acceptSignedBytes(
    exchange.ci,
    exchange.sid,
    exchange.share,
    packet.share,
    sessionIdToBytes(packet.sessionId),
  );
  if (!context.crypto.signature.verify(exchange.challenge.serverKey, signed, secret.signature)) {
    return undefined;
  }
  return { packet, from, isk, secret };
}

function readDatagram(context: ClientContext, datagram: Uint8Array, from: PeerAddress): Reading {
  const decoded = decodePacket(datagram);
  if (!decoded.ok) {
    return NOT_OURS;
  }
  const packet = decoded.packet;
  switch (packet.type) {
    case 'session':
      return context.session?.owns(packet, from) === true ? { kind: 'session', packet } : NOT_OURS;
    case 'reset': {
      const session = context.session;
      // Only the server's identity could have made the token: the session is gone.
      return session?.owns(packet, from) === true && macEqual(packet.token, session.resetToken)
        ? { kind: 'reset', packet }
        : NOT_OURS;
    }
    case 'challenge':
    case 'refuse':
    case 'accept':
    case 'wait':
      if (!macEqual(packet.clientNonce, context.clientNonce)) {
        return NOT_OURS;
      }
      switch (packet.type) {
        case 'accept':
          return { kind: 'accept', accept: proveAccept(context, packet, from) };
        case 'challenge':
          return { kind: 'challenge', packet };
        case 'refuse':
          return { kind: 'refuse', packet };
        case 'wait':
          return { kind: 'wait', packet };
      }
      return NOT_OURS;
    case 'hello':
    case 'join':
      return NOT_OURS;
  }
}

/** Whether a CHALLENGE's server key is one the client accepts (pinned, or any). */
function keyExpected(context: ClientContext, challenge: ChallengePacket): boolean {
  return context.expectServerKey === undefined || context.expectServerKey(challenge.serverKey);
}

/** Starts the key exchange with the server of a CHALLENGE: the share the JOIN will carry. */
function startExchange(context: ClientContext, challenge: ChallengePacket): Exchange {
  const ci = channelId(challenge.serverKey);
  const sid = handshakeSid(context.clientNonce, challenge.cookie);
  const keyExchange = context.crypto.keyExchange;
  const run = keyExchange.initiate({
    prs: context.password,
    ci,
    sid,
    random: context.env.random(keyExchange.randomByteCount),
  });
  return { challenge, ci, sid, share: run.share, finish: run.finish };
}

/** What a handshake starts from, the first and each rejoin's: no exchange, no answers, no session. */
const FRESH_HANDSHAKE = {
  exchange: undefined,
  handshakeAttempt: 0,
  unverifiedAnswers: 0,
  exchangeTries: 0,
  unverifiedAttempts: 0,
  attemptUnverified: false,
  versionRefusals: 0,
  waits: 0,
  waitMs: 0,
  keyMismatches: 0,
  cookieRenewals: 0,
  attemptRenewed: false,
  session: undefined,
  welcomeNames: [],
  members: [],
  ended: undefined,
  refusal: undefined,
} as const satisfies Partial<ClientContext>;

function originFields(originSecret: Uint8Array): { originSecret: Uint8Array; origin: Origin } {
  return { originSecret, origin: originOf(originSecret) };
}

/** Why a client that may rejoin no more within the window closes instead. */
function givingUp(context: ClientContext, what: string): string {
  const { rejoinCountMax, rejoinWindowMs } = context.config;
  return `${what} ${rejoinCountMax + 1} times within ${rejoinWindowMs / 1000} s; giving up`;
}

/** Whether the client may rejoin once more: fewer than `rejoinCountMax` rejoins in the window. */
function mayRejoin(context: ClientContext): boolean {
  return recentRejoins(context).length < context.config.rejoinCountMax;
}

/** Whether the session's key sealed as many packets, or faced as many forgeries, as it may. */
function keysSpent(context: ClientContext): boolean {
  return context.session?.link.dead === 'keys-spent' || context.session?.protection.spent === true;
}

/** The rejoins within the window that ends now. */
function recentRejoins(context: ClientContext): readonly number[] {
  const sinceMs = context.env.now() - context.config.rejoinWindowMs;
  return context.rejoinTimesMs.filter((atMs) => atMs > sinceMs);
}

/** The handshake step that went unanswered: the first (HELLO) or the second (JOIN). */
type HandshakeStep = 'hello' | 'join';

/**
 * Why a login got no answer, and what the user can check. A server that answered the HELLO is there
 * and reachable: a JOIN it never answers means it is busy or stopping, not a wrong address.
 */
function unreachableMessage(context: ClientContext, step: HandshakeStep): string {
  const attempts = context.config.handshakeRetryCountMax + 1;
  const server = formatAddress(context.server);
  if (step === 'join') {
    return `${server} answered but did not let us in after ${attempts} attempts: the server may be busy or stopping; try again in a moment`;
  }
  return (
    `no answer from ${server} after ${attempts} attempts: check that a gaschat ` +
    `server runs there, that the address and the UDP port (${context.server.port}) are right, and that no ` +
    `firewall blocks UDP port ${context.server.port}`
  );
}

/**
 * Sends what the window lets go of the client's own texts: at most SAYS_UNCONFIRMED_MAX of them out and
 * unconfirmed on the session (the server holds no more of a member's texts waiting their turn), the
 * rest held here, in order, until confirmations come back. Once every text has gone, a BYE the user
 * asked for goes after them.
 */
function sendOwn(session: ClientSession, own: OwnLines): void {
  const upTo = Math.min(own.lastLine, own.confirmedLine + SAYS_UNCONFIRMED_MAX);
  if (upTo > session.sentLine) {
    for (const line of own.between(session.sentLine, upTo)) {
      session.link.enqueue({ type: 'say', line: line.line, text: line.text });
    }
    session.sentLine = upTo;
  }
  if (session.byePending && session.sentLine >= own.lastLine) {
    session.byePending = false;
    session.link.enqueue({ type: 'bye' });
  }
}

/** A wait for people: "1.5 s", "60 s". */
function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

function handshakeDelayMs(context: ClientContext): number {
  const config = context.config;
  return Math.min(config.handshakeRetryMaxMs, config.handshakeRetryInitialMs * 2 ** context.handshakeAttempt);
}

/** The part of xstate's `enqueue` (in `enqueueActions`) that carrying out a link's turn needs. */
interface TurnEnqueue extends TimerEnqueue<ClientMachineEvent> {
  (action: () => void): void;
}

/**
 * Carries out what an event left the link to do, as actions: the datagrams, the flush at the end of the
 * turn, the timer.
 */
function finishLinkTurn(context: ClientContext, enqueue: TurnEnqueue, sendNow: boolean): void {
  const session = context.session;
  if (session === undefined) {
    return;
  }
  const turn = session.finishEvent(context.env.now(), sendNow);
  if (turn.send) {
    enqueue(session.transmit);
  }
  if (turn.watchTurn) {
    enqueue(session.watchTurn);
  }
  changeTimer(enqueue, CLIENT_TIMER_EVENT, turn.timer);
}

/**
 * The client: idle until started, then handshaking (HELLO, then JOIN with the proof), joined, leaving
 * after QUIT, and closed. It emits what a user sees as `ClientEvent`s, and takes `chat.say` and
 * `chat.quit` commands. Its session (the link, once accepted) is a mutable object it owns; every
 * datagram, log event and timer leaves as an action, after the transition is computed.
 */
export const clientMachine = setup({
  types: {
    input: {} as ClientInput,
    context: {} as ClientContext,
    events: {} as ClientMachineEvent,
    emitted: {} as ClientEvent,
  },
  delays: {
    handshakeRetry: ({ context }) => handshakeDelayMs(context),
    quitTimeout: ({ context }) => context.config.quitTimeoutMs,
    handshakeWait: ({ context }) => context.waitMs,
  },
  actions: {
    countIgnored: assign({ datagramsIgnored: ({ context }) => context.datagramsIgnored + 1 }),
    sendHello: ({ context }) => {
      context.env.port.send(
        encodePacket({ type: 'hello', clientNonce: context.clientNonce }),
        context.server,
      );
    },
    sendJoin: ({ context }) => {
      const exchange = context.exchange;
      if (exchange === undefined) {
        return;
      }
      const { clientNonce, timeSlot, cookie } = exchange.challenge;
      const join = { type: 'join', clientNonce, timeSlot, cookie, share: exchange.share } as const;
      context.env.port.send(encodePacket(join), context.server);
    },
    countAttempt: assign({
      handshakeAttempt: ({ context }) => context.handshakeAttempt + 1,
      attemptRenewed: false,
    }),
    // After countAttempt: says which attempt goes out now, so a user waiting on a silent server
    // knows that something is happening and for how long it will go on.
    emitRetrying: emit(({ context }, params: { readonly step: HandshakeStep }): ClientEvent => {
      const attempt = context.handshakeAttempt + 1;
      const attemptCountMax = context.config.handshakeRetryCountMax + 1;
      const what = params.step === 'hello' ? 'no answer' : 'no answer to the JOIN';
      return {
        type: 'retrying',
        attempt,
        attemptCountMax,
        message: `${what} from ${formatAddress(context.server)} yet; trying again (attempt ${attempt} of ${attemptCountMax})`,
      };
    }),
    // The retries are spent. Answers that came but never verified mean a wrong password (or someone
    // interfering: they are not authenticated, and the client cannot tell); only REFUSE 'version'
    // answers, another version; no answer at all, an unreachable server.
    closeUnanswered: enqueueActions(({ context, enqueue }, params: { readonly step: HandshakeStep }) => {
      // A REFUSE 'version' is believed only from a server that never challenged us: one that did speaks
      // our version, and the REFUSE was someone else's.
      const otherVersion = context.versionRefusals > 0 && context.exchange === undefined;
      const otherKey = context.keyMismatches > 0 && context.exchange === undefined;
      if (context.unverifiedAnswers > 0 || otherKey || otherVersion) {
        const reason = context.unverifiedAnswers > 0 ? 'bad-password' : otherKey ? 'server-key' : 'version';
        const message = describeRefusal(reason, context.name);
        enqueue.emit({ type: 'rejected', reason, message });
        enqueue.assign({ closeReason: 'rejected', closeMessage: message });
        return;
      }
      enqueue.assign({ closeReason: 'unreachable', closeMessage: unreachableMessage(context, params.step) });
    }),
    takeChallenge: assign(({ context, event }) => {
      const reading = read(context, event);
      return reading.kind === 'challenge'
        ? { exchange: startExchange(context, reading.packet), handshakeAttempt: 0 }
        : {};
    }),
    takeFreshCookie: assign(({ context, event }) => {
      const reading = read(context, event);
      return reading.kind === 'challenge'
        ? {
            exchange: startExchange(context, reading.packet),
            // Its retries counted afresh the first few times; after that the count goes on, so that a
            // server that only ever challenges (or a forger) cannot keep the client for ever.
            handshakeAttempt:
              context.cookieRenewals < context.config.handshakeRenewCountMax ? 0 : context.handshakeAttempt,
            exchangeTries: 0,
            cookieRenewals: context.cookieRenewals + 1,
            attemptRenewed: true,
          }
        : {};
    }),
    countUnverified: assign(({ context }) => ({
      unverifiedAnswers: context.unverifiedAnswers + 1,
      exchangeTries: context.exchangeTries + 1,
      unverifiedAttempts: context.unverifiedAttempts + (context.attemptUnverified ? 0 : 1),
      attemptUnverified: true,
    })),
    startAttempt: assign({ attemptUnverified: false }),
    // The server will not run the key exchange yet: wait as long as it says (within bounds), then start
    // the handshake afresh. The exchange under way is kept, so that a genuine ACCEPT still counts.
    takeWait: enqueueActions(({ context, event, enqueue }) => {
      const reading = read(context, event);
      if (reading.kind !== 'wait') {
        return;
      }
      const config = context.config;
      const { reason, retryAfterMs } = reading.packet;
      const waitMs = Math.min(config.waitMaxMs, Math.max(config.handshakeRetryInitialMs, retryAfterMs));
      const waits = context.waits + 1;
      enqueue.assign({ waits, waitMs, handshakeAttempt: 0 });
      enqueue.emit({
        type: 'waiting',
        reason,
        retryAfterMs: waitMs,
        message: `${describeRefusal(reason, context.name)}; trying again in ${formatSeconds(waitMs)} (wait ${waits} of ${config.waitCountMax})`,
      });
    }),
    closeWaited: enqueueActions(({ context, event, enqueue }) => {
      const reading = read(context, event);
      const reason = reading.kind === 'wait' ? reading.packet.reason : 'load';
      const message = `${describeRefusal(reason, context.name)}; gave up after waiting ${context.waits} times`;
      enqueue.emit({ type: 'rejected', reason, message });
      enqueue.assign({ closeReason: 'rejected', closeMessage: message });
    }),
    countVersionRefusal: assign({ versionRefusals: ({ context }) => context.versionRefusals + 1 }),
    countKeyMismatch: assign({ keyMismatches: ({ context }) => context.keyMismatches + 1 }),
    openSession: assign(({ context, event, self }) => {
      const reading = read(context, event);
      const accept = reading.kind === 'accept' ? reading.accept : undefined;
      if (accept === undefined) {
        return {};
      }
      const sessionId = accept.packet.sessionId;
      const protection = new SessionProtection(
        sessionKeysOf(accept.isk, sessionIdToBytes(sessionId)),
        'client',
        context.crypto.aead,
        context.config.link.forgeriesMax,
      );
      const link = new Link(context.config.link, sessionId, context.env.now(), protection.seal);
      // The first frame claims the name; the texts not yet confirmed follow it (as many as the window
      // lets go): those said while handshaking and, after a rejoin, those the old server never
      // confirmed, under their numbers.
      link.enqueue({ type: 'claim', name: context.name, originSecret: context.originSecret });
      // The session sends where the JOIN went (the server is known to receive there), and takes
      // packets from there or from where the ACCEPT came (a server on several addresses may answer
      // from another): an ACCEPT copied from a spoofed source cannot send the session astray.
      const session: ClientSession = new ClientSession(
        {
          link,
          protection,
          resetToken: accept.secret.resetToken,
          server: context.server,
          answeredFrom: accept.from,
          serverKeyHex: toHex(context.exchange?.challenge.serverKey ?? new Uint8Array(0)),
        },
        context.env,
        closeTurn(self, () => session.endTurn(), { type: 'client.flush' } as const),
      );
      sendOwn(session, context.own);
      return { session };
    }),
    rejectBadName: enqueueActions(({ context, enqueue }) => {
      const validation = validateName(context.name);
      const message = validation.ok ? describeRefusal('bad-name', context.name) : validation.message;
      enqueue.emit({ type: 'rejected', reason: 'bad-name', message });
      enqueue.assign({ closeReason: 'rejected', closeMessage: message });
    }),
    emitRefused: enqueueActions(({ context, enqueue }) => {
      const reason = context.refusal ?? 'room-full';
      const message = describeRefusal(reason, context.name);
      enqueue.emit({ type: 'rejected', reason, message });
      enqueue.assign({ closeReason: 'rejected', closeMessage: message });
    }),
    say: enqueueActions(({ context, event, enqueue }, params: { readonly phase: ClientPhase }) => {
      if (event.type !== 'chat.say') {
        return;
      }
      const verdict = sayVerdict(context, params.phase, event.text);
      if (!verdict.ok) {
        enqueue.emit({ type: 'error', code: verdict.code, message: verdict.message });
        return;
      }
      context.own.add(event.text);
      if (context.session === undefined) {
        return;
      }
      sendOwn(context.session, context.own);
      finishLinkTurn(context, enqueue, false);
    }),
    // Texts the server never confirmed, when the client closes: not sent (no session took them), or
    // not known to have reached everyone (the session ended first).
    reportUnconfirmed: enqueueActions(({ context, enqueue }) => {
      const count = context.own.count;
      if (count === 0) {
        return;
      }
      const texts = `${count} message${count === 1 ? ' was' : 's were'}`;
      const message =
        context.session !== undefined
          ? `${texts} not confirmed by the server before the client closed; they may not have reached everyone`
          : context.resentCount === undefined
            ? `${texts} not sent: the client closed before it joined the room`
            : context.closeReason === 'quit'
              ? `${texts} not sent: the client left before it joined the room again`
              : `${texts} not sent: the client could not join the room again`;
      enqueue.emit({ type: 'error', code: 'not-sent', message });
    }),
    // The server restarted and lost the session (its RESET token proved that key's holder), or the
    // session's keys are spent: join again, as a new handshake with new keys, with the same name, and
    // only with the server of the same identity key.
    startRejoin: enqueueActions(({ context, enqueue }, params: { readonly why: 'reset' | 'keys-spent' }) => {
      const serverKey = context.exchange?.challenge.serverKey ?? new Uint8Array(0);
      const unconfirmed = context.own.count;
      enqueue.cancel(CLIENT_TIMER);
      const sameServer = (key: Uint8Array) => macEqual(key, serverKey);
      // The function form: xstate would take a function property of the object form for an assigner.
      enqueue.assign(() => ({
        expectServerKey: sameServer,
        clientNonce: context.env.random(NONCE_BYTES),
        ...FRESH_HANDSHAKE,
        rejoinTimesMs: [...recentRejoins(context), context.env.now()],
        resentCount: unconfirmed,
      }));
      const toResend =
        unconfirmed === 0 ? '' : ` (${unconfirmed} message${unconfirmed === 1 ? '' : 's'} to resend)`;
      enqueue.emit({
        type: 'reconnecting',
        unconfirmed,
        message: `${params.why === 'reset' ? 'the server no longer holds this session (it restarted, or ended it)' : "this session's keys are spent"}; joining again as "${context.name}"${toResend}`,
      });
    }),
    sayBye: enqueueActions(({ context, enqueue }) => {
      const session = context.session;
      if (session === undefined) {
        return;
      }
      session.byePending = true;
      sendOwn(session, context.own);
      finishLinkTurn(context, enqueue, false);
    }),
    receive: enqueueActions(({ context, event, enqueue }) => {
      const reading = read(context, event);
      const session = context.session;
      if (reading.kind !== 'session' || session === undefined) {
        return;
      }
      const opened = session.protection.open(reading.packet);
      if (!opened.ok) {
        // Forged, replayed or corrupted: it changes nothing, not even the link's idea of the server's life.
        enqueue.assign({ datagramsIgnored: context.datagramsIgnored + 1 });
        return;
      }
      const frames = session.link.receive(opened.packet, context.env.now());
      const outcome = applyDelivered(
        {
          name: context.name,
          origin: context.origin,
          confirmedLine: context.own.confirmedLine,
          heard: context.heard,
          resentCount: context.resentCount,
          serverKeyHex: session.serverKeyHex,
          welcomeNames: context.welcomeNames,
          members: context.members,
        },
        frames,
        context.config.memberListCountMax,
      );
      context.own.confirm(outcome.confirmedLine);
      sendOwn(session, context.own);
      if (outcome.welcomeNames !== context.welcomeNames || outcome.members !== context.members) {
        enqueue.assign({ welcomeNames: outcome.welcomeNames, members: outcome.members });
      }
      for (const clientEvent of outcome.events) {
        enqueue.emit(clientEvent);
      }
      if (outcome.end !== undefined) {
        enqueue.assign({ ended: outcome.end, refusal: outcome.refusal });
      }
      // The server's last word is acknowledged at once, before the client goes quiet, so that the
      // server need not retransmit it.
      finishLinkTurn(context, enqueue, outcome.end !== undefined);
    }),
    onTimer: enqueueActions(({ context, enqueue }) => {
      context.session?.timer(context.env.now());
      finishLinkTurn(context, enqueue, true);
    }),
    onFlush: enqueueActions(({ context, enqueue }) => {
      finishLinkTurn(context, enqueue, true);
    }),
    startLink: enqueueActions(({ context, enqueue }) => {
      finishLinkTurn(context, enqueue, false);
    }),
    closeWith: assign((_, params: { reason: CloseReason; message: string }) => ({
      closeReason: params.reason,
      closeMessage: params.message,
    })),
    closeKeysSpent: assign(({ context }) => ({
      closeReason: 'timeout' as const,
      closeMessage: givingUp(context, "this session's keys were spent"),
    })),
    closeServerClosed: assign({
      closeReason: 'server-closed' as const,
      closeMessage: 'the server closed the room',
    }),
    closeReset: assign(({ context }) => ({
      closeReason: 'server-closed' as const,
      closeMessage: !mayRejoin(context)
        ? givingUp(context, 'the server lost this session')
        : 'the server no longer holds this session (it restarted, or ended it)',
    })),
    emitClosed: enqueueActions(({ context, enqueue }) => {
      enqueue.cancel(CLIENT_TIMER);
      enqueue.emit({ type: 'closed', reason: context.closeReason, message: context.closeMessage });
    }),
  },
  guards: {
    handshakeAttemptsLeft: ({ context }) => context.handshakeAttempt < context.config.handshakeRetryCountMax,
    isChallenge: ({ context, event }) => {
      const reading = read(context, event);
      return reading.kind === 'challenge' && keyExpected(context, reading.packet);
    },
    isForeignKeyChallengeVerdict: ({ context, event }) => {
      const reading = read(context, event);
      return (
        reading.kind === 'challenge' &&
        !keyExpected(context, reading.packet) &&
        context.keyMismatches + 1 >= UNVERIFIED_ATTEMPTS_FOR_VERDICT
      );
    },
    isForeignKeyChallenge: ({ context, event }) => {
      const reading = read(context, event);
      return reading.kind === 'challenge' && !keyExpected(context, reading.packet);
    },
    // Only 'version' travels in a REFUSE in this version; any other reason is a forgery or an old server.
    isRefusal: ({ context, event }) => {
      const reading = read(context, event);
      return reading.kind === 'refuse' && reading.packet.reason === 'version';
    },
    isWait: ({ context, event }) => read(context, event).kind === 'wait',
    byeHeldBack: ({ context }) => context.session?.byePending === true,
    waitsLeft: ({ context }) => context.waits < context.config.waitCountMax,
    isSessionPacket: ({ context, event }) => read(context, event).kind === 'session',
    isReset: ({ context, event }) => read(context, event).kind === 'reset',
    // The session's key sealed as many packets, or faced as many forgeries, as it may.
    keysSpentToRejoin: ({ context }) => keysSpent(context) && mayRejoin(context),
    keysSpent: ({ context }) => keysSpent(context),
    isResetToRejoin: ({ context, event }) => read(context, event).kind === 'reset' && mayRejoin(context),
    isProvedAccept: ({ context, event }) => {
      const reading = read(context, event);
      return reading.kind === 'accept' && reading.accept !== undefined;
    },
    // The third JOIN attempt in a row answered only by ACCEPTs that do not open: the verdict is due.
    isUnprovedAcceptVerdict: ({ context, event }) => {
      const reading = read(context, event);
      return (
        reading.kind === 'accept' &&
        reading.accept === undefined &&
        !context.attemptUnverified &&
        context.unverifiedAttempts + 1 >= UNVERIFIED_ATTEMPTS_FOR_VERDICT
      );
    },
    isUnprovedAccept: ({ context, event }) => {
      const reading = read(context, event);
      return reading.kind === 'accept' && reading.accept === undefined;
    },
    isUsableFreshCookie: ({ context, event }) => {
      const reading = read(context, event);
      const cookie = context.exchange?.challenge.cookie;
      return (
        reading.kind === 'challenge' &&
        keyExpected(context, reading.packet) &&
        !context.attemptRenewed &&
        (cookie === undefined || !macEqual(cookie, reading.packet.cookie))
      );
    },
    serverClosedRoom: ({ context }) => context.ended === 'shutdown',
    serverConfirmedQuit: ({ context }) => context.ended === 'goodbye',
    serverRefusedClaim: ({ context }) => context.ended === 'refused',
    linkDead: ({ context }) => context.session?.link.dead !== undefined,
    nameInvalid: ({ context }) => !validateName(context.name).ok,
  },
}).createMachine({
  id: 'client',
  context: ({ input }) => ({
    ...input,
    crypto: input.env.crypto ?? REAL_CRYPTO,
    clientNonce: input.env.random(NONCE_BYTES),
    ...FRESH_HANDSHAKE,
    ...originFields(input.env.random(ORIGIN_SECRET_BYTES)),
    own: new OwnLines(),
    heard: new HeardLines(2 * input.config.memberListCountMax),
    rejoinTimesMs: [],
    resentCount: undefined,
    closeReason: 'quit',
    closeMessage: 'left the room',
    datagramsIgnored: 0,
  }),
  initial: 'starting',
  // A datagram no state has a use for changes nothing but this count.
  on: {
    'datagram.received': { actions: 'countIgnored' },
  },
  states: {
    starting: {
      always: [
        { guard: 'nameInvalid', target: 'closed', actions: 'rejectBadName' },
        { target: 'handshaking' },
      ],
    },
    handshaking: {
      initial: 'hello',
      on: {
        'chat.say': { actions: { type: 'say', params: { phase: 'handshaking' } } },
        'chat.quit': {
          target: 'closed',
          actions: { type: 'closeWith', params: { reason: 'quit', message: 'left before joining' } },
        },
        // Not authenticated: believed only if nothing else answers (see closeUnanswered).
        'datagram.received': [
          { guard: 'isRefusal', actions: 'countVersionRefusal' },
          { guard: 'isForeignKeyChallenge', actions: 'countKeyMismatch' },
          { guard: 'isUnprovedAccept', actions: 'countUnverified' },
        ],
      },
      states: {
        hello: {
          entry: 'sendHello',
          on: {
            'datagram.received': [
              // After a WAIT the exchange under way may still be answered: its ACCEPT is taken.
              { guard: 'isProvedAccept', target: '#client.joined', actions: 'openSession' },
              { guard: 'isChallenge', target: 'joining', actions: 'takeChallenge' },
              // Only challenges with another key than the one pinned, three of them: the verdict is due
              // (not after every retry), as for ACCEPTs that do not verify.
              {
                guard: 'isForeignKeyChallengeVerdict',
                target: '#client.closed',
                actions: ['countKeyMismatch', { type: 'closeUnanswered', params: { step: 'hello' } }],
              },
            ],
          },
          after: {
            handshakeRetry: [
              {
                guard: 'handshakeAttemptsLeft',
                target: 'hello',
                reenter: true,
                actions: ['countAttempt', { type: 'emitRetrying', params: { step: 'hello' } }],
              },
              { target: '#client.closed', actions: { type: 'closeUnanswered', params: { step: 'hello' } } },
            ],
          },
        },
        joining: {
          entry: ['startAttempt', 'sendJoin'],
          on: {
            'datagram.received': [
              { guard: 'isProvedAccept', target: '#client.joined', actions: 'openSession' },
              {
                guard: 'isUnprovedAcceptVerdict',
                target: '#client.closed',
                actions: ['countUnverified', { type: 'closeUnanswered', params: { step: 'join' } }],
              },

              // The cookie expired while the JOIN was retried (or the server restarted): join again
              // with the fresh one, its retries counted afresh a bounded number of times (the server
              // is there, the path was slow). At most one a retry: a forged CHALLENGE (on the path,
              // with a bogus cookie) costs the client an attempt, and the server's own answer to the
              // JOIN it spoiled, a CHALLENGE with a real cookie, is taken at the next.
              { guard: 'isUsableFreshCookie', target: 'joining', reenter: true, actions: 'takeFreshCookie' },
              // The server is throttling or under load: it says when to come back.
              { guard: and(['isWait', 'waitsLeft']), target: 'waiting', actions: 'takeWait' },
              { guard: 'isWait', target: '#client.closed', actions: 'closeWaited' },
            ],
          },
          after: {
            handshakeRetry: [
              {
                guard: 'handshakeAttemptsLeft',
                target: 'joining',
                reenter: true,
                actions: ['countAttempt', { type: 'emitRetrying', params: { step: 'join' } }],
              },
              { target: '#client.closed', actions: { type: 'closeUnanswered', params: { step: 'join' } } },
            ],
          },
        },
        waiting: {
          on: {
            // The WAIT may have been someone else's: the server's own answer, if it comes, is taken: an
            // ACCEPT, or a fresh CHALLENGE (the JOIN's cookie had expired).
            'datagram.received': [
              { guard: 'isProvedAccept', target: '#client.joined', actions: 'openSession' },
              { guard: 'isUsableFreshCookie', target: 'joining', actions: 'takeFreshCookie' },
            ],
          },
          after: { handshakeWait: { target: 'hello' } },
        },
      },
    },
    joined: {
      // The claim and the texts said while handshaking go out with the first packet.
      entry: 'startLink',
      on: {
        'datagram.received': [
          { guard: 'isSessionPacket', actions: 'receive' },
          {
            guard: 'isResetToRejoin',
            target: 'handshaking',
            actions: { type: 'startRejoin', params: { why: 'reset' } },
          },
          { guard: 'isReset', target: 'closed', actions: 'closeReset' },
        ],
        'chat.say': { actions: { type: 'say', params: { phase: 'joined' } } },
        'chat.quit': { target: 'leaving', actions: 'sayBye' },
        [CLIENT_TIMER]: { actions: 'onTimer' },
        'client.flush': { actions: 'onFlush' },
      },
      always: [
        { guard: 'serverRefusedClaim', target: 'closed', actions: 'emitRefused' },
        { guard: 'serverClosedRoom', target: 'closed', actions: 'closeServerClosed' },
        {
          guard: 'keysSpentToRejoin',
          target: 'handshaking',
          actions: { type: 'startRejoin', params: { why: 'keys-spent' } },
        },
        { guard: 'keysSpent', target: 'closed', actions: 'closeKeysSpent' },
        {
          guard: 'linkDead',
          target: 'closed',
          actions: {
            type: 'closeWith',
            params: { reason: 'timeout', message: 'the server stopped answering' },
          },
        },
      ],
    },
    leaving: {
      on: {
        'datagram.received': [
          // Texts past the window still go before the BYE, as fast as the server confirms them: its
          // packets show it alive, so the wait for the QUIT's confirmation starts again at each.
          {
            guard: and(['isSessionPacket', 'byeHeldBack']),
            target: 'leaving',
            reenter: true,
            actions: 'receive',
          },
          { guard: 'isSessionPacket', actions: 'receive' },
          { guard: 'isReset', target: 'closed', actions: 'closeReset' },
        ],
        'chat.say': { actions: { type: 'say', params: { phase: 'leaving' } } },
        [CLIENT_TIMER]: { actions: 'onTimer' },
        'client.flush': { actions: 'onFlush' },
      },
      always: [
        { guard: 'serverRefusedClaim', target: 'closed', actions: 'emitRefused' },
        { guard: 'serverClosedRoom', target: 'closed', actions: 'closeServerClosed' },
        {
          guard: 'serverConfirmedQuit',
          target: 'closed',
          actions: { type: 'closeWith', params: { reason: 'quit', message: 'left the room' } },
        },
        {
          guard: 'linkDead',
          target: 'closed',
          actions: {
            type: 'closeWith',
            params: { reason: 'timeout', message: 'the server did not confirm the QUIT' },
          },
        },
      ],
      after: {
        quitTimeout: {
          target: 'closed',
          actions: {
            type: 'closeWith',
            params: { reason: 'timeout', message: 'the server did not confirm the QUIT in time' },
          },
        },
      },
    },
    closed: {
      type: 'final',
      entry: ['reportUnconfirmed', 'emitClosed'],
    },
  },
});
