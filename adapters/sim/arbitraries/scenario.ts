import fc from 'fast-check';
import {
  type ClientPlan,
  clientNodeName,
  type FaultSettings,
  type Scenario,
  SERVER_NODE,
} from '../scenario.ts';
import { FAULT_TAPE_LENGTH_MAX_DEFAULT, faultTapeArb, partitionArb } from './faults.ts';

/** Faults and activity last this long by default; then the network heals. */
export const ACTIVE_MS_DEFAULT = 10_000;
/**
 * After the network heals, the run goes on this long: longer than every timeout of the simulation's
 * configuration (handshake retries, idle timeout, QUIT confirmation), so liveness can be checked.
 */
export const CALM_MS_DEFAULT = 20_000;
/** A bound on the steps of one run: a livelock fails loudly instead of hanging. */
export const STEP_COUNT_MAX = 400_000;
/** The default number of clients, at most, and of messages per client, at most. */
export const CLIENT_COUNT_MAX_DEFAULT = 6;
export const MESSAGE_COUNT_MAX_DEFAULT = 8;

/** The faults of the properties: about 12 % loss, 6 % duplication, 12 % extra delay, crashes, partitions. */
export const PROPERTY_FAULTS: FaultSettings = {
  lossPercent: 12,
  duplicatePercent: 6,
  delayPercent: 12,
  delayMsMax: 50,
  partitionCountMax: 2,
  crashes: true,
  wrongPasswords: true,
};

/** A run with no faults at all: swarm testing includes some, so that the plain path is checked too. */
export const NO_FAULTS: FaultSettings = {
  lossPercent: 0,
  duplicatePercent: 0,
  delayPercent: 0,
  delayMsMax: 0,
  partitionCountMax: 0,
  crashes: false,
  wrongPasswords: false,
};

/** What a caller may pin; whatever is left out is drawn. */
export interface WorkloadOptions {
  /** Exactly this many clients; by default 1 to {@link CLIENT_COUNT_MAX_DEFAULT}. */
  readonly clientCount?: number;
  /** Exactly this many messages per client; by default 0 to {@link MESSAGE_COUNT_MAX_DEFAULT}. */
  readonly messageCount?: number;
  /** How long joins, messages and faults go on, in virtual ms. */
  readonly activeMs?: number;
  /** How long the healed network runs afterwards. */
  readonly calmMs?: number;
}

/** Names drawn from a small pool, so that two clients asking for one name is common. */
const NAMES = ['ana', 'Budi', 'citra', 'dewi', 'eko', 'fajar', 'gita', 'ANA'] as const;

function clientPlanArb(options: WorkloadOptions, faults: FaultSettings): fc.Arbitrary<ClientPlan> {
  const activeMs = options.activeMs ?? ACTIVE_MS_DEFAULT;
  const messages =
    options.messageCount === undefined
      ? { maxLength: MESSAGE_COUNT_MAX_DEFAULT }
      : { minLength: options.messageCount, maxLength: options.messageCount };
  return fc
    .record({
      name: fc.constantFrom(...NAMES),
      knowsPassword: faults.wrongPasswords
        ? fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) })
        : fc.constant(true),
      // Every planned action falls within the active phase (join by 0.6 of it, the rest within 0.4
      // after), so the calm phase that follows is long enough for liveness whatever its length.
      joinAtMs: fc.integer({ min: 0, max: Math.floor(activeMs * 0.6) }),
      sayOffsetsMs: fc.array(fc.integer({ min: 0, max: Math.floor(activeMs * 0.4) }), messages),
      leave: fc.oneof(
        { weight: 3, arbitrary: fc.constant(undefined) },
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant('quit' as const),
            afterMs: fc.integer({ min: 0, max: Math.floor(activeMs * 0.4) }),
          }),
        },
        {
          weight: faults.crashes ? 1 : 0,
          arbitrary: fc.record({
            kind: fc.constant('crash' as const),
            afterMs: fc.integer({ min: 0, max: Math.floor(activeMs * 0.4) }),
          }),
        },
      ),
    })
    .map(({ name, knowsPassword, joinAtMs, sayOffsetsMs, leave }) => {
      const sayAtMs = sayOffsetsMs.map((offset) => joinAtMs + offset).sort((a, b) => a - b);
      const plan: ClientPlan = { name, knowsPassword, joinAtMs, sayAtMs };
      if (leave?.kind === 'quit') {
        return { ...plan, quitAtMs: joinAtMs + leave.afterMs };
      }
      if (leave?.kind === 'crash') {
        return { ...plan, crashAtMs: joinAtMs + leave.afterMs };
      }
      return plan;
    });
}

