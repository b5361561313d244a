import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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
  try {
    writeFileSync(path, `${Buffer.from(randomBytes(IDENTITY_SECRET_BYTES)).toString('hex')}\n`, {
      flag: 'wx',
      mode: 0o600,
    });
    created = true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new StateError(
        `cannot write the server identity ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)}): choose another directory with --state-dir`,
      );
    }
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
