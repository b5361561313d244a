import fc from 'fast-check';
import { INJECTION_KINDS, type InjectionKind } from './adversary.ts';
import { withAdversaryArb } from './arbitraries/adversary.ts';
import { swarmScenarioArb, type WorkloadOptions } from './arbitraries/scenario.ts';
import { checkRun } from './check.ts';
import { faultFiguresOf } from './figures.ts';
import { GOALS, type Goal, goalsReached } from './goals.ts';
import { encodeReplayToken } from './replay-token.ts';
import { type RunRecord, runScenario } from './run.ts';
import type { Scenario } from './scenario.ts';

/** How long a failure is shrunk by default before the smallest found so far is reported. */
export const SHRINK_BUDGET_MS_DEFAULT = 60_000;

/**
 * The share of swarm runs (0 to 1) that draw an on-path adversary (adversary.ts) beside their faults:
 * one run in four. At 0 the swarm would draw exactly the scenarios it drew before the adversary
 * existed, seed for seed.
 */
export const SWARM_ADVERSARY_SHARE = 0.25;

/** The swarm's scenarios: its own shapes and faults, and an adversary in {@link SWARM_ADVERSARY_SHARE} of them. */
function swarmArb(options: WorkloadOptions): fc.Arbitrary<Scenario> {
  const base = swarmScenarioArb(options);
  return SWARM_ADVERSARY_SHARE > 0 ? withAdversaryArb(base, SWARM_ADVERSARY_SHARE) : base;
}

/** One broken guarantee: its name (an invariant of check.ts, or `determinism`) and what happened. */
export interface SwarmViolation {
  readonly invariant: string;
  readonly message: string;
}

/** Decides a run; `checkRun` (every guarantee) unless a caller passes its own. */
export type RunChecker = (run: RunRecord) => readonly SwarmViolation[];

export interface SwarmOptions extends WorkloadOptions {
  readonly runs: number;
  /** Run i draws everything from seed + i. */
  readonly seed: number;
  /** Runs every scenario twice and fails on the first difference between the traces. */
  readonly checkDeterminism?: boolean;
  readonly check?: RunChecker;
  /** Called after each run, for a progress bar. */
  readonly onProgress?: (done: number, failures: number) => void;
  /** Failures shrunk and reported at most; later failing seeds are counted only. */
  readonly failureReportCountMax?: number;
  /** How long one failure may be shrunk; past it, the smallest failure found so far is reported. */
  readonly shrinkBudgetMs?: number;
  /** Called when a run first fails, before it is shrunk. */
  readonly onFailure?: (seed: number, scenario: Scenario, violations: readonly SwarmViolation[]) => void;
  /** Called for each smaller failing scenario shrinking finds. */
  readonly onShrinkProgress?: (seed: number, steps: number, scenario: Scenario, elapsedMs: number) => void;
}

/** A failing seed, shrunk to its smallest failing scenario. */
export interface SwarmFailure {
  readonly seed: number;
  /** What the run as first drawn violated. */
  readonly violations: readonly SwarmViolation[];
  /** The smallest scenario fast-check found that still fails, re-run: what to read and replay. */
  readonly shrunk: {
    readonly scenario: Scenario;
    readonly run: RunRecord;
    readonly violations: readonly SwarmViolation[];
  };
  readonly shrinkSteps: number;
  readonly token: string;
}

export interface SwarmSummary {
  runs: number;
  failures: number;
  faultFreeRuns: number;
  messagesDelivered: number;
  datagramsSent: number;
  datagramsDropped: number;
  datagramsDuplicated: number;
  retransmissions: number;
  timeouts: number;
  virtualSeconds: number;
  realSeconds: number;
  /** Timers the virtual clock fired, over all runs. */
  clockSteps: number;
  /** Events the server machines processed, over all runs. */
  serverMachineEvents: number;
  /** Events the client machines processed, over all runs. */
  clientMachineEvents: number;
  /** Whether every run was run twice and its two traces compared (`--check-determinism`). */
  determinismChecked: boolean;
  /** Runs whose two traces differed; 0 when determinism was not checked. */
  tracePairsDiffering: number;
  /** How many runs reached each "sometimes" goal (goals.ts). */
  goals: Record<Goal, number>;
  /** What the adversaries of the runs that had one did (present once a run had one). */
  adversary?: SwarmAdversarySummary;
}

/** Over the runs with an adversary: how many, what they injected by kind, and who received it. */
export interface SwarmAdversarySummary {
  runs: number;
  injected: Record<InjectionKind, number>;
  reached: { server: number; client: number; nobody: number };
}

