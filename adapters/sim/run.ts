import {
  type ClientActor,
  type ClientEvent,
  clientSession,
  createClient,
  createServer,
  IDENTITY_SECRET_BYTES,
  type LinkStats,
  type PeerAddress,
  type ServerActor,
  type ServerEvent,
  type SessionId,
  serverHighWater,
  serverSessionStats,
  type TableVisitor,
  visitClientTables,
  visitServerTables,
} from '../../engine/index.ts';
import { type AdversaryReport, attachAdversary } from './adversary-hook.ts';
import { describeDatagram } from './datagram-label.ts';
import { type NetworkStats, SimNetwork } from './network.ts';
import { createRandom } from './random.ts';
import {
  type ClientPlan,
  clientNodeName,
  type Scenario,
  SERVER_NODE,
  SIM_CLIENT_CONFIG,
  SIM_PASSWORD,
  SIM_WRONG_PASSWORD,
  serverConfigOf,
} from './scenario.ts';
import { SealedBook, simCrypto } from './sim-crypto.ts';
import { type TableHighWater, TableWatch } from './table-watch.ts';
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
  /** For each of `events`, the session the client was in when it emitted it (none while handshaking). */
  readonly eventSessions: (SessionId | undefined)[];
  /** The texts it asked to send and the client took (did not refuse at once), in order, with when. */
  readonly said: Timed<string>[];
  /** Typed while the client was still handshaking: the text and the handshake attempt under way. */
  saidDuringRetry: number;
  started: boolean;
  /** Why it never started, when it did not: its address was still held by an earlier client. */
  notStarted: string | undefined;
  crashedAtMs: number | undefined;
  quitAtMs: number | undefined;
  /** When it reached `closed`, if it did. */
  closedAtMs: number | undefined;
  /** The machine state it ended the run in (`closed`, `joined`, …). */
  finalState: string;
  /** The session it ended the run in, if the server accepted it into one. */
  sessionId: SessionId | undefined;
  /**
   * Every session the server accepted it into, in order: more than one when it rejoined (the server
   * no longer held its session and said so with a RESET).
   */
  readonly sessionIds: SessionId[];
  linkStats: LinkStats | undefined;
}

/** Everything the checker needs from a run. */
/** The server's process killed (a scenario's `serverRestart`): where its log ends, and when it came back. */
export interface ServerCrash {
  readonly atMs: number;
  /** How many events the log held when it was killed: those after are the restarted server's. */
  readonly logIndex: number;
  restartedAtMs: number | undefined;
}

export interface RunRecord {
  readonly scenario: Scenario;
  readonly trace: Trace;
  /** What the server emitted, every process of it in turn (see `serverCrashes`). */
  readonly server: Timed<ServerEvent>[];
  readonly serverCrashes: readonly ServerCrash[];
  readonly clients: readonly ClientRecord[];
  readonly network: NetworkStats;
  /** Timers the virtual clock fired: the run's steps (network deliveries and machine timers). */
  readonly stepCount: number;
  /**
   * Events the machines processed (sent to them or fired by their timers, as xstate's inspection
   * reports them), every actor of the server's system and of each client's: the run's cost in machine
   * work. Counted when {@link RunOptions.countMachineEvents} asks for it.
   */
  readonly machineEvents: { readonly server: number; readonly clients: number } | undefined;
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
  /** Every table of every machine, watched after every step: the fullest each ever was. */
  readonly tables: readonly TableHighWater[];
  /** When the server's machine stopped (after a shutdown), if it did. */
  readonly serverStoppedAtMs: number | undefined;
  /** What the scenario's adversary saw and injected; absent when it has none. */
  readonly adversary?: AdversaryReport;
}

export const SERVER_ADDRESS: PeerAddress = { host: '10.0.0.1', port: 8080 };

/**
 * The address of the `index`-th client plan: a host of its own (10.0.1.(i+1), port 5000 + i), the
 * host of an earlier client with a port of its own, or exactly an earlier client's address.
 */
