import { testProp } from '@fast-check/ava';
import { scenarioArb } from '../adapters/sim/arbitraries/scenario.ts';
import { runScenario } from '../adapters/sim/run.ts';
import { plainParameters } from './harness.ts';

testProp(
  'the same scenario run twice gives the same trace, byte for byte',
  [scenarioArb],
  (t, scenario) => {
    const first = runScenario(scenario).trace.toJsonLines();
    const second = runScenario(scenario).trace.toJsonLines();
    // A trace that recorded nothing would agree with itself vacuously.
    t.true(first.length > 0);
    t.is(second, first);
  },
  plainParameters(),
);
