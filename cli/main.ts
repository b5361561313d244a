#!/usr/bin/env node
import { accessSync, constants } from 'node:fs';
import { dirname, resolve } from 'node:path';
import chalk from 'chalk';
import meow from 'meow';
import { NODE_COUNT_MAX } from '../adapters/sim/network.ts';
import { decodeReplayToken } from '../adapters/sim/replay-token.ts';
import { checkPort } from '../adapters/udp/index.ts';
import { validateName } from '../engine/index.ts';
import { Connection } from './connection.ts';
import { runJsonClient } from './json-client.ts';
import { runServer } from './server-command.ts';
import { diagramFormat, type SimCommandOptions, simCommand } from './sim-command.ts';
import { EXIT_INTERRUPTED, runTerminalClient } from './terminal-client.ts';

function parseArguments() {
  return meow(
    `
  Usage
    $ gaschat server [host] [-p port]             run a chat room (host 127.0.0.1, port 8080)
    $ gaschat client <host> <server-port> [client-port]   join a room
    $ gaschat sim [--runs N] [--seed S]           simulate rooms under faults and check every guarantee

  Server options
    -p, --port N            UDP port to listen on (default 8080); host 0.0.0.0 or :: serves a LAN
    --password PW           the room password (or GASCHAT_PASSWORD); without one, one is made up and printed
    --json                  print every action as one JSON object per line
    --quiet                 print only errors
    --idle-timeout-ms N     announce a silent member as left after N ms (default 30000)

  Client options
    -u, --username NAME     your name: 1 to 32 letters, digits, _ or - (asked for when missing)
    --idle-timeout-ms N     give up on a silent server after N ms (default 30000)
    --password PW           the room password (or GASCHAT_PASSWORD; asked for, masked, when missing)
    --json                  scriptable: stdin lines are messages, QUIT or end of input leaves;
                            every event is printed as one JSON object per line

  In the chat
    /who  members   /help  commands   QUIT or /quit (or Ctrl-C, Ctrl-D)  leave

  Sim options (each run draws its own faults, clients and workload from its seed: swarm testing)
    --runs N               runs to simulate (default 200)
    --seed S               seed of the first run; run i uses seed S + i (default: from the clock)
    --clients K            exactly K clients per run (default 1 to 6; the simulated room holds 4,
                           so more are refused as room-full, which is checked too)
    --messages M           exactly M messages per client (default 0 to 8)
    --time-ms T            joins, messages and faults for T virtual ms (default 10000), then 20 s healed
    --replay TOKEN         replay one run exactly, from the token a failure prints
    --diagram FILE         write the space-time diagram (.svg or .html) of the first failure, the replay,
                           or else the run of --seed
    --check-determinism    run each seed twice; fail on the first difference between the traces
    --json                 print the summary and any failure as JSON

  Exit codes
    0 left cleanly   1 runtime error   2 usage error   3 login refused or server unreachable

  Examples
    $ gaschat server 0.0.0.0 -p 8080 --password rahasia
    $ gaschat client 192.168.1.10 8080 -u ana
    $ echo halo | gaschat client 127.0.0.1 8080 --json -u bot --password rahasia
`,
    {
      importMeta: import.meta,
      allowUnknownFlags: true,
      flags: {
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
    },
  );
}

/** A usage error: says what was wrong and how to get help, and exits 2. */
function usageError(message: string): never {
  console.error(chalk.red(`gaschat: ${message}`));
  console.error('Run gaschat --help for the commands and options.');
  process.exit(2);
}

let parsed: ReturnType<typeof parseArguments>;
try {
  parsed = parseArguments();
} catch (error) {
  // meow throws on a flag given twice.
  usageError(error instanceof Error ? error.message.replace(/\.$/, '') : String(error));
}
const cli = parsed;

/** The flags each command takes, by their long names; anything else on its command line is refused. */
const COMMAND_FLAGS: Record<string, readonly string[]> = {
  server: ['port', 'password', 'json', 'quiet', 'idle-timeout-ms'],
  client: ['username', 'password', 'json', 'idle-timeout-ms'],
  sim: ['runs', 'seed', 'clients', 'messages', 'time-ms', 'replay', 'diagram', 'check-determinism', 'json'],
};
const SHORT_FLAGS: Record<string, string> = { p: 'port', u: 'username' };

/** The long names of the flags on the command line, as typed (before `--`). */
function givenFlags(argv: readonly string[]): string[] {
  const names: string[] = [];
  for (const argument of argv) {
    if (argument === '--') {
      break;
    }
    if (argument.startsWith('--')) {
      names.push(argument.slice(2).split('=')[0]?.replace(/^no-/, '') ?? '');
    } else if (argument.startsWith('-') && argument.length > 1 && Number.isNaN(Number(argument))) {
      for (const letter of argument.slice(1).split('=')[0] ?? '') {
        names.push(SHORT_FLAGS[letter] ?? letter);
      }
    }
  }
  return names;
}

function checkFlags(command: string): void {
  const allowed = COMMAND_FLAGS[command] ?? [];
  for (const flag of givenFlags(process.argv.slice(2))) {
    if (['help', 'version'].includes(flag) || allowed.includes(flag)) {
      continue;
    }
    const owners = Object.entries(COMMAND_FLAGS)
      .filter(([, flags]) => flags.includes(flag))
      .map(([owner]) => `gaschat ${owner}`);
    usageError(
      owners.length === 0
        ? `unknown option "${flag.length === 1 ? `-${flag}` : `--${flag}`}"`
        : `--${flag} is an option of ${owners.join(' and ')}, not of gaschat ${command}`,
    );
  }
}

function wholeNumber(
  raw: string | undefined,
  flag: string,
  minimum: number,
  maximum = 2 ** 31 - 1,
): number | undefined {
  if (raw === undefined) {
    return undefined;
  }
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < minimum || value > maximum) {
    usageError(`${flag} is "${raw}"; give a whole number from ${minimum} to ${maximum}`);
  }
  return value;
}