function emptyAdversarySummary(): SwarmAdversarySummary {
  return {
    runs: 0,
    injected: Object.fromEntries(INJECTION_KINDS.map((kind) => [kind, 0])) as Record<InjectionKind, number>,
    reached: { server: 0, client: 0, nobody: 0 },
  };
}

/** Adds one run's adversary, if it had one, to the summary. */
function tallyAdversary(summary: SwarmSummary, run: RunRecord): void {
  const report = run.adversary;
  if (report === undefined) {
    return;
  }
  summary.adversary ??= emptyAdversarySummary();
  const total = summary.adversary;
  total.runs += 1;
  for (const kind of INJECTION_KINDS) {
    total.injected[kind] += report.injected[kind];
  }
  total.reached.server += report.reached.server;
  total.reached.client += report.reached.client;
  total.reached.nobody += report.reached.nobody;
}

/** Adds one run's figures to the summary. */
export function tally(summary: SwarmSummary, run: RunRecord): void {
  summary.runs += 1;
  for (const goal of goalsReached(run)) {
    summary.goals[goal] += 1;
  }
  const network = run.network;
  summary.datagramsSent += network.sent;
  summary.datagramsDropped +=
    network.dropped.loss + network.dropped.partition + network.dropped.crashed + network.dropped.noSuchNode;
  summary.datagramsDuplicated += network.duplicated;
  for (const client of run.clients) {
    summary.messagesDelivered += client.events.filter(({ event }) => event.type === 'message').length;
  }
  const faults = faultFiguresOf(run);
  summary.retransmissions += faults.retransmissions;
  summary.timeouts += faults.timeouts;
  summary.virtualSeconds += run.scenario.endAtMs / 1000;
  summary.clockSteps += run.stepCount;
  summary.serverMachineEvents += run.machineEvents?.server ?? 0;
  summary.clientMachineEvents += run.machineEvents?.clients ?? 0;
  tallyAdversary(summary, run);
  // Counted by what happened, not by the settings drawn: a short run may never reach its first fault.
  if (faults.drops + faults.partitions + faults.duplicates + faults.reorders + faults.crashes === 0) {
    summary.faultFreeRuns += 1;
  }
}

export function emptySummary(): SwarmSummary {
  return {
    runs: 0,
    failures: 0,
    faultFreeRuns: 0,
    messagesDelivered: 0,
    datagramsSent: 0,
    datagramsDropped: 0,
    datagramsDuplicated: 0,
    retransmissions: 0,
    timeouts: 0,
    virtualSeconds: 0,
    realSeconds: 0,
    clockSteps: 0,
    serverMachineEvents: 0,
    clientMachineEvents: 0,
    determinismChecked: false,
    tracePairsDiffering: 0,
    goals: Object.fromEntries(Object.keys(GOALS).map((goal) => [goal, 0])) as Record<Goal, number>,
  };
}

/**
 * The run's cost per run, deterministic for a seed (so comparable between commits on any machine):
 * the events the machines processed and the timers the virtual clock fired.
 */
export function costPerRun(summary: SwarmSummary): {
  readonly machineEvents: number;
  readonly serverMachineEvents: number;
  readonly clockSteps: number;
  /** Injections per run with an adversary, by kind: present once a run had one. */
  readonly injections?: Readonly<Record<InjectionKind, number>>;
} {
  const runs = Math.max(summary.runs, 1);
  const adversary = summary.adversary;
  return {
    machineEvents: (summary.serverMachineEvents + summary.clientMachineEvents) / runs,
    serverMachineEvents: summary.serverMachineEvents / runs,
    clockSteps: summary.clockSteps / runs,
    ...(adversary === undefined || adversary.runs === 0
      ? {}
      : {
          injections: Object.fromEntries(
            INJECTION_KINDS.map((kind) => [kind, adversary.injected[kind] / adversary.runs]),
          ) as Record<InjectionKind, number>,
        }),
  };
}

/** The first line where two traces differ, or undefined when they are the same byte for byte. */
export function firstTraceDifference(a: string, b: string): string | undefined {
  if (a === b) {
    return undefined;
  }
  const linesA = a.split('\n');
  const linesB = b.split('\n');
  const index = linesA.findIndex((line, i) => line !== linesB[i]);
  const at = index < 0 ? linesA.length : index;
  return `the traces differ at line ${at + 1}: first run ${JSON.stringify(linesA[at] ?? '(end)')}, second run ${JSON.stringify(linesB[at] ?? '(end)')}`;
}

