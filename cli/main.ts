#!/usr/bin/env node
import chalk from 'chalk';
import meow from 'meow';
import { simCommand } from './sim-command.ts';

const cli = meow(
  `
  Usage
    $ gaschat sim [--runs N] [--seed S] [--json]

  Commands
    sim    Run simulated chat rooms under loss, duplication, reordering, partitions and crashes,
           and check every guarantee (join notices, relay, QUIT, passwords, names, timeouts).

  Options
    --runs N    Runs to simulate (default 200)
    --seed S    Seed of the first run; run i uses seed S + i (default: from the clock)
    --json      Print the summary and failures as JSON lines
    --help      Show this help
    --version   Show the version

  Examples
    $ gaschat sim --runs 1000
    $ gaschat sim --runs 1 --seed 42
`,
  {
    importMeta: import.meta,
    flags: {
      runs: { type: 'number', default: 200 },
      seed: { type: 'number' },
      json: { type: 'boolean', default: false },
    },
  },
);

function usageError(message: string): never {
  console.error(chalk.red(`gaschat: ${message}`));
  console.error('Run gaschat --help for the commands and options.');
  process.exit(2);
}

const [command, ...rest] = cli.input;
if (command === undefined) {
  cli.showHelp(2);
}
if (rest.length > 0) {
  usageError(`unexpected argument "${rest[0]}"`);
}
switch (command) {
  case 'sim': {
    const { runs, json } = cli.flags;
    if (!Number.isSafeInteger(runs) || runs < 1) {
      usageError(`--runs is ${runs}; give a whole number of runs, 1 or more`);
    }
    const seed = cli.flags.seed ?? Date.now() % 2 ** 31;
    if (!Number.isSafeInteger(seed) || seed < 0) {
      usageError(`--seed is ${cli.flags.seed}; give a whole number, 0 or more`);
    }
    if (!json) {
      console.log(chalk.dim(`simulating ${runs} runs from seed ${seed}`));
    }
    process.exitCode = simCommand({ runs, seed, json }, chalk, (line) => console.log(line));
    break;
  }
  default:
    usageError(`unknown command "${command}"; the commands are: sim`);
}
