import type { DatagramPort, PeerAddress } from './port.ts';

/**
 * What the machines share about a turn: datagrams a handler decided to send leave as one action after
 * the transition is computed, and the flush at the end of a turn reaches the actor only while it runs.
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

/** The action that sends datagrams to one peer, in order. */
export function transmitTo(
  port: DatagramPort,
  datagrams: readonly Uint8Array[],
  to: PeerAddress,
): () => void {
  return () => {
    for (const datagram of datagrams) {
      port.send(datagram, to);
    }
  };
}

/** The part of an actor that work run after a turn needs. */
export interface TurnActor<TEvent> {
  getSnapshot(): { readonly status: string };
  send(event: TEvent): void;
}

/** Sends `event` to the actor unless it has stopped in the meantime (a stopped room has nothing to flush). */
export function sendWhileActive<TEvent>(actor: TurnActor<TEvent>, event: TEvent): void {
  if (actor.getSnapshot().status === 'active') {
    actor.send(event);
  }
}

/** Whole milliseconds from now to a deadline, rounded up: a timer never fires before its deadline. */
export function delayUntil(deadlineMs: number, nowMs: number): number {
  return Math.max(0, Math.ceil(deadlineMs - nowMs));
}
