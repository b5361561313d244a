import { setTimeout as sleep } from 'node:timers/promises';
import { openUdp, realEnvironment } from './adapters/udp/index.ts';
import { startServerProcess } from './cli/bench/abuse-bench.ts';
import { type ClientEvent, createClient } from './engine/index.ts';

const K = Number(process.argv[2] ?? 32);
const B = Number(process.argv[3] ?? 40);
const server = await startServerProcess({
  readLog: true,
  ...(process.argv[4] ? { serverMain: process.argv[4] } : {}),
});
const troubles: string[] = [];
const got = new Map<string, number>();
const members: { name: string; actor: ReturnType<typeof createClient>; close: () => Promise<void> }[] = [];
for (let i = 0; i < K; i++) {
  const name = `m${i}`;
  const endpoint = await openUdp({ host: `127.0.0.${2 + i}`, port: 0 });
  const actor = createClient(
    { name, password: 'abuse-bench', server: server.address },
    realEnvironment(endpoint.port),
  );
  endpoint.onDatagram((datagram, from) => actor.send({ type: 'datagram.received', datagram, from }));
  const welcomed = new Promise<void>((res, rej) =>
    actor.on('*', (e: ClientEvent) => {
      if (e.type === 'welcome') res();
      else if (e.type === 'closed') {
        troubles.push(`${name} closed ${e.message}`);
        rej(new Error(e.message));
      } else if (e.type === 'reconnecting') troubles.push(`${name} reconnecting ${e.message}`);
      else if (e.type === 'left' && e.reason === 'timeout')
        troubles.push(`${name} saw ${e.name} leave (${(e as { cause?: string }).cause ?? ''})`);
      else if (e.type === 'message' && !e.self) got.set(name, (got.get(name) ?? 0) + 1);
    }),
  );
  actor.start();
  await welcomed;
  members.push({ name, actor, close: () => endpoint.close() });
  await sleep(20);
}
console.log('joined', K);
for (const m of members)
  for (let j = 0; j < B; j++) m.actor.send({ type: 'chat.say', text: `${m.name} ${j} ${'y'.repeat(60)}` });
const want = (K - 1) * B;
const t0 = performance.now();
while (performance.now() - t0 < 30000 && [...members].some((m) => (got.get(m.name) ?? 0) < want))
  await sleep(100);
console.log(
  JSON.stringify({
    K,
    B,
    want,
    settledMs: Math.round(performance.now() - t0),
    min: Math.min(...members.map((m) => got.get(m.name) ?? 0)),
    troubles: troubles.slice(0, 8),
    troubleCount: troubles.length,
  }),
);
for (const m of members) {
  m.actor.stop();
  await m.close();
}
server.child.kill('SIGKILL');
process.exit(0);
