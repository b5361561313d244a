/**
 * The deterministic simulation: a virtual clock for xstate, a seeded random source, a lossy network
 * driven by a fault tape, and the trace that records a run.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const trace = new Trace();
 * const network = new SimNetwork({ clock, trace, latencyMs: 5, faultTape: [], partitions: [] });
 * const random = createRandom(7).fork('server');
 * const env = network.environmentFor('server', { host: '10.0.0.1', port: 8080 }, onDatagram, {
 *   random: (count) => random.bytes(count),
 * });
 * ```
 */
export { toHex } from '../../engine/index.ts';
export { fnv1a32, fnv1a32Hex } from './hash.ts';
export { type JsonObject, type JsonValue, toJsonValue } from './json-value.ts';
export {
  type FaultDecision,
  type NetworkStats,
  NO_FAULT,
  NODE_COUNT_MAX,
  type NodeStats,
  type Partition,
  type Receive,
  SimNetwork,
  type SimNetworkOptions,
} from './network.ts';
export { createRandom, type Random } from './random.ts';
export {
  type DatagramTraceEntry,
  type EventTraceEntry,
  type NetworkDropReason,
  TRACE_ENTRY_COUNT_MAX_DEFAULT,
  Trace,
  type TraceEntry,
  type TraceOptions,
} from './trace.ts';
export { type RunUntilResult, VirtualClock } from './virtual-clock.ts';
