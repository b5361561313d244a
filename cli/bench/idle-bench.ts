import { setTimeout as sleep } from 'node:timers/promises';
import { openUdp, realEnvironment, type UdpEndpoint } from '../../adapters/udp/index.ts';
import { type ClientActor, createClient } from '../../engine/index.ts';
import { BENCH_PASSWORD } from './relay-bench.ts';
import { startServerThread } from './server-thread.ts';

/** Clients that join at once. */
const JOIN_BATCH = 25;

export interface IdleBenchResult {
  readonly sessions: number;
  readonly joinSeconds: number;
  readonly heapBytesPerSession: number;
  /** The server thread's busy share while the sessions idle (keepalives only). */
  readonly serverUtilization: number;
  readonly cpuMicrosecondsPerSessionSecond: number;
}

/** A server thread holding `count` idle members, each a client with its own socket in this thread. */
export async function benchIdleSessions(count: number, idleSeconds: number): Promise<IdleBenchResult> {
  const server = await startServerThread({
    kind: 'gaschat',
    password: BENCH_PASSWORD,
    memberCountMax: count,
  });
  const before = await server.measure();
  const clients: { actor: ClientActor; endpoint: UdpEndpoint }[] = [];
  const joinStartedAt = performance.now();
  const join = async (index: number) => {
    const endpoint = await openUdp({ host: '127.0.0.1', port: 0 });
    const actor = createClient(
      { name: `idle${index}`, password: BENCH_PASSWORD, server: { host: '127.0.0.1', port: server.port } },
      realEnvironment(endpoint.port),
    );
    endpoint.onDatagram((datagram, from) => actor.send({ type: 'datagram.received', datagram, from }));
    const welcomed = new Promise<void>((resolve, reject) => {
      actor.on('welcome', () => resolve());
      actor.on('closed', (event) => reject(new Error(`idle${index} could not join: ${event.message}`)));
    });
    actor.start();
    await welcomed;
    clients.push({ actor, endpoint });
  };
  // Joins go in batches, as people arrive at a busy room: each batch's notices share packets.
  for (let first = 0; first < count; first += JOIN_BATCH) {
    await Promise.all(
      Array.from({ length: Math.min(JOIN_BATCH, count - first) }, (_, offset) => join(first + offset)),
    );
  }
  const joinSeconds = (performance.now() - joinStartedAt) / 1000;
  // Let the join notices drain, then measure a quiet stretch in which only keepalives run.
  await sleep(3000);
  await server.measure();
  await sleep(idleSeconds * 1000);
  const idle = await server.measure();
  for (const { actor, endpoint } of clients) {
    actor.stop();
    await endpoint.close();
  }
  await server.stop();
  return {
    sessions: idle.sessionCount,
    joinSeconds,
    heapBytesPerSession: (idle.heapUsedBytes - before.heapUsedBytes) / count,
    serverUtilization: idle.utilization,
    cpuMicrosecondsPerSessionSecond: (idle.utilization * 1e6) / count,
  };
}
