import { accessSync, constants } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { NODE_COUNT_MAX } from '../adapters/sim/network.ts';
import { readReplayArgument } from '../adapters/sim/replay-token.ts';
import { expectArguments, UsageError, wholeNumber } from './arguments.ts';
import type { CommandContext } from './command-line.ts';
import { diagramFormat, type SimCommandOptions, simCommand, simulatingLine } from './sim-command.ts';

function simOptions(cli: CommandContext['cli']): SimCommandOptions {
  expectArguments(cli.input, { min: 0, max: 0 }, 'no arguments', 'sim');
  const { flags } = cli;
  if (
    flags.replay !== undefined &&
    (flags.runs ?? flags.seed ?? flags.clients ?? flags.messages ?? flags.timeMs) !== undefined
  ) {
    throw new UsageError(
      '--replay replays one run exactly as recorded; leave out --runs, --seed, --clients, --messages and --time-ms',
      'sim',
    );
  }
  if (flags.replay !== undefined) {
    try {
      readReplayArgument(flags.replay);
    } catch (error) {
      throw new UsageError(`--replay: ${error instanceof Error ? error.message : String(error)}`, 'sim');
    }
  }
  if (flags.diagram !== undefined && diagramFormat(flags.diagram) === undefined) {
    throw new UsageError(`--diagram "${flags.diagram}": give a file name ending in .svg or .html`, 'sim');
  }
  if (flags.diagram !== undefined) {
    // Checked before any run, so that a typo in the path does not cost the whole simulation.
    const folder = dirname(resolve(flags.diagram));
    try {
      accessSync(folder, constants.W_OK);
    } catch {
      throw new UsageError(
        `--diagram "${flags.diagram}": the folder ${folder} does not exist or cannot be written`,
        'sim',
      );
    }
  }
  const clientCount = wholeNumber(flags.clients, '--clients', 1, 'sim');
  if (clientCount !== undefined && clientCount > NODE_COUNT_MAX - 1) {
    throw new UsageError(
      `--clients is ${clientCount}; a simulated room holds at most ${NODE_COUNT_MAX - 1} clients`,
      'sim',
    );
  }
  const messageCount = wholeNumber(flags.messages, '--messages', 0, 'sim');
  const activeMs = wholeNumber(flags.timeMs, '--time-ms', 1000, 'sim');
  return {
    runs: wholeNumber(flags.runs, '--runs', 1, 'sim') ?? 200,
    seed: wholeNumber(flags.seed, '--seed', 0, 'sim') ?? Date.now() % 2 ** 31,
    ...(clientCount === undefined ? {} : { clientCount }),
    ...(messageCount === undefined ? {} : { messageCount }),
    ...(activeMs === undefined ? {} : { activeMs }),
    ...(flags.replay === undefined ? {} : { replay: flags.replay }),
    ...(flags.diagram === undefined ? {} : { diagram: flags.diagram }),
    checkDeterminism: flags.checkDeterminism,
    json: flags.json,
  };
}

/** `gaschat sim`: swarm tests or a replay; sets the exit code. */
export function simMain({ cli, colours }: CommandContext): void {
  const options = simOptions(cli);
  process.title =
    options.replay === undefined
      ? `gaschat sim --runs ${options.runs} --seed ${options.seed}`
      : 'gaschat sim --replay';
  if (!options.json && options.replay === undefined) {
    console.log(colours.out.dim(simulatingLine(options.runs, options.seed)));
  }
  process.exitCode = simCommand(options, {
    chalk: colours.out,
    out: (line) => console.log(line),
    ...(process.stderr.isTTY && !options.json
      ? { progress: (line: string) => process.stderr.write(line) }
      : {}),
  });
}
