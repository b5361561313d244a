/**
 * The real network for the engine: UDP sockets over node:dgram, name resolution, port checks and the
 * real clock and random source.
 *
 * @example A server on port 8080 of every IPv4 and IPv6 address:
 * ```ts
 * const endpoint = await openUdp({ host: '::', port: 8080 });
 * const server = createServer({ password: 'rahasia' }, realEnvironment(endpoint.port));
 * endpoint.onDatagram((datagram, from) => server.send({ type: 'datagram.received', datagram, from }));
 * endpoint.onWarning((message) => console.error(message));
 * server.start();
 * ```
 */
export { checkPort, resolveHost } from './address.ts';
export { openUdp, type UdpEndpoint } from './endpoint.ts';
export { realEnvironment } from './environment.ts';
export { UdpError, type UdpErrorCode } from './udp-error.ts';
