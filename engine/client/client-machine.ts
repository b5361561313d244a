import { assertEvent, assign, emit, enqueueActions, setup } from 'xstate';
import { decodePacket, encodePacket } from '../codec/codec.ts';
import {
  type AcceptPacket,
  type ChallengePacket,
  NONCE_BYTES,
  type RefusePacket,
  type SessionPacket,
} from '../codec/frames.ts';
import { macEqual, makeAcceptProof, makeJoinProof } from '../crypto.ts';
import { LinkDriver, type LinkTickEvent, linkTimers } from '../link/driver.ts';
import { Link } from '../link/link.ts';
import type { LinkConfig } from '../link/link-config.ts';
import { validateName, validateText } from '../names.ts';
import { type Environment, formatAddress, type PeerAddress } from '../port.ts';
import { type ClientEvent, type CloseReason, describeRefusal } from './client-events.ts';
import { applyDelivered } from './deliver.ts';

/** Every limit of the client, named. */
export interface ClientConfig {
  /** HELLO or JOIN attempts after the first before the server is declared unreachable. */
  readonly handshakeRetryCountMax: number;
  /** The wait before the first retry of a HELLO or JOIN; it doubles with each retry. */
  readonly handshakeRetryInitialMs: number;
  /** The longest wait between retries: with the count, it bounds how soon "unreachable" is said. */
  readonly handshakeRetryMaxMs: number;
  /**
   * Fresh CHALLENGEs a handshake takes at most (the server renews a cookie whose time slot passed
   * while the JOIN was retried); each starts the JOIN's retries afresh.
   */
  readonly handshakeRenewCountMax: number;
  /** How long a QUIT waits for the server's goodbye before giving up. */
  readonly quitTimeoutMs: number;
  /**
   * Names a welcome's member list holds at most: a server that sends more (a broken or hostile one)
   * cannot make the client's memory grow; the names past this are not kept.
   */
  readonly memberListCountMax: number;
  readonly link: LinkConfig;
}

export interface ClientInput {
  readonly name: string;
  readonly roomKey: Uint8Array;
  readonly server: PeerAddress;
  readonly config: ClientConfig;
  readonly env: Environment;
}

export type ClientCommand =
  | { readonly type: 'chat.say'; readonly text: string }
  | { readonly type: 'chat.quit' };

type ServerPacketEvent =
  | { readonly type: 'server.challenge'; readonly packet: ChallengePacket }
  | { readonly type: 'server.accept'; readonly packet: AcceptPacket; readonly from: PeerAddress }
  | { readonly type: 'server.refuse'; readonly packet: RefusePacket }
  | { readonly type: 'server.session'; readonly packet: SessionPacket }
  | { readonly type: 'server.goodbye' }
  | { readonly type: 'server.shutdown' };

export type ClientMachineEvent =
  | { readonly type: 'datagram.received'; readonly datagram: Uint8Array; readonly from: PeerAddress }
  | ClientCommand
  | ServerPacketEvent
  /** Raised by the client itself when a tick finds its link dead. */
  | { readonly type: 'link.died' }
  | LinkTickEvent;

