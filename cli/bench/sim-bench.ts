import fc from 'fast-check';
import { NO_FAULTS, scenarioArbWith } from '../../adapters/sim/arbitraries/scenario.ts';
import { checkRun } from '../../adapters/sim/check.ts';
import { runScenario } from '../../adapters/sim/run.ts';

/** The fixed scenario of the issue: 3 clients, 20 messages each, 10 virtual seconds, 10 % loss. */
export const SIM_BENCH_FAULTS = { ...NO_FAULTS, lossPercent: 10 };
const SCENARIO_COUNT = 100;
const MEASURE_MS = 4000;

export interface SimBenchResult {
  readonly runs: number;
  readonly seconds: number;
  readonly runsPerSecond: number;
  readonly virtualPerReal: number;
  readonly checkedRunsPerSecond: number;
  /** Over the 100 scenarios, once each: deterministic, the same on any machine. */
  readonly machineEventsPerRun: number;
  readonly serverMachineEventsPerRun: number;
  readonly clockStepsPerRun: number;
}

function measure(work: () => void, seconds: number): { runs: number; seconds: number } {
  let runs = 0;
  const startedAt = performance.now();
  while (performance.now() - startedAt < seconds * 1000) {
    work();
    runs += 1;
  }
  return { runs, seconds: (performance.now() - startedAt) / 1000 };
}

/** Runs the fixed scenario (100 draws of it, round robin) for a few seconds, with and without checking. */
export function benchSimulator(): SimBenchResult {
  const scenarios = fc.sample(
    scenarioArbWith({ clientCount: 3, messageCount: 20, activeMs: 10_000, calmMs: 0 }, SIM_BENCH_FAULTS),
    { seed: 1, numRuns: SCENARIO_COUNT },
  );
  let index = 0;
  const next = () => {
    const scenario = scenarios[index % scenarios.length];
    index += 1;
    if (scenario === undefined) {
      throw new Error('no scenario');
    }
    return scenario;
  };
  // The cost in counts, each scenario once (this also warms up the JIT).
  let machineEvents = 0;
  let serverMachineEvents = 0;
  let clockSteps = 0;
  for (const scenario of scenarios) {
    const run = runScenario(scenario, { countMachineEvents: true });
    machineEvents += (run.machineEvents?.server ?? 0) + (run.machineEvents?.clients ?? 0);
    serverMachineEvents += run.machineEvents?.server ?? 0;
    clockSteps += run.stepCount;
  }
  const plain = measure(() => runScenario(next()), MEASURE_MS / 1000);
  const checked = measure(() => checkRun(runScenario(next())), MEASURE_MS / 2000);
  const virtualSeconds = 10;
  return {
    runs: plain.runs,
    seconds: plain.seconds,
    runsPerSecond: plain.runs / plain.seconds,
    virtualPerReal: (plain.runs * virtualSeconds) / plain.seconds,
    checkedRunsPerSecond: checked.runs / checked.seconds,
    machineEventsPerRun: machineEvents / scenarios.length,
    serverMachineEventsPerRun: serverMachineEvents / scenarios.length,
    clockStepsPerRun: clockSteps / scenarios.length,
  };
}