function portArgument(raw: unknown, what: string, allowZero: boolean): number {
  try {
    return checkPort(raw, what, allowZero);
  } catch (error) {
    usageError(error instanceof Error ? error.message : String(error));
  }
}

function expectArguments(count: { min: number; max: number }, usage: string): string[] {
  const [, ...rest] = cli.input;
  if (rest.length < count.min || rest.length > count.max) {
    usageError(`expected ${usage}, got ${rest.length === 0 ? 'nothing' : `"${rest.join(' ')}"`}`);
  }
  return rest;
}

/** The room password from --password, else GASCHAT_PASSWORD (an empty variable counts as unset). */
function passwordFlag(): string | undefined {
  if (cli.flags.password !== undefined) {
    if (cli.flags.password === '') {
      usageError('--password is empty; give the room password, or leave the option out to be asked');
    }
    return cli.flags.password;
  }
  const fromEnvironment = process.env.GASCHAT_PASSWORD;
  return fromEnvironment === '' ? undefined : fromEnvironment;
}

/** Refuses a host the user cannot have meant: empty, or with the port glued on. */
function hostArgument(host: string): string {
  if (host.trim() === '') {
    usageError("the host is empty; give the server's address, such as 127.0.0.1 or 192.168.1.10");
  }
  const glued = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(host);
  if (glued !== null) {
    usageError(`"${host}" has the port glued on; give them apart: gaschat client ${glued[1]} ${glued[2]}`);
  }
  return host;
}

const output = {
  chalk,
  out: (line: string) => console.log(line),
  err: (line: string) => console.error(line),
};

/** A UdpError (port in use, host not found, …) is the user's to fix: its message says how. */
function runtimeError(error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  if (cli.flags.json) {
    console.log(JSON.stringify({ type: 'error', message }));
  } else {
    console.error(chalk.red(`gaschat: ${message}`));
  }
  return 1;
}