export interface ClientContext {
  readonly name: string;
  readonly roomKey: Uint8Array;
  readonly server: PeerAddress;
  readonly config: ClientConfig;
  readonly env: Environment;
  readonly clientNonce: Uint8Array;
  readonly challenge: ChallengePacket | undefined;
  readonly handshakeAttempt: number;
  /** Fresh CHALLENGEs taken in this handshake, for cookies that expired while the JOIN was retried. */
  readonly cookieRenewals: number;
  /** Created when the server accepts; texts said before that wait in `pendingTexts`. */
  readonly driver: LinkDriver | undefined;
  readonly pendingTexts: readonly string[];
  /** Member names gathered from MEMBERS frames until the final one. */
  readonly welcomeNames: readonly string[];
  /** The room as this client knows it: the members, in the order they joined. */
  readonly members: readonly string[];
  readonly closeReason: CloseReason;
  readonly closeMessage: string;
  readonly datagramsIgnored: number;
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

function handshakeDelayMs(context: ClientContext): number {
  const config = context.config;
  return Math.min(config.handshakeRetryMaxMs, config.handshakeRetryInitialMs * 2 ** context.handshakeAttempt);
}

/**
 * The client: idle until started, then handshaking (HELLO, then JOIN with the proof), joined, leaving
 * after QUIT, and closed. It emits what a user sees as `ClientEvent`s, and takes `chat.say` and
 * `chat.quit` commands.
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
  },
  actions: {
    classifyDatagram: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'datagram.received');
      const decoded = decodePacket(event.datagram);
      const packet = decoded.ok ? decoded.packet : undefined;
      // A session packet is ours only from the address the server accepted us from, as the server
      // takes ours only from the address it accepted: a stranger who saw the session id cannot
      // speak for the server from elsewhere.
      const ours =
        packet !== undefined &&
        (packet.type === 'session'
          ? packet.sessionId === context.driver?.link.sessionId &&
            formatAddress(event.from) === formatAddress(context.driver.peer)
          : 'clientNonce' in packet && macEqual(packet.clientNonce, context.clientNonce));
      if (packet === undefined || !ours) {
        enqueue.assign({ datagramsIgnored: context.datagramsIgnored + 1 });
        return;
      }
      switch (packet.type) {
        case 'challenge':
          enqueue.raise({ type: 'server.challenge', packet });
          return;
        case 'accept':
          enqueue.raise({ type: 'server.accept', packet, from: event.from });
          return;
        case 'refuse':
          enqueue.raise({ type: 'server.refuse', packet });
          return;
        case 'session':
          enqueue.raise({ type: 'server.session', packet });
          return;
        case 'hello':
        case 'join':
          enqueue.assign({ datagramsIgnored: context.datagramsIgnored + 1 });
          return;
      }
    }),
    sendHello: ({ context }) => {
      context.env.port.send(
        encodePacket({ type: 'hello', clientNonce: context.clientNonce }),
        context.server,
      );
    },
    sendJoin: ({ context }) => {
      const challenge = context.challenge;
      if (challenge === undefined) {
        return;
      }
      const proof = makeJoinProof(context.roomKey, context.clientNonce, challenge.cookie, context.name);
      const join = { ...challenge, type: 'join', proof, name: context.name } as const;
      context.env.port.send(encodePacket(join), context.server);
    },
    countAttempt: assign({ handshakeAttempt: ({ context }) => context.handshakeAttempt + 1 }),
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
    closeUnreachable: assign(({ context }, params: { readonly step: HandshakeStep }) => ({
      closeReason: 'unreachable' as const,
      closeMessage: unreachableMessage(context, params.step),
    })),
    takeChallenge: assign(({ event }) => {
      assertEvent(event, 'server.challenge');
      return { challenge: event.packet, handshakeAttempt: 0 };
    }),
    takeFreshCookie: assign(({ context, event }) => {
      assertEvent(event, 'server.challenge');
      return { challenge: event.packet, handshakeAttempt: 0, cookieRenewals: context.cookieRenewals + 1 };
    }),
    openLink: assign(({ context, event }) => {
      assertEvent(event, 'server.accept');
      const link = new Link(context.config.link, event.packet.sessionId, context.env.now());
      for (const text of context.pendingTexts) {
        link.enqueue({ type: 'say', text });
      }
      // The session's peer is the address the ACCEPT came from: a server on several addresses may
      // answer from another than the one the client wrote to.
      return { driver: new LinkDriver(link, event.from, context.env), pendingTexts: [] };
    }),
    rejectBadName: enqueueActions(({ context, enqueue }) => {
      const validation = validateName(context.name);
      const message = validation.ok ? describeRefusal('bad-name', context.name) : validation.message;
      enqueue.emit({ type: 'rejected', reason: 'bad-name', message });
      enqueue.assign({ closeReason: 'rejected', closeMessage: message });
    }),
    emitRejected: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'server.refuse');
      const message = describeRefusal(event.packet.reason, context.name);
      enqueue.emit({ type: 'rejected', reason: event.packet.reason, message });
      enqueue.assign({ closeReason: 'rejected', closeMessage: message });
    }),
    say: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'chat.say');
      const validation = validateText(event.text);
      if (!validation.ok) {
        const code =
          event.text.trim().length === 0
            ? 'text-empty'
            : event.text.isWellFormed()
              ? 'text-too-long'
              : 'text-malformed';
        enqueue.emit({ type: 'error', code, message: validation.message });
        return;
      }
      // One place in the send queue is kept for the BYE, so that QUIT always goes out.
      const queueCountMax = context.config.link.sendQueueCountMax - 1;
      if (context.driver === undefined) {
        if (context.pendingTexts.length >= queueCountMax) {
          enqueue.emit({
            type: 'error',
            code: 'send-queue-full',
            message: `${queueCountMax} messages are waiting to be sent; wait for them`,
          });
          return;
        }
        enqueue.assign({ pendingTexts: [...context.pendingTexts, event.text] });
        return;
      }
      if (
        context.driver.link.sendQueueCount >= queueCountMax ||
        !context.driver.link.enqueue({ type: 'say', text: event.text })
      ) {
        enqueue.emit({
          type: 'error',
          code: 'send-queue-full',
          message: `${queueCountMax} messages are waiting to be sent; wait for them`,
        });
      }
    }),
    refuseSay: emit({
      type: 'error',
      code: 'not-open',
      message: 'the client is leaving; the message was not sent',
    }),
    reportUnsent: enqueueActions(({ context, enqueue }) => {
      const count = context.pendingTexts.length;
      if (count > 0) {
        enqueue.emit({
          type: 'error',
          code: 'not-sent',
          message: `${count} message${count === 1 ? ' was' : 's were'} not sent: the client left before joining`,
        });
      }
    }),
    sayBye: ({ context }) => {
      context.driver?.link.enqueue({ type: 'bye' });
    },
    receive: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'server.session');
      const driver = context.driver;
      if (driver === undefined) {
        return;
      }
      const frames = driver.link.receive(event.packet, driver.now());
      const outcome = applyDelivered(context, frames, context.config.memberListCountMax);
      if (outcome.welcomeNames !== context.welcomeNames || outcome.members !== context.members) {
        enqueue.assign({ welcomeNames: outcome.welcomeNames, members: outcome.members });
      }
      for (const clientEvent of outcome.events) {
        enqueue.emit(clientEvent);
      }
      if (outcome.end !== undefined) {
        // Acknowledge the goodbye (or the shutdown) before going quiet, so the server need not
        // retransmit it.
        driver.flush();
        enqueue.raise({ type: outcome.end === 'goodbye' ? 'server.goodbye' : 'server.shutdown' });
      }
    }),
    tick: ({ context }) => context.driver?.tick(),
    tickAndCheck: enqueueActions(({ context, enqueue }) => {
      if (context.driver?.tickAndRearm(linkTimers(enqueue)) === false) {
        enqueue.raise({ type: 'link.died' });
      }
    }),
    armTimer: enqueueActions(({ context, enqueue }) => {
      context.driver?.arm(linkTimers(enqueue));
    }),
    closeWith: assign((_, params: { reason: CloseReason; message: string }) => ({
      closeReason: params.reason,
      closeMessage: params.message,
    })),
    closeServerClosed: assign({
      closeReason: 'server-closed' as const,
      closeMessage: 'the server closed the room',
    }),
    emitClosed: enqueueActions(({ context, enqueue }) => {
      context.driver?.disarm(linkTimers(enqueue));
      enqueue.emit({ type: 'closed', reason: context.closeReason, message: context.closeMessage });
    }),
  },
  guards: {
    handshakeAttemptsLeft: ({ context }) => context.handshakeAttempt < context.config.handshakeRetryCountMax,
    acceptProofValid: ({ context, event }) => {
      assertEvent(event, 'server.accept');
      const cookie = context.challenge?.cookie;
      return (
        cookie !== undefined &&
        macEqual(
          makeAcceptProof(context.roomKey, context.clientNonce, cookie, event.packet.sessionId),
          event.packet.proof,
        )
      );
    },
    freshCookieUsable: ({ context, event }) => {
      assertEvent(event, 'server.challenge');
      const cookie = context.challenge?.cookie;
      return (
        context.cookieRenewals < context.config.handshakeRenewCountMax &&
        (cookie === undefined || !macEqual(cookie, event.packet.cookie))
      );
    },
    linkDead: ({ context }) => context.driver?.link.dead !== undefined,
    nameInvalid: ({ context }) => !validateName(context.name).ok,
  },
}).createMachine({
  id: 'client',
  context: ({ input }) => ({
    ...input,
    clientNonce: input.env.random(NONCE_BYTES),
    challenge: undefined,
    handshakeAttempt: 0,
    cookieRenewals: 0,
    driver: undefined,
    pendingTexts: [],
    welcomeNames: [],
    members: [],
    closeReason: 'quit',
    closeMessage: 'left the room',
    datagramsIgnored: 0,
  }),
  initial: 'starting',
  on: {
    'datagram.received': { actions: 'classifyDatagram' },
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
        'chat.say': { actions: 'say' },
        'chat.quit': {
          target: 'closed',
          actions: [
            'reportUnsent',
            { type: 'closeWith', params: { reason: 'quit', message: 'left before joining' } },
          ],
        },
        'server.refuse': { target: 'closed', actions: 'emitRejected' },
      },
      states: {
        hello: {
          entry: 'sendHello',
          on: { 'server.challenge': { target: 'joining', actions: 'takeChallenge' } },
          after: {
            handshakeRetry: [
              {
                guard: 'handshakeAttemptsLeft',
                target: 'hello',
                reenter: true,
                actions: ['countAttempt', { type: 'emitRetrying', params: { step: 'hello' } }],
              },
              { target: '#client.closed', actions: { type: 'closeUnreachable', params: { step: 'hello' } } },
            ],
          },
        },
        joining: {
          entry: 'sendJoin',
          on: {
            'server.accept': { guard: 'acceptProofValid', target: '#client.joined', actions: 'openLink' },
            // The cookie expired while the JOIN was retried: join again with the fresh one, its retries
            // counted afresh (the server is there, the path was slow, even on the last attempt). A
            // bounded number of renewals, so a server that only ever challenges cannot keep the client.
            'server.challenge': {
              guard: 'freshCookieUsable',
              target: 'joining',
              reenter: true,
              actions: 'takeFreshCookie',
            },
          },
          after: {
            handshakeRetry: [
              {
                guard: 'handshakeAttemptsLeft',
                target: 'joining',
                reenter: true,
                actions: ['countAttempt', { type: 'emitRetrying', params: { step: 'join' } }],
              },
              { target: '#client.closed', actions: { type: 'closeUnreachable', params: { step: 'join' } } },
            ],
          },
        },
      },
    },
    joined: {
      entry: 'armTimer',
      on: {
        'server.session': { actions: ['receive', 'armTimer'] },
        'chat.say': { actions: ['say', 'armTimer'] },
        'chat.quit': { target: 'leaving', actions: 'sayBye' },
        'link.tick': { actions: 'tickAndCheck' },
        'server.shutdown': { target: 'closed', actions: 'closeServerClosed' },
        'link.died': {
          target: 'closed',
          actions: {
            type: 'closeWith',
            params: { reason: 'timeout', message: 'the server stopped answering' },
          },
        },
      },
    },
    leaving: {
      entry: 'armTimer',
      on: {
        'server.session': { actions: ['receive', 'armTimer'] },
        'chat.say': { actions: 'refuseSay' },
        'link.tick': { actions: ['tick', 'armTimer'] },
        'server.shutdown': { target: 'closed', actions: 'closeServerClosed' },
        'server.goodbye': {
          target: 'closed',
          actions: { type: 'closeWith', params: { reason: 'quit', message: 'left the room' } },
        },
      },
      always: {
        guard: 'linkDead',
        target: 'closed',
        actions: {
          type: 'closeWith',
          params: { reason: 'timeout', message: 'the server did not confirm the QUIT' },
        },
      },
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
      entry: 'emitClosed',
    },
  },
});
