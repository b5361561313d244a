import type { CryptoSuite } from './secure/suite.ts';
/**
 * A timer source, the shape of xstate's `Clock` (which xstate does not export by name). Machines'
 * delayed events are scheduled on it; the simulation passes a virtual clock.
 */
export interface Clock {
  setTimeout(fn: () => void, timeoutMs: number): unknown;
  clearTimeout(id: unknown): void;
}

/** Where a datagram came from or goes to. IPv6 hosts are written without brackets (`::1`). */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * The one way the engine reaches the network. Adapters implement it: `adapters/udp` over node:dgram,
 * `adapters/sim` over the simulated network. Sending never throws and never blocks: a datagram the
 * adapter cannot send is lost, which the reliable link already handles.
 */
export interface DatagramPort {
  send(datagram: Uint8Array, to: PeerAddress): void;
}

/**
 * Everything the engine needs from the world, passed in so that a simulation can replace all of it.
 * The engine itself never reads a clock, a random source or a socket.
 */
export interface Environment {
  /** Sends datagrams. */
  readonly port: DatagramPort;
  /** Schedules the machines' timers (xstate's clock). Must agree with `now`. */
  readonly clock: Clock;
  /**
   * Milliseconds on a clock that never steps back: every timer, deadline, budget and rate is measured
   * on it (a simulation's virtual time; on real sockets a monotonic clock, which a wall clock set back
   * an hour does not move, so no paced text waits that hour and no session times out at once).
   */
  readonly now: () => number;
  /**
   * Milliseconds since the Unix epoch, for the one time that leaves the process: a message's time on
   * the wire. By default `now` (a simulation, a test, an embedder with one clock).
   */
  readonly wallNow?: () => number;
  /** Returns `byteCount` unpredictable bytes (a seeded generator in simulations). */
  readonly random: (byteCount: number) => Uint8Array;
  /**
   * Runs `work` once the current turn is over: on real sockets after every datagram already read in
   * this turn of the event loop (`setImmediate`), in a simulation after the current step. A machine
   * sends what a turn made ready in one go there, instead of once per datagram it read.
   */
  readonly afterTurn: (work: () => void) => void;
  /**
   * The cryptography the machines use (the key exchange, the AEAD, the signatures); the protocol's own,
   * from @noble, when absent. An adapter may pass a faster implementation of the same primitives.
   */
  readonly crypto?: CryptoSuite;
}

/** The event an adapter sends a machine for every datagram it receives. */
export interface DatagramReceived {
  readonly type: 'datagram.received';
  readonly datagram: Uint8Array;
  readonly from: PeerAddress;
}

/** A stable text form of an address, used as a map key and in logs: `127.0.0.1:8080`, `[::1]:8080`. */
export function formatAddress(address: PeerAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
