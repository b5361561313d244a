import fc from 'fast-check';
import {
  type AddressPick,
  type AdversaryMove,
  type AdversaryPlan,
  type Aim,
  FORGED_WAIT_REASONS,
  hexOf,
  type MoveTiming,
  RETRY_AFTER_MS_MAX,
  type SourceFilter,
} from '../adversary.ts';
import type { Scenario, ScenarioShape } from '../scenario.ts';
import { NO_FAULTS, PROPERTY_FAULTS, SHAPE_WEIGHTS, shapedScenarioArb } from './scenario.ts';

/**
 * The adversary's tape, drawn by fast-check within the scenario as the fault tape is: every choice it
 * makes (when each move fires, what it works from, what it changes, where it sends it and as whom)
 * is a value here, so a run replays from its scenario and shrinking removes moves and simplifies
 * the rest (toward exact copies, sent at once, to where the original went, as its sender).
 */

/** Moves fire within this long from the start: the active phase of most shapes and the calm after it. */
export const ADVERSARY_HORIZON_MS = 40_000;
/** At most this many moves on a tape. */
export const ADVERSARY_MOVE_COUNT_MAX = 24;

const hexArb = (minLength: number, maxLength: number): fc.Arbitrary<string> =>
  fc.uint8Array({ minLength, maxLength }).map(hexOf);

/** Where an injection goes or whom it claims to be: mostly as seen, the shrink target. */
const addressPickArb: fc.Arbitrary<AddressPick> = fc.oneof(
  { withCrossShrink: true },
  { weight: 4, arbitrary: fc.constant<AddressPick>({ kind: 'as-seen' }) },
  { weight: 2, arbitrary: fc.constant<AddressPick>({ kind: 'server' }) },
  { weight: 2, arbitrary: fc.nat(64).map((pick): AddressPick => ({ kind: 'client', pick })) },
  { weight: 1, arbitrary: fc.nat(1000).map((pick): AddressPick => ({ kind: 'stranger', pick })) },
);

const aimArb: fc.Arbitrary<Aim> = fc.record({ to: addressPickArb, from: addressPickArb });

/**
 * When a move fires and what it works from: at once on the datagram that fires it most often (a race
 * with the original), an older one sometimes; held back for nothing, a moment, seconds, or most of a
 * minute (a replay long after its session).
 */
const timingArb: fc.Arbitrary<MoveTiming> = fc.record({
  atMs: fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 12_000 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: ADVERSARY_HORIZON_MS }) },
  ),
  back: fc.oneof(
    { withCrossShrink: true },
    { weight: 3, arbitrary: fc.constant(0) },
    { weight: 2, arbitrary: fc.nat(8) },
    { weight: 1, arbitrary: fc.nat(200) },
  ),
  of: fc.constantFrom<SourceFilter>('any', 'client', 'server'),
  delayMs: fc.oneof(
    { withCrossShrink: true },
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 3, arbitrary: fc.integer({ min: 1, max: 1000 }) },
    { weight: 2, arbitrary: fc.integer({ min: 1001, max: 10_000 }) },
    { weight: 1, arbitrary: fc.integer({ min: 10_001, max: 60_000 }) },
  ),
});

/** What a move does, kind by kind, each as likely: the replay (the simplest) first, to shrink toward. */
const actionArb: fc.Arbitrary<Omit<AdversaryMove, keyof MoveTiming>> = fc.oneof(
  { withCrossShrink: true },
  aimArb.map((aim) => ({ kind: 'replay' as const, ...aim })),
  fc
    .record({
      region: fc.constantFrom('body' as const, 'header' as const, 'any' as const),
      bits: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
      aim: aimArb,
    })
    .map(({ region, bits, aim }) => ({ kind: 'bit-flip' as const, region, bits, ...aim })),
  fc
    .record({ keep: fc.nat(), aim: aimArb })
    .map(({ keep, aim }) => ({ kind: 'truncate' as const, keep, ...aim })),
  fc
    .record({ extra: hexArb(1, 64), aim: aimArb })
    .map(({ extra, aim }) => ({ kind: 'extend' as const, extra, ...aim })),
  fc
    .option(fc.nat(64), { nil: undefined })
    .map((toServerAs) => ({ kind: 'reflect' as const, ...(toServerAs === undefined ? {} : { toServerAs }) })),
  fc
    .record({
      bytes: fc.oneof({ weight: 4, arbitrary: hexArb(0, 64) }, { weight: 1, arbitrary: hexArb(65, 1300) }),
      aim: aimArb,
    })
    .map(({ bytes, aim }) => ({ kind: 'forge-random' as const, bytes, ...aim })),
  fc
    .record({ body: hexArb(0, 120), aim: aimArb })
    .map(({ body, aim }) => ({ kind: 'forge-header' as const, body, ...aim })),
  fc
    .record({
      // Just ahead of the seen number most often (what the next packets would carry), anywhere sometimes.
      packetNumber: fc.oneof(
        fc.integer({ min: 1, max: 64 }).map((ahead) => ({ ahead })),
        fc.nat(0xffff_ffff).map((exactly) => ({ exactly })),
      ),
      body: fc.option(hexArb(1, 120), { nil: undefined }),
      aim: aimArb,
    })
    .map(({ packetNumber, body, aim }) => ({
      kind: 'forge-packet-number' as const,
      packetNumber,
      ...(body === undefined ? {} : { body }),
      ...aim,
    })),
  fc
    .record({
      // The first reason ('load') and no wait at all are the shrink targets; a minute or more (the
      // longest a client waits), or a u32's largest, sometimes.
      reason: fc.nat(FORGED_WAIT_REASONS.length - 1),
      retryAfterMs: fc.oneof(
        { withCrossShrink: true },
        { weight: 3, arbitrary: fc.integer({ min: 0, max: 10_000 }) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: RETRY_AFTER_MS_MAX }) },
      ),
      aim: aimArb,
    })
    .map(({ reason, retryAfterMs, aim }) => ({ kind: 'forge-wait' as const, reason, retryAfterMs, ...aim })),
);

