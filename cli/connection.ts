import { isIPv6 } from 'node:net';
import { openUdp, realEnvironment, resolveHost, type UdpEndpoint } from '../adapters/udp/index.ts';
import {
  type ClientActor,
  type ClientEvent,
  createClient,
  formatAddress,
  type PeerAddress,
} from '../engine/index.ts';
import { linkForIdleTimeout } from './idle-timeout.ts';
import { fingerprint, KnownServers } from './state-dir.ts';

export interface ConnectOptions {
  readonly host: string;
  readonly serverPort: number;
  /** The client's own UDP port; 0 for any free one. */
  readonly clientPort: number;
  /** Gives up on a silent server after this long (the link's idle timeout); the default otherwise. */
  readonly idleTimeoutMs?: number | undefined;
  /** The server's key fingerprint to insist on (`--server-key`); else the one remembered, if any. */
  readonly serverKey?: string | undefined;
  /** Where the servers joined before are remembered (trust on first use). */
  readonly stateDir: string;
}

/** How the client checks the server's identity on a login: against what, and from where it came. */
export interface ServerPin {
  /** The fingerprint expected, if any: from `--server-key`, or remembered from an earlier login. */
  readonly expected: string | undefined;
  readonly source: 'flag' | 'known' | 'none';
  readonly knownServers: KnownServers;
}

/** How a login attempt ended: in the room, or closed (refused, unreachable) with the engine's reason. */
export type LoginOutcome =
  | { readonly kind: 'welcome'; readonly event: Extract<ClientEvent, { type: 'welcome' }> }
  | {
      readonly kind: 'rejected';
      readonly event: Extract<ClientEvent, { type: 'rejected' }>;
    }
  | { readonly kind: 'closed'; readonly event: Extract<ClientEvent, { type: 'closed' }> };

/**
 * A client's socket and the server it talks to. Logins made on it share the socket: a refused login
 * can be tried again with another name or password, as the original's login window allowed.
 */
export class Connection {
  readonly endpoint: UdpEndpoint;
  readonly server: PeerAddress;
  readonly #idleTimeoutMs: number | undefined;
  readonly pin: ServerPin;
  #actor: ClientActor | undefined;

