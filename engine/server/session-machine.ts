import { assertEvent, enqueueActions, sendParent, setup } from 'xstate';
import type { ReliableFrameBody, SessionId, SessionPacket } from '../codec/frames.ts';
import { LinkDriver, type LinkTickEvent, linkTimers } from '../link/driver.ts';
import { Link, type LinkDeath, type LinkStats } from '../link/link.ts';
import type { LinkConfig } from '../link/link-config.ts';
import type { Environment, PeerAddress } from '../port.ts';

/**
 * Why a session ended without a goodbye: its link died, it fell too far behind (queue full), or its
 * client never answered after the handshake.
 */
export type SessionDeath = LinkDeath | 'send-queue-full';

export interface SessionInput {
  readonly sessionId: SessionId;
  readonly address: PeerAddress;
  readonly linkConfig: LinkConfig;
  readonly firstContactTimeoutMs: number;
  readonly env: Environment;
}

export type SessionEvent =
  | { readonly type: 'link.packet'; readonly packet: SessionPacket }
  | { readonly type: 'room.deliver'; readonly frames: readonly ReliableFrameBody[] }
  | { readonly type: 'room.goodbye' }
  /** The server is stopping: tell the peer, and end once it has acknowledged (or the room stops). */
  | { readonly type: 'room.shutdown' }
  /** Raised by the session itself when a tick finds its link dead. */
  | { readonly type: 'link.died' }
  | LinkTickEvent;

/** What a session tells its room. */
export type SessionReport =
  | { readonly type: 'session.said'; readonly sessionId: SessionId; readonly text: string }
  | { readonly type: 'session.quit'; readonly sessionId: SessionId }
  | {
      readonly type: 'session.dead';
      readonly sessionId: SessionId;
      readonly reason: SessionDeath;
      readonly stats: Readonly<LinkStats>;
    }
  | {
      readonly type: 'session.closed';
      readonly sessionId: SessionId;
      readonly stats: Readonly<LinkStats>;
      /** The peer acknowledged everything, the goodbye or the shutdown notice included. */
      readonly confirmed: boolean;
    };

export interface SessionContext {
  readonly sessionId: SessionId;
  readonly driver: LinkDriver;
}

/**
 * One peer of the server: owns the reliable link to it (sequence numbers, acknowledgements,
 * retransmission, keepalive, idle timeout) and reports what the peer said to the room. The room owns
 * membership; a session only carries frames.
 */
export const sessionMachine = setup({
  types: {
    input: {} as SessionInput,
    context: {} as SessionContext,
    events: {} as SessionEvent,
  },
  actions: {
    receivePacket: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'link.packet');
      const { driver, sessionId } = context;
      for (const frame of driver.link.receive(event.packet, driver.now())) {
        if (frame.type === 'say') {
          enqueue(sendParent({ type: 'session.said', sessionId, text: frame.text } satisfies SessionReport));
        } else if (frame.type === 'bye') {
          enqueue(sendParent({ type: 'session.quit', sessionId } satisfies SessionReport));
        }
        // Server-to-client frame types arriving here are a confused peer's; the link has acknowledged
        // them and there is nothing else to do.
      }
    }),
    ignoreFramesOfPacket: ({ context, event }) => {
      assertEvent(event, 'link.packet');
      context.driver.link.receive(event.packet, context.driver.now());
    },
    enqueueDelivery: ({ context, event }) => {
      assertEvent(event, 'room.deliver');
      for (const frame of event.frames) {
        context.driver.link.enqueue(frame);
      }
    },
    enqueueGoodbye: ({ context }) => {
      context.driver.link.enqueue({ type: 'goodbye' });
    },
    enqueueShutdown: ({ context }) => {
      context.driver.link.enqueue({ type: 'shutdown' });
    },
    tick: ({ context }) => context.driver.tick(),
    tickAndCheck: enqueueActions(({ context, enqueue }) => {
      if (!context.driver.tickAndRearm(linkTimers(enqueue))) {
        enqueue.raise({ type: 'link.died' });
      }
    }),
    armTimer: enqueueActions(({ context, enqueue }) => {
      context.driver.arm(linkTimers(enqueue));
    }),
    disarmTimer: enqueueActions(({ context, enqueue }) => {
      context.driver.disarm(linkTimers(enqueue));
    }),
    // Each transition that ends a session says why; a dead link says how it died.
    reportDeath: sendParent(
      ({ context }, params: { readonly reason: SessionDeath | 'link' }): SessionReport => {
        const link = context.driver.link;
        const reason: SessionDeath = params.reason === 'link' ? (link.dead ?? 'idle-timeout') : params.reason;
        return { type: 'session.dead', sessionId: context.sessionId, reason, stats: { ...link.stats } };
      },
    ),
    reportClosed: sendParent(
      ({ context }): SessionReport => ({
        type: 'session.closed',
        sessionId: context.sessionId,
        stats: { ...context.driver.link.stats },
        confirmed: context.driver.link.sendQueueCount === 0,
      }),
    ),
  },
  guards: {
    linkDead: ({ context }) => context.driver.link.dead !== undefined,
    // A peer too slow to take what the room sends is dropped rather than allowed to hold the room's
    // memory hostage; the room announces it as timed out.
    cannotTakeDelivery: ({ context, event }) => {
      assertEvent(event, 'room.deliver');
      const link = context.driver.link;
      // One place is kept for the GOODBYE or the SHUTDOWN (a session sends one of them, once), so that
      // a QUIT is always confirmed and a stopping server can always say so.
      return link.sendQueueCount + event.frames.length > link.config.sendQueueCountMax - 1;
    },
    allAcknowledged: ({ context }) => context.driver.link.sendQueueCount === 0,
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({
    sessionId: input.sessionId,
    driver: new LinkDriver(
      new Link(input.linkConfig, input.sessionId, input.env.now(), {
        firstContactTimeoutMs: input.firstContactTimeoutMs,
      }),
      input.address,
      input.env,
    ),
  }),
  initial: 'open',
  states: {
    open: {
      entry: 'armTimer',
      on: {
        'link.packet': { actions: ['receivePacket', 'armTimer'] },
        'room.deliver': [
          {
            guard: 'cannotTakeDelivery',
            target: 'closed',
            actions: { type: 'reportDeath', params: { reason: 'send-queue-full' } },
          },
          { actions: ['enqueueDelivery', 'armTimer'] },
        ],
        'room.goodbye': { target: 'closing', actions: 'enqueueGoodbye' },
        'room.shutdown': { target: 'closing', actions: 'enqueueShutdown' },
        'link.tick': { actions: 'tickAndCheck' },
        'link.died': { target: 'closed', actions: { type: 'reportDeath', params: { reason: 'link' } } },
      },
    },
    closing: {
      entry: 'armTimer',
      always: [
        { guard: 'allAcknowledged', target: 'closed', actions: 'reportClosed' },
        { guard: 'linkDead', target: 'closed', actions: 'reportClosed' },
      ],
      on: {
        'link.packet': { actions: ['ignoreFramesOfPacket', 'armTimer'] },
        'link.tick': { actions: ['tick', 'armTimer'] },
      },
    },
    closed: {
      entry: 'disarmTimer',
      type: 'final',
    },
  },
});
