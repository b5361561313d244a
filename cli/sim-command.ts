import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import type { ChalkInstance } from 'chalk';
import type { WorkloadOptions } from '../adapters/sim/arbitraries/scenario.ts';
import { checkRun } from '../adapters/sim/check.ts';
import { renderDiagramHtml, renderDiagramSvg } from '../adapters/sim/diagram.ts';
import type { Goal } from '../adapters/sim/goals.ts';
import { encodeReplayToken, readReplayArgument } from '../adapters/sim/replay-token.ts';
import type { RunRecord } from '../adapters/sim/run.ts';
import type { Scenario } from '../adapters/sim/scenario.ts';
import {
  costPerRun,
  judge,
  type RunChecker,
  runSwarm,
  SHRINK_BUDGET_MS_DEFAULT,
  type SwarmFailure,
  type SwarmSummary,
  type SwarmViolation,
  swarmScenarioForSeed,
} from '../adapters/sim/swarm.ts';
import { describeTape, scenarioSummary } from '../adapters/sim/tape-report.ts';
import { plainTraceEntry } from '../adapters/sim/trace.ts';

export interface SimCommandOptions extends WorkloadOptions {
  readonly runs: number;
  readonly seed: number;
  /** Replays one run from a failure's token instead of drawing runs. */
  readonly replay?: string;
  /** Writes the space-time diagram of a run to this .svg or .html file. */
  readonly diagram?: string;
  readonly checkDeterminism: boolean;
  readonly json: boolean;
  /** The checker (every guarantee unless a test passes another). */
  readonly check?: RunChecker;
  /** How long one failure may be shrunk (60 s by default). */
  readonly shrinkBudgetMs?: number;
}

export interface SimIo {
  readonly chalk: ChalkInstance;
  readonly out: (line: string) => void;
  /** Where the progress bar goes; undefined for none (not a terminal, or JSON). */
  readonly progress?: (line: string) => void;
  readonly writeFile?: (path: string, text: string) => void;
}

/** A shrunk failure's log is short; a runaway one is shown by its first and last lines. */
const LOG_LINE_COUNT_MAX = 4000;

/** `1 run`, `2 runs`: a count and its noun, in the singular for one. */
function counted(count: number, noun: string): string {
  return `${count} ${count === 1 ? noun : `${noun}s`}`;
}

/**
 * The line printed before a swarm starts, worded for its count.
 *
 * @example
 * ```ts
 * simulatingLine(1, 42); // 'simulating 1 run from seed 42'
 * ```
 */
export function simulatingLine(runs: number, seed: number): string {
  return `simulating ${counted(runs, 'run')} from seed ${seed}`;
}

/**
 * What `--check-determinism` found, as a sentence: every run was run twice and its two traces
 * compared byte for byte, so the reader knows the check ran and what it covered.
 *
 * @example
 * ```ts
 * determinismLine(500, 0); // 'determinism: each of the 500 runs was run twice; all 500 trace pairs matched byte for byte'
 * ```
 */
export function determinismLine(runs: number, tracePairsDiffering: number): string {
  if (runs === 1) {
    return `determinism: the run was run twice; its two traces ${tracePairsDiffering === 0 ? 'matched byte for byte' : 'differed'}`;
  }
  const matched =
    tracePairsDiffering === 0
      ? `all ${runs} trace pairs matched byte for byte`
      : `${runs - tracePairsDiffering} of the ${runs} trace pairs matched byte for byte, ${tracePairsDiffering} differed`;
  return `determinism: each of the ${runs} runs was run twice; ${matched}`;
}

/** A diagram's title: what run it draws, and the seed of the random source inside that run. */
function diagramTitle(what: string, scenario: Scenario): string {
  return `${what} (scenario seed ${scenario.seed})`;
}

/** A token longer than this goes into a file, and the replay command names the file. */
export const REPLAY_TOKEN_INLINE_MAX = 200;
/** Where long replay tokens are written. */
export const REPLAY_FOLDER = '.sim-failures';

/**
 * The one command that replays a failure exactly (twice over, when the failure is a difference): a
 * short token inline, a long one written to a file named after the run, so the command stays short.
 */
export function replayCommand(
  token: string,
  violations: readonly SwarmViolation[] = [],
  save?: { readonly name: string; readonly writeFile: (path: string, text: string) => void },
): string {
  const twice = violations.some((violation) => violation.invariant === 'determinism');
  let argument = token;
  if (save !== undefined && token.length > REPLAY_TOKEN_INLINE_MAX) {
    argument = join(REPLAY_FOLDER, `${save.name}.token`);
    save.writeFile(argument, `${token}\n`);
  }
  return `gaschat sim --replay ${argument}${twice ? ' --check-determinism' : ''}`;
}

