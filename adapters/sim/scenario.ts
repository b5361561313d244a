import {
  type ClientConfig,
  type ConfigOverrides,
  LINK_CONFIG_DEFAULT,
  type ServerConfig,
} from '../../engine/index.ts';
import type { AdversaryPlan } from './adversary.ts';
import type { FaultDecision, Partition, Replay } from './network.ts';

/** One thing a simulated user types: when, and the exact text (which the client may refuse). */
export interface Say {
  readonly atMs: number;
  readonly text: string;
}

/**
 * Where a client runs. By default on a host of its own; it may share a host (another port, as two
 * programs on one machine or behind one NAT), or reuse the very address (host and port) of an
 * earlier client, as a restarted program does once the earlier one has gone.
 */
export type ClientAddressPlan =
  | { readonly kind: 'own' }
  | { readonly kind: 'share-host'; readonly with: number }
  | { readonly kind: 'reuse'; readonly of: number };

/** One simulated client: where it runs, when it joins, what it says, and whether it quits or crashes. */
export interface ClientPlan {
  /** The chat name it asks for; two plans may share one to test refusals and re-joins. */
  readonly name: string;
  /** Whether it knows the room password. */
  readonly knowsPassword: boolean;
  readonly address: ClientAddressPlan;
  readonly joinAtMs: number;
  /** What it types, in order of time; texts need not be unique (the checker follows each author). */
  readonly says: readonly Say[];
  readonly quitAtMs?: number;
  /** It goes silent at this time, as if its process were killed. */
  readonly crashAtMs?: number;
}

/**
 * The kind of run, drawn first (swarm testing): most runs are small and quick, some reach the corners
 * the small ones never do: long sessions with quiet stretches and several loss bursts, big rooms with
 * many messages in flight, texts at every length and of every kind, clients sharing hosts and
 * reusing addresses, handshakes under stress, datagrams arriving again much later, a server stopped.
 */
export const SCENARIO_SHAPES = [
  'small',
  'long',
  'big',
  'texts',
  'addresses',
  'handshake',
  'late',
  'shutdown',
  'restart',
] as const;
export type ScenarioShape = (typeof SCENARIO_SHAPES)[number];

/** The room's limits in a run: some shapes draw a bigger room than the default. */
export interface RoomLimits {
  readonly memberCountMax: number;
  readonly sessionCountMax: number;
  readonly recentJoinCountMax: number;
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
  readonly shape: ScenarioShape;
  readonly room: RoomLimits;
  readonly clients: readonly ClientPlan[];
  readonly latencyMs: number;
  readonly faultTape: readonly FaultDecision[];
  readonly partitions: readonly Partition[];
  /** Old datagrams sent again at planned times (a client's JOIN after it quit, say). */
  readonly replays?: readonly Replay[];
  /** The settings the fault tape and partitions were drawn under. */
  readonly faults: FaultSettings;
  readonly healAtMs: number;
  /** The server is stopped (as by Ctrl-C) at this time: it tells every member and stops. */
  readonly shutdownAtMs?: number;
  /**
   * The server's process is killed at `atMs` (it tells nobody, and forgets every session) and started
   * again `downMs` later on the same address with the same identity, as after a crash: its RESETs tell
   * the clients, which rejoin. Before the heal, like every other fault.
   */
  readonly serverRestart?: { readonly atMs: number; readonly downMs: number };
  readonly endAtMs: number;
  readonly stepCountMax: number;
  /**
   * An on-path adversary that sees every datagram and injects its own (adversary.ts): its tape of
   * moves and its bounds. Absent, there is none, and the run is as it always was.
   */
  readonly adversary?: AdversaryPlan;
}

/** Short timers so that a run covers many timeouts in little virtual time. */
export const SIM_LINK_CONFIG = {
  rtoInitialMs: 300,
  rtoMinMs: 100,
  rtoMaxMs: 2000,
  // Four: at the smallest timeout (100 ms, doubling) a silent peer is found dead in about 3 s, before
  // the idle timeout; at the first timeout (300 ms) the idle timeout comes first. Both deaths happen.
  retransmitCountMax: 4,
  keepaliveIntervalMs: 1000,
  idleTimeoutMs: 5000,
  sendQueueCountMax: 48,
  windowCount: 16,
  // Half the protocol's 16, so that an ACK as full as it may be happens in runs of ordinary length.
  ackRangeCountMax: 8,
  packetNumberMax: LINK_CONFIG_DEFAULT.packetNumberMax,
  forgeriesMax: LINK_CONFIG_DEFAULT.forgeriesMax,
} as const;

/** The room limits of most runs: smaller than the largest small room (6 clients), so that room-full happens. */
export const SIM_ROOM_LIMITS: RoomLimits = {
  memberCountMax: 4,
  sessionCountMax: 8,
  recentJoinCountMax: 64,
};

export const SIM_SERVER_CONFIG = {
  ...SIM_ROOM_LIMITS,
  cookieSlotMs: 2000,
  firstContactTimeoutMs: 12_000,
  shutdownTimeoutMs: 1000,
  // Small, so that a member list is split over several MEMBERS frames in rooms of a few members.
  membersPerFrameMax: 3,
  // A small share, so that a burst of a member's lines is paced (and the rest wait their turn).
  sayBurst: 6,
  sayRatePerSecond: 5,
  // And a small room's share (under half the send queue of 48), so that members bursting together
  // wait their turns; fast enough that a big room's every line (12 × 24) is through in 18 s.
  roomSayBurst: 8,
  roomSayRatePerSecond: 16,
  link: SIM_LINK_CONFIG,
} as const satisfies ConfigOverrides<ServerConfig>;

/** The server configuration of one run: the simulation's, with the run's room limits. */
export function serverConfigOf(scenario: Scenario) {
  return { ...SIM_SERVER_CONFIG, ...scenario.room } as const satisfies ConfigOverrides<ServerConfig>;
}

export const SIM_CLIENT_CONFIG = {
  handshakeRetryCountMax: 6,
  handshakeRetryInitialMs: 300,
  handshakeRetryMaxMs: 2000,
  handshakeRenewCountMax: 2,
  quitTimeoutMs: 6000,
  memberListCountMax: 64,
  link: SIM_LINK_CONFIG,
} as const satisfies ConfigOverrides<ClientConfig>;

export const SIM_PASSWORD = 'kata-sandi-rahasia';
export const SIM_WRONG_PASSWORD = 'bukan-kata-sandinya';

/** The node name of the `index`-th client plan. */
export function clientNodeName(index: number): string {
  return `c${index}`;
}

export const SERVER_NODE = 'server';
