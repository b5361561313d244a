import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { SERVER_CONFIG_DEFAULT } from '../../engine/index.ts';
import { floodUnreadLog, wrongPasswordRate } from './abuse-bench.ts';
import { benchCrypto, benchPake, formatCryptoBench } from './crypto-bench.ts';
import { countRelayEvents } from './events-bench.ts';
import { chorus, honestUnderFlood } from './flood-bench.ts';
import { benchIdleSessions } from './idle-bench.ts';
import { LossyProxy, type ProxyFaults } from './lossy-proxy.ts';
import {
  BENCH_PASSWORD,
  benchGaschat,
  benchRaw,
  LEAVE_TIMEOUT_MS,
  type LoadShape,
  percentile,
  type RelayResult,
  WINDOW,
} from './relay-bench.ts';
import { type ServerThread, startServerThread } from './server-thread.ts';
import { benchSimulator } from './sim-bench.ts';

// `npm run bench`: prints tables of figures, side by side with a baseline measured in the same run.
// It never fails on a timing; it fails only if a load could not run at all. `--quick` runs small loads.
// Usage: npm run bench [-- --quick] [-- --only relay,latency,lossy,events,sim,idle,crypto,abuse]
// [-- --server-main PATH] (the abuse section's server: another tree's cli/main.ts, to compare)

const quick = process.argv.includes('--quick');
const CLIENT_COUNTS = quick ? [2, 5] : [2, 5, 10, 50];
/**
 * Deliveries each measured relay load aims at: enough that the load runs a second or more at the
 * server's steady rate, so that neither its first milliseconds nor the timer ends weigh in it.
 */
const DELIVERIES_TARGET = quick ? 2000 : 100_000;
/**
 * A client sends at most this many messages in one load. With 2 clients the target would take 50,000
 * each, the slowest load (gaschat carries some 30,000 to 45,000 deliveries/s there, warm); 20,000 each
 * (40,000 deliveries, one to two seconds) is as steady and keeps the section short.
 */
const MESSAGES_PER_CLIENT_MAX = 20_000;
/**
 * The warm-up run on each server thread before its measured load: the same kind, the same number of
 * clients, closed loop, about this many deliveries (at least 20 messages each). Every load starts a
 * fresh worker, a fresh V8 isolate, in which gaschat's large server code starts cold (interpreted,
 * optimised as it runs) while the tiny raw relay is hot almost at once; measured cold, short loads
 * understate gaschat. 20,000 deliveries take about a second with 2 clients, a fraction of one with 10
 * or more; a warm-up of 100,000 made no difference beyond the run-to-run noise.
 */
const WARM_UP_DELIVERIES = quick ? 2000 : 20_000;
/**
 * The paced (open-loop) latency load offers at most this many deliveries/s in all: a few percent of
 * what either relay carries on loopback (tens of thousands to a hundred thousand a second).
 */
const LIGHT_DELIVERIES_PER_SECOND = 4500;
/** ...and no client sends more often than this: with few clients the load is lighter still. */
const LIGHT_INTERVAL_MS_MIN = 20;
/** Each paced load lasts about this long (at least LIGHT_MESSAGES_MIN messages per client). */
const LIGHT_SECONDS = quick ? 1 : 5;
const LIGHT_MESSAGES_MIN = 10;
/** Messages per client of the closed-loop, one-in-flight latency load. */
const CLOSED_LOOP_MESSAGES = quick ? 50 : 300;
const LOSSY_CLIENT_COUNTS = quick ? [3] : [5, 10];
const IDLE_SESSIONS = quick ? 100 : 1000;
const IDLE_SECONDS = quick ? 3 : 10;

/**
 * The server's send queue for each member, in frames: a member that falls this far behind the room is
 * dropped (send-queue-full), by design.
 */
const SEND_QUEUE = SERVER_CONFIG_DEFAULT.link.sendQueueCountMax;
/**
 * A load whose messages in flight (clients × window) fill more than half of that queue sends fewer
 * messages in all than the queue holds (room left for a few notices), so that no member can be
 * overrun however far it lags. It matters with 50 clients: 800 in flight, and the bench's 50 clients,
 * all on one thread, fall behind a warm gaschat server; with 41 messages each (2,050 in all) members
 * were dropped within a second and the load could not complete. 20 each: 49,000 deliveries.
 */
