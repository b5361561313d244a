import fc from 'fast-check';
import { type FaultDecision, NO_FAULT, type Partition } from '../network.ts';

/** Extra delay at most this long by default: enough to reorder, short next to retransmission timers. */
export const FAULT_DELAY_MS_MAX_DEFAULT = 50;
/** A tape longer than the datagrams of a typical safety phase, so faults can strike late too. */
export const FAULT_TAPE_LENGTH_MAX_DEFAULT = 2000;
/** Late copies arrive up to this long after their datagram was sent: well past every timeout. */
export const LATE_COPY_MS_MAX_DEFAULT = 60_000;

/** Relative weights (integers) of the kinds of decision, and the bounds of a tape. */
export interface FaultTapeOptions {
  /** Weight of "deliver normally". */
  readonly cleanWeight?: number;
  readonly lossWeight?: number;
  readonly duplicateWeight?: number;
  readonly delayWeight?: number;
  readonly delayMsMax?: number;
  /** Weight of "a copy arrives seconds or minutes later" (0 by default). */
  readonly lateCopyWeight?: number;
  readonly lateCopyMsMax?: number;
  readonly decisionCountMax?: number;
  /**
   * The fewest decisions a tape holds (0 by default). Swarm testing sets it to the maximum, so that
   * the rates drawn hold for every send of a run, not only for the first few; shrinking then turns
   * decisions into "deliver normally" instead of removing them.
   */
  readonly decisionCountMin?: number;
}

const FAULT_WEIGHTS_DEFAULT = { cleanWeight: 12, lossWeight: 2, duplicateWeight: 1, delayWeight: 2 } as const;

/**
 * One datagram's fate: mostly {@link NO_FAULT}, sometimes a loss, a duplicate or an extra delay. The
 * clean case comes first and `withCrossShrink` is on, so shrinking tries "deliver normally" before
 * anything else, and delays shrink toward 0.
 *
 * @example
 * ```ts
 * fc.sample(faultDecisionArb({ lossWeight: 10 }), 3);
 * ```
 */
export function faultDecisionArb(options: FaultTapeOptions = {}): fc.Arbitrary<FaultDecision> {
  const delayMsMax = options.delayMsMax ?? FAULT_DELAY_MS_MAX_DEFAULT;
  const delayMs = fc.integer({ min: 0, max: delayMsMax });
  const choices: fc.WeightedArbitrary<FaultDecision>[] = [
    { weight: options.cleanWeight ?? FAULT_WEIGHTS_DEFAULT.cleanWeight, arbitrary: fc.constant(NO_FAULT) },
    {
      weight: options.lossWeight ?? FAULT_WEIGHTS_DEFAULT.lossWeight,
      arbitrary: fc.constant<FaultDecision>({ drop: true, duplicate: false, delayMs: 0 }),
    },
    {
      weight: options.duplicateWeight ?? FAULT_WEIGHTS_DEFAULT.duplicateWeight,
      arbitrary: delayMs.map((ms): FaultDecision => ({ drop: false, duplicate: true, delayMs: ms })),
    },
    {
      weight: options.delayWeight ?? FAULT_WEIGHTS_DEFAULT.delayWeight,
      arbitrary: fc
        .integer({ min: 1, max: Math.max(1, delayMsMax) })
        .map((ms): FaultDecision => ({ drop: false, duplicate: false, delayMs: ms })),
    },
    {
      // Held somewhere for seconds or minutes, then delivered; half the time the prompt copy is lost.
      weight: options.lateCopyWeight ?? 0,
      arbitrary: fc
        .record({
          drop: fc.boolean(),
          // A third within a cookie's life (a JOIN replayed after its member quit), a third past 30 s:
          // longer than every timeout, long after the session they belong to.
          lateCopyMs: fc.oneof(
            fc.integer({ min: 300, max: 4000 }),
            fc.integer({ min: 4001, max: 30_000 }),
            fc.integer({
              min: 30_001,
              max: Math.max(30_001, options.lateCopyMsMax ?? LATE_COPY_MS_MAX_DEFAULT),
            }),
          ),
        })
        .map(({ drop, lateCopyMs }): FaultDecision => ({ drop, duplicate: false, delayMs: 0, lateCopyMs })),
    },
  ];
  // A kind of fault with weight 0 is left out; the clean case stays first, so it shrinks toward it.
  return fc.oneof(
    { withCrossShrink: true },
    ...choices.filter((choice, index) => index === 0 || choice.weight > 0),
  );
}

/**
 * A fault tape: the decisions for the first sends of a run, in send order; later sends are delivered
 * normally. Lengths span the whole range (not fast-check's small default), and shrinking removes
 * decisions and turns the rest into {@link NO_FAULT}.
 *
 * @example
 * ```ts
 * fc.assert(fc.property(faultTapeArb({ lossWeight: 6 }), (tape) => runWith(tape).ok));
 * ```
 */
export function faultTapeArb(options: FaultTapeOptions = {}): fc.Arbitrary<readonly FaultDecision[]> {
  return fc.array(faultDecisionArb(options), {
    minLength: options.decisionCountMin ?? 0,
    maxLength: options.decisionCountMax ?? FAULT_TAPE_LENGTH_MAX_DEFAULT,
    size: 'max',
  });
}

/**
 * A partition among `nodeNames` that starts and heals within [0, horizonMs]. Groups are non-empty
 * when there are nodes enough; shrinking moves the start to 0 and the duration toward 1 ms.
 *
 * @example
 * ```ts
 * fc.array(partitionArb(['server', 'c0', 'c1'], 10_000), { maxLength: 2 });
 * ```
 */
export function partitionArb(nodeNames: readonly string[], horizonMs: number): fc.Arbitrary<Partition> {
  const lastStartMs = Math.max(0, horizonMs - 1);
  return fc
    .record({
      startMs: fc.integer({ min: 0, max: lastStartMs }),
      durationMs: fc.integer({ min: 1, max: Math.max(1, horizonMs) }),
      kind: fc.constantFrom<Partition['kind']>('symmetric', 'one-way', 'isolate'),
      groups: groupsArb(nodeNames),
    })
    .map(({ startMs, durationMs, kind, groups }) => ({
      startMs,
      endMs: Math.min(horizonMs, startMs + durationMs),
      kind,
      groupA: groups.groupA,
      groupB: kind === 'isolate' ? [] : groups.groupB,
    }));
}

/** Two disjoint groups, each non-empty when at least two names are given. */
function groupsArb(
  nodeNames: readonly string[],
): fc.Arbitrary<{ readonly groupA: readonly string[]; readonly groupB: readonly string[] }> {
  const names = [...nodeNames];
  if (names.length < 2) {
    return fc.constant({ groupA: names, groupB: [] });
  }
  return fc.subarray(names, { minLength: 1, maxLength: names.length - 1 }).chain((groupA) => {
    const rest = names.filter((name) => !groupA.includes(name));
    return fc.subarray(rest, { minLength: 1 }).map((groupB) => ({ groupA, groupB }));
  });
}
