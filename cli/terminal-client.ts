import { clearScreenDown, createInterface, cursorTo, type Interface, moveCursor } from 'node:readline';
import { stripVTControlCharacters } from 'node:util';
import type { ChalkInstance } from 'chalk';
import stringWidth from 'string-width';
import {
  type ClientActor,
  type ClientEvent,
  nameKey,
  sanitizeForTerminal,
  say,
  validateName,
} from '../engine/index.ts';
import { type Connection, exitCodeFor } from './connection.ts';
import { askHidden, askLine, PromptCancelled, type Terminal } from './prompt.ts';
import { clockStamp } from './server-log.ts';

const HELP = [
  'type a line and press Enter to send it to everyone in the room',
  '/who    list the members of the room',
  '/help   show this help',
  'QUIT    leave the room (also /quit, Ctrl-C or Ctrl-D)',
];

const NAME_COLOURS = [
  'cyan',
  'green',
  'yellow',
  'blue',
  'magenta',
  'red',
  'cyanBright',
  'greenBright',
] as const;

/** The same colour for a name every time and for everyone: a hash of its case-folded form. */
export function colourFor(name: string): (typeof NAME_COLOURS)[number] {
  let hash = 0;
  for (const character of nameKey(name)) {
    hash = (hash * 31 + (character.codePointAt(0) ?? 0)) >>> 0;
  }
  return NAME_COLOURS[hash % NAME_COLOURS.length] ?? 'cyan';
}

/** One line of chat for a room event, or undefined for events shown elsewhere. */
export function formatChatEvent(event: ClientEvent, chalk: ChalkInstance, nowMs: number): string | undefined {
  const name = (who: string) => chalk[colourFor(who)].bold(sanitizeForTerminal(who));
  switch (event.type) {
    case 'welcome':
      return `${chalk.dim(clockStamp(nowMs))} ${chalk.green(`welcome, ${sanitizeForTerminal(event.name)}!`)} in the room: ${event.members.map(name).join(', ')}  ${chalk.dim('(/help for commands)')}`;
    case 'reconnecting':
      return `${chalk.dim(clockStamp(nowMs))} ${chalk.yellow(event.message)}`;
    case 'rejoined': {
      const resent =
        event.resent === 0 ? '' : `; ${event.resent} message${event.resent === 1 ? '' : 's'} resent`;
      return `${chalk.dim(clockStamp(nowMs))} ${chalk.green(`back in the room${resent}`)}: ${event.members.map(name).join(', ')}`;
    }
    case 'joined':
      return `${chalk.dim(clockStamp(nowMs))} ${chalk.green('→')} ${name(event.name)} joined`;
    case 'left':
      return `${chalk.dim(clockStamp(nowMs))} ${chalk.magenta('←')} ${name(event.name)} left${event.reason === 'timeout' ? ' (timed out)' : ''}`;
    case 'message': {
      const mark = event.self ? ` ${chalk.green('✓')}` : '';
      return `${chalk.dim(clockStamp(event.timeMs))} ${name(event.from)}${mark}: ${sanitizeForTerminal(event.text)}`;
    }
    case 'rejected':
      return chalk.yellow(`refused: ${event.message}`);
    case 'retrying':
    case 'waiting':
    case 'slowed':
      return chalk.yellow(event.message);
    case 'error':
      return chalk.red(event.message);
    case 'closed':
      switch (event.reason) {
        case 'quit':
          // "left the room", or "left before joining" for a login given up on.
          return chalk.dim(`you ${event.message}`);
        case 'server-closed':
          return chalk.yellow(`${event.message}; you are no longer in it`);
        default:
          return chalk.red(`disconnected: ${event.message}`);
      }
  }
}

/** Unconfirmed messages at most before input is paused (it matters when input is piped). */
const IN_FLIGHT_MAX = 32;
/** The exit code when a second interrupt leaves without waiting for the server. */
export const EXIT_INTERRUPTED = 130;

/** Asks for a name until it is a valid one, saying what is wrong with each that is not. */
async function askName(terminal: Terminal, chalk: ChalkInstance, cancel: AbortSignal): Promise<string> {
  for (;;) {
    const name = await askLine(terminal, 'username: ', cancel);
    const validation = validateName(name);
    if (validation.ok) {
      return name;
    }
    terminal.output.write(`${chalk.yellow(validation.message)}\n`);
  }
}

