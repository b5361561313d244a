import { test, testProp } from '@fast-check/ava';
import type { ExecutionContext } from 'ava';
import type fc from 'fast-check';
import { scenarioArb } from '../adapters/sim/arbitraries/scenario.ts';
import { checkRun, type Invariant } from '../adapters/sim/check.ts';
import { faultFiguresOf } from '../adapters/sim/figures.ts';
import { type RunRecord, runScenario } from '../adapters/sim/run.ts';
import type { Scenario } from '../adapters/sim/scenario.ts';

/**
 * How many scenarios each property runs. `GASCHAT_RUNS` raises it for deep runs; `GASCHAT_SEED` and
 * `GASCHAT_PATH` replay one failure exactly (a failure prints the command).
 */
export const RUN_COUNT = readPositiveInteger('GASCHAT_RUNS', 150);

function readPositiveInteger(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${name} is ${JSON.stringify(raw)}; it must be a whole number above 0`);
  }
  return value;
}

/** The fault kinds a suite claims to survive; each must have happened in its runs. */
export const FAULT_KINDS = [
  'drops',
  'duplicates',
  'reorders',
  'retransmissions',
  'partitions',
  'crashes',
  'timeouts',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Counts, over every run of a property, how often each fault kind actually bit. */
export class FaultCoverage {
  readonly counts: Record<FaultKind, number> = {
    drops: 0,
    duplicates: 0,
    reorders: 0,
    retransmissions: 0,
    partitions: 0,
    crashes: 0,
    timeouts: 0,
  };
  runs = 0;

  record(run: RunRecord): void {
    this.runs += 1;
    const figures = faultFiguresOf(run);
    for (const kind of FAULT_KINDS) {
      this.counts[kind] += figures[kind];
    }
  }

  /** Fails the test for every fault kind that never happened: a property that passed without it proves nothing. */
  assertAllHappened(t: ExecutionContext, kinds: readonly FaultKind[] = FAULT_KINDS): void {
    t.log(`over ${this.runs} runs: ${FAULT_KINDS.map((kind) => `${kind} ${this.counts[kind]}`).join(', ')}`);
    for (const kind of kinds) {
      t.true(
        this.counts[kind] > 0,
        `no ${kind} happened in ${this.runs} runs: the property did not test what it claims`,
      );
    }
  }
}

/** Parameters for fc.assert: the run count, a replayed seed and path, and a report that can be acted on. */
export function propertyParameters(
  file: string,
  invariants: readonly Invariant[],
): fc.Parameters<[Scenario]> {
  const seed = process.env.GASCHAT_SEED;
  const path = process.env.GASCHAT_PATH;
  if (seed !== undefined && !/^-?\d+$/.test(seed)) {
    throw new RangeError(`GASCHAT_SEED is ${JSON.stringify(seed)}; copy it whole from the failure report`);
  }
  return {
    numRuns: RUN_COUNT,
    ...(seed === undefined ? {} : { seed: Number(seed) }),
    ...(path === undefined ? {} : { path }),
    endOnFailure: process.env.GASCHAT_NO_SHRINK === '1',
    reporter: (details) => {
      if (!details.failed) {
        return;
      }
      throw new Error(failureReport(file, invariants, details));
    },
  };
}

function failureReport(
  file: string,
  invariants: readonly Invariant[],
  details: fc.RunDetails<[Scenario]>,
): string {
  const lines = [
    `Property failed after ${details.numRuns} runs (seed ${details.seed}, path ${details.counterexamplePath}).`,
  ];
  const scenario = details.counterexample?.[0];
  if (scenario !== undefined) {
    const run = runScenario(scenario);
    lines.push('Violations:');
    for (const violation of checkRun(run, withRunHealth(invariants))) {
      lines.push(`  [${violation.invariant}] ${violation.message}`);
    }
    lines.push('Shrunk scenario:', JSON.stringify(scenario));
    lines.push('Trace (virtual time, node, what):', run.trace.formatted(400));
  } else if (details.errorInstance !== undefined) {
    lines.push(String(details.errorInstance));
  }
  lines.push(
    'Replay exactly:',
    `  GASCHAT_SEED=${details.seed} GASCHAT_PATH=${details.counterexamplePath ?? ''} npx ava ${file}`,
  );
  return lines.join('\n');
}

/** Runs a scenario, counts its faults and returns the violations of the named invariants. */
export function runAndCheck(scenario: Scenario, coverage: FaultCoverage, invariants: readonly Invariant[]) {
  const run = runScenario(scenario);
  coverage.record(run);
  return checkRun(run, withRunHealth(invariants));
}

/** Every property also checks the run's health (no actor failed, no step budget ran out), once. */
function withRunHealth(invariants: readonly Invariant[]): Invariant[] {
  return invariants.includes('run-health') ? [...invariants] : ['run-health', ...invariants];
}

/**
 * Declares one property over simulated runs: `title` states the invariant, `invariants` are the
 * checks that decide it, and after all its runs the property fails if any fault kind never bit.
 */
export function defineProperty(file: string, title: string, invariants: readonly Invariant[]): void {
  const coverage = new FaultCoverage();
  testProp(
    title,
    [scenarioArb],
    (t, scenario) => {
      t.deepEqual(runAndCheck(scenario, coverage, invariants), []);
    },
    propertyParameters(file, invariants),
  );
  test.after(`${title}: every fault kind happened`, (t) => {
    // A replay of one failing case runs one scenario; coverage is about whole suites.
    if (process.env.GASCHAT_PATH === undefined) {
      coverage.assertAllHappened(t);
    }
  });
}
