import type { DatagramPort, PeerAddress } from './port.ts';

/**
 * What the machines share about a turn: datagrams a handler decided to send leave as one action after
 * the transition is computed; the first event of a turn that has anything to send sends it, and what
 * later events of the same turn make ready goes out in one flush event once the turn is over.
 */

/** A datagram decided on, to be sent by an action. */
export interface Outgoing {
  readonly datagram: Uint8Array;
  readonly to: PeerAddress;
}

/** The action that sends a run of datagrams, in order. */
export function transmit(port: DatagramPort, datagrams: readonly Outgoing[]): () => void {
  return () => {
    for (const { datagram, to } of datagrams) {
      port.send(datagram, to);
    }
  };
}

/** The part of an actor that work run after a turn needs. */
export interface TurnActor<TEvent> {
  getSnapshot(): { readonly status: string };
  send(event: TEvent): void;
}

/**
 * The work a machine leaves for the end of a turn it opened: close the turn (`endTurn`, which says
 * whether anything was made ready after the turn's first send), and if so send the flush event. An
 * actor that stopped in the meantime has nothing to flush.
 */
export function closeTurn<TEvent>(
  actor: TurnActor<TEvent>,
  endTurn: () => boolean,
  flush: TEvent,
): () => void {
  return () => {
    if (actor.getSnapshot().status === 'active' && endTurn()) {
      actor.send(flush);
    }
  };
}

/** Whole milliseconds from now to a deadline, rounded up: a timer never fires before its deadline. */
export function delayUntil(deadlineMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil(deadlineMs - nowMs));
}

/**
 * How an actor's one timer must change after an event: armed to fire this many ms from now (replacing
 * the one armed), cancelled (nothing has a deadline), or kept as it is.
 */
export type TimerChange = number | 'cancel' | 'keep';

/** The part of xstate's `enqueue` (in `enqueueActions`) that changing a timer needs. */
export interface TimerEnqueue<TEvent> {
  cancel(id: string): void;
  raise(event: TEvent, options: { readonly id: string; readonly delay: number }): void;
}

/** Carries out a {@link TimerChange} for the timer `event` (its type is the timer's id). */
export function changeTimer<TEvent extends { readonly type: string }>(
  enqueue: TimerEnqueue<TEvent>,
  event: TEvent,
  change: TimerChange,
): void {
  if (change === 'keep') {
    return;
  }
  // Cancelling a timer that already fired is harmless; two armed timers never are.
  enqueue.cancel(event.type);
  if (change !== 'cancel') {
    enqueue.raise(event, { id: event.type, delay: change });
  }
}

/** The change that moves a timer armed for `armedAtMs` to `deadlineMs`: none when they are the same. */
export function timerChangeFor(
  deadlineMs: number | undefined,
  armedAtMs: number | undefined,
  nowMs: number,
): TimerChange {
  if (deadlineMs === armedAtMs) {
    return 'keep';
  }
  return deadlineMs === undefined ? 'cancel' : delayUntil(deadlineMs, nowMs);
}