/**
 * The interactive chat: asks for what is missing (the password masked), asks again after a refused
 * login with the reason shown, then chats. Lines from the network are printed above the line being
 * typed, which is redrawn intact. `onLeaveRequest` receives what a signal handler calls to leave.
 * Returns the exit code.
 */
export async function runTerminalClient(
  connection: Connection,
  given: { readonly name: string | undefined; readonly password: string | undefined },
  terminal: Terminal,
  chalk: ChalkInstance,
  onLeaveRequest: (leave: () => void) => void = () => undefined,
): Promise<number> {
  const output = terminal.output;
  // Every event from the moment a login starts: those that come with the welcome are kept until the
  // chat screen is ready for them.
  const early: ClientEvent[] = [];
  // While logging in, a retry or a wait is shown at once (the user is waiting on it); the rest waits for the chat.
  let onEvent: (event: ClientEvent) => void = (event) => {
    if (event.type === 'retrying' || event.type === 'waiting') {
      output.write(`${formatChatEvent(event, chalk, Date.now())}\n`);
    } else {
      early.push(event);
    }
  };
  let name = given.name;
  let password = given.password;
  let actor: ClientActor | undefined;
  // A signal (Ctrl-C as SIGINT from outside, SIGTERM, a terminal hung up) while a prompt waits
  // cancels the prompt; during a login it abandons the handshake.
  let cancelPrompt = new AbortController();
  let loggingIn = false;
  onLeaveRequest(() => {
    if (loggingIn) {
      actor?.send({ type: 'chat.quit' });
    } else {
      cancelPrompt.abort();
    }
  });
  try {
    for (;;) {
      cancelPrompt = new AbortController();
      name ??= await askName(terminal, chalk, cancelPrompt.signal);
      password ??= await askHidden(terminal, 'password: ', cancelPrompt.signal);
      output.write(chalk.dim(`joining ${connection.server.host}:${connection.server.port} as ${name}…\n`));
      early.length = 0;
      const login = connection.login(name, password, (event) => onEvent(event));
      actor = login.actor;
      loggingIn = true;
      const outcome = await login.outcome;
      loggingIn = false;
      if (outcome.kind === 'welcome') {
        break;
      }
      if (outcome.kind === 'closed') {
        output.write(`${formatChatEvent(outcome.event, chalk, Date.now())}\n`);
        return exitCodeFor(outcome.event.reason);
      }
      output.write(`${chalk.yellow(`login refused: ${outcome.event.message}`)}\n`);
      if (outcome.event.reason === 'bad-password') {
        password = undefined;
      } else if (outcome.event.reason === 'name-taken' || outcome.event.reason === 'bad-name') {
        name = undefined;
      } else {
        return 3;
      }
    }
  } catch (error) {
    if (error instanceof PromptCancelled) {
      return 0;
    }
    throw error;
  }
  return chat(
    actor,
    terminal,
    chalk,
    early,
    (handler) => {
      onEvent = handler;
    },
    onLeaveRequest,
  );
}

