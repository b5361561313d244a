import meow from 'meow';
import type { Colours } from './colour.ts';
import { helpText } from './usage.ts';

/** The command line as meow reads it: the flags of every command (each command refuses others'). */
export function parseArguments() {
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
      stateDir: { type: 'string' },
      maxMembers: { type: 'string' },
      sessionsPerHost: { type: 'string' },
      loginsPerSecond: { type: 'string' },
      sayRate: { type: 'string' },
      sayBurst: { type: 'string' },
      roomSayRate: { type: 'string' },
      roomSayBurst: { type: 'string' },
      serverKey: { type: 'string' },
      runs: { type: 'string' },
      seed: { type: 'string' },
      clients: { type: 'string' },
      messages: { type: 'string' },
      timeMs: { type: 'string' },
      replay: { type: 'string' },
      diagram: { type: 'string' },
      checkDeterminism: { type: 'boolean', default: false },
      open: { type: 'boolean', default: true },
    },
  });
}

export type Cli = ReturnType<typeof parseArguments>;

/** What every command is given: the parsed command line, the raw arguments and the colours. */
export interface CommandContext {
  readonly cli: Cli;
  readonly argv: readonly string[];
  readonly colours: Colours;
}
