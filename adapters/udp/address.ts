import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { lookupError, UdpError } from './udp-error.ts';

export const PORT_MAX = 65_535;

/** A value from user input as it reads in a message: strings quoted, numbers as written. */
function showValue(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return String(value);
  }
  return value === undefined || value === null ? 'missing' : `a ${typeof value}`;
}

/**
 * Checks a port number from user input: a whole number from 0 (only when `allowZero`) to 65535, given
 * as a number or as a string of decimal digits. `what` names it in the message (`--port`). Throws a
 * {@link UdpError} `bad-port` naming the value.
 */
export function checkPort(value: unknown, what: string, allowZero: boolean): number {
  const min = allowZero ? 0 : 1;
  const port =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && /^\d+$/.test(value)
        ? Number(value)
        : Number.NaN;
  if (Number.isInteger(port) && port >= min && port <= PORT_MAX) {
    return port;
  }
  const hint = allowZero ? ' (0 picks any free port)' : '';
  throw new UdpError(
    'bad-port',
    `${what} is ${showValue(value)}; give a whole number from ${min} to ${PORT_MAX}${hint}`,
  );
}

const IPV4_MAPPED = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

/** Writes an IPv4-mapped IPv6 address (`::ffff:1.2.3.4`) as the IPv4 address it carries; others as given. */
export function normaliseHost(host: string): string {
  return IPV4_MAPPED.exec(host)?.[1] ?? host;
}

/** `[::1]` as people write it in URLs becomes `::1`. */
function withoutBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

export interface ResolvedHost {
  readonly address: string;
  readonly family: 4 | 6;
}

/**
 * Resolves a host name or IP literal (IPv6 with or without brackets) with `dns.lookup`, keeping the
 * first result. IPv4-mapped IPv6 addresses come back as IPv4.
 */
export async function lookupHost(host: string): Promise<ResolvedHost> {
  const bare = withoutBrackets(host.trim());
  if (bare === '') {
    throw new UdpError('host-not-found', 'no host was given; give a host name or an IP address');
  }
  let address: string;
  try {
    // A literal needs no lookup, but dns.lookup answers it at once without asking a name server.
    address = normaliseHost((await lookup(bare)).address);
  } catch (error) {
    throw lookupError(host, error);
  }
  return { address, family: isIP(address) === 6 ? 6 : 4 };
}

/**
 * Resolves a host name or literal to the address a client sends to (`dns.lookup`, first result).
 * Rejects with a {@link UdpError} `host-not-found` naming the host.
 */
export async function resolveHost(host: string): Promise<string> {
  return (await lookupHost(host)).address;
}
