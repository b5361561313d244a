import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';

/** Where the servers of this test file keep their identity (GASCHAT_STATE_DIR). */
export const TEST_STATE_DIR = mkdtempSync(join(tmpdir(), 'gaschat-state-'));

/**
 * The command under test: the build `npm test` makes first (`npm run build`), as a user runs it. A
 * spawned node starts in a fraction of the time tsx needs to compile the sources, which is what
 * keeps these tests whole on a busy machine.
 */
export const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The newest modification time of the sources the build compiles (tests and examples aside). */
function newestSourceMs(folder: string): number {
  let newest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      if (!['test', 'examples', 'bench', 'node_modules'].includes(entry.name)) {
        newest = Math.max(newest, newestSourceMs(path));
      }
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      newest = Math.max(newest, statSync(path).mtimeMs);
    }
  }
  return newest;
}

// A test of a stale build would pass or fail for code that is no longer there.
if (!existsSync(MAIN)) {
  throw new Error(`${MAIN} is missing: run npm run build (npm test does it first)`);
}
const builtMs = statSync(MAIN).mtimeMs;
const sourceMs = Math.max(
  ...['engine', 'adapters', 'cli'].map((folder) => newestSourceMs(join(ROOT, folder))),
);
if (sourceMs > builtMs) {
  throw new Error(`dist/ is older than the sources: run npm run build (npm test does it first)`);
}

/**
 * How long any one expectation may take before the test fails. Tests wait for events (a line printed,
 * a process exited), so this bound is only reached when something is wrong; it is generous so that a
 * loaded machine, where a process can take seconds to start, never fails a correct run.
 */
export const WAIT_MS = 90_000;

export type JsonLine = Record<string, unknown> & { readonly type?: string };

/**
 * A running `gaschat` process whose standard output is JSON lines (or text): every line kept, and
 * `waitFor` to wait, with a deadline, for the first line after a point that matches.
 */
export class GaschatProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<number | null>;
  #waiters: (() => void)[] = [];
  #closed = false;

  /**
   * Runs the built command, or (`script`) a TypeScript file through tsx, such as an example. Colour is
   * off (FORCE_COLOR=0, no NO_COLOR) unless `env` says otherwise; an `undefined` value removes a variable.
   */
  constructor(args: readonly string[], env: Record<string, string | undefined> = {}, script?: string) {
    const entry = script === undefined ? [MAIN] : ['--import', 'tsx', script];
    const merged: Record<string, string | undefined> = {
      ...process.env,
      FORCE_COLOR: '0',
      NO_COLOR: undefined,
      // Servers keep their identity here, not in the user's home (one directory per test file).
      GASCHAT_STATE_DIR: TEST_STATE_DIR,
      ...env,
    };
    for (const [key, value] of Object.entries(merged)) {
      if (value === undefined) {
        delete merged[key];
      }
    }
    this.child = spawn(process.execPath, [...entry, ...args], { env: merged });
    let pending = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (chunk: string) => {
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      this.lines.push(...parts);
      this.#wake();
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => {
      this.stderr.push(chunk);
    });
    // 'close', not 'exit': it comes once standard output has been read to its end, so a test that
    // awaits the exit sees every line the process printed.
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code) => {
        this.#closed = true;
        if (pending !== '') {
          this.lines.push(pending);
        }
        this.#wake();
        resolve(code);
      });
    });
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) {
      wake();
    }
  }

  /** Every stdout line that parses as JSON, in order. */
  get json(): JsonLine[] {
    return this.lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as JsonLine];
      } catch {
        return [];
      }
    });
  }

  /** Waits for a JSON line that matches; fails with everything printed so far when it does not come. */
  async waitFor(what: string, match: (line: JsonLine) => boolean, timeoutMs = WAIT_MS): Promise<JsonLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.json.find(match);
      if (found !== undefined) {
        return found;
      }
      const left = deadline - Date.now();
      if (left <= 0 || this.#closed) {
        throw new Error(
          `no ${what} within ${timeoutMs} ms; stdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr.join('')}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits for a plain-text stdout line containing `text`. */
  async waitForText(text: string, timeoutMs = WAIT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find((line) => line.includes(text));
      if (found !== undefined) {
        return found;
      }
      if (Date.now() >= deadline || this.#closed) {
        throw new Error(
          `no line with ${JSON.stringify(text)} within ${timeoutMs} ms; stdout:\n${this.lines.join('\n')}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  endInput(): void {
    this.child.stdin.end();
  }

  /** The exit code, waiting at most `timeoutMs`; fails if the process is still running then. */
  async exitCode(timeoutMs = WAIT_MS): Promise<number | null> {
    const timeout = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), timeoutMs).unref(),
    );
    const result = await Promise.race([this.exited, timeout]);
    if (result === 'timeout') {
      throw new Error(`still running after ${timeoutMs} ms; stdout:\n${this.lines.join('\n')}`);
    }
    return result;
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill(signal);
    }
  }
}

export const PASSWORD = 'kata-sandi';

/** Starts a JSON server on an ephemeral port of `host`; resolves once it listens, with its port. */
export async function startServer(
  t: ExecutionContext,
  options: { readonly host?: string; readonly password?: string; readonly extra?: readonly string[] } = {},
): Promise<{ server: GaschatProcess; port: number; host: string }> {
  const host = options.host ?? '127.0.0.1';
  const server = new GaschatProcess([
    'server',
    host,
    '-p',
    '0',
    '--json',
    '--password',
    options.password ?? PASSWORD,
    ...(options.extra ?? []),
  ]);
  t.teardown(() => server.kill('SIGKILL'));
  const listening = await server.waitFor('listening line', (line) => line.type === 'listening');
  return { server, port: Number(listening.port), host };
}

/** Starts a JSON client; resolves once it is welcomed (or, with `expectWelcome: false`, at once). */
export async function startClient(
  t: ExecutionContext,
  where: { readonly host: string; readonly port: number },
  name: string,
  options: {
    readonly password?: string;
    readonly expectWelcome?: boolean;
    readonly env?: Record<string, string>;
    readonly extra?: readonly string[];
  } = {},
): Promise<GaschatProcess> {
  const client = new GaschatProcess(
    [
      'client',
      where.host,
      String(where.port),
      '--json',
      '--username',
      name,
      '--password',
      options.password ?? PASSWORD,
      ...(options.extra ?? []),
    ],
    options.env,
  );
  t.teardown(() => client.kill('SIGKILL'));
  if (options.expectWelcome !== false) {
    await client.waitFor(`welcome of ${name}`, (line) => line.type === 'welcome');
  }
  return client;
}
