/**
 * gaschat's engine: the server and client machines of a chat room over UDP, without I/O. An adapter
 * supplies the environment (a datagram port, a clock, the time and random bytes) and feeds received
 * datagrams in as `datagram.received` events.
 *
 * @example A bot that answers every message (the environment comes from `adapters/udp` or `adapters/sim`):
 * ```ts
 * const bot = createClient({ name: 'bot', password: 'rahasia', server: { host: '127.0.0.1', port: 8080 } }, env);
 * bot.on('message', (m) => {
 *   if (!m.self) bot.send({ type: 'chat.say', text: `${m.from} said ${m.text.length} characters` });
 * });
 * bot.start();
 * ```
 */
import { type Actor, createActor } from 'xstate';
import { clientMachine } from './client/client-machine.ts';
import { type ClientPhase, type SayResult, sayVerdict } from './client/say.ts';
import {
  CLIENT_CONFIG_DEFAULT,
  type ClientConfig,
  type ConfigOverrides,
  resolveConfig,
  SERVER_CONFIG_DEFAULT,
  type ServerConfig,
} from './config.ts';
import type { Environment, PeerAddress } from './port.ts';
import { passwordBytes } from './secure/handshake-crypto.ts';
import { REAL_CRYPTO } from './secure/suite.ts';
import { roomMachine } from './server/room-machine.ts';

export type { ClientErrorCode, ClientEvent, CloseReason } from './client/client-events.ts';
export { describeRefusal } from './client/client-events.ts';
export type { ClientCommand, ClientContext } from './client/client-machine.ts';
export type { SayResult } from './client/say.ts';
export { decodeFrames, decodePacket, encodePacket } from './codec/codec.ts';
export * from './codec/frames.ts';
export type { ClientConfig, ConfigOverrides, ServerConfig } from './config.ts';
export { CLIENT_CONFIG_DEFAULT, SERVER_CONFIG_DEFAULT } from './config.ts';
export { toHex } from './crypto.ts';
export {
  clientSession,
  serverHighWater,
  serverSessionCount,
  serverSessionStats,
  type TableVisitor,
  visitClientTables,
  visitServerTables,
} from './introspection.ts';
export { type LinkStats, type LinkTableSizes, linkTableBounds } from './link/link.ts';
export { LINK_CONFIG_DEFAULT, type LinkConfig } from './link/link-config.ts';
export { nameKey, utf8ByteLength, validateName, validateText } from './names.ts';
export {
  type Clock,
  type DatagramPort,
  type DatagramReceived,
  type Environment,
  formatAddress,
  type PeerAddress,
} from './port.ts';
export type { Aead } from './secure/aead.ts';
export type { CryptoSuite, KeyExchange, SignatureScheme } from './secure/suite.ts';
export { REAL_CRYPTO } from './secure/suite.ts';
export type { RoomEvent, ServerCommand } from './server/room-machine.ts';
export type { DropReason, ServerEvent, ServerStats } from './server/server-events.ts';
export type { SessionDeath } from './server/session.ts';
export { COMBINING_MARK_RUN_MAX, sanitizeForTerminal } from './terminal-text.ts';
export { clientMachine, roomMachine };

export interface ServerOptions {
  /** The room password: members and server prove to each other they know it (CPace), never sending it. */
  readonly password: string;
  /**
   * The server's identity: a 32-byte secret seed (Ed25519). Keep it across restarts (the command keeps
   * it in its state directory) so that clients can pin the server and recognise its resets. Without it,
   * a new identity is drawn from the environment's random source.
   */
  readonly identitySecret?: Uint8Array;
  readonly config?: ConfigOverrides<ServerConfig>;
}

export interface ClientOptions {
  readonly name: string;
  readonly password: string;
  readonly server: PeerAddress;
  /**
   * Whether the server's identity key (the CHALLENGE's, which the ACCEPT's signature proves) is the one
   * expected: pin a server by passing a check against its fingerprint. A CHALLENGE with another key is
   * ignored; if nothing else answers, the client is rejected with `server-key`. Any key when absent.
   */
  readonly expectServerKey?: (serverKey: Uint8Array) => boolean;
  readonly config?: ConfigOverrides<ClientConfig>;
}

/** The identity key (Ed25519 public key) of a secret seed: what a server's CHALLENGE carries. */
export function serverKeyOf(identitySecret: Uint8Array, env?: Pick<Environment, 'crypto'>): Uint8Array {
  return (env?.crypto ?? REAL_CRYPTO).signature.publicKey(identitySecret);
}

/** Bytes of an identity secret seed. */
export const IDENTITY_SECRET_BYTES = 32;

export type ServerActor = Actor<typeof roomMachine>;
export type ClientActor = Actor<typeof clientMachine>;

/**
 * Creates the server actor (not yet started). Feed it datagrams with
 * `server.send({ type: 'datagram.received', datagram, from })`; read what it does with
 * `server.on('*', (event) => …)`.
 */
export function createServer(options: ServerOptions, env: Environment): ServerActor {
  const config = resolveConfig(SERVER_CONFIG_DEFAULT, options.config);
  const secrets = {
    password: passwordBytes(options.password),
    identitySecret: options.identitySecret ?? env.random(IDENTITY_SECRET_BYTES),
  };
  return createActor(roomMachine, { clock: env.clock, input: { config, secrets, env } });
}

/**
 * Creates a client actor (not yet started); starting it begins the handshake. A name that is not
 * valid (1 to 32 letters, digits, `_` or `-`) is rejected at once with `bad-name`, before any datagram.
 */
export function createClient(options: ClientOptions, env: Environment): ClientActor {
  const config = resolveConfig(CLIENT_CONFIG_DEFAULT, options.config);
  return createActor(clientMachine, {
    clock: env.clock,
    input: {
      name: options.name,
      expectServerKey: options.expectServerKey,
      password: passwordBytes(options.password),
      server: options.server,
      config,
      env,
    },
  });
}

/**
 * Asks the client to send `text` and says whether it took it: `{ ok: true }` once it is queued (the
 * client's `message` event with `self: true` confirms it later), or why not (`text-too-long`,
 * `send-queue-full`, `not-open`, …), the same verdict the client emits as an `error` event.
 *
 * @example
 * const result = say(client, 'halo');
 * if (!result.ok) console.error(result.message);
 */
export function say(client: ClientActor, text: string): SayResult {
  const snapshot = client.getSnapshot();
  const phase: ClientPhase =
    snapshot.status !== 'active'
      ? 'closed'
      : snapshot.matches('joined')
        ? 'joined'
        : snapshot.matches('leaving')
          ? 'leaving'
          : 'handshaking';
  const verdict = sayVerdict(snapshot.context, phase, text);
  if (phase !== 'closed') {
    // The machine comes to the same verdict, and emits it as an error event if it refuses.
    client.send({ type: 'chat.say', text });
  }
  return verdict;
}
