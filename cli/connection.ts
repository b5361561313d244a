import { isIPv6 } from 'node:net';
import { openUdp, realEnvironment, resolveHost, type UdpEndpoint } from '../adapters/udp/index.ts';
import { type ClientActor, type ClientEvent, createClient, type PeerAddress } from '../engine/index.ts';

export interface ConnectOptions {
  readonly host: string;
  readonly serverPort: number;
  /** The client's own UDP port; 0 for any free one. */
  readonly clientPort: number;
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
  #actor: ClientActor | undefined;

  private constructor(endpoint: UdpEndpoint, server: PeerAddress) {
    this.endpoint = endpoint;
    this.server = server;
    endpoint.onDatagram((datagram, from) => this.#actor?.send({ type: 'datagram.received', datagram, from }));
  }

  /** Resolves the server's host and binds the client's socket. Rejects with a UdpError. */
  static async open(options: ConnectOptions): Promise<Connection> {
    const serverHost = await resolveHost(options.host);
    const endpoint = await openUdp({ host: localHostFor(serverHost), port: options.clientPort });
    return new Connection(endpoint, { host: serverHost, port: options.serverPort });
  }

  /** Starts a login: a new client actor on this socket, with `onEvent` seeing everything it emits. */
  login(name: string, password: string, onEvent: (event: ClientEvent) => void): ClientActor {
    this.#actor?.stop();
    const actor = createClient({ name, password, server: this.server }, realEnvironment(this.endpoint.port));
    actor.on('*', onEvent);
    this.#actor = actor;
    actor.start();
    return actor;
  }

  async close(): Promise<void> {
    this.#actor?.stop();
    await this.endpoint.close();
  }
}

/** Resolves when the login is settled: welcomed, refused, or closed without an answer. */
export function loginOutcome(actor: ClientActor): Promise<LoginOutcome> {
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

/** Resolves with the client's closing event. */
export function closedEvent(actor: ClientActor): Promise<Extract<ClientEvent, { type: 'closed' }>> {
  return new Promise((resolve) => {
    const subscription = actor.on('closed', (event) => {
      subscription.unsubscribe();
      resolve(event);
    });
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

/** The exit code for how a client closed: 0 after a clean leave, 3 when refused or the server is gone. */
export function exitCodeFor(reason: Extract<ClientEvent, { type: 'closed' }>['reason']): number {
  return reason === 'quit' ? 0 : 3;
}