/** The chat itself, once welcomed. */
function chat(
  actor: ClientActor,
  terminal: Terminal,
  chalk: ChalkInstance,
  early: readonly ClientEvent[],
  listen: (handler: (event: ClientEvent) => void) => void,
  onLeaveRequest: (leave: () => void) => void,
): Promise<number> {
  const { input, output } = terminal;
  const interactive = input.isTTY === true && output.isTTY === true;
  const rl = createInterface({ input, output, terminal: interactive });
  const members: string[] = [];
  const unconfirmed: string[] = [];
  let leaving = false;
  let forced: (() => void) | undefined;
  // Prompts are for people at a terminal: piped input gets none in its output.
  const setPrompt = () =>
    rl.setPrompt(
      leaving || !interactive
        ? ''
        : unconfirmed.length > 0
          ? `${chalk.dim(`[${unconfirmed.length} sending]`)} > `
          : '> ',
    );
  const prompt = (preserveCursor = false) => {
    if (interactive) {
      rl.prompt(preserveCursor);
    }
  };
  const print = (line: string) => (interactive ? printAbove(rl, output, line) : output.write(`${line}\n`));

  const closed = new Promise<number>((resolve) => {
    forced = () => resolve(EXIT_INTERRUPTED);
    const handle = (event: ClientEvent) => {
      if (event.type === 'welcome' || event.type === 'rejoined') {
        members.splice(0, members.length, ...event.members);
      } else if (event.type === 'joined') {
        members.push(event.name);
      } else if (event.type === 'left') {
        const index = members.findIndex((member) => nameKey(member) === nameKey(event.name));
        if (index >= 0) {
          members.splice(index, 1);
        }
      } else if (event.type === 'message' && event.self) {
        unconfirmed.shift();
        setPrompt();
        if (unconfirmed.length < IN_FLIGHT_MAX && !leaving) {
          rl.resume();
        }
      }
      const line = formatChatEvent(event, chalk, Date.now());
      if (line !== undefined) {
        print(line);
      }
      if (event.type === 'closed') {
        for (const text of unconfirmed) {
          print(chalk.red(`not delivered: ${sanitizeForTerminal(text)}`));
        }
        resolve(exitCodeFor(event.reason));
      }
    };
    listen(handle);
    for (const event of early) {
      handle(event);
    }
  });

  const leave = () => {
    if (leaving) {
      // Asked twice: leave now, without waiting for the server.
      forced?.();
      return;
    }
    leaving = true;
    setPrompt();
    print(
      chalk.dim(
        unconfirmed.length > 0
          ? `leaving once ${unconfirmed.length} message(s) are confirmed… (Ctrl-C again to quit at once)`
          : 'leaving… (Ctrl-C again to quit at once)',
      ),
    );
    actor.send({ type: 'chat.quit' });
  };
  onLeaveRequest(leave);
  rl.on('SIGINT', leave);
  rl.on('close', () => {
    if (!leaving) {
      leave();
    }
  });
  rl.on('line', (line) => {
    let restored = false;
    if (interactive) {
      eraseTypedLine(output, rl, line);
    }
    const command = line.trim();
    if (command === 'QUIT' || command === '/quit') {
      leave();
    } else if (command === '/who') {
      print(
        `in the room (${members.length}): ${members.map((member) => sanitizeForTerminal(member)).join(', ')}`,
      );
    } else if (command === '/help') {
      for (const helpLine of HELP) {
        print(chalk.dim(helpLine));
      }
    } else if (command.startsWith('/')) {
      print(chalk.yellow(`unknown command ${sanitizeForTerminal(command)}; /help lists the commands`));
    } else if (leaving) {
      print(chalk.yellow(`leaving: not sent: ${sanitizeForTerminal(line)}`));
    } else if (line.length > 0) {
      if (!say(actor, line).ok) {
        // Put the line back, so that a long paste can be shortened rather than typed again; the cursor
        // stays at its end, where the user left it.
        if (interactive && command.length > 0) {
          rl.write(line);
          restored = true;
        }
      } else {
        unconfirmed.push(line);
        setPrompt();
        if (unconfirmed.length >= IN_FLIGHT_MAX) {
          rl.pause();
        }
      }
    }
    if (!leaving) {
      prompt(restored);
    }
  });
  setPrompt();
  prompt();

  return closed.then((code) => {
    rl.removeAllListeners('close');
    if (interactive) {
      // Leave the prompt's line clean for whatever the shell prints next.
      cursorTo(output, 0);
      clearScreenDown(output);
    }
    rl.close();
    return code;
  });
}

/** Prints a line above the prompt and redraws the prompt with the half-typed line and cursor intact. */
function printAbove(rl: Interface, output: NodeJS.WriteStream, line: string): void {
  // The cursor's row within the prompt and the typed text (which may wrap over several rows).
  const { rows } = rl.getCursorPos();
  moveCursor(output, 0, -rows);
  cursorTo(output, 0);
  clearScreenDown(output);
  output.write(`${line}\n`);
  // readline redraws from the row it last left the cursor on; the cursor now stands at the start of
  // the (cleared) prompt, so tell it so, or it would move up over the line just printed.
  (rl as unknown as { prevRows: number }).prevRows = 0;
  rl.prompt(true);
}

/** Removes the line the user just entered (readline echoed it): it comes back once confirmed. */
function eraseTypedLine(output: NodeJS.WriteStream, rl: Interface, line: string): void {
  const columns = output.columns > 0 ? output.columns : 80;
  const width = stringWidth(`${stripVTControlCharacters(rl.getPrompt())}${line}`);
  moveCursor(output, 0, -Math.max(1, Math.ceil(width / columns)));
  cursorTo(output, 0);
  clearScreenDown(output);
}