const MESSAGES_IN_ALL_MAX = SEND_QUEUE - 24;

/**
 * Messages per client so that a load of `clientCount` clients (window WINDOW) delivers about
 * `deliveries` messages, within MESSAGES_PER_CLIENT_MAX and MESSAGES_IN_ALL_MAX.
 */
function messagesFor(clientCount: number, deliveries = DELIVERIES_TARGET): number {
  const perClientMax =
    clientCount * WINDOW > SEND_QUEUE / 2
      ? Math.floor(MESSAGES_IN_ALL_MAX / clientCount)
      : MESSAGES_PER_CLIENT_MAX;
  return Math.min(perClientMax, Math.max(20, Math.round(deliveries / (clientCount * (clientCount - 1)))));
}

/** The paced latency load for `clientCount` clients: how often each sends, and how many messages. */
function lightPacing(clientCount: number): { readonly intervalMs: number; readonly messageCount: number } {
  const intervalMs = Math.max(
    LIGHT_INTERVAL_MS_MIN,
    (clientCount * (clientCount - 1) * 1000) / LIGHT_DELIVERIES_PER_SECOND,
  );
  return {
    intervalMs,
    messageCount: Math.max(LIGHT_MESSAGES_MIN, Math.round((LIGHT_SECONDS * 1000) / intervalMs)),
  };
}

const ms = (value: number) => (Number.isNaN(value) ? '-' : value.toFixed(2));
/** Deliveries per second; a load cut short by the time limit is marked with a `*`. */
const perSecond = (run: RelayResult) =>
  `${Math.round(run.deliveries / run.seconds)}${run.completed ? '' : '*'}`;
const ratio = (ours: RelayResult, raw: RelayResult) =>
  (ours.deliveries / ours.seconds / (raw.deliveries / raw.seconds)).toFixed(2);

function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): void {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`| ${header.map(() => '---').join(' | ')} |`);
  for (const row of rows) {
    console.log(`| ${row.join(' | ')} |`);
  }
  console.log('');
}

/** Runs a bench load against the server listening on a port. */
type Load = (port: number) => Promise<RelayResult>;

/** The bench load of `kind`: gaschat clients, or plain sockets on the raw relay. */
function benchOf(kind: 'gaschat' | 'raw'): typeof benchGaschat {
  return kind === 'gaschat' ? benchGaschat : benchRaw;
}

/** The warm-up before a measured load of `clientCount` clients (see WARM_UP_DELIVERIES): direct, closed loop. */
function warmUpFor(kind: 'gaschat' | 'raw', clientCount: number): Load {
  return (port) => benchOf(kind)(port, clientCount, messagesFor(clientCount, WARM_UP_DELIVERIES));
}

/** How long a server may take to forget the sessions of clients that have left. */
const ROOM_EMPTY_WAIT_MS = 2000;

/**
 * Measures the server until it holds no session, or ROOM_EMPTY_WAIT_MS has passed; returns the last
 * count. A gaschat client closes when the GOODBYE comes, and the server forgets the session when that
 * client's acknowledgement of it arrives: a moment later, on a thread the client does not wait for.
 */
async function emptyRoom(server: ServerThread): Promise<number> {
  const startedAt = performance.now();
  for (;;) {
    const { sessionCount } = await server.measure();
    if (sessionCount === 0 || performance.now() - startedAt > ROOM_EMPTY_WAIT_MS) {
      return sessionCount;
    }
    await sleep(20);
  }
}

/**
 * A load against a server on its own thread, after `warmUp` (if given) on the same thread; with the
 * server thread's busy time during the measured load alone. The warm-up is its own argument because
 * a measured load may go another way (through the lossy proxy it builds) than the warm-up (direct).
 */