/**
 * A whole run under the given faults: clients with their workloads, a fault tape, and partitions that
 * all heal before the calm phase. Shrinking removes clients, messages, faults and partitions.
 */
export function scenarioArbWith(
  options: WorkloadOptions,
  faults: FaultSettings,
  tape: { readonly fullLength?: boolean } = {},
): fc.Arbitrary<Scenario> {
  const activeMs = options.activeMs ?? ACTIVE_MS_DEFAULT;
  const calmMs = options.calmMs ?? CALM_MS_DEFAULT;
  const clients =
    options.clientCount === undefined
      ? { minLength: 1, maxLength: CLIENT_COUNT_MAX_DEFAULT }
      : { minLength: options.clientCount, maxLength: options.clientCount };
  const cleanPercent = Math.max(1, 100 - faults.lossPercent - faults.duplicatePercent - faults.delayPercent);
  return fc
    .record({
      seed: fc.integer({ min: 0, max: 0x7fff_ffff }),
      clients: fc.array(clientPlanArb(options, faults), clients),
      latencyMs: fc.integer({ min: 1, max: 20 }),
      faultTape:
        faults.lossPercent + faults.duplicatePercent + faults.delayPercent === 0
          ? fc.constant([])
          : faultTapeArb({
              cleanWeight: cleanPercent,
              lossWeight: faults.lossPercent,
              duplicateWeight: faults.duplicatePercent,
              delayWeight: faults.delayPercent,
              delayMsMax: faults.delayMsMax,
              ...(tape.fullLength === true ? { decisionCountMin: FAULT_TAPE_LENGTH_MAX_DEFAULT } : {}),
            }),
    })
    .chain((base) => {
      const nodes = [SERVER_NODE, ...base.clients.map((_, index) => clientNodeName(index))];
      return fc
        .array(partitionArb(nodes, activeMs), { maxLength: faults.partitionCountMax })
        .map((partitions) => ({
          ...base,
          partitions,
          faults,
          healAtMs: activeMs,
          endAtMs: activeMs + calmMs,
          stepCountMax: stepBudget(activeMs + calmMs, base.clients.length),
        }));
    });
}

/**
 * The step budget of a run: {@link STEP_COUNT_MAX} for the default 30 s and 6 clients, more for longer
 * runs and bigger rooms (traffic grows with both), so that only a livelock exhausts it.
 */
function stepBudget(endAtMs: number, clientCount: number): number {
  const length = Math.max(1, endAtMs / (ACTIVE_MS_DEFAULT + CALM_MS_DEFAULT));
  const size = Math.max(1, (clientCount / CLIENT_COUNT_MAX_DEFAULT) ** 2);
  return Math.ceil(STEP_COUNT_MAX * length * size);
}

/** The scenarios of the properties: up to 6 clients and 8 messages each, under {@link PROPERTY_FAULTS}. */
export const scenarioArb: fc.Arbitrary<Scenario> = scenarioArbWith({}, PROPERTY_FAULTS);

/**
 * Fault settings for swarm testing: each run draws its own, so that some runs are fault-free, some
 * lose up to 30 % of datagrams, some partition, some crash, and the mix differs from run to run
 * (a fixed mix would test one corner of the space over and over).
 */
export const faultSettingsArb: fc.Arbitrary<FaultSettings> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(NO_FAULTS) },
  {
    weight: 7,
    arbitrary: fc.record({
      lossPercent: fc.integer({ min: 0, max: 30 }),
      duplicatePercent: fc.integer({ min: 0, max: 10 }),
      delayPercent: fc.integer({ min: 0, max: 20 }),
      delayMsMax: fc.integer({ min: 1, max: 100 }),
      partitionCountMax: fc.integer({ min: 0, max: 3 }),
      crashes: fc.boolean(),
      wrongPasswords: fc.boolean(),
    }),
  },
);

/** Swarm testing: fault settings, then a scenario under them. */
export function swarmScenarioArb(options: WorkloadOptions = {}): fc.Arbitrary<Scenario> {
  return faultSettingsArb.chain((faults) => scenarioArbWith(options, faults, { fullLength: true }));
}