  private constructor(endpoint: UdpEndpoint, server: PeerAddress, options: ConnectOptions) {
    this.endpoint = endpoint;
    this.server = server;
    this.#idleTimeoutMs = options.idleTimeoutMs;
    const knownServers = new KnownServers(options.stateDir);
    const remembered = knownServers.get(formatAddress(server));
    this.pin =
      options.serverKey !== undefined
        ? { expected: options.serverKey, source: 'flag', knownServers }
        : { expected: remembered, source: remembered === undefined ? 'none' : 'known', knownServers };
    endpoint.onDatagram((datagram, from) => this.#actor?.send({ type: 'datagram.received', datagram, from }));
    const seen = new Set<string>();
    endpoint.onWarning((message) => {
      // Each kind of socket trouble is told once: a server that cannot be reached would repeat it.
      if (!seen.has(message)) {
        seen.add(message);
        this.#onWarning(message);
      }
    });
  }

  #onWarning: (message: string) => void = () => undefined;
  #onLogin: (name: string) => void = () => undefined;

  /** Called with the name of every login started on this connection (the process title shows it). */
  onLogin(handler: (name: string) => void): void {
    this.#onLogin = handler;
  }

  /** Where socket trouble (a send that failed, an ICMP error) is reported, each kind once. */
  onWarning(handler: (message: string) => void): void {
    this.#onWarning = handler;
  }

  /** Resolves the server's host and binds the client's socket. Rejects with a UdpError. */
  static async open(options: ConnectOptions): Promise<Connection> {
    const serverHost = await resolveHost(options.host);
    const endpoint = await openUdp({ host: localHostFor(serverHost), port: options.clientPort });
    return new Connection(endpoint, { host: serverHost, port: options.serverPort }, options);
  }

  /**
   * Starts a login: a new client actor on this socket, with `onEvent` seeing everything it emits from
   * the start, and `outcome` settling on the first of welcome, refusal or close (listened for before
   * the actor starts, so that even a name refused at once is seen).
   */
  login(
    name: string,
    password: string,
    onEvent: (event: ClientEvent) => void,
  ): { readonly actor: ClientActor; readonly outcome: Promise<LoginOutcome> } {
    this.#actor?.stop();
    this.#onLogin(name);
    const config =
      this.#idleTimeoutMs === undefined ? {} : { config: { link: linkForIdleTimeout(this.#idleTimeoutMs) } };
    const expected = this.pin.expected;
    const actor = createClient(
      {
        name,
        password,
        server: this.server,
        ...config,
        ...(expected === undefined
          ? {}
          : { expectServerKey: (key: Uint8Array) => fingerprint(key) === expected }),
      },
      realEnvironment(this.endpoint.port),
    );
    actor.on('*', (event) => onEvent(this.#explained(event)));
    const outcome = loginOutcome(actor).then((settled) => this.#settled(settled));
    this.#actor = actor;
    actor.start();
    return { actor, outcome };
  }

  /**
   * A refusal for the server's key, with what was expected and from where, and what to do; every other
   * event as it is.
   */
  #explained(event: ClientEvent): ClientEvent {
    if (event.type !== 'rejected' || event.reason !== 'server-key') {
      return event;
    }
    const where = formatAddress(this.server);
    const from =
      this.pin.source === 'flag'
        ? 'given with --server-key'
        : `remembered in ${this.pin.knownServers.path} from an earlier login`;
    return {
      ...event,
      message:
        `${event.message}. Expected ${this.pin.expected ?? '?'} for ${where} (${from}); ` +
        (this.pin.source === 'flag'
          ? 'check the fingerprint the server prints at start'
          : `if the server was given a new key on purpose, remove its line from ${this.pin.knownServers.path}`),
    };
  }

  /** A welcome from a server seen for the first time: its key is remembered (trust on first use). */
  #settled(outcome: LoginOutcome): LoginOutcome {
    if (outcome.kind === 'rejected') {
      const event = this.#explained(outcome.event);
      return event.type === 'rejected' ? { kind: 'rejected', event } : outcome;
    }
    if (outcome.kind === 'welcome' && this.pin.source === 'none' && outcome.event.serverKey !== '') {
      try {
        this.pin.knownServers.remember(
          formatAddress(this.server),
          fingerprint(Uint8Array.from(Buffer.from(outcome.event.serverKey, 'hex'))),
        );
      } catch (error) {
        // The login is done: a list that cannot be written costs the pin for next time, not the chat.
        this.#onWarning(
          `${error instanceof Error ? error.message : String(error)}; this server's key is not remembered`,
        );
      }
    }
    return outcome;
  }

  async close(): Promise<void> {
    this.#actor?.stop();
    await this.endpoint.close();
  }
}

/** Resolves when the login is settled: welcomed, refused, or closed without an answer. */
function loginOutcome(actor: ClientActor): Promise<LoginOutcome> {
  return new Promise((resolve) => {
    const subscriptions = [
      actor.on('welcome', (event) => settle({ kind: 'welcome', event })),
      actor.on('rejected', (event) => settle({ kind: 'rejected', event })),
      actor.on('closed', (event) => settle({ kind: 'closed', event })),
    ];
    function settle(outcome: LoginOutcome): void {
      for (const subscription of subscriptions) {
        subscription.unsubscribe();
      }
      resolve(outcome);
    }
  });
}

/**
 * The address a client binds: the loopback of the server's family when the server is on this machine
 * (nothing listens beyond it), the wildcard of that family otherwise.
 */
export function localHostFor(serverHost: string): string {
  if (isIPv6(serverHost)) {
    return serverHost === '::1' ? '::1' : '::';
  }
  return serverHost.startsWith('127.') ? '127.0.0.1' : '0.0.0.0';
}

/** The exit code when the server closed the room (it was stopped, and said so). */
export const EXIT_SERVER_CLOSED = 4;

/**
 * The exit code for how a client closed: 0 after a clean leave, 4 when the server closed the room,
 * 3 when refused or the server is gone.
 */
export function exitCodeFor(reason: Extract<ClientEvent, { type: 'closed' }>['reason']): number {
  switch (reason) {
    case 'quit':
      return 0;
    case 'server-closed':
      return EXIT_SERVER_CLOSED;
    case 'timeout':
    case 'unreachable':
    case 'rejected':
      return 3;
  }
}
