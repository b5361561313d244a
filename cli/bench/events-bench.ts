import { SimNetwork } from '../../adapters/sim/network.ts';
import { createRandom } from '../../adapters/sim/random.ts';
import { Trace } from '../../adapters/sim/trace.ts';
import { VirtualClock } from '../../adapters/sim/virtual-clock.ts';
import {
  type ClientActor,
  createClient,
  createServer,
  type Environment,
  type PeerAddress,
  say,
} from '../../engine/index.ts';

const SERVER: PeerAddress = { host: '10.0.0.1', port: 8080 };
const PASSWORD = 'kata-sandi-bench';
/** The key derivation is not what is counted here. */
/** Between two messages: every delivery and acknowledgement of one is over before the next. */
const MESSAGE_GAP_MS = 400;

export interface RelayEventCount {
  readonly memberCount: number;
  readonly messageCount: number;
  /** Server machine events per relayed message, in all and by event type. */
  readonly serverPerMessage: number;
  readonly serverByType: Readonly<Record<string, number>>;
  /** Client machine events per relayed message, over all members together. */
  readonly clientsPerMessage: number;
  /** Datagrams on the wire per relayed message, both ways. */
  readonly datagramsPerMessage: number;
}

/**
 * Counts the machine work of relaying: a room of `memberCount` with the default configuration, joined
 * and quiet, on a simulated network without faults (1 ms each way); then `messageCount` messages, one
 * every 400 virtual ms from each member in turn. Counts the events the server's and the clients' actors
 * processed (sent to them or fired by their timers, as xstate's inspection reports them, every actor of
 * each system) while the messages were relayed.
 * Deterministic: the same figures on any machine, so commits can be compared by them.
 */
export function countRelayEvents(memberCount: number, messageCount: number): RelayEventCount {
  const clock = new VirtualClock();
  const network = new SimNetwork({ clock, trace: new Trace(), latencyMs: 1, faultTape: [], partitions: [] });
  const random = createRandom(1);
  const envOf = (node: string, port: Environment['port']): Environment => {
    const bytes = random.fork(node);
    return {
      port,
      clock,
      now: () => clock.now(),
      random: (count) => bytes.bytes(count),
      afterTurn: clock.afterStep,
    };
  };
  let counting = false;
  const serverByType: Record<string, number> = {};
  let clientEvents = 0;
  const serverPort = network.attach('server', SERVER, (datagram, from) =>
    server.send({ type: 'datagram.received', datagram, from }),
  );
  const server = createServer({ password: PASSWORD }, envOf('server', serverPort));
  server.system.inspect((inspection) => {
    if (counting && inspection.type === '@xstate.event') {
      const type = inspection.event.type;
      serverByType[type] = (serverByType[type] ?? 0) + 1;
    }
  });
  server.start();

  const clients: ClientActor[] = [];
  const received: number[] = [];
  for (let index = 0; index < memberCount; index += 1) {
    const node = `c${index}`;
    const port = network.attach(node, { host: `10.0.1.${index + 1}`, port: 5000 }, (datagram, from) =>
      client.send({ type: 'datagram.received', datagram, from }),
    );
    const client = createClient(
      { name: `member${index}`, password: PASSWORD, server: SERVER },
      envOf(node, port),
    );
    client.system.inspect((inspection) => {
      if (counting && inspection.type === '@xstate.event') {
        clientEvents += 1;
      }
    });
    received.push(0);
    client.on('message', () => {
      received[index] = (received[index] ?? 0) + 1;
    });
    client.start();
    clients.push(client);
  }
  // Everyone joins, and the acknowledgements of the joins settle.
  clock.runUntil(clock.now() + 3000, 1_000_000);
  const joined = clients.filter((client) => client.getSnapshot().matches('joined')).length;
  if (joined !== memberCount) {
    throw new Error(`only ${joined} of ${memberCount} members joined`);
  }

  const sentBefore = network.stats.sent;
  counting = true;
  for (let message = 0; message < messageCount; message += 1) {
    const author = clients[message % memberCount];
    if (author === undefined || !say(author, `pesan ${message}`).ok) {
      throw new Error(`message ${message} was refused`);
    }
    clock.runUntil(clock.now() + MESSAGE_GAP_MS, 1_000_000);
  }
  counting = false;
  const datagrams = network.stats.sent - sentBefore;
  // Every member saw every message (its own as the server's confirmation): the relay really happened.
  if (received.some((count) => count !== messageCount)) {
    throw new Error(`messages received per member: ${received.join(', ')}; expected ${messageCount} each`);
  }
  for (const client of clients) {
    client.stop();
  }
  server.stop();
  const serverEvents = Object.values(serverByType).reduce((sum, count) => sum + count, 0);
  return {
    memberCount,
    messageCount,
    serverPerMessage: serverEvents / messageCount,
    serverByType: Object.fromEntries(
      Object.entries(serverByType).map(([type, count]) => [type, count / messageCount]),
    ),
    clientsPerMessage: clientEvents / messageCount,
    datagramsPerMessage: datagrams / messageCount,
  };
}
