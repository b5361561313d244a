import { setTimeout as sleep } from 'node:timers/promises';
import { openUdp, realEnvironment, type UdpEndpoint } from '../../adapters/udp/index.ts';
import { type ClientActor, type ClientEvent, createClient, type PeerAddress } from '../../engine/index.ts';
import { type ServerProcess, startServerProcess } from './abuse-bench.ts';
import { percentile } from './relay-bench.ts';

/**
 * Honest members' latency and losses while one member floods, against a real server process: the
 * abuse section's second half. Two honest members say a line every `intervalMs` each and time the
 * other's lines (one process, one clock); the flooder is one of three kinds.
 */
export type FloodKind =
  /** Nobody floods: the baseline of the same sitting. */
  | 'none'
  /** A client that follows the protocol, saying as fast as it will take lines (its window, the pacing). */
  | 'full-speed'
  /**
   * A modified client that ignores the window: 40 SAYs per datagram, 400 datagrams a second, put on its
   * link directly (the attack). It rejoins and goes on when the server drops it.
   */
  | 'window-ignored';

export interface FloodResult {
  readonly kind: FloodKind;
  readonly honestLines: number;
  readonly lost: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Lines of the flooder the honest members were shown, per second (one member's view). */
  readonly floodShownPerS: number;
  /** What happened to members, as the clients saw it: removals, rejoins. */
  readonly troubles: readonly string[];
}

const PASSWORD = 'abuse-bench';

interface Member {
  readonly name: string;
  readonly actor: ClientActor;
  readonly endpoint: UdpEndpoint;
}

async function join(
  name: string,
  server: PeerAddress,
  onEvent: (event: ClientEvent) => void,
  host = '127.0.0.1',
): Promise<Member> {
  const endpoint = await openUdp({ host, port: 0 });
  const actor = createClient({ name, password: PASSWORD, server }, realEnvironment(endpoint.port));
  endpoint.onDatagram((datagram, from) => actor.send({ type: 'datagram.received', datagram, from }));
  const welcomed = new Promise<void>((resolve, reject) => {
    actor.on('*', (event: ClientEvent) => {
      onEvent(event);
      if (event.type === 'welcome') {
        resolve();
      } else if (event.type === 'closed') {
        reject(new Error(`${name} could not join: ${event.message}`));
      }
    });
  });
  actor.start();
  await welcomed;
  return { name, actor, endpoint };
}

/** Stops every member's client and closes its socket, then kills the server. */
async function closeAll(members: readonly Member[], server: ServerProcess): Promise<void> {
  for (const member of members) {
    member.actor.stop();
    await member.endpoint.close();
  }
  server.child.kill('SIGKILL');
}

export async function honestUnderFlood(
  kind: FloodKind,
  durationMs: number,
  intervalMs: number,
  serverMain?: string,
): Promise<FloodResult> {
  const server = await startServerProcess({ readLog: true, ...(serverMain && { serverMain }) });
  const latencies: number[] = [];
  const troubles: string[] = [];
  const sent = { ana: 0, budi: 0 };
  const shown = { ana: 0, budi: 0 };
  let floodShown = 0;
  const members: Member[] = [];
  const watch = (viewer: 'ana' | 'budi') => (event: ClientEvent) => {
    if (event.type === 'message' && !event.self) {
      const stamp = /^t=(\d+(?:\.\d+)?) /.exec(event.text);
      if (event.from === 'banjir') {
        if (viewer === 'ana') {
          floodShown += 1;
        }
      } else if (stamp !== null) {
        shown[viewer] += 1;
        latencies.push(performance.now() - Number(stamp[1]));
      }
    } else if (event.type === 'left' && event.reason === 'timeout') {
      troubles.push(`${viewer} saw ${event.name} leave (timeout)`);
    } else if (event.type === 'closed' || event.type === 'reconnecting') {
      troubles.push(`${viewer}: ${event.type} (${event.message})`);
    }
  };
  let flooding: NodeJS.Timeout | undefined;
  try {
    const ana = await join('ana', server.address, watch('ana'));
    const budi = await join('budi', server.address, watch('budi'));
    members.push(ana, budi);
    if (kind !== 'none') {
      const flooder = await join('banjir', server.address, (event) => {
        if (event.type === 'reconnecting' || event.type === 'closed') {
          troubles.push(`banjir: ${event.type} (${event.message})`);
        }
      });
      members.push(flooder);
      let line = 0;
      const text = 'x'.repeat(100);
      flooding =
        kind === 'full-speed'
          ? // As many as the client takes: it queues up to its limit and refuses the rest.
            setInterval(() => {
              for (let i = 0; i < 40; i += 1) {
                flooder.actor.send({ type: 'chat.say', text });
              }
            }, 1)
          : setInterval(() => {
              const session = flooder.actor.getSnapshot().context.session;
              if (session === undefined) {
                return;
              }
              for (let i = 0; i < 40; i += 1) {
                line += 1;
                session.link.enqueue({ type: 'say', line: 1_000_000 + line, text });
              }
              flooder.actor.send({ type: 'client.flush' });
            }, 2.5);
    }
    const startedAt = performance.now();
    while (performance.now() - startedAt < durationMs) {
      for (const [name, member] of [
        ['ana', ana],
        ['budi', budi],
      ] as const) {
        member.actor.send({ type: 'chat.say', text: `t=${performance.now()} from ${name}` });
        sent[name] += 1;
      }
      await sleep(intervalMs);
    }
    const floodSeconds = (performance.now() - startedAt) / 1000;
    clearInterval(flooding);
    flooding = undefined;
    // The honest lines still under way arrive, or are lost: at most 10 s more.
    const settleBy = performance.now() + 10_000;
    while (shown.ana < sent.budi || shown.budi < sent.ana) {
      if (performance.now() > settleBy) {
        break;
      }
      await sleep(20);
    }
    const sorted = Float64Array.from(latencies).sort();
    return {
      kind,
      honestLines: sent.ana + sent.budi,
      lost: sent.ana + sent.budi - shown.ana - shown.budi,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      maxMs: sorted.at(-1) ?? Number.NaN,
      floodShownPerS: floodShown / floodSeconds,
      troubles,
    };
  } finally {
    clearInterval(flooding);
    await closeAll(members, server);
  }
}

export interface ChorusResult {
  readonly memberCount: number;
  readonly burst: number;
  /** Lines every member should see: everyone else's. */
  readonly wanted: number;
  /** The fewest of them a member saw. */
  readonly fewestSeen: number;
  /** From the burst until every member had seen every other's lines, or the wait gave up. */
  readonly settledMs: number;
  readonly troubles: readonly string[];
}

/**
 * Many honest members each saying a whole burst in the same instant (members answering one event at
 * once, or bots), against a real server process: whether every line reaches everyone, how soon, and
 * whether anyone was removed. Each member runs on an address of its own (127.0.0.2, .3, ...), as the
 * server holds only a few sessions per address.
 */
export async function chorus(
  memberCount: number,
  burst: number,
  settleMaxMs: number,
  serverMain?: string,
): Promise<ChorusResult> {
  const server = await startServerProcess({ readLog: true, ...(serverMain && { serverMain }) });
  const troubles: string[] = [];
  const seen = new Map<string, number>();
  const members: Member[] = [];
  try {
    for (let index = 0; index < memberCount; index += 1) {
      const name = `m${index}`;
      members.push(
        await join(
          name,
          server.address,
          (event) => {
            if (event.type === 'message' && !event.self) {
              seen.set(name, (seen.get(name) ?? 0) + 1);
            } else if (event.type === 'left' && event.reason === 'timeout') {
              troubles.push(`saw a member leave (timeout, as seen by ${name})`);
            } else if (event.type === 'closed' || event.type === 'reconnecting') {
              troubles.push(`${event.type} (${event.message})`);
            }
          },
          `127.0.0.${2 + index}`,
        ),
      );
    }
    const text = 'y'.repeat(60);
    for (const member of members) {
      for (let line = 0; line < burst; line += 1) {
        member.actor.send({ type: 'chat.say', text });
      }
    }
    const wanted = (memberCount - 1) * burst;
    const fewest = () => Math.min(...members.map((member) => seen.get(member.name) ?? 0));
    const startedAt = performance.now();
    while (fewest() < wanted && performance.now() - startedAt < settleMaxMs) {
      await sleep(20);
    }
    return {
      memberCount,
      burst,
      wanted,
      fewestSeen: fewest(),
      settledMs: performance.now() - startedAt,
      troubles,
    };
  } finally {
    await closeAll(members, server);
  }
}