async function onThread(
  kind: 'gaschat' | 'raw',
  load: Load,
  warmUp?: Load,
): Promise<RelayResult & { readonly serverActiveMs: number }> {
  const server = await startServerThread({ kind, password: BENCH_PASSWORD });
  try {
    if (warmUp !== undefined) {
      await warmUp(server.port);
    }
    // The last measure here starts the measured window.
    const sessionCount = await emptyRoom(server);
    if (sessionCount !== 0) {
      throw new Error(
        `${kind} server still holds ${sessionCount} sessions ${ROOM_EMPTY_WAIT_MS} ms after the warm-up: ` +
          'its clients did not all leave, and the measured load would not start in an empty room',
      );
    }
    const result = await load(server.port);
    const { activeMs } = await server.measure();
    return { ...result, serverActiveMs: activeMs };
  } finally {
    await server.stop();
  }
}

/**
 * Lines under a table if the server dropped members during a load (which then ended, incomplete), or
 * some client's leave was not confirmed in time (it was stopped anyway: the next load on that server
 * would have found its session still there).
 */
function leaveNote(runs: readonly RelayResult[]): void {
  const dropped = runs.reduce((sum, run) => sum + run.membersDropped, 0);
  if (dropped > 0) {
    console.log(`(the server dropped ${dropped} members during the loads above; those loads ended there)\n`);
  }
  const unconfirmed = runs.reduce((sum, run) => sum + run.leavesUnconfirmed, 0);
  if (unconfirmed > 0) {
    console.log(
      `(${unconfirmed} clients' leave was not confirmed within ${LEAVE_TIMEOUT_MS / 1000} s; they were stopped anyway)\n`,
    );
  }
}

/** A load straight to a server on its own thread, warmed up first with the same number of clients. */
const direct = (kind: 'gaschat' | 'raw', clientCount: number, messageCount: number, shape?: LoadShape) =>
  onThread(
    kind,
    (port) => benchOf(kind)(port, clientCount, messageCount, shape),
    warmUpFor(kind, clientCount),
  );

/** The server's busy time per delivery, in µs. */
const cpuPerDelivery = (run: RelayResult & { readonly serverActiveMs: number }) =>
  (run.serverActiveMs * 1000) / Math.max(run.deliveries, 1);

async function relayOnLoopback(): Promise<void> {
  console.log(
    `## Relay on loopback (window ${WINDOW} messages per client; server on its own thread, warmed up first with at least ${WARM_UP_DELIVERIES} deliveries)\n`,
  );
  const rows: (string | number)[][] = [];
  const runs: RelayResult[] = [];
  for (const clientCount of CLIENT_COUNTS) {
    const messageCount = messagesFor(clientCount);
    const ours = await direct('gaschat', clientCount, messageCount);
    const raw = await direct('raw', clientCount, messageCount);
    runs.push(ours, raw);
    rows.push([
      clientCount,
      messageCount,
      perSecond(ours),
      ms(percentile(ours.latenciesMs, 0.5)),
      ms(percentile(ours.latenciesMs, 0.99)),
      perSecond(raw),
      ms(percentile(raw.latenciesMs, 0.5)),
      ms(percentile(raw.latenciesMs, 0.99)),
      ratio(ours, raw),
      cpuPerDelivery(ours).toFixed(1),
      cpuPerDelivery(raw).toFixed(1),
      (cpuPerDelivery(ours) / cpuPerDelivery(raw)).toFixed(2),
      `${ours.lost}/${ours.duplicated}`,
      `${raw.lost}/${raw.duplicated}`,
    ]);
  }
  table(
    [
      'clients',
      'msgs each',
      'gaschat deliveries/s',
      'p50 ms',
      'p99 ms',
      'raw deliveries/s',
      'raw p50 ms',
      'raw p99 ms',
      'gaschat/raw',
      'server µs/delivery',
      'raw µs/delivery',
      'CPU gaschat/raw',
      'gaschat lost/dup',
      'raw lost/dup',
    ],
    rows,
  );
  leaveNote(runs);
}

