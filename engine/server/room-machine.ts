import { emit, enqueueActions, setup } from 'xstate';
import type { ServerConfig } from '../config.ts';
import type { DatagramReceived, Environment } from '../port.ts';
import { changeTimer, closeTurn, type Outgoing, transmit } from '../turn.ts';
import { Room, type RoomSecrets } from './room.ts';
import type { ServerEvent } from './server-events.ts';

/** What the server's user can ask of it. */
export type ServerCommand =
  /** Stop: tell every member, wait (at most `shutdownTimeoutMs`) for them to confirm, then stop. */
  { readonly type: 'server.shutdown' };

/** The one timer the room arms, for the earliest deadline of all its sessions. */
const ROOM_TIMER = 'room.timer';

export type RoomEvent =
  | DatagramReceived
  | ServerCommand
  /** The room's timer fired. */
  | { readonly type: typeof ROOM_TIMER }
  /** The turn in which sessions were given something to send is over: send it. */
  | { readonly type: 'room.flush' };

/** The one timer's event, shared: an event's actions allocate none. */
const ROOM_TIMER_EVENT: RoomEvent = Object.freeze({ type: ROOM_TIMER });

export interface RoomInput {
  readonly config: ServerConfig;
  readonly secrets: RoomSecrets;
  readonly env: Environment;
}

export interface RoomContext {
  /** The room and its sessions: mutable, owned by this actor alone (see {@link Room}). */
  readonly room: Room;
  readonly env: Environment;
}

/**
 * The server: one actor, the room. The room's logic and its sessions are plain objects
 * (`room.ts`, `session.ts`) that this machine owns and calls, one handler per event; what they decide
 * to send and log comes back as effects, which this machine carries out as actions. Its states are the
 * server's life: serving, closing (told every member, waiting for their acknowledgements at most
 * `shutdownTimeoutMs`), stopped.
 */
export const roomMachine = setup({
  types: {
    input: {} as RoomInput,
    context: {} as RoomContext,
    events: {} as RoomEvent,
    emitted: {} as ServerEvent,
  },
  actions: {
    handle: enqueueActions(({ context, event, enqueue, self }) => {
      const room = context.room;
      let sendNow = false;
      switch (event.type) {
        case 'datagram.received':
          room.datagram(event.datagram, event.from);
          break;
        case 'server.shutdown':
          room.shutdown();
          break;
        case ROOM_TIMER:
          room.timer();
          sendNow = true;
          break;
        case 'room.flush':
          sendNow = true;
          break;
      }
      // What the event left to do becomes actions, in order: datagrams (one `transmit` per run of
      // them), log events, the flush at the end of the turn, the timer. Nothing is sent or emitted
      // while xstate computes the transition: its actions do that after.
      const turn = room.finishEvent(sendNow);
      let datagrams: Outgoing[] | undefined;
      for (const effect of turn.effects) {
        if (effect.kind === 'send') {
          datagrams ??= [];
          datagrams.push(effect);
          continue;
        }
        if (datagrams !== undefined) {
          enqueue(transmit(context.env.port, datagrams));
          datagrams = undefined;
        }
        enqueue.emit(effect.event);
      }
      if (datagrams !== undefined) {
        enqueue(transmit(context.env.port, datagrams));
      }
      if (turn.watchTurn) {
        const atEnd = closeTurn(self, () => room.endTurn(), { type: 'room.flush' } as const);
        enqueue(() => context.env.afterTurn(atEnd));
      }
      changeTimer<RoomEvent>(enqueue, ROOM_TIMER_EVENT, turn.timer);
    }),
    emitStopped: emit(({ context }): ServerEvent => {
      const progress = context.room.shutdownProgress;
      return {
        type: 'server.stopped',
        memberCount: progress?.memberCount ?? 0,
        confirmedCount: progress?.confirmedCount ?? 0,
      };
    }),
  },
  guards: {
    noSessions: ({ context }) => context.room.sessions.size === 0,
  },
  delays: {
    shutdownTimeout: ({ context }) => context.room.config.shutdownTimeoutMs,
  },
}).createMachine({
  id: 'room',
  context: ({ input }) => ({ room: new Room(input.config, input.secrets, input.env), env: input.env }),
  // Datagrams are handled while closing too: the acknowledgements of the shutdown notice come in them.
  on: {
    'datagram.received': { actions: 'handle' },
    [ROOM_TIMER]: { actions: 'handle' },
    'room.flush': { actions: 'handle' },
  },
  initial: 'serving',
  states: {
    serving: {
      on: { 'server.shutdown': { target: 'closing', actions: 'handle' } },
    },
    closing: {
      always: { guard: 'noSessions', target: 'stopped' },
      after: { shutdownTimeout: { target: 'stopped' } },
    },
    // Final: the sessions still open (unconfirmed) end with the room.
    stopped: { type: 'final', entry: 'emitStopped' },
  },
});
