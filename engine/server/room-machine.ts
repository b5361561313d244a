import { emit, enqueueActions, setup } from 'xstate';
import type { PeerAddress } from '../port.ts';
import {
  endSession,
  onDatagram,
  onLeave,
  onSaid,
  onShutdown,
  type RoomState,
  type RoomStep,
} from './room-logic.ts';
import type { ServerEvent } from './server-events.ts';
import { type SessionReport, sessionMachine } from './session-machine.ts';

/** What the server's user can ask of it. */
export type ServerCommand =
  /** Stop: tell every member, wait (at most `shutdownTimeoutMs`) for them to confirm, then stop. */
  { readonly type: 'server.shutdown' };

export type RoomEvent =
  | { readonly type: 'datagram.received'; readonly datagram: Uint8Array; readonly from: PeerAddress }
  | ServerCommand
  | SessionReport;

/**
 * The server: a room actor that spawns a session actor per peer. The room owns membership, name
 * uniqueness and the single sequence of room events; its decisions are the pure functions of
 * room-logic.ts, and this machine carries out the effects they return, in order: datagrams through the
 * port, log events through `emit`, sessions spawned, fed and stopped.
 */
export const roomMachine = setup({
  types: {
    input: {} as RoomState,
    context: {} as RoomState,
    events: {} as RoomEvent,
    emitted: {} as ServerEvent,
  },
  actors: { session: sessionMachine },
  actions: {
    step: enqueueActions(({ context, event, enqueue }) => {
      const step = decide(context, event);
      if (step.state !== context) {
        enqueue.assign(() => step.state);
      }
      for (const effect of step.effects) {
        switch (effect.kind) {
          case 'send':
            context.env.port.send(effect.datagram, effect.to);
            break;
          case 'emit':
            enqueue.emit(effect.event);
            break;
          case 'spawn':
            enqueue.spawnChild('session', {
              id: effect.sessionId,
              input: {
                sessionId: effect.sessionId,
                address: effect.address,
                linkConfig: context.config.link,
                firstContactTimeoutMs: context.config.firstContactTimeoutMs,
                env: context.env,
              },
            });
            break;
          case 'forward':
            enqueue.sendTo(effect.sessionId, { type: 'link.packet', packet: effect.packet });
            break;
          case 'deliver':
            enqueue.sendTo(effect.sessionId, { type: 'room.deliver', frames: effect.frames });
            break;
          case 'goodbye':
            enqueue.sendTo(effect.sessionId, { type: 'room.goodbye' });
            break;
          case 'shutdown':
            enqueue.sendTo(effect.sessionId, { type: 'room.shutdown' });
            break;
          case 'stop':
            enqueue.stopChild(effect.sessionId);
            break;
        }
      }
    }),
    emitStopped: emit(({ context }): ServerEvent => {
      const progress = context.shutdown;
      return {
        type: 'server.stopped',
        memberCount: progress?.memberCount ?? 0,
        confirmedCount: progress?.confirmedCount ?? 0,
      };
    }),
  },
  guards: {
    noSessions: ({ context }) => context.sessions.size === 0,
  },
  delays: {
    shutdownTimeout: ({ context }) => context.config.shutdownTimeoutMs,
  },
}).createMachine({
  id: 'room',
  context: ({ input }) => input,
  // Datagrams are handled while closing too: the acknowledgements of the shutdown notice come in them.
  on: {
    'datagram.received': { actions: 'step' },
    'session.said': { actions: 'step' },
    'session.quit': { actions: 'step' },
    'session.dead': { actions: 'step' },
    'session.closed': { actions: 'step' },
  },
  initial: 'serving',
  states: {
    serving: {
      on: { 'server.shutdown': { target: 'closing', actions: 'step' } },
    },
    closing: {
      always: { guard: 'noSessions', target: 'stopped' },
      after: { shutdownTimeout: { target: 'stopped' } },
    },
    // Final: xstate stops the sessions still open (unconfirmed) with the room.
    stopped: { type: 'final', entry: 'emitStopped' },
  },
});

function decide(state: RoomState, event: RoomEvent): RoomStep {
  switch (event.type) {
    case 'datagram.received':
      return onDatagram(state, event.datagram, event.from);
    case 'session.said':
      return onSaid(state, event.sessionId, event.text);
    case 'session.quit':
      return onLeave(state, event.sessionId, { reason: 'quit' });
    case 'session.dead':
      return onLeave(state, event.sessionId, { reason: 'timeout', cause: event.reason, stats: event.stats });
    case 'session.closed':
      return endSession(state, event.sessionId, event.stats, [], event.confirmed);
    case 'server.shutdown':
      return onShutdown(state);
  }
}