async function latencyAtLightLoad(): Promise<void> {
  console.log(
    '## Latency, send to delivery at every other member: paced light load, and closed loop with one message in flight\n',
  );
  console.log(
    `Paced (open loop): each client sends one message every interval whatever the confirmations, the clients' ` +
      `sends spread over the interval; at most ${LIGHT_DELIVERIES_PER_SECOND} deliveries/s in all, a light load. ` +
      'Closed loop, one in flight: each client sends its next message as soon as its last is confirmed, ' +
      'as fast as the round trip allows, so its figures include queueing. Each server warmed up first.\n',
  );
  const rows: (string | number)[][] = [];
  const runs: RelayResult[] = [];
  const row = (
    clientCount: number,
    label: string,
    messageCount: number,
    ours: RelayResult,
    raw: RelayResult,
  ) =>
    rows.push([
      clientCount,
      label,
      messageCount,
      ms(percentile(ours.latenciesMs, 0.5)),
      ms(percentile(ours.latenciesMs, 0.99)),
      ms(percentile(raw.latenciesMs, 0.5)),
      ms(percentile(raw.latenciesMs, 0.99)),
      perSecond(ours),
      perSecond(raw),
      `${ours.lost}/${raw.lost}`,
    ]);
  for (const clientCount of CLIENT_COUNTS) {
    const { intervalMs, messageCount } = lightPacing(clientCount);
    const pacedOurs = await direct('gaschat', clientCount, messageCount, { intervalMs });
    const pacedRaw = await direct('raw', clientCount, messageCount, { intervalMs });
    row(clientCount, `paced, 1 per ${intervalMs.toFixed(0)} ms each`, messageCount, pacedOurs, pacedRaw);
    const closedOurs = await direct('gaschat', clientCount, CLOSED_LOOP_MESSAGES, { window: 1 });
    const closedRaw = await direct('raw', clientCount, CLOSED_LOOP_MESSAGES, { window: 1 });
    row(clientCount, 'closed loop, one in flight', CLOSED_LOOP_MESSAGES, closedOurs, closedRaw);
    runs.push(pacedOurs, pacedRaw, closedOurs, closedRaw);
  }
  table(
    [
      'clients',
      'load',
      'msgs each',
      'gaschat p50 ms',
      'gaschat p99 ms',
      'raw p50 ms',
      'raw p99 ms',
      'gaschat deliveries/s',
      'raw deliveries/s',
      'lost gaschat/raw',
    ],
    rows,
  );
  leaveNote(runs);
}

async function throughLossyProxy(): Promise<void> {
  console.log(
    '## Through a lossy UDP proxy (2 % duplicated, 5 % delayed up to 10 ms, both ways; server warmed up first, direct)\n',
  );
  const rows: (string | number)[][] = [];
  const runs: RelayResult[] = [];
  for (const lossPercent of [10, 30]) {
    const faults: ProxyFaults = {
      lossPercent,
      duplicatePercent: 2,
      reorderPercent: 5,
      reorderDelayMsMax: 10,
    };
    for (const clientCount of LOSSY_CLIENT_COUNTS) {
      const messageCount = quick ? 50 : 200;
      // The warm-up goes direct to the server; only the measured load goes through the proxy.
      const viaProxy = async (kind: 'gaschat' | 'raw') =>
        onThread(
          kind,
          async (port) => {
            const proxy = await LossyProxy.start(
              { host: '127.0.0.1', port },
              faults,
              lossPercent * 100 + clientCount,
            );
            try {
              return await benchOf(kind)(proxy.port, clientCount, messageCount);
            } finally {
              proxy.close();
            }
          },
          warmUpFor(kind, clientCount),
        );
      const ours = await viaProxy('gaschat');
      const raw = await viaProxy('raw');
      runs.push(ours, raw);
      rows.push([
        `${lossPercent} %`,
        clientCount,
        messageCount,
        perSecond(ours),
        ms(percentile(ours.latenciesMs, 0.99)),
        `${ours.lost}/${ours.duplicated}`,
        ours.joinRetries,
        perSecond(raw),
        `${raw.lost}/${raw.duplicated}`,
      ]);
    }
  }
  table(
    [
      'loss',
      'clients',
      'msgs each',
      'gaschat goodput/s',
      'p99 ms',
      'gaschat lost/dup at app',
      'join retries',
      'raw goodput/s',
      'raw lost/dup at app',
    ],
    rows,
  );
  leaveNote(runs);
}