async function serverCommand(): Promise<void> {
  const [host = '127.0.0.1'] = expectArguments({ min: 0, max: 1 }, 'at most a host');
  if (cli.flags.json && cli.flags.quiet) {
    usageError('--json and --quiet do not go together; choose one');
  }
  const port = portArgument(cli.flags.port ?? '8080', '--port', true);
  const idleTimeoutMs = wholeNumber(cli.flags.idleTimeoutMs, '--idle-timeout-ms', 100);
  const server = await runServer(
    {
      host,
      port,
      password: passwordFlag(),
      output: cli.flags.json ? 'json' : cli.flags.quiet ? 'quiet' : 'text',
      idleTimeoutMs,
    },
    output,
  );
  const stop = () => {
    if (!cli.flags.json && !cli.flags.quiet) {
      console.log(chalk.dim('server stopped'));
    }
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.once('SIGHUP', stop);
  // The log's reader went away (`gaschat server | head`): stop cleanly rather than die of EPIPE.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') {
      void server.close().then(() => process.exit(0));
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

async function clientCommand(): Promise<number> {
  const [hostRaw = '', serverPortRaw, clientPortRaw] = expectArguments(
    { min: 2, max: 3 },
    '<host> <server-port> [client-port]',
  );
  const host = hostArgument(hostRaw);
  const serverPort = portArgument(serverPortRaw, 'the server port', false);
  const clientPort = clientPortRaw === undefined ? 0 : portArgument(clientPortRaw, 'the client port', true);
  const name = cli.flags.username;
  if (name !== undefined) {
    const validation = validateName(name);
    if (!validation.ok) {
      usageError(`--username "${name}": ${validation.message}`);
    }
  }
  const password = passwordFlag();
  const interactive = !cli.flags.json;
  if (!interactive && (name === undefined || password === undefined)) {
    usageError('--json needs --username and --password (or GASCHAT_PASSWORD): its input is the messages');
  }
  if (interactive && !process.stdin.isTTY && (name === undefined || password === undefined)) {
    usageError('not a terminal, so nothing can be asked: give --username and --password, or use --json');
  }
  const idleTimeoutMs = wholeNumber(cli.flags.idleTimeoutMs, '--idle-timeout-ms', 100);
  const setLeave = handleClientSignals();
  const connection = await Connection.open({ host, serverPort, clientPort, idleTimeoutMs });
  connection.onWarning((message) =>
    interactive
      ? console.error(chalk.yellow(`gaschat: ${message}`))
      : console.log(JSON.stringify({ type: 'error', message })),
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
      chalk,
      setLeave,
    );
  } finally {
    await connection.close();
  }
}

function simOptions(): SimCommandOptions {
  expectArguments({ min: 0, max: 0 }, 'no arguments');
  const { flags } = cli;
  if (
    flags.replay !== undefined &&
    (flags.runs ?? flags.seed ?? flags.clients ?? flags.messages ?? flags.timeMs) !== undefined
  ) {
    usageError(
      '--replay replays one run exactly as recorded; leave out --runs, --seed, --clients, --messages and --time-ms',
    );
  }
  if (flags.replay !== undefined) {
    try {
      decodeReplayToken(flags.replay);
    } catch (error) {
      usageError(`--replay: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (flags.diagram !== undefined && diagramFormat(flags.diagram) === undefined) {
    usageError(`--diagram "${flags.diagram}": give a file name ending in .svg or .html`);
  }
  if (flags.diagram !== undefined) {
    // Checked before any run, so that a typo in the path does not cost the whole simulation.
    const folder = dirname(resolve(flags.diagram));
    try {
      accessSync(folder, constants.W_OK);
    } catch {
      usageError(`--diagram "${flags.diagram}": the folder ${folder} does not exist or cannot be written`);
    }
  }
  const clientCount = wholeNumber(flags.clients, '--clients', 1);
  if (clientCount !== undefined && clientCount > NODE_COUNT_MAX - 1) {
    usageError(`--clients is ${clientCount}; a simulated room holds at most ${NODE_COUNT_MAX - 1} clients`);
  }
  const messageCount = wholeNumber(flags.messages, '--messages', 0);
  const activeMs = wholeNumber(flags.timeMs, '--time-ms', 1000);
  return {
    runs: wholeNumber(flags.runs, '--runs', 1) ?? 200,
    seed: wholeNumber(flags.seed, '--seed', 0) ?? Date.now() % 2 ** 31,
    ...(clientCount === undefined ? {} : { clientCount }),
    ...(messageCount === undefined ? {} : { messageCount }),
    ...(activeMs === undefined ? {} : { activeMs }),
    ...(flags.replay === undefined ? {} : { replay: flags.replay }),
    ...(flags.diagram === undefined ? {} : { diagram: flags.diagram }),
    checkDeterminism: flags.checkDeterminism,
    json: flags.json,
  };
}

async function main(): Promise<void> {
  const [command] = cli.input;
  if (command !== undefined && command in COMMAND_FLAGS) {
    checkFlags(command);
  }
  switch (command) {
    case undefined:
      cli.showHelp(2);
      return;
    case 'server':
      await serverCommand();
      return;
    case 'client':
      // Exit at once: a terminal left in reading mode must not keep a finished client alive. (Output to
      // pipes, files and terminals is written synchronously on Linux, so nothing printed is lost.)
      process.exit(await clientCommand());
      return;
    case 'sim': {
      const options = simOptions();
      if (!options.json && options.replay === undefined) {
        console.log(chalk.dim(`simulating ${options.runs} runs from seed ${options.seed}`));
      }
      process.exitCode = simCommand(options, {
        chalk,
        out: (line) => console.log(line),
        ...(process.stderr.isTTY && !options.json
          ? { progress: (line: string) => process.stderr.write(line) }
          : {}),
      });
      return;
    }
    default:
      usageError(`unknown command "${command}"; the commands are: server, client, sim`);
  }
}

main().catch((error: unknown) => {
  process.exitCode = runtimeError(error);
  // A client whose socket or stdin is still open would keep the process alive.
  setImmediate(() => process.exit());
});