export const adversaryMoveArb: fc.Arbitrary<AdversaryMove> = fc
  .tuple(timingArb, actionArb)
  .map(([timing, action]) => ({ ...timing, ...action }) as AdversaryMove);

/**
 * An adversary plan: a tape of moves, unbounded or bounded by a count, a time window, or a time it
 * stops at. Unbounded is first, so shrinking moves toward it; what shrinks the injections away is
 * the tape, whose moves shrinking removes.
 */
export const adversaryPlanArb: fc.Arbitrary<AdversaryPlan> = fc
  .record({
    moves: fc.array(adversaryMoveArb, { minLength: 1, maxLength: ADVERSARY_MOVE_COUNT_MAX, size: 'max' }),
    bounds: fc.oneof(
      { withCrossShrink: true },
      { weight: 2, arbitrary: fc.constant({}) },
      {
        weight: 1,
        arbitrary: fc.integer({ min: 1, max: 12 }).map((injectionCountMax) => ({ injectionCountMax })),
      },
      {
        weight: 1,
        arbitrary: fc
          .record({
            startAtMs: fc.integer({ min: 0, max: 8000 }),
            lengthMs: fc.integer({ min: 500, max: 15_000 }),
          })
          .map(({ startAtMs, lengthMs }) => ({ startAtMs, stopAtMs: startAtMs + lengthMs })),
      },
      { weight: 1, arbitrary: fc.integer({ min: 1000, max: 20_000 }).map((stopAtMs) => ({ stopAtMs })) },
    ),
  })
  .map(({ moves, bounds }): AdversaryPlan => ({ startAtMs: 0, ...bounds, moves }));

/**
 * The scenarios drawn by `base` with an adversary in a `share` of them (0 to 1); with none, the rest.
 * The plan is drawn beside the scenario, not from it, so that shrinking either leaves the other as it
 * was; shrinking moves toward no adversary.
 */
export function withAdversaryArb(base: fc.Arbitrary<Scenario>, share = 1): fc.Arbitrary<Scenario> {
  const weight = Math.round(Math.min(Math.max(share, 0), 1) * 1000);
  const planOrNone: fc.Arbitrary<AdversaryPlan | undefined> =
    weight >= 1000
      ? adversaryPlanArb
      : fc.oneof(
          { withCrossShrink: true },
          { weight: 1000 - weight, arbitrary: fc.constant(undefined) },
          { weight, arbitrary: adversaryPlanArb },
        );
  return fc
    .tuple(base, planOrNone)
    .map(([scenario, adversary]) => (adversary === undefined ? scenario : { ...scenario, adversary }));
}

/**
 * The network's faults taken away (the fault tape, every partition, every planned replay), so that
 * whatever goes wrong is the adversary's doing: the runs in which the checker holds the adversary to
 * changing nobody's fate. Crashes, quits and wrong passwords stay: they are the users' doing.
 */
export function withoutNetworkFaults(scenario: Scenario): Scenario {
  const { replays: _replays, ...rest } = scenario;
  return {
    ...rest,
    faultTape: [],
    partitions: [],
    faults: { ...NO_FAULTS, crashes: true, wrongPasswords: true },
  };
}

const shapeArb: fc.Arbitrary<ScenarioShape> = fc.oneof(
  ...(Object.entries(SHAPE_WEIGHTS) as [ScenarioShape, number][]).map(([shape, weight]) => ({
    weight,
    arbitrary: fc.constant(shape),
  })),
);

/**
 * The scenarios of the adversary's property: a shape per run, as the other properties draw them, half
 * under the properties' faults and half with the network's faults taken away; always an adversary.
 */
export const adversaryScenarioArb: fc.Arbitrary<Scenario> = withAdversaryArb(
  fc
    .tuple(
      shapeArb.chain((shape) => shapedScenarioArb(shape, {}, PROPERTY_FAULTS)),
      // Drawn beside the scenario, faults off first: shrinking takes the faults away without redrawing it.
      fc.constantFrom(true, false),
    )
    .map(([scenario, faultsOff]) => (faultsOff ? withoutNetworkFaults(scenario) : scenario)),
);
