import { randomBytes } from 'node:crypto';
import type { ChalkInstance } from 'chalk';
import { openUdp, realEnvironment } from '../adapters/udp/index.ts';
import {
  createServer,
  formatAddress,
  type ServerConfig,
  type ServerEvent,
  serverKeyOf,
} from '../engine/index.ts';
import { DROP_INTERVAL_MS, DropSummary, type DropTally } from './drop-summary.ts';
import { linkForIdleTimeout } from './idle-timeout.ts';
import { jsonLine } from './json-line.ts';
import { dropTallyJson, formatDropTally, formatServerEvent, serverEventJson } from './server-log.ts';
import { fingerprint, loadIdentity } from './state-dir.ts';

export interface ServerCommandOptions {
  readonly host: string;
  readonly port: number;
  /** The room password; undefined makes one up and prints it. */
  readonly password: string | undefined;
  readonly output: 'text' | 'json' | 'quiet';
  /** Overrides the link's idle timeout (how soon a silent member is announced as left). */
  readonly idleTimeoutMs: number | undefined;
  /** The room's limits given on the command line; the rest are the engine's defaults. */
  readonly limits?: ServerLimits;
  /** Where the server's identity is kept (see state-dir.ts). */
  readonly stateDir: string;
}

/** The limits `gaschat server` sets from its options. */
export type ServerLimits = Partial<
  Pick<
    ServerConfig,
    | 'memberCountMax'
    | 'sessionCountMax'
    | 'sessionsPerHostMax'
    | 'keyExchangesPerSecond'
    | 'keyExchangeBurst'
    | 'sayRatePerSecond'
    | 'sayBurst'
    | 'roomSayRatePerSecond'
    | 'roomSayBurst'
  >
>;

export interface Output {
  readonly chalk: ChalkInstance;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export interface RunningServer {
  readonly address: string;
  /**
   * Stops the room: tells every member, waits for their confirmations (about a second at most, the
   * server's `shutdownTimeoutMs`), then closes the socket. Calling it again waits for the same stop.
   */
  shutdown(): Promise<void>;
}

/** A password people can read aloud: 4 groups of 4 lowercase letters and digits. */
export function makeUpPassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const letters = [...randomBytes(16)].map((byte) => alphabet[byte % alphabet.length]);
  return [0, 4, 8, 12].map((start) => letters.slice(start, start + 4).join('')).join('-');
}

/** Runs a server on a real UDP socket and prints every action it takes. Rejects with a UdpError. */
export async function runServer(options: ServerCommandOptions, io: Output): Promise<RunningServer> {
  const identity = loadIdentity(options.stateDir);
  const endpoint = await openUdp({ host: options.host, port: options.port });
  const password = options.password ?? makeUpPassword();
  const serverKey = fingerprint(serverKeyOf(identity.secret));
  const server = createServer(
    {
      password,
      identitySecret: identity.secret,
      config: {
        ...options.limits,
        ...(options.idleTimeoutMs === undefined ? {} : { link: linkForIdleTimeout(options.idleTimeoutMs) }),
      },
    },
    realEnvironment(endpoint.port),
  );
  const address = formatAddress(endpoint.local);
  let dropped = 0;
  // A flood of hostile datagrams is a few lines per interval, not one per datagram (see drop-summary.ts).
  const drops = new DropSummary();
  const printTallies = (tallies: readonly DropTally[], now: number) => {
    for (const tally of tallies) {
      if (options.output === 'json') {
        io.out(dropTallyJson(tally, now));
      } else if (options.output === 'text') {
        io.out(formatDropTally(tally, io.chalk, now));
      }
    }
  };
  const tallyTimer = setInterval(() => {
    const now = Date.now();
    printTallies(drops.due(now), now);
  }, DROP_INTERVAL_MS);
  tallyTimer.unref();
  server.on('*', (event: ServerEvent) => {
    const now = Date.now();
    if (event.type === 'datagram.dropped') {
      dropped += 1;
      const { show, due } = drops.drop(event.reason, event.address, now);
      printTallies(due, now);
      if (!show) {
        return;
      }
    }
    if (options.output === 'json') {
      io.out(serverEventJson(event, now));
    } else if (options.output === 'text') {
      io.out(formatServerEvent(event, io.chalk, now, dropped));
    }
  });
  server.subscribe({
    error: (error) => {
      // A room that failed serves nobody: say so, close the socket and let the process end with 1.
      io.err(io.chalk.red(`gaschat server: internal error, stopping: ${String(error)}`));
      process.exitCode = 1;
      void endpoint.close();
    },
  });
  endpoint.onDatagram((datagram, from) => server.send({ type: 'datagram.received', datagram, from }));
  endpoint.onWarning((message) => {
    if (options.output === 'json') {
      io.out(jsonLine({ time: new Date().toISOString(), type: 'warning', message }));
    } else {
      io.err(io.chalk.yellow(`gaschat server: ${message}`));
    }
  });
  server.start();
  if (options.output === 'json') {
    io.out(
      jsonLine({
        time: new Date().toISOString(),
        type: 'listening',
        address,
        host: endpoint.local.host,
        port: endpoint.local.port,
        serverKey,
        ...(options.password === undefined ? { password } : {}),
      }),
    );
  } else if (options.output === 'quiet') {
    if (options.password === undefined) {
      // Quiet prints only errors, but a room nobody can enter is one: the made-up password is needed.
      io.err(`room password: ${password}`);
    }
  } else {
    io.out(`${io.chalk.bold('gaschat server')} listening on ${io.chalk.bold(address)} (UDP)`);
    io.out(
      `server key: ${io.chalk.bold(serverKey)}  (${identity.created ? 'new, kept in' : 'from'} ${identity.path})`,
    );
    if (options.password === undefined) {
      io.out(
        `room password: ${io.chalk.bold(password)}  (made up for this run; set one with --password or GASCHAT_PASSWORD)`,
      );
    }
    const config = server.getSnapshot().context.room.config;
    io.out(
      io.chalk.dim(
        `limits: ${config.memberCountMax} members, ${config.sessionsPerHostMax} sessions per address, ${config.keyExchangesPerSecond} logins a second, ${config.sayRatePerSecond} messages a second per member (${config.sayBurst} at once) and ${config.roomSayRatePerSecond} for the whole room (${config.roomSayBurst} at once)`,
      ),
    );
    io.out(io.chalk.dim('press Ctrl-C to stop'));
  }
  let stopped: Promise<void> | undefined;
  return {
    address,
    shutdown() {
      stopped ??= new Promise<void>((resolve) => {
        if (server.getSnapshot().status !== 'active') {
          resolve();
          return;
        }
        // The room's final state: every member confirmed, or the shutdown timeout passed.
        server.subscribe({ complete: () => resolve(), error: () => resolve() });
        server.send({ type: 'server.shutdown' });
      }).then(async () => {
        server.stop();
        clearInterval(tallyTimer);
        const now = Date.now();
        printTallies(drops.due(Number.POSITIVE_INFINITY), now);
        await endpoint.close();
      });
      return stopped;
    },
  };
}