export function clientAddressOf(plans: readonly ClientPlan[], index: number, depth = 0): PeerAddress {
  const plan = plans[index];
  const own = { host: `10.0.1.${index + 1}`, port: 5000 + index };
  // A chain of references ends at an own address; a malformed plan (a reference forward) is own too.
  if (plan === undefined || depth > plans.length) {
    return own;
  }
  const address = plan.address;
  switch (address.kind) {
    case 'own':
      return own;
    case 'share-host': {
      const other = address.with < index ? clientAddressOf(plans, address.with, depth + 1) : own;
      return { host: other.host, port: 6000 + index };
    }
    case 'reuse':
      return address.of < index ? clientAddressOf(plans, address.of, depth + 1) : own;
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

export interface RunOptions {
  /**
   * Count the events the machines process. It goes through xstate's inspection, which then reports
   * every event, action and snapshot, and makes a run about 15 % slower: off unless asked for.
   */
  readonly countMachineEvents?: boolean;
  /**
   * Run the protocol's real key exchange and signatures (CPace, Ed25519) instead of the simulator's
   * stand-ins: milliseconds per handshake, so only some property runs ask for it.
   */
  readonly realCrypto?: boolean;
}

/**
 * Runs a scenario to its end in virtual time and records what happened. Deterministic: every timer,
 * datagram and random byte comes from the scenario.
 */
export function runScenario(scenario: Scenario, options: RunOptions = {}): RunRecord {
  const counting = options.countMachineEvents === true;
  const clock = new VirtualClock();
  const trace = new Trace();
  // What the run's packets said under their seals, for the labels (see sim-crypto.ts).
  const book = new SealedBook();
  const crypto = simCrypto(book, options.realCrypto === true);
  const network = new SimNetwork({
    clock,
    trace,
    latencyMs: scenario.latencyMs,
    faultTape: scenario.faultTape,
    partitions: scenario.partitions,
    replays: scenario.replays ?? [],
    // Every send is labelled with what it carries, so that a failure's log and its diagram read in
    // protocol words; a label depends on the bytes alone, so the trace stays deterministic.
    describe: (datagram) => describeDatagram(datagram, book),
  });
  // The adversary hook (adversary-hook.ts): nothing at all unless the scenario has an adversary.
  const adversaryReport = attachAdversary(scenario, network, clock, SERVER_ADDRESS);
  const random = createRandom(scenario.seed);
  const errors: string[] = [];
  const serverLog: Timed<ServerEvent>[] = [];
  const sessionStats: LinkStats[] = [];
  const tables = new TableWatch(clock);
  let serverStoppedAtMs: number | undefined;

  // The server's process: undefined while it is down (killed, not yet started again); what reaches
  // its address meanwhile goes unheard.
  let server: ServerActor | undefined;
  const serverPort = network.attach(SERVER_NODE, SERVER_ADDRESS, (datagram, from) =>
    server?.send({ type: 'datagram.received', datagram, from }),
  );
  const serverRandom = random.fork(SERVER_NODE);
  // Drawn first, as createServer would draw it: the same bytes as a server that draws its own. A
  // restarted server keeps it (its state directory), and so its identity key and reset tokens.
  const identitySecret = serverRandom.bytes(IDENTITY_SECRET_BYTES);
  const machineEvents = { server: 0, clients: 0 };
  const serverCrashes: ServerCrash[] = [];
  const startServer = (serverBytes: typeof serverRandom): ServerActor => {
    const started = createServer(
      { password: SIM_PASSWORD, identitySecret, config: serverConfigOf(scenario) },
      {
        port: serverPort,
        clock,
        now: () => clock.now(),
        random: (count) => serverBytes.bytes(count),
        afterTurn: clock.afterStep,
        crypto,
      },
    );
    if (counting) {
      started.system.inspect((inspection) => {
        if (inspection.type === '@xstate.event') {
          machineEvents.server += 1;
        }
      });
    }
    started.on('*', (event) => {
      serverLog.push({ t: clock.now(), event });
      trace.event(clock.now(), SERVER_NODE, event);
      if (event.type === 'session.ended') {
        sessionStats.push(event.stats);
      }
    });
    started.subscribe({
      error: (error) => errors.push(`server: ${describeError(error)}`),
      complete: () => {
        // The server stopped by itself (a shutdown), not because the run is over or it was killed:
        // its process exits and its socket closes.
        if (started.getSnapshot().status === 'done') {
          serverStoppedAtMs = clock.now();
          network.release(SERVER_NODE);
        }
      },
    });
    started.start();
    return started;
  };
  server = startServer(serverRandom);
  const restart = scenario.serverRestart;
  if (restart !== undefined) {
    clock.setTimeout(() => {
      // Killed: it says nothing to anyone, and its sessions die with it.
      const crash: ServerCrash = { atMs: clock.now(), logIndex: serverLog.length, restartedAtMs: undefined };
      serverCrashes.push(crash);
      trace.event(clock.now(), SERVER_NODE, { type: 'server.killed' });
      server?.stop();
      server = undefined;
      clock.setTimeout(() => {
        crash.restartedAtMs = clock.now();
        trace.event(clock.now(), SERVER_NODE, { type: 'server.restarted' });
        server = startServer(random.fork(`${SERVER_NODE}-restarted`));
      }, restart.downMs);
    }, restart.atMs);
  }
  if (scenario.shutdownAtMs !== undefined) {
    clock.setTimeout(() => server?.send({ type: 'server.shutdown' }), scenario.shutdownAtMs);
  }

  const finishers: (() => void)[] = [];
  const watched: (() => void)[] = [
    () => {
      if (server !== undefined) {
        visitServerTables(server, tables.visitor);
      }
    },
  ];
  const clients = scenario.clients.map((plan, index) => startClientPlan(plan, index));

  function startClientPlan(plan: ClientPlan, index: number): ClientRecord {
    const node = clientNodeName(index);
    const address = clientAddressOf(scenario.clients, index);
    const record: ClientRecord = {
      node,
      plan,
      address,
      events: [],
      eventSessions: [],
      said: [],
      saidDuringRetry: 0,
      started: false,
      notStarted: undefined,
      crashedAtMs: undefined,
      quitAtMs: undefined,
      closedAtMs: undefined,
      finalState: 'not-started',
      sessionId: undefined,
      sessionIds: [],
      linkStats: undefined,
    };
    let actor: ClientActor | undefined;
    const clientRandom = random.fork(node);
    // The client's tables are owned by its node, named once.
    const clientVisitor: TableVisitor = (table, size, max) => tables.visitor(table, size, max, node);
    let retrying = false;
    clock.setTimeout(() => {
      if (record.crashedAtMs !== undefined) {
        return;
      }
      if (network.isHeld(address)) {
        // As a real program would fail to bind: the earlier client on this address is still running.
        record.notStarted = 'address-in-use';
        return;
      }
      const port = network.attach(node, address, (datagram, from) =>
        actor?.send({ type: 'datagram.received', datagram, from }),
      );
      const started = createClient(
        {
          name: plan.name,
          password: plan.knowsPassword ? SIM_PASSWORD : SIM_WRONG_PASSWORD,
          server: SERVER_ADDRESS,
          config: SIM_CLIENT_CONFIG,
        },
        {
          port,
          clock,
          now: () => clock.now(),
          random: (count) => clientRandom.bytes(count),
          afterTurn: clock.afterStep,
          crypto,
        },
      );
      actor = started;
      if (counting) {
        started.system.inspect((inspection) => {
          if (inspection.type === '@xstate.event') {
            machineEvents.clients += 1;
          }
        });
      }
      started.on('*', (event) => {
        record.events.push({ t: clock.now(), event });
        record.eventSessions.push(started.getSnapshot().context.session?.link.sessionId);
        trace.event(clock.now(), node, event);
        if (event.type === 'retrying') {
          retrying = true;
        } else if (event.type === 'welcome' || event.type === 'rejoined') {
          retrying = false;
        } else if (event.type === 'closed') {
          record.closedAtMs = clock.now();
          // The program exits once its client has closed: its socket closes, its address is free.
          clock.setTimeout(() => network.release(node), 0);
        }
      });
      started.subscribe({
        next: (snapshot) => {
          const sessionId = snapshot.context.session?.link.sessionId;
          if (sessionId !== undefined && record.sessionIds.at(-1) !== sessionId) {
            record.sessionIds.push(sessionId);
          }
        },
        error: (error) => errors.push(`${node}: ${describeError(error)}`),
      });
      watched.push(() => {
        if (started.getSnapshot().status === 'active') {
          visitClientTables(started, clientVisitor);
        }
      });
      record.started = true;
      started.start();
    }, plan.joinAtMs);
    for (const say of plan.says) {
      clock.setTimeout(() => {
        // A closed client takes no more input; nor does one that is not running.
        if (
          actor === undefined ||
          record.crashedAtMs !== undefined ||
          actor.getSnapshot().status !== 'active'
        ) {
          return;
        }
        const eventCountBefore = record.events.length;
        actor.send({ type: 'chat.say', text: say.text });
        // A text the client refused at once (empty, too long, it is leaving, its queue is full) was
        // never said.
        const refused = record.events.slice(eventCountBefore).some(({ event }) => event.type === 'error');
        if (!refused) {
          record.said.push({ t: clock.now(), event: say.text });
          if (retrying) {
            record.saidDuringRetry += 1;
          }
        }
      }, say.atMs);
    }
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
        if (record.closedAtMs !== undefined) {
          return;
        }
        record.crashedAtMs = clock.now();
        if (record.started) {
          network.release(node);
        }
        // A killed process runs nothing more: its timers stop with it.
        actor?.stop();
      }, plan.crashAtMs);
    }
    finishers.push(() => {
      const snapshot = actor?.getSnapshot();
      record.finalState = snapshot === undefined ? 'not-started' : JSON.stringify(snapshot.value);
      const session = actor === undefined ? undefined : clientSession(actor);
      record.sessionId = session?.sessionId;
      record.linkStats = session?.stats;
    });
    return record;
  }

  clock.setTimeout(() => network.heal(), scenario.healAtMs);
  const watch = () => {
    for (const visit of watched) {
      visit();
    }
  };
  let steps = 0;
  let budgetExhausted = false;
  try {
    ({ steps, budgetExhausted } = clock.runUntil(scenario.endAtMs, scenario.stepCountMax, watch));
  } catch (error) {
    // Something threw outside any actor (creating a client, a receiver): the run stops there and
    // fails, with its seed and trace, rather than taking the whole simulation down.
    errors.push(`the run threw at ${clock.now()} ms: ${describeError(error)}`);
  }

  for (const finish of finishers) {
    finish();
  }
  const last = server;
  for (const { stats } of last === undefined ? [] : serverSessionStats(last)) {
    sessionStats.push(stats);
  }
  const highWater =
    last === undefined ? { sessionCount: 0, memberCount: 0, recentJoinCount: 0 } : serverHighWater(last);
  last?.stop();
  return {
    scenario,
    trace,
    server: serverLog,
    serverCrashes,
    clients,
    network: network.stats,
    stepCount: steps,
    machineEvents: counting ? machineEvents : undefined,
    budgetExhausted,
    errors,
    sessionStats,
    serverHighWater: highWater,
    tables: tables.highWater,
    serverStoppedAtMs,
    ...(adversaryReport === undefined ? {} : { adversary: adversaryReport() }),
  };
}
