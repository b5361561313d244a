import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { openUdp, realEnvironment, type UdpEndpoint } from '../../adapters/udp/index.ts';
import { type ClientActor, createClient } from '../../engine/index.ts';

export const BENCH_PASSWORD = 'bench-password';
/** Messages a client may have sent but not yet seen confirmed: enough to keep the relay busy. */
export const WINDOW = 16;
/** A load that has not finished in this long is reported as it stands. */
const RUN_TIMEOUT_MS = 120_000;
/** The raw relay has no retransmission: an echo missing this long is counted lost, and sending goes on. */
const RAW_STALL_MS = 300;

export interface RelayResult {
  readonly deliveries: number;
  readonly seconds: number;
  readonly latenciesMs: Float64Array;
  /** Messages a member never received, over all members (the application's view). */
  readonly lost: number;
  /** Messages a member received twice or more. */
  readonly duplicated: number;
  /** Logins tried again (a handshake lost to a lossy path). */
  readonly joinRetries: number;
  readonly completed: boolean;
}

export function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) {
    return Number.NaN;
  }
  return sorted[Math.min(sorted.length - 1, Math.floor(fraction * sorted.length))] ?? Number.NaN;
}

/**
 * What every bench client does with what it receives: checks each sender's messages arrive in order,
 * once, and notes each one's latency from its send (all clients share one clock: one process).
 */
class Receiver {
  readonly next: Int32Array;
  readonly seen: Uint8Array[];
  duplicated = 0;
  received = 0;

  constructor(clientCount: number, messageCount: number) {
    this.next = new Int32Array(clientCount);
    this.seen = Array.from({ length: clientCount }, () => new Uint8Array(messageCount));
  }

  take(sender: number, seq: number, sentAtMs: number, latencies: number[]): void {
    const seen = this.seen[sender];
    if (seen === undefined || seq >= seen.length) {
      return;
    }
    if (seen[seq] === 1) {
      this.duplicated += 1;
      return;
    }
    seen[seq] = 1;
    this.received += 1;
    latencies.push(performance.now() - sentAtMs);
  }

  missing(self: number): number {
    let count = 0;
    this.seen.forEach((seen, sender) => {
      if (sender !== self) {
        count += seen.length - seen.reduce((sum, flag) => sum + flag, 0);
      }
    });
    return count;
  }
}

function parse(text: string): { sender: number; seq: number; sentAtMs: number } | undefined {
  const [sender, seq, sentAt] = text.split(' ');
  if (sender === undefined || seq === undefined || sentAt === undefined) {
    return undefined;
  }
  return { sender: Number(sender), seq: Number(seq), sentAtMs: Number(sentAt) };
}

function result(
  receivers: readonly Receiver[],
  latencies: number[],
  startedAt: number,
  joinRetries: number,
  completed: boolean,
  endedAt = performance.now(),
): RelayResult {
  const sorted = Float64Array.from(latencies).sort();
  return {
    deliveries: receivers.reduce((sum, receiver) => sum + receiver.received, 0),
    seconds: (endedAt - startedAt) / 1000,
    latenciesMs: sorted,
    lost: receivers.reduce((sum, receiver, index) => sum + receiver.missing(index), 0),
    duplicated: receivers.reduce((sum, receiver) => sum + receiver.duplicated, 0),
    joinRetries,
    completed,
  };
}

interface BenchClient {
  readonly actor: ClientActor;
  readonly endpoint: UdpEndpoint;
}

/** Joins one client, trying again (a new handshake) if the path lost it. */
async function joinGaschat(
  index: number,
  serverPort: number,
): Promise<{ client: BenchClient; retries: number }> {
  const endpoint = await openUdp({ host: '127.0.0.1', port: 0 });
  for (let attempt = 0; ; attempt += 1) {
    // A retry takes a new name: if only the ACCEPTs were lost, the server holds the first name until
    // that session times out.
    const actor = createClient(
      {
        name: attempt === 0 ? `c${index}` : `c${index}-${attempt}`,
        password: BENCH_PASSWORD,
        server: { host: '127.0.0.1', port: serverPort },
      },
      realEnvironment(endpoint.port),
    );
    endpoint.onDatagram((datagram, from) => actor.send({ type: 'datagram.received', datagram, from }));
    const outcome = await new Promise<string>((resolve) => {
      actor.on('welcome', () => resolve('welcome'));
      actor.on('closed', (event) => resolve(event.reason));
      actor.start();
    });
    if (outcome === 'welcome') {
      return { client: { actor, endpoint }, retries: attempt };
    }
    actor.stop();
    if (attempt >= 10) {
      throw new Error(`client c${index} could not join after ${attempt + 1} attempts: ${outcome}`);
    }
  }
}

