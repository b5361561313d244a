import { randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { IDENTITY_SECRET_BYTES } from '../engine/index.ts';

/**
 * Where gaschat keeps what must outlive a process: the server's identity secret (so that a restarted
 * server is the same server to its clients: it can prove a session is gone, and keeps the key clients
 * pinned). `--state-dir`, else GASCHAT_STATE_DIR, else the XDG state directory
 * ($XDG_STATE_HOME/gaschat, by default ~/.local/state/gaschat).
 */
export function stateDirectory(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  if (flag !== undefined && flag !== '') {
    return flag;
  }
  const fromEnv = env.GASCHAT_STATE_DIR;
  if (fromEnv !== undefined && fromEnv !== '') {
    return fromEnv;
  }
  const xdg = env.XDG_STATE_HOME;
  return join(xdg !== undefined && xdg !== '' ? xdg : join(homedir(), '.local', 'state'), 'gaschat');
}

/** A failure to read or keep the identity, in words that name the file and what to do. */
export class StateError extends Error {
  override readonly name = 'StateError';
}

const IDENTITY_FILE = 'server-identity';
const HEX_SECRET = /^[0-9a-f]{64}$/;

/**
 * The server's identity secret from `directory` (32 bytes, hex, in `server-identity`, readable by its
 * owner only), made and kept on first use. Two servers started at once with one directory agree: the
 * file is created only if absent, and whoever loses the race reads the winner's.
 */
export function loadIdentity(directory: string): {
  readonly secret: Uint8Array;
  readonly path: string;
  readonly created: boolean;
} {
  const path = join(directory, IDENTITY_FILE);
  try {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new StateError(
      `cannot create the state directory ${directory} (${(error as NodeJS.ErrnoException).code ?? String(error)}): choose another with --state-dir`,
    );
  }
  let created = false;
  // Made whole in a file of its own, then linked into place: linking fails if another server made the
  // identity first, and nobody ever reads a half-written one.
  const partial = `${path}.${process.pid}.${Buffer.from(randomBytes(4)).toString('hex')}`;
  try {
    writeFileSync(partial, `${Buffer.from(randomBytes(IDENTITY_SECRET_BYTES)).toString('hex')}\n`, {
      flag: 'wx',
      mode: 0o600,
    });
    linkSync(partial, path);
    created = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new StateError(
        `cannot write the server identity ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}): choose another directory with --state-dir`,
      );
    }
  } finally {
    rmSync(partial, { force: true });
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (error) {
    throw new StateError(
      `cannot read the server identity ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}): check its permissions, or choose another directory with --state-dir`,
    );
  }
  if (!HEX_SECRET.test(text)) {
    throw new StateError(
      `${path} is not a gaschat server identity (64 hex digits expected): move it away and a new identity is made, but clients that pinned the old one will refuse the new`,
    );
  }
  if (created) {
    chmodSync(path, 0o600);
  }
  return { secret: Uint8Array.from(Buffer.from(text, 'hex')), path, created };
}

/**
 * A key's fingerprint, as ssh prints one: `SHA256:` and the unpadded base64 of the SHA-256 of the
 * key's bytes. What the server prints at start and a client may pin.
 */
export function fingerprint(serverKey: Uint8Array): string {
  return `SHA256:${Buffer.from(sha256(serverKey)).toString('base64').replace(/=+$/, '')}`;
}

const KNOWN_SERVERS_FILE = 'known-servers.json';
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;

/** Whether `text` is a fingerprint as {@link fingerprint} writes one. */
export function isFingerprint(text: string): boolean {
  return FINGERPRINT.test(text);
}

/**
 * The servers a client has joined, by address, with the fingerprint of the key each had (trust on
 * first use, as ssh's known_hosts): `known-servers.json` in the state directory. Missing is empty; a
 * file that is not one is an error that names it.
 */
export class KnownServers {
  readonly path: string;

  constructor(directory: string) {
    this.path = join(directory, KNOWN_SERVERS_FILE);
  }

  #read(): Record<string, string> {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return {};
      }
      throw new StateError(
        `cannot read ${this.path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (
      typeof parsed !== 'object' ||
      parsed === null ||
      Array.isArray(parsed) ||
      !Object.values(parsed).every((value) => typeof value === 'string' && isFingerprint(value))
    ) {
      throw new StateError(
        `${this.path} is not a list of known servers (a JSON object of "host:port": "SHA256:..."): fix or remove it`,
      );
    }
    return parsed as Record<string, string>;
  }

  /** The fingerprint remembered for `address`, if any. */
  get(address: string): string | undefined {
    return this.#read()[address];
  }

  /** Remembers `address`'s fingerprint (a new entry; an existing one is never replaced silently). */
  remember(address: string, print: string): void {
    const known = this.#read();
    if (known[address] !== undefined) {
      return;
    }
    known[address] = print;
    try {
      mkdirSync(join(this.path, '..'), { recursive: true, mode: 0o700 });
      // Written whole to a file of its own, then renamed over the list: a client reading it at the same
      // time sees the old list or the new, never half of one.
      const partial = `${this.path}.${process.pid}.${Buffer.from(randomBytes(4)).toString('hex')}`;
      writeFileSync(partial, `${JSON.stringify(known, null, 2)}\n`, { mode: 0o600 });
      renameSync(partial, this.path);
    } catch (error) {
      throw new StateError(
        `cannot write ${this.path} (${(error as NodeJS.ErrnoException).code ?? String(error)}): choose another directory with --state-dir`,
      );
    }
  }
}
