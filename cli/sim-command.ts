import type { ChalkInstance } from 'chalk';
import fc from 'fast-check';
import { scenarioArb } from '../adapters/sim/arbitraries/scenario.ts';
import { checkRun, type Violation } from '../adapters/sim/check.ts';
import { type RunRecord, runScenario } from '../adapters/sim/run.ts';
import type { Scenario } from '../adapters/sim/scenario.ts';

export interface SimOptions {
  readonly runs: number;
  readonly seed: number;
  readonly json: boolean;
}

export interface SimSummary {
  runs: number;
  failures: number;
  messagesDelivered: number;
  datagramsSent: number;
  datagramsDropped: number;
  datagramsDuplicated: number;
  retransmissions: number;
  timeouts: number;
  virtualSeconds: number;
  realSeconds: number;
}

interface Failure {
  readonly seed: number;
  readonly violations: readonly Violation[];
  readonly run: RunRecord;
}

/** The scenario of one run: drawn from its own seed, so that `--runs 1 --seed S` replays it. */
export function scenarioForSeed(seed: number): Scenario {
  const [scenario] = fc.sample(scenarioArb, { seed, numRuns: 1 });
  if (scenario === undefined) {
    throw new Error(`fast-check drew no scenario for seed ${seed}`);
  }
  return scenario;
}

function tally(summary: SimSummary, run: RunRecord): void {
  summary.runs += 1;
  summary.datagramsSent += run.network.sent;
  const dropped = run.network.dropped;
  summary.datagramsDropped += dropped.loss + dropped.partition + dropped.crashed + dropped.noSuchNode;
  summary.datagramsDuplicated += run.network.duplicated;
  summary.messagesDelivered += run.clients.reduce(
    (count, client) => count + client.events.filter(({ event }) => event.type === 'message').length,
    0,
  );
  const links = [
    ...run.sessionStats,
    ...run.clients.flatMap((client) => (client.linkStats ? [client.linkStats] : [])),
  ];
  summary.retransmissions += links.reduce((count, stats) => count + stats.framesRetransmitted, 0);
  summary.timeouts += run.server.filter(
    ({ event }) => event.type === 'member.left' && event.reason === 'timeout',
  ).length;
  summary.virtualSeconds += run.scenario.endAtMs / 1000;
}

/** Runs simulated chat rooms under faults and checks every guarantee; returns the process exit code. */
export function simCommand(options: SimOptions, chalk: ChalkInstance, print: (line: string) => void): number {
  const summary: SimSummary = {
    runs: 0,
    failures: 0,
    messagesDelivered: 0,
    datagramsSent: 0,
    datagramsDropped: 0,
    datagramsDuplicated: 0,
    retransmissions: 0,
    timeouts: 0,
    virtualSeconds: 0,
    realSeconds: 0,
  };
  const failures: Failure[] = [];
  const startedAt = performance.now();
  for (let index = 0; index < options.runs; index += 1) {
    const seed = (options.seed + index) >>> 0;
    const run = runScenario(scenarioForSeed(seed));
    tally(summary, run);
    const violations = checkRun(run);
    if (violations.length > 0) {
      summary.failures += 1;
      failures.push({ seed, violations, run });
    }
  }
  summary.realSeconds = (performance.now() - startedAt) / 1000;
  if (options.json) {
    print(JSON.stringify({ type: 'summary', ...summary }));
    for (const failure of failures) {
      print(
        JSON.stringify({
          type: 'failure',
          seed: failure.seed,
          violations: failure.violations,
          replay: replayCommand(failure.seed),
        }),
      );
    }
  } else {
    for (const failure of failures.slice(0, 3)) {
      print(chalk.red.bold(`run with seed ${failure.seed} broke ${failure.violations.length} guarantee(s):`));
      for (const violation of failure.violations) {
        print(`  ${chalk.red(`[${violation.invariant}]`)} ${violation.message}`);
      }
      print(chalk.dim(failure.run.trace.formatted(120)));
      print(`replay: ${chalk.bold(replayCommand(failure.seed))}`);
    }
    printSummary(summary, chalk, print);
  }
  return summary.failures === 0 ? 0 : 1;
}

function replayCommand(seed: number): string {
  return `gaschat sim --runs 1 --seed ${seed}`;
}

function printSummary(summary: SimSummary, chalk: ChalkInstance, print: (line: string) => void): void {
  const verdict =
    summary.failures === 0
      ? chalk.green(`${summary.runs} runs, every guarantee held`)
      : chalk.red(`${summary.failures} of ${summary.runs} runs failed`);
  print(verdict);
  print(`  messages delivered   ${summary.messagesDelivered}`);
  print(
    `  datagrams sent       ${summary.datagramsSent} (dropped ${summary.datagramsDropped}, duplicated ${summary.datagramsDuplicated})`,
  );
  print(`  retransmissions      ${summary.retransmissions}`);
  print(`  timeouts announced   ${summary.timeouts}`);
  print(
    `  virtual time         ${summary.virtualSeconds.toFixed(0)} s in ${summary.realSeconds.toFixed(2)} s real`,
  );
  print(
    `  speed                ${(summary.runs / summary.realSeconds).toFixed(1)} runs/s, ${(summary.virtualSeconds / summary.realSeconds).toFixed(0)} virtual s per real s`,
  );
}
