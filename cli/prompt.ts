import { createInterface } from 'node:readline';

/** The terminal streams the prompts use; a test can pass others. */
export interface Terminal {
  readonly input: NodeJS.ReadStream;
  readonly output: NodeJS.WriteStream;
}

/** Raised when the user cancels a prompt with Ctrl-C or Ctrl-D. */
export class PromptCancelled extends Error {
  constructor() {
    super('cancelled');
  }
}

/** Asks for one line, shown as typed. Rejects with PromptCancelled on Ctrl-C or end of input. */
export function askLine(terminal: Terminal, question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: terminal.input, output: terminal.output, terminal: true });
    let answered = false;
    rl.on('SIGINT', () => rl.close());
    rl.on('close', () => {
      if (!answered) {
        terminal.output.write('\n');
        reject(new PromptCancelled());
      }
    });
    rl.question(question, (answer) => {
      answered = true;
      rl.close();
      resolve(answer.trim());
    });
  });
}

/**
 * Asks for a secret: each character typed shows as `*`; Backspace erases, Enter ends, Ctrl-C or
 * Ctrl-D (on an empty line) cancels. The terminal is in raw mode only while asking.
 */
export function askHidden(terminal: Terminal, question: string): Promise<string> {
  const { input, output } = terminal;
  return new Promise((resolve, reject) => {
    let secret = '';
    const wasRaw = input.isRaw;
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.resume();
    output.write(question);
    const finish = (error: Error | undefined) => {
      input.off('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (error === undefined) {
        resolve(secret);
      } else {
        reject(error);
      }
    };
    const onData = (chunk: string) => {
      for (const character of chunk) {
        if (character === '\r' || character === '\n') {
          finish(undefined);
          return;
        }
        if (character === '\u0003' || (character === '\u0004' && secret.length === 0)) {
          finish(new PromptCancelled());
          return;
        }
        if (character === '\u007f' || character === '\b') {
          if (secret.length > 0) {
            secret = [...secret].slice(0, -1).join('');
            output.write('\b \b');
          }
          continue;
        }
        if (character < ' ') {
          continue;
        }
        secret += character;
        output.write('*');
      }
    };
    input.on('data', onData);
  });
}
