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
/**
 * How long a client waits for its leave to be confirmed (gaschat's GOODBYE, the raw relay's echo of its
 * `Q`) before it is stopped anyway: a load that follows another on the same server must find the room
 * empty. Well under the client's own quit timeout (10 s), and far above what loopback needs.
 */
export const LEAVE_TIMEOUT_MS = 5000;

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
  /** False if the load hit the time limit, or (gaschat) the server dropped a member. */
  readonly completed: boolean;
  /** Clients whose leave the server did not confirm within LEAVE_TIMEOUT_MS (stopped anyway). */
  readonly leavesUnconfirmed: number;
  /**
   * Members the server dropped during the load (announced as LEFT `timeout`: a send queue overrun by
   * a member that fell too far behind, or a dead link). Their messages can never all arrive, so the
   * load ends there, not completed (gaschat only).
   */
  readonly membersDropped: number;
}

/** How a bench client sends its messages. */
export interface LoadShape {
  /** Messages a client may have sent but not yet seen confirmed (WINDOW by default). */
  readonly window?: number;
  /**
   * Open loop: each client sends one message every `intervalMs`, whatever the confirmations, the
   * clients' first sends spread evenly over one interval so that they do not all fire at once.
   * `window` still caps what is in flight (a send it holds back goes out at the next confirmation),
   * so that a stalled server cannot make a client queue without bound. Unset: closed loop, the next
   * message goes as soon as the window has room.
   */
  readonly intervalMs?: number;
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
): Omit<RelayResult, 'leavesUnconfirmed' | 'membersDropped'> {
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

/**
 * When one client of a load may send: its next message fits the window and (open loop) is due, every
 * `intervalMs`, offset by the client's share of one interval.
 */
class Pacer {
  readonly #offsetMs: number;

  constructor(
    readonly shape: LoadShape,
    readonly messageCount: number,
    readonly startedAt: number,
    index: number,
    clientCount: number,
  ) {
    this.#offsetMs = (index / clientCount) * (shape.intervalMs ?? 0);
  }

  get paced(): boolean {
    return this.shape.intervalMs !== undefined;
  }

  /** When message `seq` is due (open loop; the start for a closed loop). */
  dueAt(seq: number): number {
    return this.startedAt + this.#offsetMs + seq * (this.shape.intervalMs ?? 0);
  }

  /** Whether there is room in the window for one more message. */
  hasRoom(sent: number, confirmed: number): boolean {
    return sent < this.messageCount && sent - confirmed < (this.shape.window ?? WINDOW);
  }

  /** Whether the next message may go now. */
  maySend(sent: number, confirmed: number, now: number): boolean {
    return this.hasRoom(sent, confirmed) && (!this.paced || this.dueAt(sent) <= now);
  }

  /** Paced, with room in the window: how long until the next message is due (else undefined). */
  waitMs(sent: number, confirmed: number, now: number): number | undefined {
    return this.paced && this.hasRoom(sent, confirmed) ? this.dueAt(sent) - now : undefined;
  }
}

/**
 * Leaves the room: QUIT, then the `closed` event once the server's GOODBYE came. Returns whether it
 * was confirmed; a client not confirmed within LEAVE_TIMEOUT_MS (or closed already) is stopped anyway.
 */
async function quitGaschat({ actor, endpoint }: BenchClient): Promise<boolean> {
  let confirmed = false;
  if (actor.getSnapshot().status === 'active') {
    confirmed = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), LEAVE_TIMEOUT_MS);
      actor.on('closed', (event) => {
        clearTimeout(timer);
        resolve(event.reason === 'quit');
      });
      actor.send({ type: 'chat.quit' });
    });
  }
  actor.stop();
  await endpoint.close();
  return confirmed;
}

/**
 * K gaschat clients each send M messages through the server on `port`: at most `window` unconfirmed,
 * as fast as confirmations come or (`intervalMs`) paced. Then every client leaves with a QUIT.
 */
