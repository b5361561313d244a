import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test, testProp } from '@fast-check/ava';
import type { ExecutionContext } from 'ava';
import fc from 'fast-check';
import { scenarioArb } from '../adapters/sim/arbitraries/scenario.ts';
import { checkRun, type Invariant, type Violation } from '../adapters/sim/check.ts';
import { faultFiguresOf } from '../adapters/sim/figures.ts';
import { GOALS, type Goal, GoalCoverage } from '../adapters/sim/goals.ts';
import { decodeReplayToken, encodeReplayToken } from '../adapters/sim/replay-token.ts';
import { type RunRecord, runScenario } from '../adapters/sim/run.ts';
import type { Scenario } from '../adapters/sim/scenario.ts';
import { describeTape, scenarioSummary } from '../adapters/sim/tape-report.ts';

/**
 * How many scenarios each property runs. `GASCHAT_RUNS` raises it for deep runs; `GASCHAT_SEED` and
 * `GASCHAT_PATH` replay one failure exactly, and `GASCHAT_REPLAY=FILE` one scenario from its token
 * file (a failure prints both).
 */
export const RUN_COUNT = readPositiveInteger('GASCHAT_RUNS', 150);
/** How long shrinking a failure may take before the smallest found so far is reported. */
export const SHRINK_BUDGET_MS = readPositiveInteger('GASCHAT_SHRINK_MS', 60_000);
/**
 * How many rounds of {@link RUN_COUNT} runs a property may take to reach its goals. A goal that a run
 * reaches one time in thirty is missed by 150 runs about one suite in 150; rather than fail then, the
 * property draws another round (fresh seed, same invariants), as QuickCheck's `checkCoverage` keeps
 * testing until coverage is settled. A goal still missed after every round is a generator that does
 * not go there, and fails the property.
 */
export const COVERAGE_ROUNDS_MAX = 4;
/** Where failing scenarios are written, as replay tokens (the folder is ignored by git). */
export const FAILURE_FOLDER = '.sim-failures';

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

/**
 * Goals beyond goals.ts's, of one family (the adversary's, check-adversary.ts): what each means, and
 * which of them a run reached. A property given one must reach every goal of it, as it must its own.
 */
export interface GoalFamily {
  readonly descriptions: Readonly<Record<string, string>>;
  readonly reached: (run: RunRecord) => ReadonlySet<string>;
}

/** Counts, over a property's runs, how often each goal of a {@link GoalFamily} was reached. */
class FamilyCoverage {
  readonly counts: Map<string, number>;
  readonly #family: GoalFamily;

  constructor(family: GoalFamily) {
    this.#family = family;
    this.counts = new Map(Object.keys(family.descriptions).map((goal) => [goal, 0]));
  }

  record(run: RunRecord): void {
    for (const goal of this.#family.reached(run)) {
      this.counts.set(goal, (this.counts.get(goal) ?? 0) + 1);
    }
  }

  get missed(): string[] {
    return [...this.counts].filter(([, count]) => count === 0).map(([goal]) => goal);
  }
}

/** Fails the test for every goal no run reached: the runs never went where the guarantee was needed. */
function assertGoalsReached(
  t: ExecutionContext,
  goals: { readonly counts: ReadonlyMap<string, number>; readonly missed: readonly string[] },
  runs: number,
  wanted: readonly string[],
  descriptions: Readonly<Record<string, string>> = GOALS,
): void {
  t.log(
    `goals reached over ${runs} runs: ${wanted.map((goal) => `${goal} ${goals.counts.get(goal) ?? 0}`).join(', ')}`,
  );
  for (const goal of goals.missed.filter((missed) => wanted.includes(missed))) {
    t.fail(
      `the goal "${goal}" (${descriptions[goal]}) was never reached in ${runs} runs: the runs did not go there`,
    );
  }
}

/** Writes a scenario's replay token to the failure folder; returns the file's path. */
function saveToken(scenario: Scenario, name: string): string {
  mkdirSync(FAILURE_FOLDER, { recursive: true });
  const path = join(FAILURE_FOLDER, `${name}.token`);
  writeFileSync(path, `${encodeReplayToken(scenario)}\n`);
  return path;
}

function violationLines(violations: readonly Violation[]): string[] {
  return violations.map((violation) => `  [${violation.invariant}] ${violation.message}`);
}

/**
 * Judges the runs of one property and keeps its reports alive: the first failure is printed (with
 * its seed, path, violations and a replay file) the moment it is found, before shrinking starts;
 * shrinking shows its progress and stops at {@link SHRINK_BUDGET_MS}, after which the smallest
 * failure found so far is the one reported.
 */
class PropertyRun {
  readonly faults = new FaultCoverage();
  readonly goals = new GoalCoverage();
  readonly familyGoals: FamilyCoverage | undefined;
  readonly #file: string;
  readonly #invariants: readonly Invariant[];
  #seed: number | undefined;
  #runIndex = 0;
  #shrinkStartedAtMs: number | undefined;
  #shrinkSteps = 0;
  #lastProgressAtMs = 0;

