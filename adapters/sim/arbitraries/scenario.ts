import fc from 'fast-check';
import type { ClientPlan, Scenario } from '../scenario.ts';
import { faultTapeArb, partitionArb } from './faults.ts';

/** The safety phase: faults happen in the first ten virtual seconds. */
export const HEAL_AT_MS = 10_000;
/** Then the run goes on long enough for idle timeouts, QUIT confirmations and retransmissions to settle. */
export const END_AT_MS = 30_000;
export const STEP_COUNT_MAX = 400_000;

/** Names drawn from a small pool, so that two clients asking for one name is common. */
const NAMES = ['ana', 'Budi', 'citra', 'dewi', 'eko', 'ANA'] as const;

const clientPlanArb: fc.Arbitrary<ClientPlan> = fc
  .record({
    name: fc.constantFrom(...NAMES),
    knowsPassword: fc.oneof(
      { weight: 6, arbitrary: fc.constant(true) },
      { weight: 1, arbitrary: fc.constant(false) },
    ),
    joinAtMs: fc.integer({ min: 0, max: 6000 }),
    sayOffsetsMs: fc.array(fc.integer({ min: 0, max: 9000 }), { maxLength: 8 }),
    leave: fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      {
        weight: 2,
        arbitrary: fc.record({
          kind: fc.constant('quit' as const),
          afterMs: fc.integer({ min: 0, max: 12_000 }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('crash' as const),
          afterMs: fc.integer({ min: 0, max: 9000 }),
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

/**
 * A whole run: 1 to 5 clients with their workloads, a fault tape, and partitions that all heal
 * before HEAL_AT_MS. Shrinking removes clients, messages, faults and partitions.
 */
export const scenarioArb: fc.Arbitrary<Scenario> = fc
  .record({
    seed: fc.integer({ min: 0, max: 0x7fff_ffff }),
    clients: fc.array(clientPlanArb, { minLength: 1, maxLength: 5 }),
    latencyMs: fc.integer({ min: 1, max: 20 }),
    faultTape: faultTapeArb(),
  })
  .chain((base) =>
    fc
      .array(partitionArb(['server', ...base.clients.map((_, index) => `c${index}`)], HEAL_AT_MS), {
        maxLength: 2,
      })
      .map((partitions) => ({
        ...base,
        partitions,
        healAtMs: HEAL_AT_MS,
        endAtMs: END_AT_MS,
        stepCountMax: STEP_COUNT_MAX,
      })),
  );
