import { cpus, totalmem } from 'node:os';
import { countRelayEvents } from './events-bench.ts';
import { benchIdleSessions } from './idle-bench.ts';
import { LossyProxy, type ProxyFaults } from './lossy-proxy.ts';
import {
  BENCH_PASSWORD,
  benchGaschat,
  benchRaw,
  percentile,
  type RelayResult,
  WINDOW,
} from './relay-bench.ts';
import { startServerThread } from './server-thread.ts';
import { benchSimulator } from './sim-bench.ts';

// `npm run bench`: prints tables of figures, side by side with a baseline measured in the same run.
// It never fails on a timing; it fails only if a load could not run at all. `--quick` runs small loads.
// Usage: npm run bench [-- --quick] [-- --only relay,latency,lossy,events,sim,idle]

const quick = process.argv.includes('--quick');
const CLIENT_COUNTS = quick ? [2, 5] : [2, 5, 10, 50];
const DELIVERIES_TARGET = quick ? 2000 : 20_000;
const LOSSY_CLIENT_COUNTS = quick ? [3] : [5, 10];
const IDLE_SESSIONS = quick ? 100 : 1000;
const IDLE_SECONDS = quick ? 3 : 10;

/** Messages per client so that every load delivers about the same number of messages. */
function messagesFor(clientCount: number): number {
  return Math.max(20, Math.round(DELIVERIES_TARGET / (clientCount * (clientCount - 1))));
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

/** A load against a server on its own thread; with the server thread's busy time during the load. */
async function onThread(
  kind: 'gaschat' | 'raw',
  load: (port: number) => Promise<RelayResult>,
): Promise<RelayResult & { readonly serverActiveMs: number }> {
  const server = await startServerThread({ kind, password: BENCH_PASSWORD });
  try {
    await server.measure();
    const result = await load(server.port);
    const { activeMs } = await server.measure();
    return { ...result, serverActiveMs: activeMs };
  } finally {
    await server.stop();
  }
}

/** The server's busy time per delivery, in µs. */
const cpuPerDelivery = (run: RelayResult & { readonly serverActiveMs: number }) =>
  (run.serverActiveMs * 1000) / Math.max(run.deliveries, 1);

async function relayOnLoopback(): Promise<void> {
  console.log(`## Relay on loopback (window ${WINDOW} messages per client; server on its own thread)\n`);
  const rows: (string | number)[][] = [];
  for (const clientCount of CLIENT_COUNTS) {
    const messageCount = messagesFor(clientCount);
    const ours = await onThread('gaschat', (port) => benchGaschat(port, clientCount, messageCount));
    const raw = await onThread('raw', (port) => benchRaw(port, clientCount, messageCount));
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
}

async function latencyAtLightLoad(): Promise<void> {
  console.log(
    '## Latency at light load (one message in flight per client; send to delivery at the others)\n',
  );
  const rows: (string | number)[][] = [];
  const messageCount = quick ? 50 : 300;
  for (const clientCount of CLIENT_COUNTS) {
    const ours = await onThread('gaschat', (port) => benchGaschat(port, clientCount, messageCount, 1));
    const raw = await onThread('raw', (port) => benchRaw(port, clientCount, messageCount, 1));
    rows.push([
      clientCount,
      messageCount,
      ms(percentile(ours.latenciesMs, 0.5)),
      ms(percentile(ours.latenciesMs, 0.99)),
      ms(percentile(raw.latenciesMs, 0.5)),
      ms(percentile(raw.latenciesMs, 0.99)),
      perSecond(ours),
      perSecond(raw),
    ]);
  }
  table(
    [
      'clients',
      'msgs each',
      'gaschat p50 ms',
      'gaschat p99 ms',
      'raw p50 ms',
      'raw p99 ms',
      'gaschat deliveries/s',
      'raw deliveries/s',
    ],
    rows,
  );
}

async function throughLossyProxy(): Promise<void> {
  console.log('## Through a lossy UDP proxy (2 % duplicated, 5 % delayed up to 10 ms, both ways)\n');
  const rows: (string | number)[][] = [];
  for (const lossPercent of [10, 30]) {
    const faults: ProxyFaults = {
      lossPercent,
      duplicatePercent: 2,
      reorderPercent: 5,
      reorderDelayMsMax: 10,
    };
    for (const clientCount of LOSSY_CLIENT_COUNTS) {
      const messageCount = quick ? 50 : 200;
      const viaProxy = async (kind: 'gaschat' | 'raw') =>
        onThread(kind, async (port) => {
          const proxy = await LossyProxy.start(
            { host: '127.0.0.1', port },
            faults,
            lossPercent * 100 + clientCount,
          );
          try {
            return kind === 'gaschat'
              ? await benchGaschat(proxy.port, clientCount, messageCount)
              : await benchRaw(proxy.port, clientCount, messageCount);
          } finally {
            proxy.close();
          }
        });
      const ours = await viaProxy('gaschat');
      const raw = await viaProxy('raw');
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

console.log(`# gaschat benchmarks${quick ? ' (quick)' : ''}\n`);
console.log('(a `*` after a rate: that load hit the 120 s limit and is reported as it stood)\n');
console.log(
  `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB\n`,
);
// `--only relay,latency` runs some sections (relay, latency, lossy, events, sim, idle); all by default.
const onlyIndex = process.argv.indexOf('--only');
const only = onlyIndex < 0 ? undefined : new Set((process.argv[onlyIndex + 1] ?? '').split(','));
const sections: [string, () => unknown][] = [
  ['relay', relayOnLoopback],
  ['latency', latencyAtLightLoad],
  ['lossy', throughLossyProxy],
  ['events', machineEvents],
  ['sim', simulator],
  ['idle', idleSessions],
];
for (const [name, section] of sections) {
  if (only === undefined || only.has(name)) {
    await section();
  }
}
