import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { openUdp } from '../../adapters/udp/index.ts';
import { decodePacket, encodePacket, NONCE_BYTES, type PeerAddress } from '../../engine/index.ts';
import { channelId, handshakeSid, passwordBytes } from '../../engine/secure/handshake-crypto.ts';
import { REAL_CRYPTO } from '../../engine/secure/suite.ts';

/**
 * The abuse section of `npm run bench`: a real `gaschat server` process (its log on a pipe), attacked
 * from this one. Figures, never verdicts. `serverMain` may point at another tree's cli/main.ts, to
 * measure an older server in the same sitting.
 */

const HERE = fileURLToPath(new URL('.', import.meta.url));
const MAIN_DEFAULT = join(HERE, '..', 'main.ts');

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly address: PeerAddress;
}

/** Starts `gaschat server` on a free loopback port; `readLog` false leaves its log unread once it listens. */
export async function startServerProcess(options: {
  readonly serverMain?: string;
  readonly readLog: boolean;
}): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import=tsx',
      options.serverMain ?? MAIN_DEFAULT,
      'server',
      '127.0.0.1',
      '-p',
      '0',
      '--password',
      'abuse-bench',
      '--json',
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, GASCHAT_STATE_DIR: join(tmpdir(), `gaschat-abuse-${process.pid}`) },
    },
  );
  const address = await new Promise<PeerAddress>((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      for (const line of buffered.split('\n')) {
        if (line.includes('"listening"')) {
          const listening = JSON.parse(line) as { host: string; port: number };
          child.stdout?.off('data', onData);
          resolve({ host: listening.host, port: listening.port });
          return;
        }
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before it listened`)));
  });
  if (options.readLog) {
    child.stdout?.resume();
  } else {
    // Nobody reads the log from here on: the pipe fills, then the server's own buffer would.
    child.stdout?.pause();
  }
  return { child, address };
}

/** The process's resident set and CPU time (user + system), from /proc. */
export function processFigures(pid: number): { readonly rssBytes: number; readonly cpuMs: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  return { rssBytes: rssKib * 1024, cpuMs: (ticks * 1000) / 100 };
}

export interface FloodResult {
  readonly datagrams: number;
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  readonly cpuUsPerDatagram: number;
}

/**
 * Floods a server whose log nobody reads with `count` hostile datagrams (random bytes, some in the
 * shape of session packets), paced so that the socket does not drop them, then measures.
 */
export async function floodUnreadLog(count: number, serverMain?: string): Promise<FloodResult> {
  const server = await startServerProcess({ readLog: false, ...(serverMain && { serverMain }) });
  const pid = server.child.pid ?? 0;
  const attacker = await openUdp({ host: '127.0.0.1', port: 0 });
  try {
    await sleep(500);
    const before = processFigures(pid);
    for (let sent = 0; sent < count; ) {
      for (let burst = 0; burst < 32 && sent < count; burst += 1, sent += 1) {
        attacker.port.send(randomBytes(16 + (sent % 200)), server.address);
      }
      await nextTurn();
    }
    // Let the server take what waits in its socket before measuring.
    await sleep(1000);
    const after = processFigures(pid);
    return {
      datagrams: count,
      rssBeforeBytes: before.rssBytes,
      rssAfterBytes: after.rssBytes,
      cpuUsPerDatagram: ((after.cpuMs - before.cpuMs) * 1000) / count,
    };
  } finally {
    await attacker.close();
    server.child.kill('SIGKILL');
  }
}

/**
 * Key exchanges a server completes per second for a client that never knew the password: HELLO,
 * CHALLENGE, then a JOIN with a valid cookie and a CPace share of a wrong password, answered with an
 * ACCEPT the attacker cannot open (or with a WAIT, when the server throttles). From `sockets` sockets
 * at once, for `durationMs`: on one address (127.0.0.1, a port each), or each on an address of its own
 * (127.0.1.x: every 127/8 address is this machine's on Linux).
 */
export async function wrongPasswordRate(
  sockets: number,
  durationMs: number,
  serverMain?: string,
  /** How long an attempt waits for each answer before it is given up (a lost datagram). */
  replyTimeoutMs = 1000,
  addresses: 'one' | 'each' = 'one',
  /** Attempts each socket makes at least, however long they take (a test asks for the throttle to show). */
  attemptsMin = 0,
): Promise<{ readonly attemptsPerS: number; readonly acceptsPerS: number; readonly waitsPerS: number }> {
  const server = await startServerProcess({ readLog: true, ...(serverMain && { serverMain }) });
  const endpoints = await Promise.all(
    Array.from({ length: sockets }, (_, index) =>
      openUdp({ host: addresses === 'one' ? '127.0.0.1' : `127.0.1.${(index % 250) + 1}`, port: 0 }),
    ),
  );
  const crypto = REAL_CRYPTO;
  let share: Uint8Array | undefined;
  let attempts = 0;
  let accepts = 0;
  let waits = 0;
  try {
    await sleep(300);
    const startedAt = Date.now();
    const stopAt = startedAt + durationMs;
    await Promise.all(
      endpoints.map(async (endpoint) => {
        let nonce = randomBytes(NONCE_BYTES);
        let waiting: ((datagram: Uint8Array) => void) | undefined;
        endpoint.onDatagram((datagram) => waiting?.(datagram));
        const answer = (timeoutMs: number) =>
          new Promise<Uint8Array | undefined>((resolve) => {
            const timer = setTimeout(() => resolve(undefined), timeoutMs);
            waiting = (datagram) => {
              clearTimeout(timer);
              resolve(datagram);
            };
          });
        for (let mine = 0; Date.now() < stopAt || mine < attemptsMin; mine += 1) {
          nonce = randomBytes(NONCE_BYTES);
          endpoint.port.send(encodePacket({ type: 'hello', clientNonce: nonce }), server.address);
          attempts += 1;
          const reply = await answer(replyTimeoutMs);
          const challenge = reply === undefined ? undefined : decodePacket(reply);
          if (challenge?.ok !== true || challenge.packet.type !== 'challenge') {
            continue;
          }
          const { timeSlot, cookie, serverKey } = challenge.packet;
          // One genuine share of a wrong password, made once: the server runs its side of the
          // exchange for every JOIN all the same, and the attacker spends nothing more.
          share ??= crypto.keyExchange.initiate({
            prs: passwordBytes('not-the-password'),
            ci: channelId(serverKey),
            sid: handshakeSid(nonce, cookie),
            random: randomBytes(crypto.keyExchange.randomByteCount),
          }).share;
          endpoint.port.send(
            encodePacket({ type: 'join', clientNonce: nonce, timeSlot, cookie, share }),
            server.address,
          );
          const accepted = await answer(replyTimeoutMs);
          const accept = accepted === undefined ? undefined : decodePacket(accepted);
          if (accept?.ok === true && accept.packet.type === 'accept') {
            accepts += 1;
          } else if (accept?.ok === true && accept.packet.type === 'wait') {
            // A throttled attacker is not slowed by a WAIT it ignores: it tries again at once.
            waits += 1;
          }
        }
      }),
    );
    // Over the time it took: an attempt under way at the end is waited for.
    const elapsedMs = Date.now() - startedAt;
    return {
      attemptsPerS: (attempts * 1000) / elapsedMs,
      acceptsPerS: (accepts * 1000) / elapsedMs,
      waitsPerS: (waits * 1000) / elapsedMs,
    };
  } finally {
    for (const endpoint of endpoints) {
      await endpoint.close();
    }
    server.child.kill('SIGKILL');
  }
}