/** Runs a scenario and decides it; with `twice`, runs it again and compares the traces. */
export function judge(scenario: Scenario, check: RunChecker, twice: boolean) {
  // The summary reports what runs cost in machine events.
  const run = runScenario(scenario, { countMachineEvents: true });
  const violations = [...check(run)];
  if (twice) {
    const difference = firstTraceDifference(
      run.trace.toJsonLines(),
      runScenario(scenario).trace.toJsonLines(),
    );
    if (difference !== undefined) {
      violations.push({ invariant: 'determinism', message: difference });
    }
  }
  return { run, violations };
}

/**
 * Swarm testing: each seed draws its own fault settings, clients and workload, runs them in virtual
 * time and checks every guarantee. A failing seed is shrunk by fast-check to its smallest failing
 * scenario, which a replay token carries.
 */
export function runSwarm(options: SwarmOptions): { summary: SwarmSummary; failures: SwarmFailure[] } {
  const check = options.check ?? checkRun;
  const twice = options.checkDeterminism === true;
  const arbitrary = swarmArb(options);
  const summary = { ...emptySummary(), determinismChecked: twice };
  const failures: SwarmFailure[] = [];
  const shrinkBudgetMs = options.shrinkBudgetMs ?? SHRINK_BUDGET_MS_DEFAULT;
  const startedAt = performance.now();
  for (let index = 0; index < options.runs; index += 1) {
    const seed = (options.seed + index) % 2 ** 31;
    let first: { run: RunRecord; violations: SwarmViolation[] } | undefined;
    const shrinking = failures.length < (options.failureReportCountMax ?? 3);
    let shrinkStartedAtMs: number | undefined;
    let shrinkSteps = 0;
    const result = fc.check(
      fc.property(arbitrary, (scenario) => {
        // While shrinking, only the verdict matters: the figures count each seed's first run.
        if (first !== undefined && !shrinking) {
          return true;
        }
        if (shrinkStartedAtMs !== undefined) {
          const elapsedMs = performance.now() - shrinkStartedAtMs;
          // Past the budget every candidate passes, and fast-check settles on the smallest so far.
          if (elapsedMs > shrinkBudgetMs) {
            return true;
          }
          const failed = judge(scenario, check, twice).violations.length > 0;
          if (failed) {
            shrinkSteps += 1;
            options.onShrinkProgress?.(seed, shrinkSteps, scenario, elapsedMs);
          }
          return !failed;
        }
        const verdict = judge(scenario, check, twice);
        first = verdict;
        if (verdict.violations.length > 0) {
          // Told at once, before shrinking: a shrink that is interrupted loses nothing.
          options.onFailure?.(seed, scenario, verdict.violations);
          shrinkStartedAtMs = performance.now();
        }
        return verdict.violations.length === 0;
      }),
      { seed, numRuns: 1, endOnFailure: !shrinking },
    );
    if (first !== undefined) {
      tally(summary, first.run);
      if (first.violations.some((violation) => violation.invariant === 'determinism')) {
        summary.tracePairsDiffering += 1;
      }
    }
    if (result.failed && first !== undefined) {
      summary.failures += 1;
      const scenario = result.counterexample?.[0];
      const token = scenario === undefined ? undefined : encodeReplayToken(scenario);
      // Two seeds often shrink to the same smallest case: it is reported once.
      if (shrinking && scenario !== undefined && !failures.some((failure) => failure.token === token)) {
        failures.push({
          seed,
          violations: first.violations,
          shrunk: { scenario, ...judge(scenario, check, twice) },
          shrinkSteps: shrinkSteps,
          token: token ?? encodeReplayToken(scenario),
        });
      }
    }
    options.onProgress?.(index + 1, summary.failures);
  }
  summary.realSeconds = (performance.now() - startedAt) / 1000;
  return { summary, failures };
}

/** The scenario of one seed, exactly as {@link runSwarm} draws it. */
export function swarmScenarioForSeed(seed: number, options: WorkloadOptions = {}): Scenario {
  let drawn: Scenario | undefined;
  fc.check(
    fc.property(swarmArb(options), (scenario) => {
      drawn = scenario;
      return true;
    }),
    { seed, numRuns: 1 },
  );
  if (drawn === undefined) {
    throw new Error(`no scenario was drawn for seed ${seed}`);
  }
  return drawn;
}
