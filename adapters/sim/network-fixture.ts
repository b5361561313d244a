import fc from 'fast-check';
import type { PeerAddress } from '../../engine/port.ts';
import { type FaultDecision, type Partition, SimNetwork } from './network.ts';
import { Trace } from './trace.ts';
import { VirtualClock } from './virtual-clock.ts';

// Shared by the network tests: three nodes on one host, every delivery recorded.

export const LATENCY_MS = 10;
export const STEP_COUNT_MAX = 1_000_000;
export const NAMES = ['a', 'b', 'c'] as const;
export type Name = (typeof NAMES)[number];
export const HOST = '10.0.0.1';

export function addressOf(name: Name): PeerAddress {
  return { host: HOST, port: 1 + NAMES.indexOf(name) };
}

function nameOf(address: PeerAddress): string {
  return NAMES[address.port - 1] ?? `unknown:${address.port}`;
}

export interface Delivery {
  readonly t: number;
  readonly from: string;
  readonly to: Name;
  readonly payload: number;
}

export type OnReceive = (to: Name, datagram: Uint8Array, from: PeerAddress) => void;

export interface SetupOptions {
  readonly faultTape?: readonly FaultDecision[];
  readonly partitions?: readonly Partition[];
  readonly onReceive?: OnReceive;
}

/** Three nodes a, b, c; every delivery is recorded with its first byte as the payload. */
export function setup(options: SetupOptions = {}) {
  const clock = new VirtualClock();
  const trace = new Trace();
  const network = new SimNetwork({
    clock,
    trace,
    latencyMs: LATENCY_MS,
    faultTape: options.faultTape ?? [],
    partitions: options.partitions ?? [],
  });
  const deliveries: Delivery[] = [];
  const ports = new Map(
    NAMES.map((name) => [
      name,
      network.attach(name, addressOf(name), (datagram, from) => {
        deliveries.push({ t: clock.now(), from: nameOf(from), to: name, payload: datagram[0] ?? -1 });
        options.onReceive?.(name, datagram, from);
      }),
    ]),
  );
  /** Sends one byte `payload` from `from` to `to` at virtual time `atMs`. */
  const sendAt = (atMs: number, from: Name, to: Name, payload: number): void => {
    clock.setTimeout(() => ports.get(from)?.send(new Uint8Array([payload]), addressOf(to)), atMs);
  };
  const run = (untilMs = 10_000): void => {
    clock.runUntil(untilMs, STEP_COUNT_MAX);
  };
  return { clock, trace, network, deliveries, ports, sendAt, run };
}

const nameArb = fc.constantFrom(...NAMES);
export const sendPlanArb = fc.array(
  fc.record({ atMs: fc.nat(500), from: nameArb, to: nameArb, payload: fc.nat(255) }),
  { maxLength: 60 },
);