function simulator(): void {
  console.log('## Simulator (fixed scenario: 3 clients, 20 messages each, 10 virtual s, 10 % loss)\n');
  const result = benchSimulator();
  table(
    [
      'runs',
      'runs/s',
      'virtual s per real s',
      'runs/s with every check',
      'machine events per run',
      'of them the server',
      'clock steps per run',
    ],
    [
      [
        result.runs,
        result.runsPerSecond.toFixed(0),
        result.virtualPerReal.toFixed(0),
        result.checkedRunsPerSecond.toFixed(0),
        result.machineEventsPerRun.toFixed(0),
        result.serverMachineEventsPerRun.toFixed(0),
        result.clockStepsPerRun.toFixed(0),
      ],
    ],
  );
}

function machineEvents(): void {
  console.log(
    '## Machine events per relayed message (room of 10, default config, simulator without faults; deterministic)\n',
  );
  const result = countRelayEvents(10, 10);
  const byType = Object.entries(result.serverByType)
    .map(([type, count]) => `${count} ${type}`)
    .join(', ');
  table(
    [
      'members',
      'server events per message',
      'by type',
      'client events per message (all members)',
      'datagrams per message',
    ],
    [
      [
        result.memberCount,
        result.serverPerMessage,
        byType,
        result.clientsPerMessage,
        result.datagramsPerMessage,
      ],
    ],
  );
}

async function idleSessions(): Promise<void> {
  console.log(
    `## A server holding ${IDLE_SESSIONS} idle sessions (keepalives every 5 s; ${IDLE_SECONDS} s measured)\n`,
  );
  const result = await benchIdleSessions(IDLE_SESSIONS, IDLE_SECONDS);
  table(
    ['sessions', 'joined in s', 'heap per session', 'server thread busy', 'CPU per session'],
    [
      [
        result.sessions,
        result.joinSeconds.toFixed(1),
        `${(result.heapBytesPerSession / 1024).toFixed(1)} KiB`,
        `${(result.serverUtilization * 100).toFixed(2)} %`,
        `${result.cpuMicrosecondsPerSessionSecond.toFixed(1)} µs/s`,
      ],
    ],
  );
}

function cryptography(): void {
  console.log(
    '## Packet protection and key exchange (ChaCha20-Poly1305 seal + open per packet, 16-byte header as associated data; CPace per side)\n',
  );
  console.log(`${formatCryptoBench(benchCrypto())}\n`);
  const pake = benchPake();
  table(
    ['key exchange', 'initiator (client) ms', 'responder (server) ms', 'exchanges measured'],
    [
      [
        'CPace, ristretto255, SHA-512',
        pake.initiatorMs.toFixed(2),
        pake.responderMs.toFixed(2),
        pake.exchanges,
      ],
    ],
  );
}

