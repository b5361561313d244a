import { SAYS_UNCONFIRMED_MAX, SERVER_CONFIG_DEFAULT } from '../engine/index.ts';
import { expectArguments, passwordFlag, portArgument, UsageError, wholeNumber } from './arguments.ts';
import { BoundedWriter } from './bounded-output.ts';
import type { CommandContext } from './command-line.ts';
import { jsonLine } from './json-line.ts';
import { runServer, type ServerLimits } from './server-command.ts';
import { countWords } from './server-log.ts';
import { stateDirectory } from './state-dir.ts';
import { EXIT_INTERRUPTED } from './terminal-client.ts';

/** The room's limits given on the command line (the rest are the engine's defaults). */
function serverLimits(flags: CommandContext['cli']['flags']): ServerLimits {
  const limit = (raw: string | undefined, flag: string, maximum?: number) =>
    wholeNumber(raw, flag, 1, 'server', maximum);
  const limits: { -readonly [K in keyof ServerLimits]: ServerLimits[K] } = {};
  const given = {
    memberCountMax: limit(flags.maxMembers, '--max-members', 65_535),
    sessionsPerHostMax: limit(flags.sessionsPerHost, '--sessions-per-host', 65_535),
    keyExchangesPerSecond: limit(flags.loginsPerSecond, '--logins-per-second', 10_000),
    sayRatePerSecond: limit(flags.sayRate, '--say-rate', 100_000),
    sayBurst: limit(flags.sayBurst, '--say-burst', SAYS_UNCONFIRMED_MAX),
    roomSayRatePerSecond: limit(flags.roomSayRate, '--room-say-rate', 10_000_000),
    // Half a member's send queue at most: the room's burst alone must not fill it.
    roomSayBurst: limit(
      flags.roomSayBurst,
      '--room-say-burst',
      SERVER_CONFIG_DEFAULT.link.sendQueueCountMax / 2,
    ),
  };
  for (const [key, value] of Object.entries(given) as [keyof ServerLimits, number | undefined][]) {
    if (value !== undefined) {
      limits[key] = value;
    }
  }
  // The burst of key exchanges follows their rate: two seconds' worth.
  if (limits.keyExchangesPerSecond !== undefined) {
    limits.keyExchangeBurst = 2 * limits.keyExchangesPerSecond;
  }
  // Sessions follow members: room for each to be saying goodbye while another takes its place.
  if (limits.memberCountMax !== undefined) {
    limits.sessionCountMax = 2 * limits.memberCountMax;
  }
  return limits;
}

/** `gaschat server`: runs the room until a signal, then stops it, telling every member. */
export async function serverCommand({ cli, colours }: CommandContext): Promise<void> {
  const [host = '127.0.0.1'] = expectArguments(cli.input, { min: 0, max: 1 }, 'at most a host', 'server');
  if (cli.flags.json && cli.flags.quiet) {
    throw new UsageError('--json and --quiet do not go together; choose one', 'server');
  }
  const port = portArgument(cli.flags.port ?? '8080', '--port', true, 'server');
  const idleTimeoutMs = wholeNumber(cli.flags.idleTimeoutMs, '--idle-timeout-ms', 100, 'server');
  const limits = serverLimits(cli.flags);
  // A reader that stops reading the log costs lines, counted, never memory (bounded-output.ts).
  const log = new BoundedWriter(process.stdout, (count) =>
    cli.flags.json
      ? jsonLine({ time: new Date().toISOString(), type: 'log.dropped', count })
      : colours.out.yellow(
          `… ${countWords(count)} log ${count === 1 ? 'line' : 'lines'} dropped: the output was not read fast enough`,
        ),
  );
  const server = await runServer(
    {
      host,
      port,
      password: passwordFlag(cli.flags.password, process.env, 'server'),
      output: cli.flags.json ? 'json' : cli.flags.quiet ? 'quiet' : 'text',
      idleTimeoutMs,
      limits,
      stateDir: stateDirectory(cli.flags.stateDir, process.env),
    },
    { chalk: colours.out, out: (line) => log.line(line), err: (line) => console.error(line) },
  );
  process.title = `gaschat server ${server.address}`;
  let stopping = false;
  const stop = () => {
    if (stopping) {
      // Asked twice: stop at once, without waiting for the members to confirm.
      process.exit(EXIT_INTERRUPTED);
    }
    stopping = true;
    stopAndExit();
  };
  const stopAndExit = () =>
    server.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(colours.err.red(`gaschat server: could not stop cleanly: ${String(error)}`));
        process.exit(1);
      },
    );
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  process.on('SIGHUP', stop);
  // The log's reader went away (`gaschat server | head`): stop cleanly rather than die of EPIPE.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE' && !stopping) {
      stopping = true;
      stopAndExit();
    }
  });
}
