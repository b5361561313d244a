#!/usr/bin/env node
import type { ChalkInstance } from 'chalk';
import { asks, checkFlags, EXIT_USAGE, formatUsageError, UsageError } from './arguments.ts';
import { detectColours } from './colour.ts';
import { type Cli, parseArguments } from './command-line.ts';
import { jsonLine } from './json-line.ts';
import { COMMANDS, type CommandName, helpText, isCommandName } from './usage.ts';

const argv = process.argv.slice(2);
const colours = detectColours(argv, process.env);

/** `gaschat help [command]`, `gaschat [command] --help`: the help of the command named, if any. */
function helpFor(cli: Cli): CommandName | undefined {
  const [first, second] = cli.input;
  const named = first === 'help' ? second : first;
  if (named === undefined) {
    return undefined;
  }
  if (!isCommandName(named)) {
    throw new UsageError(`unknown command "${named}"; the commands are: ${COMMANDS.join(', ')}`);
  }
  return named;
}

async function main(cli: Cli): Promise<void> {
  const [command] = cli.input;
  if (asks(argv, 'version')) {
    console.log(cli.pkg.version ?? 'unknown');
    return;
  }
  if (asks(argv, 'help') || command === 'help') {
    process.stdout.write(helpText(helpFor(cli)));
    return;
  }
  if (command === undefined) {
    process.stdout.write(helpText());
    process.exitCode = EXIT_USAGE;
    return;
  }
  if (!isCommandName(command)) {
    throw new UsageError(`unknown command "${command}"; the commands are: ${COMMANDS.join(', ')}`);
  }
  checkFlags(command, argv);
  switch (command) {
    // Each command is loaded when it runs: help, a usage error or another command pays nothing for it.
    case 'server': {
      const { serverCommand } = await import('./server-main.ts');
      await serverCommand({ cli, argv, colours });
      return;
    }
    case 'client': {
      // Exit as soon as what was printed is out: a terminal left in reading mode must not keep a
      // finished client alive. A pipe takes 64 KiB; what a slow reader has not taken yet waits in the
      // stream and would be lost by exiting at once.
      const { clientCommand } = await import('./client-main.ts');
      const code = await clientCommand({ cli, argv, colours });
      await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
      process.exit(code);
      return;
    }
    case 'gui': {
      const { guiCommand } = await import('./gui-main.ts');
      await guiCommand({ cli, argv, colours });
      return;
    }
    case 'sim': {
      const { simMain } = await import('./sim-main.ts');
      simMain({ cli, argv, colours });
      return;
    }
  }
}

/** A usage error exits 2; anything else (a port in use, a host not found) is a runtime error, 1. */
function fail(error: unknown, chalk: ChalkInstance): void {
  if (error instanceof UsageError) {
    console.error(formatUsageError(error, chalk));
    process.exitCode = EXIT_USAGE;
    return;
  }
  const message = error instanceof Error ? error.message : String(error);
  if (argv.includes('--json')) {
    console.log(jsonLine({ type: 'error', message }));
  } else {
    console.error(chalk.red(`gaschat: ${message}`));
  }
  process.exitCode = 1;
}

let cli: Cli | undefined;
try {
  cli = parseArguments();
} catch (error) {
  // meow throws on a flag given twice.
  fail(
    new UsageError(error instanceof Error ? error.message.replace(/\.$/, '') : String(error)),
    colours.err,
  );
}
/** How long an exiting client waits for a reader that has stopped reading its output. */
const FLUSH_WAIT_MS = 10_000;

/** Settles once everything written to `stream` so far has been handed on, or after FLUSH_WAIT_MS. */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, FLUSH_WAIT_MS).unref();
    stream.write('', () => resolve());
  });
}

if (cli !== undefined) {
  main(cli).catch((error: unknown) => {
    fail(error, colours.err);
    // A client whose socket or stdin is still open would keep the process alive.
    setImmediate(() => process.exit());
  });
}