/** Writes a file, making its folder first. */
function writeFileMakingFolder(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

/** Checks the diagram file name before any run, so a typo costs nothing. */
export function diagramFormat(path: string): 'svg' | 'html' | undefined {
  const extension = extname(path).toLowerCase();
  return extension === '.svg' ? 'svg' : extension === '.html' || extension === '.htm' ? 'html' : undefined;
}

function bar(done: number, total: number, failures: number, chalk: ChalkInstance): string {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const failed = failures === 0 ? '' : chalk.red(` ${failures} failed`);
  return `\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${counted(total, 'run')}${failed}`;
}

function writeDiagram(
  options: SimCommandOptions,
  io: SimIo,
  run: RunRecord,
  title: string,
  violations: readonly SwarmViolation[],
): void {
  if (options.diagram === undefined) {
    return;
  }
  const text =
    diagramFormat(options.diagram) === 'html'
      ? renderDiagramHtml(
          run,
          title,
          violations.map((violation) => `[${violation.invariant}] ${violation.message}`),
        )
      : renderDiagramSvg(run, title);
  (io.writeFile ?? writeFileSync)(options.diagram, text);
  if (!options.json) {
    io.out(io.chalk.dim(`diagram of ${title} written to ${options.diagram}`));
  }
}

function printViolations(violations: readonly SwarmViolation[], io: SimIo): void {
  for (const violation of violations) {
    io.out(`  ${io.chalk.red(`[${violation.invariant}]`)} ${violation.message}`);
  }
}

function replay(options: SimCommandOptions, io: SimIo, tokenOrFile: string): number {
  const scenario = readReplayArgument(tokenOrFile);
  const { run, violations } = judge(scenario, options.check ?? checkRun, options.checkDeterminism);
  const differed = violations.some((violation) => violation.invariant === 'determinism');
  if (options.json) {
    io.out(
      JSON.stringify({
        type: 'replay',
        ok: violations.length === 0,
        violations,
        determinismChecked: options.checkDeterminism,
        scenario,
      }),
    );
    for (const entry of run.trace.entries) {
      io.out(JSON.stringify({ type: 'trace', ...plainTraceEntry(entry) }));
    }
  } else {
    io.out(run.trace.formatted(LOG_LINE_COUNT_MAX));
    if (options.checkDeterminism) {
      const line = determinismLine(1, differed ? 1 : 0);
      io.out(differed ? io.chalk.red(line) : io.chalk.green(line));
    }
    if (violations.length === 0) {
      io.out(io.chalk.green('the replayed run kept every guarantee'));
    } else {
      const broken = new Set(violations.map((violation) => violation.invariant)).size;
      io.out(io.chalk.red.bold(`the replayed run broke ${broken} guarantee${broken === 1 ? '' : 's'}:`));
      printViolations(violations, io);
    }
  }
  writeDiagram(options, io, run, diagramTitle('replayed run', scenario), violations);
  return violations.length === 0 ? 0 : 1;
}

function printFailure(failure: SwarmFailure, io: SimIo): void {
  const { chalk } = io;
  const broken = new Set(failure.violations.map((violation) => violation.invariant)).size;
  io.out(chalk.red.bold(`seed ${failure.seed} broke ${broken} guarantee${broken === 1 ? '' : 's'}:`));
  printViolations(failure.violations, io);
  io.out(chalk.bold(`shrunk in ${counted(failure.shrinkSteps, 'step')} to this scenario:`));
  io.out(JSON.stringify({ ...failure.shrunk.scenario, faultTape: describeTape(failure.shrunk.scenario) }));
  io.out(chalk.bold('which breaks:'));
  printViolations(failure.shrunk.violations, io);
  io.out(chalk.bold('its log, one event per line (virtual time, node, what):'));
  io.out(failure.shrunk.run.trace.formatted(LOG_LINE_COUNT_MAX));
  io.out(
    `replay it exactly: ${chalk.bold(replayCommand(failure.token, failure.shrunk.violations, saveFor(failure.seed, io)))}`,
  );
}

function saveFor(seed: number, io: SimIo) {
  return { name: `sim-seed-${seed}`, writeFile: io.writeFile ?? writeFileMakingFolder };
}

function printSummary(summary: SwarmSummary, io: SimIo): void {
  const { chalk, out } = io;
  out(
    summary.failures === 0
      ? chalk.green(`${counted(summary.runs, 'run')}, every guarantee held`)
      : chalk.red(`${summary.failures} of ${counted(summary.runs, 'run')} failed`),
  );
  if (summary.determinismChecked) {
    const line = determinismLine(summary.runs, summary.tracePairsDiffering);
    out(summary.tracePairsDiffering === 0 ? chalk.green(line) : chalk.red(line));
  }
  out(`  runs without faults   ${summary.faultFreeRuns}`);
  out(`  messages delivered    ${summary.messagesDelivered}`);
  out(
    `  datagrams sent        ${summary.datagramsSent} (dropped ${summary.datagramsDropped}, duplicated ${summary.datagramsDuplicated})`,
  );
  out(`  retransmissions       ${summary.retransmissions}`);
  out(`  timeouts announced    ${summary.timeouts}`);
  const adversary = summary.adversary;
  if (adversary !== undefined) {
    const injected = Object.entries(adversary.injected).map(([kind, count]) => `${kind} ${count}`);
    out(
      `  adversary             ${counted(adversary.runs, 'run')}, injected ${injected.join(', ')} (reached the server ${adversary.reached.server}, clients ${adversary.reached.client})`,
    );
  }
  const cost = costPerRun(summary);
  out(
    `  machine events        ${cost.machineEvents.toFixed(0)} per run (server ${cost.serverMachineEvents.toFixed(0)}), clock steps ${cost.clockSteps.toFixed(0)} per run`,
  );
  out(
    `  virtual time          ${summary.virtualSeconds.toFixed(0)} s in ${summary.realSeconds.toFixed(2)} s real`,
  );
  const seconds = Math.max(summary.realSeconds, 1e-9);
  out(
    `  speed                 ${(summary.runs / seconds).toFixed(1)} runs/s, ${(summary.virtualSeconds / seconds).toFixed(0)} virtual s per real s`,
  );
  const goals = Object.entries(summary.goals) as [Goal, number][];
  const missed = goals.filter(([, count]) => count === 0).map(([goal]) => goal);
  out(`  goals reached         ${goals.length - missed.length} of ${goals.length}`);
  if (missed.length > 0) {
    out(
      chalk.yellow(`  goals no run reached: ${missed.join(', ')} (more runs, or --time-ms, reach further)`),
    );
  }
}

/**
 * `gaschat sim`: swarm-tests simulated rooms (or replays one), prints failures shrunk with their
 * logs and replay commands, a summary, and optionally a diagram. Returns the exit code.
 */
export function simCommand(options: SimCommandOptions, io: SimIo): number {
  if (options.replay !== undefined) {
    return replay(options, io, options.replay);
  }
  let lastShrinkReportMs = 0;
  const { summary, failures } = runSwarm({
    ...options,
    onProgress: (done, failed) => io.progress?.(bar(done, options.runs, failed, io.chalk)),
    // Told the moment a run fails, before the shrinking that may take a while.
    onFailure: (seed, scenario, violations) => {
      const replay = replayCommand(encodeReplayToken(scenario), violations, saveFor(seed, io));
      if (options.json) {
        io.out(JSON.stringify({ type: 'failure-found', seed, violations, replay }));
        return;
      }
      io.progress?.('\n');
      const broken = new Set(violations.map((violation) => violation.invariant)).size;
      io.out(
        io.chalk.red(
          `seed ${seed} broke ${counted(broken, 'guarantee')} (${scenarioSummary(scenario)}); replay it as it was: ${replay}`,
        ),
      );
      printViolations(violations, io);
      io.out(
        io.chalk.dim(
          `shrinking it, for at most ${((options.shrinkBudgetMs ?? SHRINK_BUDGET_MS_DEFAULT) / 1000).toFixed(0)} s…`,
        ),
      );
    },
    onShrinkProgress: (seed, steps, scenario, elapsedMs) => {
      if (performance.now() - lastShrinkReportMs > 1000) {
        lastShrinkReportMs = performance.now();
        io.progress?.(
          `\rshrinking seed ${seed}: ${counted(steps, 'smaller failure')}, now ${scenarioSummary(scenario)} (${(elapsedMs / 1000).toFixed(0)} s)`,
        );
      }
    },
  });
  io.progress?.('\n');
  if (options.json) {
    io.out(JSON.stringify({ type: 'summary', seed: options.seed, ...summary, perRun: costPerRun(summary) }));
    for (const failure of failures) {
      io.out(
        JSON.stringify({
          type: 'failure',
          seed: failure.seed,
          violations: failure.violations,
          shrunk: { scenario: failure.shrunk.scenario, violations: failure.shrunk.violations },
          shrinkSteps: failure.shrinkSteps,
          log: failure.shrunk.run.trace.formatted(LOG_LINE_COUNT_MAX).split('\n'),
          replay: replayCommand(failure.token, failure.shrunk.violations, saveFor(failure.seed, io)),
        }),
      );
    }
  } else {
    for (const failure of failures) {
      printFailure(failure, io);
    }
    if (summary.failures > failures.length) {
      const more = summary.failures - failures.length;
      io.out(io.chalk.red(`${more} more failing ${more === 1 ? 'run' : 'runs'} not shown`));
    }
    printSummary(summary, io);
  }
  const drawn = failures[0];
  if (drawn !== undefined) {
    writeDiagram(
      options,
      io,
      drawn.shrunk.run,
      diagramTitle(`shrunk failure of seed ${drawn.seed}`, drawn.shrunk.scenario),
      drawn.shrunk.violations,
    );
  } else if (options.diagram !== undefined) {
    const { run, violations } = judge(
      swarmScenarioForSeed(options.seed, options),
      options.check ?? checkRun,
      false,
    );
    writeDiagram(options, io, run, diagramTitle(`run of seed ${options.seed}`, run.scenario), violations);
  }
  return summary.failures === 0 ? 0 : 1;
}
