/** Why opening or resolving failed. */
export type UdpErrorCode =
  | 'port-in-use'
  | 'permission-denied'
  | 'address-not-available'
  | 'host-not-found'
  | 'bad-port'
  | 'socket-error';

/**
 * A failure to open a socket, resolve a host or accept a port number. The message is one sentence a
 * person can act on: it names the value and says what to do. The system error, if any, is the `cause`.
 */
export class UdpError extends Error {
  override readonly name = 'UdpError';
  readonly code: UdpErrorCode;

  constructor(code: UdpErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** The `code` of a Node system error (`EADDRINUSE`, `ENOTFOUND`, `ERR_SOCKET_BAD_PORT`…), if it has one. */
export function systemCodeOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Error codes of `dns.lookup` (getaddrinfo) that mean the name has no address. */
const HOST_NOT_FOUND_CODES: ReadonlySet<string> = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME']);

/** What was being bound: the host as given, the address it resolved to, and the port. */
export interface BindTarget {
  readonly host: string;
  readonly address: string;
  readonly port: number;
}

/** The host as given when it is the address itself (`::1`, `[::1]`), else both: `localhost (127.0.0.1)`. */
function describeHost(target: BindTarget): string {
  const bare = target.host.trim().replace(/^\[(.*)\]$/, '$1');
  return bare === target.address ? target.address : `${target.host} (${target.address})`;
}

/** `port 8080 on localhost (127.0.0.1)`, or `any free port on 127.0.0.1` for port 0. */
function describeBindTarget(target: BindTarget): string {
  const where = describeHost(target);
  return target.port === 0 ? `any free port on ${where}` : `port ${target.port} on ${where}`;
}

/** Turns a failed `dns.lookup` of `host` into a {@link UdpError} `host-not-found` naming the host. */
export function lookupError(host: string, error: unknown): UdpError {
  const code = systemCodeOf(error);
  const message =
    code === 'EAI_AGAIN'
      ? `host "${host}" could not be resolved now (the name server did not answer); check the network or give an IP address`
      : HOST_NOT_FOUND_CODES.has(code ?? '')
        ? `host "${host}" was not found; check the name or give an IP address`
        : `host "${host}" could not be resolved (${messageOf(error)}); check the name or give an IP address`;
  return new UdpError('host-not-found', message, { cause: error });
}

/** Turns the error a socket emitted while binding into a {@link UdpError}. */
export function bindError(target: BindTarget, error: unknown): UdpError {
  const code = systemCodeOf(error);
  const what = describeBindTarget(target);
  switch (code) {
    case 'EADDRINUSE':
      return new UdpError(
        'port-in-use',
        `${what} is already in use; stop the program using it or choose another port`,
        { cause: error },
      );
    case 'EACCES':
    case 'EPERM':
      return new UdpError(
        'permission-denied',
        target.port > 0 && target.port < 1024
          ? `${what} may not be opened by this user (ports below 1024 need administrator rights); choose a port from 1024 up`
          : `${what} may not be opened by this user; check the system's security policy or choose another port`,
        { cause: error },
      );
    case 'EADDRNOTAVAIL':
    case 'EINVAL':
      return new UdpError(
        'address-not-available',
        `address ${describeHost(target)} does not belong to this machine; give one of its own addresses, or 0.0.0.0 (:: for IPv6) for all of them`,
        { cause: error },
      );
    default:
      if (code !== undefined && HOST_NOT_FOUND_CODES.has(code)) {
        return lookupError(target.host, error);
      }
      return new UdpError('socket-error', `could not open a UDP socket on ${what}: ${messageOf(error)}`, {
        cause: error,
      });
  }
}