/** K gaschat clients each send M messages, at most `window` unconfirmed, through the server on `port`. */
export async function benchGaschat(
  port: number,
  clientCount: number,
  messageCount: number,
  window = WINDOW,
): Promise<RelayResult> {
  const clients: BenchClient[] = [];
  let joinRetries = 0;
  for (let index = 0; index < clientCount; index += 1) {
    const { client, retries } = await joinGaschat(index, port);
    clients.push(client);
    joinRetries += retries;
  }
  const latencies: number[] = [];
  const receivers = clients.map(() => new Receiver(clientCount, messageCount));
  const startedAt = performance.now();
  const completed = await new Promise<boolean>((resolve) => {
    let unfinished = clientCount;
    const timer = setTimeout(() => resolve(false), RUN_TIMEOUT_MS);
    clients.forEach(({ actor }, index) => {
      const receiver = receivers[index] ?? new Receiver(0, 0);
      let sent = 0;
      let confirmed = 0;
      let done = false;
      const expected = (clientCount - 1) * messageCount;
      const pump = () => {
        while (sent < messageCount && sent - confirmed < window) {
          actor.send({ type: 'chat.say', text: `${index} ${sent} ${performance.now().toFixed(3)}` });
          sent += 1;
        }
      };
      const check = () => {
        if (!done && confirmed === messageCount && receiver.received + receiver.duplicated >= expected) {
          done = true;
          unfinished -= 1;
          if (unfinished === 0) {
            clearTimeout(timer);
            resolve(true);
          }
        }
      };
      actor.on('message', (event) => {
        if (event.self) {
          confirmed += 1;
          pump();
        } else {
          const parsed = parse(event.text);
          if (parsed !== undefined) {
            receiver.take(parsed.sender, parsed.seq, parsed.sentAtMs, latencies);
          }
        }
        check();
      });
      pump();
    });
  });
  const outcome = result(receivers, latencies, startedAt, joinRetries, completed);
  for (const { actor, endpoint } of clients) {
    actor.stop();
    await endpoint.close();
  }
  return outcome;
}

/** The same load on the raw relay: plain datagrams, no acknowledgements, no retransmission. */
export async function benchRaw(
  port: number,
  clientCount: number,
  messageCount: number,
  window = WINDOW,
): Promise<RelayResult> {
  const sockets: Socket[] = [];
  for (let index = 0; index < clientCount; index += 1) {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    // Register, asking again until the relay answers (the path may be lossy).
    await new Promise<void>((resolve) => {
      const ask = setInterval(() => socket.send('R', port, '127.0.0.1'), 100);
      socket.once('message', () => {
        clearInterval(ask);
        resolve();
      });
      socket.send('R', port, '127.0.0.1');
    });
    sockets.push(socket);
  }
  const latencies: number[] = [];
  const receivers = sockets.map(() => new Receiver(clientCount, messageCount));
  const startedAt = performance.now();
  let endedAt: number | undefined;
  const completed = await new Promise<boolean>((resolve) => {
    let unfinished = clientCount;
    const timer = setTimeout(() => resolve(false), RUN_TIMEOUT_MS);
    sockets.forEach((socket, index) => {
      const receiver = receivers[index] ?? new Receiver(0, 0);
      let sent = 0;
      let confirmed = 0;
      let stall: NodeJS.Timeout | undefined;
      let finished = false;
      const finish = () => {
        if (finished) {
          return;
        }
        finished = true;
        unfinished -= 1;
        if (unfinished === 0) {
          clearTimeout(timer);
          endedAt = performance.now();
          // Stragglers still in flight get a moment to land (not counted in the time).
          setTimeout(() => resolve(true), RAW_STALL_MS);
        }
      };
      const pump = () => {
        clearTimeout(stall);
        while (sent < messageCount && sent - confirmed < window) {
          socket.send(`${index} ${sent} ${performance.now().toFixed(3)}`, port, '127.0.0.1');
          sent += 1;
        }
        if (confirmed >= messageCount) {
          finish();
          return;
        }
        stall = setTimeout(() => {
          // No echo for a while: whatever is outstanding is lost; go on.
          confirmed = sent;
          pump();
        }, RAW_STALL_MS);
      };
      socket.on('message', (message) => {
        const parsed = parse(message.toString('utf8'));
        if (parsed === undefined) {
          return;
        }
        if (parsed.sender === index) {
          // An echo that comes after its message was counted lost, or twice, must not overcount.
          confirmed = Math.min(sent, confirmed + 1);
          if (sent - confirmed < window) {
            pump();
          }
        } else {
          receiver.take(parsed.sender, parsed.seq, parsed.sentAtMs, latencies);
        }
      });
      pump();
    });
  });
  const outcome = result(receivers, latencies, startedAt, 0, completed, endedAt);
  for (const socket of sockets) {
    socket.close();
  }
  return outcome;
}