console.log(`# gaschat benchmarks${quick ? ' (quick)' : ''}\n`);
console.log(
  '(a `*` after a rate: that load did not complete, as it hit the 120 s limit or the server dropped a member, and is reported as it stood)\n',
);
console.log(
  `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB\n`,
);
// `--only relay,latency` runs some sections (relay, latency, lossy, events, sim, idle, crypto); all by default.
const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex < 0 ? undefined : new Set((process.argv[onlyIndex + 1] ?? '').split(','));
/** The abuse section (abuse-bench.ts): a flood at a server whose log nobody reads, and wrong passwords. */
async function abuse(): Promise<void> {
  const serverMainIndex = process.argv.indexOf('--server-main');
  const serverMain = serverMainIndex < 0 ? undefined : process.argv[serverMainIndex + 1];
  console.log(
    `## Abuse: a real server process, its log on a pipe${serverMain === undefined ? '' : ` (server: ${serverMain})`}\n`,
  );
  const count = quick ? 10_000 : 100_000;
  const flood = await floodUnreadLog(count, serverMain);
  const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
  table(
    [
      'hostile datagrams',
      'log read',
      'server RSS before (MiB)',
      'after (MiB)',
      'server CPU µs per hostile datagram',
    ],
    [
      [
        flood.datagrams,
        'never',
        mib(flood.rssBeforeBytes),
        mib(flood.rssAfterBytes),
        flood.cpuUsPerDatagram.toFixed(1),
      ],
    ],
  );
  const durationMs = quick ? 2000 : 5000;
  const rows: (string | number)[][] = [];
  for (const [sockets, addresses] of [
    [1, 'one'],
    [64, 'one'],
    [64, 'each'],
  ] as const) {
    const rate = await wrongPasswordRate(sockets, durationMs, serverMain, 1000, addresses);
    rows.push([
      `${sockets} socket${sockets === 1 ? '' : 's'}, ${addresses === 'one' ? 'one address' : 'an address each'}`,
      rate.attemptsPerS.toFixed(0),
      rate.acceptsPerS.toFixed(0),
      rate.waitsPerS.toFixed(0),
    ]);
  }
  table(
    [
      'attacker without the password',
      'handshakes tried per s',
      'key exchanges answered per s (ACCEPTs)',
      'WAITs per s',
    ],
    rows,
  );
  console.log(
    'Honest members (2, a line every 100 ms each) while a third member floods. full-speed: a client that follows the protocol, saying as fast as it takes lines; window-ignored: 40 SAYs per datagram, 400 datagrams/s, put on its link directly.\n',
  );
  const floodRows: (string | number)[][] = [];
  for (const kind of ['none', 'full-speed', 'window-ignored'] as const) {
    const result = await honestUnderFlood(kind, quick ? 3000 : 10_000, 100, serverMain);
    floodRows.push([
      kind,
      result.honestLines,
      result.lost,
      result.p50Ms.toFixed(1),
      result.p99Ms.toFixed(1),
      result.maxMs.toFixed(1),
      result.floodShownPerS.toFixed(0),
      result.troubles.length === 0 ? 'none' : summariseTroubles(result.troubles),
    ]);
  }
  table(
    [
      'flooder',
      'honest lines',
      'lost',
      'honest p50 (ms)',
      'p99 (ms)',
      'max (ms)',
      "flooder's lines shown per s",
      'what happened',
    ],
    floodRows,
  );
  console.log(
    "Many honest members each saying a whole burst (40 lines) in the same instant, each from an address of its own: the members' bursts together are past a member's send queue (1,024 frames) from 26 members on.\n",
  );
  const chorusRows: (string | number)[][] = [];
  for (const memberCount of quick ? [32] : [16, 32, 48]) {
    const result = await chorus(memberCount, 40, 30_000, serverMain);
    chorusRows.push([
      memberCount,
      result.wanted,
      result.fewestSeen,
      result.fewestSeen === result.wanted ? (result.settledMs / 1000).toFixed(1) : 'not in 30 s',
      result.troubles.length === 0 ? 'none' : summariseTroubles(result.troubles),
    ]);
  }
  table(
    [
      'members',
      "lines each should see (everyone else's)",
      'fewest a member saw',
      'all seen by everyone in (s)',
      'what happened',
    ],
    chorusRows,
  );
}

/** Troubles as counts of their kinds: "banjir: reconnecting × 12". */
function summariseTroubles(troubles: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const trouble of troubles) {
    const kind = trouble.replace(/ \(.*$/, '');
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts].map(([kind, count]) => `${kind} × ${count}`).join('; ');
}

const sections: [string, () => unknown][] = [
  ['relay', relayOnLoopback],
  ['latency', latencyAtLightLoad],
  ['lossy', throughLossyProxy],
  ['events', machineEvents],
  ['sim', simulator],
  ['idle', idleSessions],
  ['crypto', cryptography],
  ['abuse', abuse],
];
for (const [name, section] of sections) {
  if (only === undefined || only.has(name)) {
    await section();
  }
}
