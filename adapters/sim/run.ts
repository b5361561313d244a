import {
  type ClientActor,
  type ClientEvent,
  createClient,
  createServer,
  type LinkStats,
  type PeerAddress,
  type ServerEvent,
  type ServerStats,
} from '../../engine/index.ts';
import { describeDatagram } from './datagram-label.ts';
import { type NetworkStats, SimNetwork } from './network.ts';
import { createRandom } from './random.ts';
import {
  type ClientPlan,
  clientNodeName,
  type Scenario,
  SERVER_NODE,
  SIM_CLIENT_CONFIG,
  SIM_KEY_ITERATIONS,
  SIM_PASSWORD,
  SIM_SERVER_CONFIG,
  SIM_WRONG_PASSWORD,
  textOf,
} from './scenario.ts';
import { Trace } from './trace.ts';
import { VirtualClock } from './virtual-clock.ts';

export interface Timed<E> {
  readonly t: number;
  readonly event: E;
}

/** What one simulated client did and saw. */
export interface ClientRecord {
  readonly node: string;
  readonly plan: ClientPlan;
  readonly address: PeerAddress;
  readonly events: Timed<ClientEvent>[];
  /** The texts it asked to send and the client took (did not refuse at once), in order, with when. */
  readonly said: Timed<string>[];
  started: boolean;
  crashedAtMs: number | undefined;
  quitAtMs: number | undefined;
  /** The machine state it ended the run in (`closed`, `joined`, …). */
  finalState: string;
  linkStats: LinkStats | undefined;
}

/** Everything the checker needs from a run. */
export interface RunRecord {
  readonly scenario: Scenario;
  readonly trace: Trace;
  readonly server: Timed<ServerEvent>[];
  readonly clients: readonly ClientRecord[];
  readonly network: NetworkStats;
  readonly stepCount: number;
  readonly budgetExhausted: boolean;
  /** Exceptions from any actor: a broken invariant, always a failure. */
  readonly errors: string[];
  /** Link statistics of every server session, ended or still open at the end. */
  readonly sessionStats: LinkStats[];
  /** The most the server held at once (sessions, members, remembered joins). */
  readonly serverHighWater: {
    readonly sessionCount: number;
    readonly memberCount: number;
    readonly recentJoinCount: number;
  };
}

/**
 * The most sessions, members and remembered joins the server held at once: its own counters, the
 * member counts its log announced, and what it holds at the end, whichever is largest.
 */
function highWaterOf(
  room: {
    sessions: ReadonlyMap<unknown, unknown>;
    members: ReadonlyMap<unknown, unknown>;
    recentJoins: ReadonlyMap<unknown, unknown>;
    stats: ServerStats;
  },
  log: readonly Timed<ServerEvent>[],
): RunRecord['serverHighWater'] {
  let announcedMembers = 0;
  for (const { event } of log) {
    if (event.type === 'member.joined') {
      announcedMembers = Math.max(announcedMembers, event.memberCount);
    }
  }
  return {
    sessionCount: Math.max(room.stats.sessionCountHighWater, room.sessions.size),
    memberCount: Math.max(room.stats.memberCountHighWater, room.members.size, announcedMembers),
    recentJoinCount: Math.max(room.stats.recentJoinCountHighWater, room.recentJoins.size),
  };
}

export const SERVER_ADDRESS: PeerAddress = { host: '10.0.0.1', port: 8080 };

function clientAddress(index: number): PeerAddress {
  return { host: `10.0.1.${index + 1}`, port: 5000 + index };
}

function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

/**
 * Runs a scenario to its end in virtual time and records what happened. Deterministic: every timer,
 * datagram and random byte comes from the scenario.
 */
