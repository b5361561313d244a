import { formatAddress, validateName } from '../engine/index.ts';
import {
  expectArguments,
  hostArgument,
  passwordFlag,
  portArgument,
  UsageError,
  wholeNumber,
} from './arguments.ts';
import type { CommandContext } from './command-line.ts';
import { Connection } from './connection.ts';
import { jsonOutput, runJsonClient } from './json-client.ts';
import { jsonLine } from './json-line.ts';
import { isFingerprint, stateDirectory } from './state-dir.ts';
import { EXIT_INTERRUPTED, runTerminalClient } from './terminal-client.ts';

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

/** `gaschat client`: the terminal or the JSON client; resolves to the exit code. */
export async function clientCommand({ cli, colours }: CommandContext): Promise<number> {
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
  const serverKey = cli.flags.serverKey;
  if (serverKey !== undefined && !isFingerprint(serverKey)) {
    throw new UsageError(
      `--server-key "${serverKey}" is not a key fingerprint: copy the "server key: SHA256:..." the server prints at start`,
      'client',
    );
  }
  const connection = await Connection.open({
    host,
    serverPort,
    clientPort,
    idleTimeoutMs,
    serverKey,
    stateDir: stateDirectory(cli.flags.stateDir, process.env),
  });
  // `ps` tells clients apart: by who is logged in where (the name once it is known).
  const where = formatAddress(connection.server);
  process.title = `gaschat client ${name === undefined ? where : `${name}@${where}`}`;
  connection.onLogin((loginName) => {
    process.title = `gaschat client ${loginName}@${where}`;
  });
  // A reader that stops reading the JSON lines costs lines, counted, never memory (json-client.ts).
  const output = interactive ? undefined : jsonOutput(process.stdout);
  connection.onWarning((message) =>
    output === undefined
      ? console.error(colours.err.yellow(`gaschat: ${message}`))
      : output.line(jsonLine({ type: 'error', message })),
  );
  try {
    if (output !== undefined && name !== undefined && password !== undefined) {
      return await runJsonClient(
        connection,
        { name, password },
        process.stdin,
        (line) => output.line(line),
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
    // The count of lines a stalled reader cost is the last line, written now rather than at a drain
    // that may come after the exit; main.ts then waits for it to be read, as for every line before it.
    output?.finish();
  }
}
