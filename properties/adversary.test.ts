import test from 'ava';
import fc from 'fast-check';
import { adversaryScenarioArb } from '../adapters/sim/arbitraries/adversary.ts';
import { INVARIANTS } from '../adapters/sim/check.ts';
import {
  ADVERSARY_GOALS,
  type AdversaryGoal,
  adversaryGoalsReached,
} from '../adapters/sim/check-adversary.ts';
import { runScenario } from '../adapters/sim/run.ts';
import { defineProperty, type GoalFamily } from './harness.ts';

/** The adversary's goals (check-adversary.ts): every kind of injection, at each kind of target. */
const ADVERSARY_GOAL_FAMILY: GoalFamily = { descriptions: ADVERSARY_GOALS, reached: adversaryGoalsReached };

/**
 * An on-path adversary that sees every datagram and injects replays, bit-flips, cut and lengthened
 * copies, reflections and forgeries, from any address, changes nothing anyone sees: every guarantee
 * holds, nobody is shown what its author did not say, nobody is removed, renamed or refused because of
 * it, and nothing secret travels in the clear.
 *
 * Protocol v1 protected no packet, and this property failed against it (a flipped SAY showed another
 * text, a forged packet under a fresh number was taken); it holds since protocol v2. `failing: true`
 * is how a property that is known to fail today is declared until what it waits for lands.
 */
defineProperty(
  'properties/adversary.test.ts',
  'an on-path adversary that replays, flips, cuts, reflects and forges datagrams breaks no guarantee',
  [...INVARIANTS],
  ['bad-password', 'name-taken', 'room-full', 'text-three-byte-chars', 'shutdown-with-members'],
  { arbitrary: adversaryScenarioArb, goalFamily: ADVERSARY_GOAL_FAMILY, failing: false },
);

/** Scenarios the coverage test runs: enough to reach every goal, few enough to take seconds. */
const COVERAGE_RUN_COUNT = 60;

/**
 * What holds today whatever the protocol: the adversary does what it claims, so the property above
 * tests what it says. (While it fails, its own coverage is not judged: it stops at its first failure.)
 */
test("the adversary's runs reach every adversary goal: each kind of injection, the server and clients reached", (t) => {
  const counts = new Map<AdversaryGoal, number>();
  for (const scenario of fc.sample(adversaryScenarioArb, { numRuns: COVERAGE_RUN_COUNT, seed: 2024 })) {
    for (const goal of adversaryGoalsReached(runScenario(scenario))) {
      counts.set(goal, (counts.get(goal) ?? 0) + 1);
    }
  }
  const goals = Object.keys(ADVERSARY_GOALS) as AdversaryGoal[];
  t.log(goals.map((goal) => `${goal} ${counts.get(goal) ?? 0}`).join(', '));
  t.deepEqual(
    goals.filter((goal) => (counts.get(goal) ?? 0) === 0),
    [],
  );
});
