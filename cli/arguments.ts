import type { ChalkInstance } from 'chalk';
import { checkPort } from '../adapters/udp/index.ts';
import type { CommandName } from './usage.ts';

/** The exit code of a usage error (a missing or malformed argument). */
export const EXIT_USAGE = 2;

/** Thrown for a usage error; the entry point prints it and exits with {@link EXIT_USAGE}. */
export class UsageError extends Error {
  /** The command whose help the message points to, if one. */
  readonly command: CommandName | undefined;

  constructor(message: string, command?: CommandName) {
    super(message);
    this.command = command;
  }
}

/** The usage error as printed: what was wrong, and where the help is. */
export function formatUsageError(error: UsageError, chalk: ChalkInstance): string {
  const help = error.command === undefined ? 'gaschat --help' : `gaschat ${error.command} --help`;
  return `${chalk.red(`gaschat: ${error.message}`)}\nRun ${help} for the commands and options.`;
}

/** The flags each command takes, by their long names; anything else on its command line is refused. */
export const COMMAND_FLAGS: Record<CommandName, readonly string[]> = {
  server: [
    'port',
    'password',
    'json',
    'quiet',
    'idle-timeout-ms',
    'state-dir',
    'max-members',
    'sessions-per-host',
    'logins-per-second',
    'say-rate',
    'say-burst',
    'room-say-rate',
    'room-say-burst',
  ],
  client: ['username', 'password', 'json', 'idle-timeout-ms', 'server-key', 'state-dir'],
  gui: ['open', 'server-key', 'state-dir'],
  sim: ['runs', 'seed', 'clients', 'messages', 'time-ms', 'replay', 'diagram', 'check-determinism', 'json'],
};
/** Flags every command takes. */
const COMMON_FLAGS = ['help', 'version', 'color', 'colour'];
const SHORT_FLAGS: Record<string, string> = { p: 'port', u: 'username', h: 'help', v: 'version' };

/** The long names of the flags on the command line, as typed (before `--`). */
export function givenFlags(argv: readonly string[]): string[] {
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

/** Refuses a flag the command does not take, naming the command that does, if any. */
export function checkFlags(command: CommandName, argv: readonly string[]): void {
  const allowed = COMMAND_FLAGS[command];
  for (const flag of givenFlags(argv)) {
    if (COMMON_FLAGS.includes(flag) || allowed.includes(flag)) {
      continue;
    }
    const owners = Object.entries(COMMAND_FLAGS)
      .filter(([, flags]) => flags.includes(flag))
      .map(([owner]) => `gaschat ${owner}`);
    throw new UsageError(
      owners.length === 0
        ? `unknown option "${flag.length === 1 ? `-${flag}` : `--${flag}`}"`
        : `--${flag} is an option of ${owners.join(' and ')}, not of gaschat ${command}`,
      command,
    );
  }
}

/** Whether `-h`/`--help` (or `-v`/`--version`) is on the command line before `--`. */
export function asks(argv: readonly string[], flag: 'help' | 'version'): boolean {
  return givenFlags(argv).includes(flag);
}

export function wholeNumber(
  raw: string | undefined,
  flag: string,
  minimum: number,
  command: CommandName,
  maximum = 2 ** 31 - 1,
): number | undefined {
  if (raw === undefined) {
    return undefined;
  }
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < minimum || value > maximum) {
    throw new UsageError(`${flag} is "${raw}"; give a whole number from ${minimum} to ${maximum}`, command);
  }
  return value;
}

export function portArgument(raw: unknown, what: string, allowZero: boolean, command: CommandName): number {
  try {
    return checkPort(raw, what, allowZero);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), command);
  }
}

/**
 * The room password from --password, else GASCHAT_PASSWORD (an empty variable counts as unset). An
 * empty --password is refused: it is almost always a shell variable that was not set.
 */
export function passwordFlag(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  command: 'server' | 'client',
): string | undefined {
  if (flag !== undefined) {
    if (flag === '') {
      throw new UsageError(
        command === 'server'
          ? '--password is empty; give the room password, or leave the option out and the server makes one up and prints it'
          : '--password is empty; give the room password, or leave the option out to be asked for it',
        command,
      );
    }
    return flag;
  }
  const fromEnvironment = env.GASCHAT_PASSWORD;
  return fromEnvironment === '' ? undefined : fromEnvironment;
}

/** Refuses a host the user cannot have meant: empty, or with the port glued on. */
export function hostArgument(host: string): string {
  if (host.trim() === '') {
    throw new UsageError(
      "the host is empty; give the server's address, such as 127.0.0.1 or 192.168.1.10",
      'client',
    );
  }
  const glued = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(host);
  if (glued !== null) {
    throw new UsageError(
      `"${host}" has the port glued on; give them apart: gaschat client ${glued[1]} ${glued[2]}`,
      'client',
    );
  }
  return host;
}

/** The positional arguments after the command, refused unless their count is in range. */
export function expectArguments(
  input: readonly string[],
  count: { readonly min: number; readonly max: number },
  usage: string,
  command: CommandName,
): string[] {
  const [, ...rest] = input;
  if (rest.length < count.min || rest.length > count.max) {
    throw new UsageError(
      `expected ${usage}, got ${rest.length === 0 ? 'nothing' : `"${rest.join(' ')}"`}`,
      command,
    );
  }
  return rest;
}
