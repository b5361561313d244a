import { clearScreenDown, createInterface, cursorTo, type Interface, moveCursor } from 'node:readline';
import { stripVTControlCharacters } from 'node:util';
import type { ChalkInstance } from 'chalk';
import { type ClientEvent, nameKey, sanitizeForTerminal } from '../engine/index.ts';
import { type Connection, exitCodeFor, loginOutcome } from './connection.ts';
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
    case 'error':
      return chalk.red(event.message);
    case 'closed':
      return event.reason === 'quit'
        ? chalk.dim('you left the room')
        : chalk.red(`disconnected: ${event.message}`);
  }
}

/**
 * The interactive chat: asks for what is missing (the password masked), asks again after a refused
 * login with the reason shown, then chats. Lines from the network are printed above the line being
 * typed, which is redrawn intact. Returns the exit code.
 */
export async function runTerminalClient(
  connection: Connection,
  given: { readonly name: string | undefined; readonly password: string | undefined },
  terminal: Terminal,
  chalk: ChalkInstance,
): Promise<number> {
  let print: (line: string) => void = (line) => terminal.output.write(`${line}\n`);
  let onEvent: (event: ClientEvent) => void = () => undefined;
  const members: string[] = [];
  let name = given.name;
  let password = given.password;
  let actor: ReturnType<Connection['login']>;
  try {
    for (;;) {
      name ??= await askLine(terminal, 'username: ');
      password ??= await askHidden(terminal, 'password: ');
      terminal.output.write(
        chalk.dim(`joining ${connection.server.host}:${connection.server.port} as ${name}…\n`),
      );
      actor = connection.login(name, password, (event) => onEvent(event));
      const outcome = await loginOutcome(actor);
      if (outcome.kind === 'welcome') {
        members.push(...outcome.event.members);
        print(formatChatEvent(outcome.event, chalk, Date.now()) ?? '');
        break;
      }
      if (outcome.kind === 'closed') {
        print(formatChatEvent(outcome.event, chalk, Date.now()) ?? '');
        return exitCodeFor(outcome.event.reason);
      }
      print(chalk.yellow(`login refused: ${outcome.event.message}`));
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

  const rl = createInterface({ input: terminal.input, output: terminal.output, terminal: true });
  let sending = 0;
  let leaving = false;
  const setPrompt = () => rl.setPrompt(sending > 0 ? chalk.dim(`[${sending} sending] `) + '> ' : '> ');
  print = (line) => printAbove(rl, terminal.output, line);
  setPrompt();
  rl.prompt();

  const closed = new Promise<Extract<ClientEvent, { type: 'closed' }>>((resolve) => {
    onEvent = (event) => {
      if (event.type === 'joined') {
        members.push(event.name);
      } else if (event.type === 'left') {
        const index = members.findIndex((member) => nameKey(member) === nameKey(event.name));
        if (index >= 0) {
          members.splice(index, 1);
        }
      } else if (event.type === 'message' && event.self) {
        sending = Math.max(0, sending - 1);
        setPrompt();
      }
      const line = formatChatEvent(event, chalk, Date.now());
      if (line !== undefined) {
        print(line);
      }
      if (event.type === 'closed') {
        resolve(event);
      }
    };
  });

  const leave = () => {
    if (leaving) {
      return;
    }
    leaving = true;
    print(chalk.dim(sending > 0 ? `leaving once ${sending} message(s) are confirmed…` : 'leaving…'));
    actor.send({ type: 'chat.quit' });
  };
  rl.on('SIGINT', leave);
  rl.on('close', leave);
  rl.on('line', (line) => {
    eraseTypedLine(terminal.output, rl, line);
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
    } else if (line.length > 0 && !leaving) {
      let refused = false;
      const subscription = actor.on('error', () => {
        refused = true;
      });
      actor.send({ type: 'chat.say', text: line });
      subscription.unsubscribe();
      if (!refused) {
        sending += 1;
        setPrompt();
      }
    }
    rl.prompt();
  });

  const event = await closed;
  rl.removeAllListeners('close');
  rl.close();
  return exitCodeFor(event.reason);
}

/** Prints a line above the prompt and redraws the prompt with the half-typed line and cursor intact. */
function printAbove(rl: Interface, output: NodeJS.WriteStream, line: string): void {
  const { rows } = rl.getCursorPos();
  moveCursor(output, 0, -rows);
  cursorTo(output, 0);
  clearScreenDown(output);
  output.write(`${line}\n`);
  rl.prompt(true);
}

/** Removes the line the user just entered (readline echoed it): it comes back once confirmed. */
function eraseTypedLine(output: NodeJS.WriteStream, rl: Interface, line: string): void {
  const columns = output.columns > 0 ? output.columns : 80;
  const width = stripVTControlCharacters(rl.getPrompt()).length + [...line].length;
  moveCursor(output, 0, -Math.max(1, Math.ceil(width / columns)));
  cursorTo(output, 0);
  clearScreenDown(output);
}