export function runScenario(scenario: Scenario): RunRecord {
  const clock = new VirtualClock();
  const trace = new Trace();
  const network = new SimNetwork({
    clock,
    trace,
    latencyMs: scenario.latencyMs,
    faultTape: scenario.faultTape,
    partitions: scenario.partitions,
    // Every send is labelled with what it carries, so that a failure's log and its diagram read in
    // protocol words; a label depends on the bytes alone, so the trace stays deterministic.
    describe: describeDatagram,
  });
  const random = createRandom(scenario.seed);
  const errors: string[] = [];
  const serverLog: Timed<ServerEvent>[] = [];
  const sessionStats: LinkStats[] = [];

  const serverPort = network.attach(SERVER_NODE, SERVER_ADDRESS, (datagram, from) =>
    server.send({ type: 'datagram.received', datagram, from }),
  );
  const serverRandom = random.fork(SERVER_NODE);
  const server = createServer(
    { password: SIM_PASSWORD, keyIterations: SIM_KEY_ITERATIONS, config: SIM_SERVER_CONFIG },
    { port: serverPort, clock, now: () => clock.now(), random: (count) => serverRandom.bytes(count) },
  );
  server.on('*', (event) => {
    serverLog.push({ t: clock.now(), event });
    trace.event(clock.now(), SERVER_NODE, event);
    if (event.type === 'session.ended') {
      sessionStats.push(event.stats);
    }
  });
  server.subscribe({ error: (error) => errors.push(`server: ${describeError(error)}`) });
  server.start();

  const finishers: (() => void)[] = [];
  const clients = scenario.clients.map((plan, index) => startClientPlan(plan, index));

  function startClientPlan(plan: ClientPlan, index: number): ClientRecord {
    const node = clientNodeName(index);
    const address = clientAddress(index);
    const record: ClientRecord = {
      node,
      plan,
      address,
      events: [],
      said: [],
      started: false,
      crashedAtMs: undefined,
      quitAtMs: undefined,
      finalState: 'not-started',
      linkStats: undefined,
    };
    let actor: ClientActor | undefined;
    const port = network.attach(node, address, (datagram, from) =>
      actor?.send({ type: 'datagram.received', datagram, from }),
    );
    const clientRandom = random.fork(node);
    clock.setTimeout(() => {
      if (record.crashedAtMs !== undefined) {
        return;
      }
      actor = createClient(
        {
          name: plan.name,
          password: plan.knowsPassword ? SIM_PASSWORD : SIM_WRONG_PASSWORD,
          server: SERVER_ADDRESS,
          keyIterations: SIM_KEY_ITERATIONS,
          config: SIM_CLIENT_CONFIG,
        },
        { port, clock, now: () => clock.now(), random: (count) => clientRandom.bytes(count) },
      );
      actor.on('*', (event) => {
        record.events.push({ t: clock.now(), event });
        trace.event(clock.now(), node, event);
      });
      actor.subscribe({ error: (error) => errors.push(`${node}: ${describeError(error)}`) });
      record.started = true;
      actor.start();
    }, plan.joinAtMs);
    plan.sayAtMs.forEach((atMs, sayIndex) => {
      clock.setTimeout(() => {
        // A closed client takes no more input; nor does one that is not running.
        if (
          actor === undefined ||
          record.crashedAtMs !== undefined ||
          actor.getSnapshot().status !== 'active'
        ) {
          return;
        }
        const text = textOf(node, sayIndex);
        const eventCountBefore = record.events.length;
        actor.send({ type: 'chat.say', text });
        // A text the client refused at once (it is leaving, its queue is full) was never said.
        const refused = record.events.slice(eventCountBefore).some(({ event }) => event.type === 'error');
        if (!refused) {
          record.said.push({ t: clock.now(), event: text });
        }
      }, atMs);
    });
    if (plan.quitAtMs !== undefined) {
      clock.setTimeout(() => {
        if (actor !== undefined && record.crashedAtMs === undefined) {
          record.quitAtMs = clock.now();
          actor.send({ type: 'chat.quit' });
        }
      }, plan.quitAtMs);
    }
    if (plan.crashAtMs !== undefined) {
      clock.setTimeout(() => {
        record.crashedAtMs = clock.now();
        network.crash(node);
        // A killed process runs nothing more: its timers stop with it.
        actor?.stop();
      }, plan.crashAtMs);
    }
    finishers.push(() => {
      const snapshot = actor?.getSnapshot();
      record.finalState = snapshot === undefined ? 'not-started' : JSON.stringify(snapshot.value);
      record.linkStats = snapshot?.context.driver?.link.stats;
    });
    return record;
  }

  clock.setTimeout(() => network.heal(), scenario.healAtMs);
  let steps = 0;
  let budgetExhausted = false;
  try {
    ({ steps, budgetExhausted } = clock.runUntil(scenario.endAtMs, scenario.stepCountMax));
  } catch (error) {
    // Something threw outside any actor (creating a client, a receiver): the run stops there and
    // fails, with its seed and trace, rather than taking the whole simulation down.
    errors.push(`the run threw at ${clock.now()} ms: ${describeError(error)}`);
  }

  for (const finish of finishers) {
    finish();
  }
  const serverSnapshot = server.getSnapshot();
  for (const child of Object.values(serverSnapshot.children)) {
    const stats = child?.getSnapshot().context.driver.link.stats;
    if (stats !== undefined) {
      sessionStats.push({ ...stats });
    }
  }
  server.stop();
  return {
    scenario,
    trace,
    server: serverLog,
    clients,
    network: network.stats,
    stepCount: steps,
    budgetExhausted,
    errors,
    sessionStats,
    serverHighWater: highWaterOf(serverSnapshot.context, serverLog),
  };
}
