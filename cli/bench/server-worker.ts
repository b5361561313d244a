import { createSocket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { openUdp, realEnvironment } from '../../adapters/udp/index.ts';
import {
  createServer,
  formatAddress,
  SAYS_UNCONFIRMED_MAX,
  SERVER_CONFIG_DEFAULT,
  serverSessionCount,
} from '../../engine/index.ts';

/** What the benchmark asks its server thread to run. */
export interface ServerWorkerData {
  readonly kind: 'gaschat' | 'raw';
  readonly password: string;
  /** Room limits above the defaults, for the many-sessions benchmark. */
  readonly memberCountMax?: number;
}

/** Messages the server thread answers. */
export type ServerWorkerRequest = { readonly type: 'measure' } | { readonly type: 'stop' };
export interface ServerWorkerMeasure {
  readonly type: 'measure';
  /** Bytes of this thread's heap in use after a full garbage collection. */
  readonly heapUsedBytes: number;
  /** The share of time this thread's event loop was busy since the last measure (0 to 1). */
  readonly utilization: number;
  /** Milliseconds this thread's event loop was busy since the last measure: the server's CPU time. */
  readonly activeMs: number;
  readonly sessionCount: number;
}

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const data = workerData as ServerWorkerData;
const port = parentPort;
if (port === null) {
  throw new Error('server-worker.ts runs as a worker thread');
}

let sessionCount = (): number => 0;
let stop: () => Promise<void>;

if (data.kind === 'gaschat') {
  const endpoint = await openUdp({ host: '127.0.0.1', port: 0 });
  const memberCountMax = data.memberCountMax ?? SERVER_CONFIG_DEFAULT.memberCountMax;
  const sessionCountMax = 2 * memberCountMax;
  // What is measured is the relay, not its limits (the abuse section measures those): every client
  // runs on 127.0.0.1, so the quota of sessions per address and the login budget are raised past the
  // load, and the pacing (each member's and the room's) past any rate a load here offers.
  const config = {
    memberCountMax,
    sessionCountMax,
    sessionsPerHostMax: sessionCountMax,
    keyExchangesPerSecond: 100_000,
    keyExchangeBurst: 100_000,
    unprovenPerHostBurst: 100_000,
    sayRatePerSecond: 10_000_000,
    sayBurst: SAYS_UNCONFIRMED_MAX,
    roomSayRatePerSecond: 10_000_000,
  };
  const server = createServer({ password: data.password, config }, realEnvironment(endpoint.port));
  endpoint.onDatagram((datagram, from) => server.send({ type: 'datagram.received', datagram, from }));
  server.start();
  sessionCount = () => serverSessionCount(server);
  stop = async () => {
    server.stop();
    await endpoint.close();
  };
  port.postMessage({ type: 'listening', port: endpoint.local.port });
} else {
  // The ceiling: a relay with no protocol at all. A datagram "R" registers its sender and "Q" forgets
  // it (each echoed, as its confirmation: a load that follows another on this relay must not be sent
  // to the last one's closed sockets); every other datagram goes to every registered address, its
  // sender included (its echo is its confirmation).
  const socket = createSocket('udp4');
  const members = new Map<string, { address: string; port: number }>();
  socket.on('message', (message, remote) => {
    if (message.length === 1 && (message[0] === 0x52 || message[0] === 0x51)) {
      const key = formatAddress({ host: remote.address, port: remote.port });
      if (message[0] === 0x52) {
        members.set(key, { address: remote.address, port: remote.port });
      } else {
        members.delete(key);
      }
      socket.send(message, remote.port, remote.address);
      return;
    }
    for (const member of members.values()) {
      socket.send(message, member.port, member.address);
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  sessionCount = () => members.size;
  stop = () => new Promise((resolve) => socket.close(() => resolve()));
  port.postMessage({ type: 'listening', port: socket.address().port });
}

let lastUtilization = performance.eventLoopUtilization();
port.on('message', (request: ServerWorkerRequest) => {
  if (request.type === 'measure') {
    const { utilization, active } = performance.eventLoopUtilization(
      performance.eventLoopUtilization(),
      lastUtilization,
    );
    // The collection is the measure's own work: it counts in neither this window nor the next.
    collectGarbage();
    lastUtilization = performance.eventLoopUtilization();
    const measure: ServerWorkerMeasure = {
      type: 'measure',
      heapUsedBytes: getHeapStatistics().used_heap_size,
      utilization,
      activeMs: active,
      sessionCount: sessionCount(),
    };
    port.postMessage(measure);
  } else {
    void stop().then(() => port.close());
  }
});
