#!/usr/bin/env node
import { accessSync, constants } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ChalkInstance } from 'chalk';
import meow from 'meow';
import { NODE_COUNT_MAX } from '../adapters/sim/network.ts';
import { decodeReplayToken } from '../adapters/sim/replay-token.ts';
import { formatAddress, validateName } from '../engine/index.ts';
import {
  asks,
  checkFlags,
  EXIT_USAGE,
  expectArguments,
  formatUsageError,
  hostArgument,
  passwordFlag,
  portArgument,
  UsageError,
  wholeNumber,
} from './arguments.ts';
import { detectColours } from './colour.ts';
import { Connection } from './connection.ts';
import { runJsonClient } from './json-client.ts';
import { jsonLine } from './json-line.ts';
import { runServer } from './server-command.ts';
import { diagramFormat, type SimCommandOptions, simCommand, simulatingLine } from './sim-command.ts';
import { EXIT_INTERRUPTED, runTerminalClient } from './terminal-client.ts';
import { COMMANDS, type CommandName, helpText, isCommandName } from './usage.ts';

const argv = process.argv.slice(2);
const colours = detectColours(argv, process.env);

function parseArguments() {
  return meow(helpText(), {
    importMeta: import.meta,
    // Help and version are handled here, per command, so that `gaschat server --help` starts nothing.
    autoHelp: false,
    autoVersion: false,
    allowUnknownFlags: true,
    flags: {
      help: { type: 'boolean', shortFlag: 'h' },
      version: { type: 'boolean', shortFlag: 'v' },
      color: { type: 'boolean', aliases: ['colour'] },
      port: { type: 'string', shortFlag: 'p' },
      password: { type: 'string' },
      username: { type: 'string', shortFlag: 'u' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      idleTimeoutMs: { type: 'string' },
      runs: { type: 'string' },
      seed: { type: 'string' },
      clients: { type: 'string' },
      messages: { type: 'string' },
      timeMs: { type: 'string' },
      replay: { type: 'string' },
      diagram: { type: 'string' },
      checkDeterminism: { type: 'boolean', default: false },
    },
  });
}

type Cli = ReturnType<typeof parseArguments>;

const output = {
  chalk: colours.out,
  errChalk: colours.err,
  out: (line: string) => console.log(line),
  err: (line: string) => console.error(line),
};

async function serverCommand(cli: Cli): Promise<void> {
  const [host = '127.0.0.1'] = expectArguments(cli.input, { min: 0, max: 1 }, 'at most a host', 'server');
  if (cli.flags.json && cli.flags.quiet) {
    throw new UsageError('--json and --quiet do not go together; choose one', 'server');
  }
  const port = portArgument(cli.flags.port ?? '8080', '--port', true, 'server');
  const idleTimeoutMs = wholeNumber(cli.flags.idleTimeoutMs, '--idle-timeout-ms', 100, 'server');
  const server = await runServer(
    {
      host,
      port,
      password: passwordFlag(cli.flags.password, process.env, 'server'),
      output: cli.flags.json ? 'json' : cli.flags.quiet ? 'quiet' : 'text',
      idleTimeoutMs,
    },
    output,
  );
  process.title = `gaschat server ${server.address}`;
  let stopping = false;
  const stop = () => {
    if (stopping) {
      // Asked twice: stop at once, without waiting for the members to confirm.
      process.exit(EXIT_INTERRUPTED);
    }
    stopping = true;
    void server.shutdown().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', stop);
  // The log's reader went away (`gaschat server | head`): stop cleanly rather than die of EPIPE.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' && !stopping) {
      stopping = true;
      void server.shutdown().then(() => process.exit(0));
    }
  });
}

/**
 * Signals while a client runs: the first one leaves cleanly (QUIT, then exit 0 once confirmed), a
 * second one exits at once. `setLeave` is handed to the client modes, which say how to leave.
 */
function handleClientSignals(): (leave: () => void) => void {
  let leave: (() => void) | undefined;
  let asked = false;
  const onSignal = () => {
    if (asked || leave === undefined) {
      process.exit(EXIT_INTERRUPTED);
    }
    asked = true;
    leave();
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, onSignal);
  }
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' && !asked) {
      asked = true;
      leave?.();
    }
  });
  return (handler) => {
    leave = handler;
  };
}

async function clientCommand(cli: Cli): Promise<number> {
  const [hostRaw = '', serverPortRaw, clientPortRaw] = expectArguments(
    cli.input,
    { min: 2, max: 3 },
    '<host> <server-port> [client-port]',
    'client',
  );
  const host = hostArgument(hostRaw);
  const serverPort = portArgument(serverPortRaw, 'the server port', false, 'client');
  const clientPort =
    clientPortRaw === undefined ? 0 : portArgument(clientPortRaw, 'the client port', true, 'client');
  const name = cli.flags.username;
  if (name !== undefined) {
    const validation = validateName(name);
    if (!validation.ok) {
      throw new UsageError(`--username "${name}": ${validation.message}`, 'client');
    }
  }
  const password = passwordFlag(cli.flags.password, process.env, 'client');
  const interactive = !cli.flags.json;
  if (!interactive && (name === undefined || password === undefined)) {
    throw new UsageError(
      '--json needs --username and --password (or GASCHAT_PASSWORD): its input is the messages',
      'client',
    );
  }
  if (interactive && !process.stdin.isTTY && (name === undefined || password === undefined)) {
    throw new UsageError(
      'not a terminal, so nothing can be asked: give --username and --password, or use --json',
      'client',
    );
  }
  const idleTimeoutMs = wholeNumber(cli.flags.idleTimeoutMs, '--idle-timeout-ms', 100, 'client');
  const setLeave = handleClientSignals();
  const connection = await Connection.open({ host, serverPort, clientPort, idleTimeoutMs });
  // `ps` tells clients apart: by who is logged in where (the name once it is known).
  const where = formatAddress(connection.server);
  process.title = `gaschat client ${name === undefined ? where : `${name}@${where}`}`;
  connection.onLogin((loginName) => {
    process.title = `gaschat client ${loginName}@${where}`;
  });
  connection.onWarning((message) =>
    interactive
      ? console.error(colours.err.yellow(`gaschat: ${message}`))
      : console.log(jsonLine({ type: 'error', message })),
  );
  try {
    if (!interactive && name !== undefined && password !== undefined) {
      return await runJsonClient(
        connection,
        { name, password },
        process.stdin,
        (line) => console.log(line),
        setLeave,
      );
    }
    return await runTerminalClient(
      connection,
      { name, password },
      { input: process.stdin, output: process.stdout },
      colours.out,
      setLeave,
    );
  } finally {
    await connection.close();
  }
}

function simOptions(cli: Cli): SimCommandOptions {
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
      decodeReplayToken(flags.replay);
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

function simMain(cli: Cli): void {
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
    case 'server':
      await serverCommand(cli);
      return;
    case 'client':
      // Exit at once: a terminal left in reading mode must not keep a finished client alive. (Output to
      // pipes, files and terminals is written synchronously on Linux, so nothing printed is lost.)
      process.exit(await clientCommand(cli));
      return;
    case 'sim':
      simMain(cli);
      return;
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
if (cli !== undefined) {
  main(cli).catch((error: unknown) => {
    fail(error, colours.err);
    // A client whose socket or stdin is still open would keep the process alive.
    setImmediate(() => process.exit());
  });
}
