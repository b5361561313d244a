import type { ClientConfig, ConfigOverrides, ServerConfig } from '../../engine/index.ts';
import type { FaultDecision, Partition } from './network.ts';

/** One simulated client: when it joins, what it says, and whether it quits or crashes. */
export interface ClientPlan {
  /** The chat name it asks for; two plans may share one to test refusals and re-joins. */
  readonly name: string;
  /** Whether it knows the room password. */
  readonly knowsPassword: boolean;
  readonly joinAtMs: number;
  /** When it says something; each text is unique in the run, so the checker can trace it. */
  readonly sayAtMs: readonly number[];
  readonly quitAtMs?: number;
  /** It goes silent at this time, as if its process were killed. */
  readonly crashAtMs?: number;
}

/** The faults a run was drawn under (swarm testing draws them per run); for reports. */
export interface FaultSettings {
  readonly lossPercent: number;
  readonly duplicatePercent: number;
  /** Datagrams given extra delay, which reorders them. */
  readonly delayPercent: number;
  readonly delayMsMax: number;
  readonly partitionCountMax: number;
  readonly crashes: boolean;
  readonly wrongPasswords: boolean;
}

/**
 * Everything that determines a run: same scenario, same trace, byte for byte. Faults happen before
 * `healAtMs` only; after it the network delivers everything after `latencyMs` and the run goes on until
 * `endAtMs` so that every guarantee that needs time (delivery, timeouts) can be checked.
 */
export interface Scenario {
  readonly seed: number;
  readonly clients: readonly ClientPlan[];
  readonly latencyMs: number;
  readonly faultTape: readonly FaultDecision[];
  readonly partitions: readonly Partition[];
  /** The settings the fault tape and partitions were drawn under. */
  readonly faults: FaultSettings;
  readonly healAtMs: number;
  readonly endAtMs: number;
  readonly stepCountMax: number;
}

/** Short timers so that a run covers many timeouts in little virtual time. */
export const SIM_LINK_CONFIG = {
  rtoInitialMs: 300,
  rtoMinMs: 100,
  rtoMaxMs: 2000,
  retransmitCountMax: 6,
  keepaliveIntervalMs: 1000,
  idleTimeoutMs: 5000,
  sendQueueCountMax: 48,
  windowCount: 16,
  ackRangeCountMax: 16,
} as const;

export const SIM_SERVER_CONFIG = {
  // Smaller than the largest default room (5 clients), so that room-full happens and is checked.
  memberCountMax: 4,
  sessionCountMax: 8,
  cookieSlotMs: 2000,
  recentJoinCountMax: 64,
  firstContactTimeoutMs: 12_000,
  link: SIM_LINK_CONFIG,
} as const satisfies ConfigOverrides<ServerConfig>;

export const SIM_CLIENT_CONFIG = {
  handshakeRetryCountMax: 6,
  handshakeRetryInitialMs: 300,
  handshakeRetryMaxMs: 2000,
  quitTimeoutMs: 6000,
  link: SIM_LINK_CONFIG,
} as const satisfies ConfigOverrides<ClientConfig>;

export const SIM_PASSWORD = 'kata-sandi-rahasia';
export const SIM_WRONG_PASSWORD = 'bukan-kata-sandinya';
/** PBKDF2 rounds in simulations: the key derivation is not what is under test, and runs are many. */
export const SIM_KEY_ITERATIONS = 1000;

/** The text client `node` sends the `index`-th time: unique per run, and not only ASCII. */
export function textOf(node: string, index: number): string {
  return `${node}#${index} halo 👋`;
}

/** The node name of the `index`-th client plan. */
export function clientNodeName(index: number): string {
  return `c${index}`;
}

export const SERVER_NODE = 'server';