  constructor(file: string, invariants: readonly Invariant[], seed: number | undefined, family?: GoalFamily) {
    this.#file = file;
    this.#invariants = withRunHealth(invariants);
    this.#seed = seed;
    this.familyGoals = family === undefined ? undefined : new FamilyCoverage(family);
  }

  /** Starts another round of runs drawn from `seed`: a failure in it is replayed by that seed and its own path. */
  beginRound(seed: number): void {
    this.#seed = seed;
    this.#runIndex = 0;
  }

  /** The goals of `wanted`, and of the family, that no run has reached yet. */
  missedGoals(wanted: readonly string[]): string[] {
    const family = this.familyGoals?.missed ?? [];
    return [...this.goals.missed.filter((goal) => wanted.includes(goal)), ...family];
  }

  /** Whether a run failed: the property then stopped drawing runs, so its coverage says nothing. */
  get failed(): boolean {
    return this.#shrinkStartedAtMs !== undefined;
  }

  judge(scenario: Scenario): Violation[] {
    if (this.#shrinkStartedAtMs === undefined) {
      const path = String(this.#runIndex);
      this.#runIndex += 1;
      const run = runScenario(scenario);
      this.faults.record(run);
      this.goals.record(run);
      this.familyGoals?.record(run);
      const violations = checkRun(run, this.#invariants);
      if (violations.length > 0) {
        this.#shrinkStartedAtMs = performance.now();
        this.#reportFirst(scenario, violations, path);
      }
      return violations;
    }
    const elapsedMs = performance.now() - this.#shrinkStartedAtMs;
    if (elapsedMs > SHRINK_BUDGET_MS) {
      // Past the budget every candidate passes, so fast-check stops with the smallest failure so far.
      return [];
    }
    const violations = checkRun(runScenario(scenario), this.#invariants);
    if (violations.length > 0) {
      this.#shrinkSteps += 1;
      if (performance.now() - this.#lastProgressAtMs > 1000) {
        this.#lastProgressAtMs = performance.now();
        console.error(
          `  shrinking ${basename(this.#file)}: ${this.#shrinkSteps} smaller failures so far, now ${scenarioSummary(scenario)} (${(elapsedMs / 1000).toFixed(0)} s of ${SHRINK_BUDGET_MS / 1000} s)`,
        );
      }
    }
    return violations;
  }

  #reportFirst(scenario: Scenario, violations: readonly Violation[], path: string): void {
    const name = `${basename(this.#file, '.test.ts')}-${this.#seed ?? 'seed'}-first`;
    const tokenFile = saveToken(scenario, name);
    console.error(
      [
        `FIRST FAILURE of ${this.#file} at run ${Number(path) + 1} (seed ${this.#seed}, path ${path}), before shrinking:`,
        ...violationLines(violations),
        `  scenario: ${scenarioSummary(scenario)}`,
        `  replay exactly: GASCHAT_REPLAY=${tokenFile} npx ava ${this.#file}`,
        `  or: GASCHAT_SEED=${this.#seed} GASCHAT_PATH=${path} npx ava ${this.#file}`,
        `  shrinking now, for at most ${SHRINK_BUDGET_MS / 1000} s…`,
      ].join('\n'),
    );
  }

  /** The report after shrinking: what broke, the smallest scenario, its trace, and a short replay command. */
  finalReport(details: fc.RunDetails<[Scenario]>): string {
    const lines = [
      `Property failed after ${details.numRuns} runs (seed ${details.seed}, path ${details.counterexamplePath}).`,
    ];
    const scenario = details.counterexample?.[0];
    if (scenario !== undefined) {
      const run = runScenario(scenario);
      lines.push(
        'Violations of the smallest failing scenario:',
        ...violationLines(checkRun(run, this.#invariants)),
      );
      lines.push(
        `Shrunk in ${this.#shrinkSteps} steps to: ${scenarioSummary(scenario)}`,
        JSON.stringify({ ...scenario, faultTape: describeTape(scenario) }),
        'Trace (virtual time, node, what):',
        run.trace.formatted(400),
      );
      const tokenFile = saveToken(scenario, `${basename(this.#file, '.test.ts')}-${details.seed}-shrunk`);
      lines.push('Replay exactly:', `  GASCHAT_REPLAY=${tokenFile} npx ava ${this.#file}`);
    } else if (details.errorInstance !== undefined) {
      lines.push(String(details.errorInstance));
    }
    lines.push(
      `  or: GASCHAT_SEED=${details.seed} GASCHAT_PATH=${details.counterexamplePath ?? ''} npx ava ${this.#file}`,
    );
    return lines.join('\n');
  }
}

/** Parameters for fc.assert: the run count, a replayed seed and path (never shrunk), and the report. */
function propertyParameters(property: PropertyRun, seed: number | undefined): fc.Parameters<[Scenario]> {
  return {
    ...runParameters<[Scenario]>(seed),
    reporter: (details) => {
      if (details.failed) {
        throw new Error(property.finalReport(details));
      }
    },
  };
}

function requestedSeed(): number | undefined {
  const seed = process.env.GASCHAT_SEED;
  if (seed !== undefined && !/^-?\d+$/.test(seed)) {
    throw new RangeError(`GASCHAT_SEED is ${JSON.stringify(seed)}; copy it whole from the failure report`);
  }
  // A seed of our own (rather than fast-check's) so that the first failure can name it at once.
  return seed === undefined ? Math.floor(Math.random() * 0x7fff_ffff) : Number(seed);
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

/** `GASCHAT_REPLAY=FILE`: the one scenario of a token file, run and checked, its trace shown on failure. */
function defineReplay(title: string, invariants: readonly Invariant[], file: string): void {
  test(`${title} (replay of ${file})`, (t) => {
    const scenario = decodeReplayToken(readFileSync(file, 'utf8').trim());
    const run = runScenario(scenario);
    const violations = checkRun(run, withRunHealth(invariants));
    if (violations.length > 0) {
      t.log(run.trace.formatted(400));
    }
    t.deepEqual(violations, []);
  });
}

/** Every goal: what the property of all guarantees must reach. */
export const ALL_GOALS = Object.keys(GOALS) as Goal[];

/** What a property may change from the default: its scenarios, more goals, that it fails today. */
export interface PropertyOptions {
  /** The scenarios it runs; by default {@link scenarioArb}, every shape under the properties' faults. */
  readonly arbitrary?: fc.Arbitrary<Scenario>;
  /** Goals of another family that its runs must reach too, every one of them. */
  readonly goalFamily?: GoalFamily;
  /**
   * It is known to fail today (ava's `test.failing`): it passes by failing (ava still shows its
   * shrunk failure), and must become an ordinary property (`false`) once what it waits for has landed.
   */
  readonly failing?: boolean;
}

/**
 * Declares one property over simulated runs: `title` states the invariant, `invariants` are the
 * checks that decide it; after all its runs the property fails if any fault kind never bit or any
 * of its goals (the situations where its invariants matter most) was never reached. A property that
 * failed stopped early, and is not judged on its coverage.
 */
export function defineProperty(
  file: string,
  title: string,
  invariants: readonly Invariant[],
  goals: readonly Goal[] = ALL_GOALS,
  options: PropertyOptions = {},
): void {
  const replayFile = process.env.GASCHAT_REPLAY;
  if (replayFile !== undefined && replayFile !== '') {
    defineReplay(title, invariants, replayFile);
    return;
  }
  const seed = requestedSeed();
  const family = options.goalFamily;
  const failing = options.failing === true;
  const property = new PropertyRun(file, invariants, seed, family);
  (failing ? testProp.failing : testProp)(
    title,
    [options.arbitrary ?? scenarioArb],
    (t, scenario) => {
      t.deepEqual(property.judge(scenario), []);
    },
    propertyParameters(property, seed),
  );
  test.after(`${title}: every fault kind happened and every goal was reached`, (t) => {
    // A replay of one failing case runs one scenario; coverage is about whole suites.
    if (process.env.GASCHAT_PATH !== undefined) {
      return;
    }
    if (property.failed) {
      t.log('the property failed, so it stopped drawing runs: its coverage is not judged');
      return;
    }
    for (let round = 2; round <= COVERAGE_ROUNDS_MAX && property.missedGoals(goals).length > 0; round += 1) {
      const roundSeed = ((seed ?? 0) + round - 1) & 0x7fff_ffff;
      t.log(
        `after ${property.faults.runs} runs no run had reached ${property.missedGoals(goals).join(', ')}: round ${round} of at most ${COVERAGE_ROUNDS_MAX}, ${RUN_COUNT} more runs (seed ${roundSeed})`,
      );
      property.beginRound(roundSeed);
      fc.assert(
        fc.property(options.arbitrary ?? scenarioArb, (scenario) => property.judge(scenario).length === 0),
        propertyParameters(property, roundSeed),
      );
    }
    property.faults.assertAllHappened(t);
    assertGoalsReached(t, property.goals, property.faults.runs, goals);
    if (family !== undefined && property.familyGoals !== undefined) {
      const wanted = Object.keys(family.descriptions);
      assertGoalsReached(t, property.familyGoals, property.faults.runs, wanted, family.descriptions);
    }
  });
}

/** Parameters for a property of its own kind (determinism): the run count, a replayed seed and path. */
export function plainParameters<T>(): fc.Parameters<T> {
  return runParameters<T>(requestedSeed());
}

/** The run count, a replayed seed and path, and no shrinking for a replay or when asked. */
function runParameters<T>(seed: number | undefined): fc.Parameters<T> {
  const path = process.env.GASCHAT_PATH;
  return {
    numRuns: RUN_COUNT,
    ...(seed === undefined ? {} : { seed }),
    ...(path === undefined ? {} : { path }),
    // A replay runs the one case exactly, without shrinking it again.
    endOnFailure: process.env.GASCHAT_NO_SHRINK === '1' || path !== undefined,
  };
}