export async function benchGaschat(
  port: number,
  clientCount: number,
  messageCount: number,
  shape: LoadShape = {},
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
  // Set once the load is over (or out of time): a pacing timer still pending then sends nothing.
  let over = false;
  const dropped = new Set<string>();
  const completed = await new Promise<boolean>((resolve) => {
    let unfinished = clientCount;
    const timer = setTimeout(() => resolve(false), RUN_TIMEOUT_MS);
    clients.forEach(({ actor }, index) => {
      // Nobody quits during the load: a member leaving was dropped, and waiting on would only wait for
      // the time limit.
      actor.on('left', (event) => {
        if (!over && event.reason !== 'quit') {
          dropped.add(event.name);
          clearTimeout(timer);
          resolve(false);
        }
      });
      const receiver = receivers[index] ?? new Receiver(0, 0);
      let sent = 0;
      let confirmed = 0;
      let done = false;
      let pace: NodeJS.Timeout | undefined;
      const pacer = new Pacer(shape, messageCount, startedAt, index, clientCount);
      const expected = (clientCount - 1) * messageCount;
      const pump = () => {
        if (over) {
          return;
        }
        clearTimeout(pace);
        const now = performance.now();
        while (pacer.maySend(sent, confirmed, now)) {
          actor.send({ type: 'chat.say', text: `${index} ${sent} ${performance.now().toFixed(3)}` });
          sent += 1;
        }
        // A full window waits for a confirmation (which pumps again), not for a timer.
        const waitMs = pacer.waitMs(sent, confirmed, now);
        if (waitMs !== undefined) {
          pace = setTimeout(pump, waitMs);
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
  over = true;
  const outcome = result(receivers, latencies, startedAt, joinRetries, completed);
  // Every client leaves cleanly, so that a load after this one on the same server finds an empty room.
  const confirmations = await Promise.all(clients.map(quitGaschat));
  return {
    ...outcome,
    leavesUnconfirmed: confirmations.filter((confirmed) => !confirmed).length,
    membersDropped: dropped.size,
  };
}

/** The raw relay's one-byte requests, each echoed once done: `R` registers the sender, `Q` forgets it. */
const RAW_REGISTER = 0x52;
const RAW_LEAVE = 0x51;

/** Sends `R` or `Q` until the relay echoes it; false if no echo came within `timeoutMs`. */
function askRaw(socket: Socket, port: number, byte: number, timeoutMs: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const request = Buffer.from([byte]);
    const onMessage = (message: Buffer) => {
      if (message.length === 1 && message[0] === byte) {
        settle(true);
      }
    };
    // Asked again until answered: the path may be lossy.
    const ask = setInterval(() => socket.send(request, port, '127.0.0.1'), 100);
    const timer = setTimeout(() => settle(false), timeoutMs);
    const settle = (answered: boolean) => {
      clearInterval(ask);
      clearTimeout(timer);
      socket.off('message', onMessage);
      resolve(answered);
    };
    socket.on('message', onMessage);
    socket.send(request, port, '127.0.0.1');
  });
}

/**
 * The same load on the raw relay: plain datagrams, no acknowledgements, no retransmission. Each socket
 * registers with `R` first and leaves with `Q` at the end.
 */
export async function benchRaw(
  port: number,
  clientCount: number,
  messageCount: number,
  shape: LoadShape = {},
): Promise<RelayResult> {
  const sockets: Socket[] = [];
  for (let index = 0; index < clientCount; index += 1) {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    if (!(await askRaw(socket, port, RAW_REGISTER, RUN_TIMEOUT_MS))) {
      throw new Error(`raw client ${index} could not register with the relay`);
    }
    sockets.push(socket);
  }
  const latencies: number[] = [];
  const receivers = sockets.map(() => new Receiver(clientCount, messageCount));
  const startedAt = performance.now();
  let endedAt: number | undefined;
  // Set once the load is over (or out of time): a stall or pacing timer still pending then sends nothing.
  let over = false;
  const completed = await new Promise<boolean>((resolve) => {
    let unfinished = clientCount;
    const timer = setTimeout(() => resolve(false), RUN_TIMEOUT_MS);
    sockets.forEach((socket, index) => {
      const receiver = receivers[index] ?? new Receiver(0, 0);
      let sent = 0;
      let confirmed = 0;
      let stall: NodeJS.Timeout | undefined;
      let pace: NodeJS.Timeout | undefined;
      const pacer = new Pacer(shape, messageCount, startedAt, index, clientCount);
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
        if (over) {
          return;
        }
        clearTimeout(stall);
        clearTimeout(pace);
        const now = performance.now();
        while (pacer.maySend(sent, confirmed, now)) {
          socket.send(`${index} ${sent} ${performance.now().toFixed(3)}`, port, '127.0.0.1');
          sent += 1;
        }
        if (confirmed >= messageCount) {
          finish();
          return;
        }
        const waitMs = pacer.waitMs(sent, confirmed, now);
        if (waitMs !== undefined) {
          pace = setTimeout(pump, waitMs);
        }
        // Paced, a lost echo holds back nothing but this count; the stall settles it after the last send.
        if (sent > confirmed) {
          stall = setTimeout(() => {
            // No echo for a while: whatever is outstanding is lost; go on.
            confirmed = sent;
            pump();
          }, RAW_STALL_MS);
        }
      };
      socket.on('message', (message) => {
        const parsed = parse(message.toString('utf8'));
        if (parsed === undefined) {
          return;
        }
        if (parsed.sender === index) {
          // An echo that comes after its message was counted lost, or twice, must not overcount.
          confirmed = Math.min(sent, confirmed + 1);
          pump();
        } else {
          receiver.take(parsed.sender, parsed.seq, parsed.sentAtMs, latencies);
        }
      });
      pump();
    });
  });
  over = true;
  const outcome = result(receivers, latencies, startedAt, 0, completed, endedAt);
  // Every socket leaves, so that a load after this one on the same relay is not sent to dead addresses.
  const confirmations = await Promise.all(
    sockets.map((socket) => askRaw(socket, port, RAW_LEAVE, LEAVE_TIMEOUT_MS)),
  );
  for (const socket of sockets) {
    socket.close();
  }
  return {
    ...outcome,
    leavesUnconfirmed: confirmations.filter((confirmed) => !confirmed).length,
    membersDropped: 0,
  };
}
