import { createInterface, emitKeypressEvents } from 'node:readline';

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

/**
 * Asks for one line, shown as typed. Rejects with PromptCancelled on Ctrl-C, end of input, or when
 * `cancel` is aborted (a signal from outside).
 */
export function askLine(terminal: Terminal, question: string, cancel?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: terminal.input, output: terminal.output, terminal: true });
    let answered = false;
    const onAbort = () => rl.close();
    rl.on('SIGINT', onAbort);
    if (cancel?.aborted === true) {
      rl.close();
    }
    cancel?.addEventListener('abort', onAbort, { once: true });
    rl.on('close', () => {
      // The signal outlives the prompt (a name is asked again after each refusal): let go of it.
      cancel?.removeEventListener('abort', onAbort);
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

/** The keys of a secret prompt that edit or end it; everything else is a character or ignored. */
type SecretKey = { readonly name?: string; readonly ctrl?: boolean; readonly meta?: boolean };

/**
 * Keys that move the cursor or do nothing in a masked field: their escape sequences must never end
 * up in the secret (a Left arrow used to add "[D" to the password, and the login then failed).
 */
function isPrintable(sequence: string | undefined, key: SecretKey | undefined): sequence is string {
  if (sequence === undefined || sequence === '' || key?.ctrl === true || key?.meta === true) {
    return false;
  }
  // A key readline decoded from an escape sequence (arrows, Home, End, Delete, F1, Insert…).
  if (sequence.startsWith('\u001b')) {
    return false;
  }
  return [...sequence].every((character) => character >= ' ' && character !== '\u007f');
}

/**
 * Asks for a secret: each character typed (or pasted) shows as `*`; Backspace erases one, Ctrl-U
 * all; arrows, Home, End, Delete, function keys and other escape sequences are ignored; Enter ends;
 * Ctrl-C, or Ctrl-D on an empty line, cancels. The terminal is in raw mode only while asking.
 */
export function askHidden(terminal: Terminal, question: string, cancel?: AbortSignal): Promise<string> {
  const { input, output } = terminal;
  return new Promise((resolve, reject) => {
    let secret = '';
    let finished = false;
    const wasRaw = input.isRaw;
    // readline decodes the raw bytes into keys, escape sequences (and bracketed paste) included.
    emitKeypressEvents(input);
    input.setRawMode(true);
    input.resume();
    output.write(question);
    const finish = (error: Error | undefined) => {
      if (finished) {
        return;
      }
      finished = true;
      input.off('keypress', onKeypress);
      input.off('end', onEnd);
      input.off('error', onEnd);
      cancel?.removeEventListener('abort', onEnd);
      // The terminal may be gone (hung up): restoring its mode is then impossible and unimportant.
      try {
        input.setRawMode(wasRaw);
      } catch {
        // Nothing to restore.
      }
      input.pause();
      output.write('\n');
      if (error === undefined) {
        resolve(secret);
      } else {
        reject(error);
      }
    };
    const erase = (count: number) => {
      output.write('\b \b'.repeat(count));
    };
    const onKeypress = (sequence: string | undefined, key: SecretKey | undefined) => {
      const name = key?.name;
      if (name === 'return' || name === 'enter') {
        finish(undefined);
      } else if (key?.ctrl === true && name === 'c') {
        finish(new PromptCancelled());
      } else if (key?.ctrl === true && name === 'd') {
        if (secret.length === 0) {
          finish(new PromptCancelled());
        }
      } else if (key?.ctrl === true && name === 'u') {
        erase([...secret].length);
        secret = '';
      } else if (name === 'backspace') {
        if (secret.length > 0) {
          secret = [...secret].slice(0, -1).join('');
          erase(1);
        }
      } else if (isPrintable(sequence, key)) {
        secret += sequence;
        output.write('*'.repeat([...sequence].length));
      }
    };
    // The input ending (a terminal hung up) or a signal from outside cancels, as Ctrl-C does.
    const onEnd = () => finish(new PromptCancelled());
    input.on('keypress', onKeypress);
    input.once('end', onEnd);
    input.once('error', onEnd);
    if (cancel?.aborted === true) {
      onEnd();
    }
    cancel?.addEventListener('abort', onEnd, { once: true });
  });
}
