import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { type DatagramPort, formatAddress, type PeerAddress } from '../../engine/port.ts';
import { checkPort, lookupHost, normaliseHost } from './address.ts';
import { bindError, messageOf, systemCodeOf } from './udp-error.ts';

/** A bound UDP socket, seen the way the engine and the CLI need it. */
export interface UdpEndpoint {
  /**
   * Sends never throw: a failed send (unreachable host, ICMP error, socket closed) is reported through
   * onWarning and counted; the datagram is lost, which the protocol handles. The bytes are copied, so
   * the caller may reuse its buffer as soon as `send` returns.
   */
  readonly port: DatagramPort;
  /** The address actually bound (port resolved when 0 was asked for). IPv6 without brackets. */
  readonly local: PeerAddress;
  /**
   * Every datagram received, with its sender (IPv4-mapped IPv6 like ::ffff:1.2.3.4 normalised to
   * 1.2.3.4). One handler; setting again replaces it. Datagrams of any size are passed on (the engine's
   * decoder rejects those over its limit). A handler that throws is a bug and is not caught.
   */
  onDatagram(handler: (datagram: Uint8Array, from: PeerAddress) => void): void;
  /**
   * Runtime socket trouble after bind, as readable text (never an unhandled 'error' event, never a
   * crash). One handler; setting again replaces it. Warnings before a handler is set are not kept.
   */
  onWarning(handler: (message: string) => void): void;
  /**
   * A snapshot of the counters: datagrams the system accepted for sending, datagrams received (also
   * those that arrived before a handler was set), and failed sends (each also reported as a warning).
   */
  readonly stats: { readonly sent: number; readonly received: number; readonly sendErrors: number };
  /** Closes the socket; nothing is delivered afterwards and sends become warnings. Closing twice is fine. */
  close(): Promise<void>;
}

/**
 * The host to hand to the socket for a datagram to `target`, or undefined when a socket of this family
 * cannot reach it. An IPv6 socket bound to `::` reaches IPv4 peers through their IPv4-mapped address;
 * an IPv4 socket reaches an IPv4-mapped address through the IPv4 address inside it. Names (not
 * literals) are passed on for the socket to resolve.
 */
export function sendHostFor(socketFamily: 4 | 6, boundHost: string, target: string): string | undefined {
  const targetFamily = isIP(target);
  if (targetFamily === 0 || targetFamily === socketFamily) {
    return target;
  }
  if (socketFamily === 4) {
    const inner = normaliseHost(target);
    return inner === target ? undefined : inner;
  }
  return boundHost === '::' ? `::ffff:${target}` : undefined;
}

const SEND_ERROR_REASONS: Readonly<Record<string, string>> = {
  EMSGSIZE: 'the datagram is too large for the network',
  ENETUNREACH: 'the network is unreachable',
  EHOSTUNREACH: 'the host is unreachable',
  ECONNREFUSED: 'nobody is listening there',
  EINVAL: 'this socket cannot send to that address',
  EACCES: 'sending there is not permitted',
  EPERM: 'sending there is not permitted (a firewall may block it)',
  ENOBUFS: 'the system is out of send buffers',
  EAGAIN: 'the send buffer is full',
  ERR_SOCKET_BAD_PORT: 'that port is not a valid port number',
  ERR_SOCKET_DGRAM_NOT_RUNNING: 'the socket is closed',
};

function describeSendError(error: unknown): string {
  return SEND_ERROR_REASONS[systemCodeOf(error) ?? ''] ?? messageOf(error);
}

/**
 * Wraps a socket that is already bound (its 'listening' event has fired) as an endpoint. From here on
 * the socket's 'error' events become warnings.
 */
export function wrapBoundSocket(socket: Socket): UdpEndpoint {
  const bound = socket.address();
  const local: PeerAddress = { host: normaliseHost(bound.address), port: bound.port };
  const family = isIP(bound.address) === 6 ? 6 : 4;
  let onDatagram: (datagram: Uint8Array, from: PeerAddress) => void = () => {};
  let onWarning: (message: string) => void = () => {};
  let sent = 0;
  let received = 0;
  let sendErrors = 0;
  let closing: Promise<void> | undefined;

  const sendFailed = (datagram: Uint8Array, to: PeerAddress, reason: string): void => {
    sendErrors += 1;
    onWarning(`could not send ${datagram.byteLength} bytes to ${formatAddress(to)}: ${reason}`);
  };

  socket.on('error', (error) => {
    onWarning(`the UDP socket on ${formatAddress(local)} reported an error: ${messageOf(error)}`);
  });

  socket.on('message', (message, remote) => {
    if (closing !== undefined) {
      return;
    }
    received += 1;
    const datagram = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
    onDatagram(datagram, { host: normaliseHost(remote.address), port: remote.port });
  });

  const port: DatagramPort = {
    send(datagram, to) {
      if (closing !== undefined) {
        sendFailed(datagram, to, 'the socket is closed');
        return;
      }
      const host = sendHostFor(family, local.host, to.host);
      if (host === undefined) {
        const reason =
          family === 4
            ? `this socket is bound to IPv4 address ${local.host} and cannot reach IPv6 addresses`
            : `this socket is bound to IPv6 address ${local.host} and cannot reach IPv4 addresses`;
        sendFailed(datagram, to, reason);
        return;
      }
      // A copy: the socket reads the bytes on a later tick (after its address lookup), and the caller
      // may reuse its buffer as soon as send returns.
      const bytes = datagram.slice();
      try {
        socket.send(bytes, to.port, host, (error) => {
          if (error) {
            sendFailed(bytes, to, describeSendError(error));
          } else {
            sent += 1;
          }
        });
      } catch (error) {
        // A bad port or a socket closed underneath us throws at once rather than calling back.
        sendFailed(bytes, to, describeSendError(error));
      }
    },
  };

  return {
    port,
    local,
    onDatagram(handler) {
      onDatagram = handler;
    },
    onWarning(handler) {
      onWarning = handler;
    },
    get stats() {
      return { sent, received, sendErrors };
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        try {
          socket.close(() => resolve());
        } catch {
          resolve(); // already closed
        }
      });
      return closing;
    },
  };
}

function closeQuietly(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // Never bound, or already closed: nothing to release.
  }
}

/**
 * Binds a UDP socket on host:port (port 0 = any free port). host is an IPv4 or IPv6 literal or a name
 * (resolved with dns.lookup; 'localhost' works). udp4 or udp6 is chosen from the resolved family; an
 * IPv6 socket is opened with ipv6Only false, so that one bound to '::' is reached by IPv4 clients too
 * (where the system allows dual-stack sockets). Rejects with UdpError.
 */
export async function openUdp(options: {
  readonly host: string;
  readonly port: number;
}): Promise<UdpEndpoint> {
  const port = checkPort(options.port, 'port', true);
  const { address, family } = await lookupHost(options.host);
  const socket = createSocket(family === 6 ? { type: 'udp6', ipv6Only: false } : { type: 'udp4' });
  try {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        socket.off('listening', onListening);
        reject(error);
      };
      const onListening = (): void => {
        socket.off('error', onError);
        resolve();
      };
      socket.once('error', onError);
      socket.once('listening', onListening);
      socket.bind({ port, address });
    });
  } catch (error) {
    closeQuietly(socket);
    throw bindError({ host: options.host, address, port }, error);
  }
  return wrapBoundSocket(socket);
}
