import { Chalk, type ChalkInstance, supportsColor, supportsColorStderr } from 'chalk';

/** chalk's colour levels: none, 16 colours, 256, truecolor. */
export type ColourLevel = 0 | 1 | 2 | 3;

export interface ColourInputs {
  /** `--color` (true), `--no-color` (false), or neither. */
  readonly flag: boolean | undefined;
  readonly env: NodeJS.ProcessEnv;
  /** What chalk found the stream can show (0 when it is not a terminal). */
  readonly detected: ColourLevel;
}

function levelOf(value: string): ColourLevel {
  if (value === 'false') {
    return 0;
  }
  if (value === '' || value === 'true') {
    return 1;
  }
  const level = Number.parseInt(value, 10);
  return Number.isNaN(level) ? 1 : (Math.max(0, Math.min(3, level)) as ColourLevel);
}

/**
 * The colour level to use, by the conventions people rely on, strongest first: the command line
 * (`--color`, `--no-color`), then FORCE_COLOR (force-color.org: 0 or false is off, 1 to 3 a level),
 * then NO_COLOR (no-color.org: present and not empty turns colour off), then whether the stream is a
 * terminal that shows colour.
 *
 * @example colourLevel({ flag: undefined, env: { NO_COLOR: '1' }, detected: 3 }) === 0
 */
export function colourLevel(inputs: ColourInputs): ColourLevel {
  const { flag, env, detected } = inputs;
  if (flag === false) {
    return 0;
  }
  if (flag === true) {
    return detected === 0 ? 1 : detected;
  }
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    return levelOf(force);
  }
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') {
    return 0;
  }
  return detected;
}

/** chalk instances for standard output and standard error, each by its own stream. */
export interface Colours {
  readonly out: ChalkInstance;
  readonly err: ChalkInstance;
}

/**
 * Reads the colour flags from argv before the command line is parsed (a usage error is printed in
 * the user's colours too): the last of `--color` and `--no-color` wins.
 */
export function colourFlag(argv: readonly string[]): boolean | undefined {
  let flag: boolean | undefined;
  for (const argument of argv) {
    if (argument === '--') {
      break;
    }
    if (argument === '--color' || argument === '--colour') {
      flag = true;
    } else if (argument === '--no-color' || argument === '--no-colour') {
      flag = false;
    }
  }
  return flag;
}

export function detectColours(argv: readonly string[], env: NodeJS.ProcessEnv): Colours {
  const flag = colourFlag(argv);
  // chalk's own detection, with FORCE_COLOR and its flags taken out of it: this module decides those.
  const detected = (support: typeof supportsColor): ColourLevel =>
    support === false ? 0 : (support.level as ColourLevel);
  const streamLevel = (isTTY: boolean | undefined, support: typeof supportsColor): ColourLevel =>
    isTTY === true ? detected(support) : 0;
  return {
    out: new Chalk({
      level: colourLevel({ flag, env, detected: streamLevel(process.stdout.isTTY, supportsColor) }),
    }),
    err: new Chalk({
      level: colourLevel({ flag, env, detected: streamLevel(process.stderr.isTTY, supportsColorStderr) }),
    }),
  };
}
