import fc from 'fast-check';
import type { Partition, Replay } from '../network.ts';
import {
  type ClientAddressPlan,
  type ClientPlan,
  clientNodeName,
  type FaultSettings,
  type RoomLimits,
  type Say,
  type Scenario,
  type ScenarioShape,
  SERVER_NODE,
  SIM_ROOM_LIMITS,
} from '../scenario.ts';
import { FAULT_TAPE_LENGTH_MAX_DEFAULT, faultTapeArb, partitionArb } from './faults.ts';
import { anyTextArb, everydayTextArb } from './texts.ts';

/** Faults and activity last this long by default; then the network heals. */
export const ACTIVE_MS_DEFAULT = 10_000;
/**
 * After the network heals, the run goes on this long: longer than every timeout of the simulation's
 * configuration (handshake retries, idle timeout, QUIT confirmation), so liveness can be checked.
 */
export const CALM_MS_DEFAULT = 20_000;
/** The calm of runs with late copies: every copy still in flight arrives within it. */
export const LATE_CALM_MS = 70_000;
/** A bound on the steps of a default run: a livelock fails loudly instead of hanging. */
export const STEP_COUNT_MAX = 400_000;
/** The default number of clients, at most, and of messages per client, at most. */
export const CLIENT_COUNT_MAX_DEFAULT = 6;
export const MESSAGE_COUNT_MAX_DEFAULT = 8;

/** The faults of the properties: about 12 % loss, 6 % duplication, 12 % extra delay, crashes, partitions. */
export const PROPERTY_FAULTS: FaultSettings = {
  lossPercent: 12,
  duplicatePercent: 6,
  delayPercent: 12,
  delayMsMax: 50,
  partitionCountMax: 2,
  crashes: true,
  wrongPasswords: true,
};

/** A run with no faults at all: swarm testing includes some, so that the plain path is checked too. */
export const NO_FAULTS: FaultSettings = {
  lossPercent: 0,
  duplicatePercent: 0,
  delayPercent: 0,
  delayMsMax: 0,
  partitionCountMax: 0,
  crashes: false,
  wrongPasswords: false,
};

/** What a caller may pin; whatever is left out is drawn. */
export interface WorkloadOptions {
  /** Exactly this many clients; by default drawn by the run's shape. */
  readonly clientCount?: number;
  /** Exactly this many messages per client; by default drawn by the run's shape. */
  readonly messageCount?: number;
  /** How long joins, messages and faults go on, in virtual ms. */
  readonly activeMs?: number;
  /** How long the healed network runs afterwards. */
  readonly calmMs?: number;
}

/**
 * Names drawn from a small pool, so that two clients asking for one name is common (`ANA` and `ana`
 * are one name). Twelve distinct names: a big room can fill before every name is taken.
 */
const NAMES = [
  'ana',
  'Budi',
  'citra',
  'dewi',
  'eko',
  'fajar',
  'gita',
  'ANA',
  'hana',
  'Indra',
  'joko',
  'kiki',
  'lina',
  'made',
] as const;

/** More names, for big rooms. */
const MORE_NAMES = ['nadia', 'oka', 'putu', 'rina', 'sari', 'tono', 'umar', 'vivi', 'wati', 'yudi'] as const;

/** How one shape draws its clients. */
interface PlanShape {
  readonly activeMs: number;
  readonly names: fc.Arbitrary<string>;
  /** Joins fall in [0, joinWindow × active]. */
  readonly joinWindow: number;
  /** Messages fall within this share of the active time after the join. */
  readonly sayWindow: number;
  readonly says: {
    readonly minLength: number;
    readonly maxLength: number;
    readonly size?: fc.SizeForArbitrary;
  };
  readonly text: fc.Arbitrary<string>;
  /** Weights of staying, quitting and crashing; quits and crashes come within leaveWindow × active. */
  readonly leave: { readonly stay: number; readonly quit: number; readonly crash: number };
  readonly leaveWindow: number;
  readonly wrongPasswords: boolean;
  /** Some clients say all their messages at once, a burst that fills the window and the queues. */
  readonly burst: boolean;
  /**
   * When set, every burst begins at this time, as members answering one event at once: together they
   * go past the room's share, and take turns.
   */
  readonly chorusAtMs?: number;
}

function messageCountOf(
  options: WorkloadOptions,
  maxLength: number,
  minLength = 0,
  size?: fc.SizeForArbitrary,
) {
  return options.messageCount === undefined
    ? { minLength, maxLength, ...(size === undefined ? {} : { size }) }
    : { minLength: options.messageCount, maxLength: options.messageCount };
}

function clientPlanArb(shape: PlanShape): fc.Arbitrary<Omit<ClientPlan, 'address'>> {
  const { activeMs } = shape;
  return fc
    .record({
      name: shape.names,
      knowsPassword: shape.wrongPasswords
        ? fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) })
        : fc.constant(true),
      // Every planned action falls within the active phase, so the calm phase that follows is long
      // enough for liveness whatever its length.
      joinAtMs: fc.integer({ min: 0, max: Math.floor(activeMs * shape.joinWindow) }),
      sayOffsetsMs: fc.array(fc.integer({ min: 0, max: Math.floor(activeMs * shape.sayWindow) }), shape.says),
      texts: fc.array(shape.text, { minLength: shape.says.maxLength, maxLength: shape.says.maxLength }),
      // In a chorus everyone bursts.
      bursty: shape.burst
        ? shape.chorusAtMs === undefined
          ? fc.boolean()
          : fc.constant(true)
        : fc.constant(false),
      leave: fc.oneof(
        { weight: shape.leave.stay, arbitrary: fc.constant(undefined) },
        {
          weight: shape.leave.quit,
          arbitrary: fc.record({
            kind: fc.constant('quit' as const),
            afterMs: fc.integer({ min: 0, max: Math.floor(activeMs * shape.leaveWindow) }),
          }),
        },
        {
          weight: shape.leave.crash,
          arbitrary: fc.record({
            kind: fc.constant('crash' as const),
            afterMs: fc.integer({ min: 0, max: Math.floor(activeMs * shape.leaveWindow) }),
          }),
        },
      ),
    })
    .map(({ name, knowsPassword, joinAtMs, sayOffsetsMs, texts, bursty, leave }) => {
      // A burst says everything within a few ms of its first message (or of the chorus).
      const startMs =
        shape.chorusAtMs === undefined ? (sayOffsetsMs[0] ?? 0) : Math.max(0, shape.chorusAtMs - joinAtMs);
      const offsets = bursty
        ? sayOffsetsMs.map((offset, index) => startMs + index * 3 + (offset % 3))
        : sayOffsetsMs;
      const says: Say[] = offsets
        .map((offset, index) => ({ atMs: joinAtMs + offset, text: texts[index] ?? 'halo' }))
        .sort((a, b) => a.atMs - b.atMs);
      const plan = { name, knowsPassword, joinAtMs, says };
      if (leave?.kind === 'quit') {
        // In a chorus a quitter leaves right after its burst, while its lines wait for the room's share.
        const quitAtMs =
          shape.chorusAtMs !== undefined && bursty
            ? Math.max(joinAtMs, shape.chorusAtMs) + 80 + (leave.afterMs % 200)
            : joinAtMs + leave.afterMs;
        return { ...plan, quitAtMs };
      }
      if (leave?.kind === 'crash') {
        return { ...plan, crashAtMs: joinAtMs + leave.afterMs };
      }
      return plan;
    });
}

/**
 * Where each client runs: own host (the shrink target), the host of an earlier client, or the very
 * address of an earlier client that left (a restarted program); the reuser joins after the earlier
 * one has gone, or runs on the shared host instead when the earlier one never leaves.
 */
function addressesArb(
  count: number,
  weights: { readonly own: number; readonly shareHost: number; readonly reuse: number },
): fc.Arbitrary<readonly { readonly kind: ClientAddressPlan['kind']; readonly pick: number }[]> {
  const choice = fc.oneof(
    { weight: weights.own, arbitrary: fc.constant({ kind: 'own' as const, pick: 0 }) },
    {
      weight: weights.shareHost,
      arbitrary: fc.record({ kind: fc.constant('share-host' as const), pick: fc.nat() }),
    },
    { weight: weights.reuse, arbitrary: fc.record({ kind: fc.constant('reuse' as const), pick: fc.nat() }) },
  );
  return fc.array(choice, { minLength: count, maxLength: count });
}

function placeClients(
  plans: readonly Omit<ClientPlan, 'address'>[],
  choices: readonly { readonly kind: ClientAddressPlan['kind']; readonly pick: number }[],
): ClientPlan[] {
  const placed: ClientPlan[] = [];
  plans.forEach((plan, index) => {
    const choice = choices[index];
    if (choice === undefined || choice.kind === 'own' || index === 0) {
      placed.push({ ...plan, address: { kind: 'own' } });
      return;
    }
    const other = choice.pick % index;
    const earlier = placed[other];
    const goneAtMs = earlier?.crashAtMs ?? earlier?.quitAtMs;
    if (choice.kind === 'share-host' || goneAtMs === undefined) {
      placed.push({ ...plan, address: { kind: 'share-host', with: other } });
      return;
    }
    // A QUIT takes a moment to be confirmed before the program exits and frees its port.
    const joinAtMs = Math.max(plan.joinAtMs, goneAtMs + 1500);
    const shift = joinAtMs - plan.joinAtMs;
    placed.push({
      ...plan,
      address: { kind: 'reuse', of: other },
      joinAtMs,
      says: plan.says.map((say) => ({ ...say, atMs: say.atMs + shift })),
      ...(plan.quitAtMs === undefined ? {} : { quitAtMs: plan.quitAtMs + shift }),
      ...(plan.crashAtMs === undefined ? {} : { crashAtMs: plan.crashAtMs + shift }),
    });
  });
  return placed;
}

/**
 * The step budget of a run: {@link STEP_COUNT_MAX} for the default 30 s and 6 clients with a few
 * messages each, more for longer runs, bigger rooms and more messages (traffic grows with each), so
 * that only a livelock exhausts it.
 */
function stepBudget(endAtMs: number, clients: readonly ClientPlan[]): number {
  const length = Math.max(1, endAtMs / (ACTIVE_MS_DEFAULT + CALM_MS_DEFAULT));
  const size = Math.max(1, (clients.length / CLIENT_COUNT_MAX_DEFAULT) ** 2);
  const says = clients.reduce((sum, plan) => sum + plan.says.length, 0);
  const traffic = Math.max(1, says / (CLIENT_COUNT_MAX_DEFAULT * MESSAGE_COUNT_MAX_DEFAULT));
  return Math.ceil(STEP_COUNT_MAX * length * size * traffic);
}

/** What a shape decides beyond its clients. */
interface RunShape {
  readonly shape: ScenarioShape;
  readonly activeMs: number;
  readonly calmMs: number;
  readonly clientCount: {
    readonly minLength: number;
    readonly maxLength: number;
    readonly size?: fc.SizeForArbitrary;
  };
  readonly plan: PlanShape;
  /** The room's limits, for the number of clients drawn. */
  readonly room: (clientCount: number) => fc.Arbitrary<RoomLimits>;
  readonly addresses: { readonly own: number; readonly shareHost: number; readonly reuse: number };
  readonly partitionCountMax: number;
  /** Partitions around each client's join (handshakes under stress). */
  readonly joinPartitions: boolean;
  readonly shutdown: boolean;
  /** The server's process killed once and started again, before the heal. */
  readonly restart: boolean;
  readonly lateCopyWeight: number;
  /** Some of each client's first datagrams sent again, a few seconds after its join. */
  readonly replays: boolean;
}

/**
 * A partition around one client's join, or none. Some fall anywhere near it; two are aimed at the
 * handshake's steps, a round trip apart on a network of `latencyMs`: the JOIN cut off right after the
 * CHALLENGE got through (the cookie's slot passes while it is retried), or the ACCEPT cut off after
 * the JOIN got in (the client gives up while the server holds it as a member it never hears from).
 */
function joinPartitionArb(
  plan: ClientPlan,
  node: string,
  latencyMs: number,
): fc.Arbitrary<Partition | undefined> {
  const oneWay = (from: string, to: string, startMs: number, durationMs: number): Partition => ({
    startMs,
    endMs: startMs + durationMs,
    kind: 'one-way',
    groupA: [from],
    groupB: [to],
  });
  const anywhere = fc
    .record({
      startOffsetMs: fc.integer({ min: -500, max: 1500 }),
      durationMs: fc.integer({ min: 800, max: 8000 }),
      kind: fc.constantFrom('isolate-client', 'client-to-server', 'server-to-client'),
    })
    .map(({ startOffsetMs, durationMs, kind }): Partition => {
      const startMs = Math.max(0, plan.joinAtMs + startOffsetMs);
      if (kind === 'isolate-client') {
        return { startMs, endMs: startMs + durationMs, kind: 'isolate', groupA: [node], groupB: [] };
      }
      return kind === 'client-to-server'
        ? oneWay(node, SERVER_NODE, startMs, durationMs)
        : oneWay(SERVER_NODE, node, startMs, durationMs);
    });
  const joinLost = fc
    .integer({ min: 3000, max: 7000 })
    .map((durationMs) => oneWay(node, SERVER_NODE, plan.joinAtMs + latencyMs + 1, durationMs));
  const acceptLost = fc
    .integer({ min: 9000, max: 14_000 })
    .map((durationMs) => oneWay(SERVER_NODE, node, plan.joinAtMs + 2 * latencyMs + 1, durationMs));
  return fc.option(
    fc.oneof(
      { weight: 1, arbitrary: anywhere },
      { weight: 5, arbitrary: joinLost },
      { weight: 3, arbitrary: acceptLost },
    ),
    { nil: undefined },
  );
}

/**
 * Half the time, a client cut off while the server stops, for longer than the server waits: the
 * shutdown notice or its acknowledgement is lost, and the server stops with members unconfirmed.
 */
function shutdownPartitionArb(
  shutdownAtMs: number | undefined,
  clientCount: number,
): fc.Arbitrary<Partition | undefined> {
  if (shutdownAtMs === undefined || clientCount === 0) {
    return fc.constant(undefined);
  }
  return fc.option(
    fc
      .record({
        // The server itself (no member can confirm), a client cut off both ways, or a client that
        // keeps talking but cannot hear the notice: its lines reach a server that is stopping.
        cut: fc.oneof(
          { weight: 1, arbitrary: fc.constant({ kind: 'isolate' as const, node: SERVER_NODE }) },
          {
            weight: 1,
            arbitrary: fc
              .nat(clientCount - 1)
              .map((client) => ({ kind: 'isolate' as const, node: clientNodeName(client) })),
          },
          {
            weight: 5,
            arbitrary: fc
              .nat(clientCount - 1)
              .map((client) => ({ kind: 'deaf' as const, node: clientNodeName(client) })),
          },
        ),
        beforeMs: fc.integer({ min: 0, max: 500 }),
        afterMs: fc.integer({ min: 1500, max: 5000 }),
      })
      .map(({ cut, beforeMs, afterMs }): Partition => {
        const startMs = Math.max(0, shutdownAtMs - beforeMs);
        const endMs = shutdownAtMs + afterMs;
        return cut.kind === 'isolate'
          ? { startMs, endMs, kind: 'isolate', groupA: [cut.node], groupB: [] }
          : { startMs, endMs, kind: 'one-way', groupA: [SERVER_NODE], groupB: [cut.node] };
      }),
    { freq: 10, nil: undefined },
  );
}

type ServerRestart = NonNullable<Scenario['serverRestart']>;

/**
 * Three times in four, the server is killed moments after some member's line reached it: the room relayed
 * it, and the confirmation is still on its way (or lost, see {@link restartPartitionArb}) when the
 * server dies, so the author resends it after rejoining and the others must not show it twice.
 */
function restartAmidTalkArb(
  restart: ServerRestart | undefined,
  plans: readonly Omit<ClientPlan, 'address'>[],
  latencyMs: number,
): fc.Arbitrary<ServerRestart | undefined> {
  const lines = spokenLines(plans);
  if (restart === undefined || lines.length === 0) {
    return fc.constant(restart);
  }
  const aimed = fc
    .record({ line: fc.nat(lines.length - 1), afterMs: fc.integer({ min: 1, max: 40 }) })
    .map(({ line, afterMs }) => ({
      ...restart,
      atMs: (lines[line]?.atMs ?? restart.atMs) + latencyMs + afterMs,
    }));
  return fc.oneof({ weight: 1, arbitrary: fc.constant(restart) }, { weight: 3, arbitrary: aimed });
}

/**
 * Most of the time, some of the server's last words before it is killed are lost: a one-way cut from
 * the server to the author of the last line a member said before the kill (so the others show it, and the
 * author, unconfirmed, resends it after rejoining), or to every client.
 */
function restartPartitionArb(
  restart: ServerRestart | undefined,
  clients: readonly ClientPlan[],
): fc.Arbitrary<Partition | undefined> {
  if (restart === undefined || clients.length === 0) {
    return fc.constant(undefined);
  }
  const nodes = clients.map((_, index) => clientNodeName(index));
  const lastBefore = spokenLines(clients)
    .filter((line) => line.atMs < restart.atMs)
    .at(-1);
  const author = nodes[lastBefore?.author ?? 0] ?? SERVER_NODE;
  return fc.option(
    fc
      .record({
        beforeMs: fc.integer({ min: 20, max: 400 }),
        onlyAuthor: fc.oneof(fc.constant(true), fc.boolean()),
      })
      .map(
        ({ beforeMs, onlyAuthor }): Partition => ({
          startMs: Math.max(0, restart.atMs - beforeMs),
          endMs: restart.atMs + 1,
          kind: 'one-way',
          groupA: [SERVER_NODE],
          groupB: onlyAuthor ? [author] : nodes,
        }),
      ),
    { freq: 4, nil: undefined },
  );
}

/**
 * Up to three of the clients' first datagrams (a HELLO, a JOIN, the first session packets) sent
 * again half a second to four seconds after their client joined: a JOIN then often comes back after
 * its member has quit, while its cookie is still good, and must be refused as a replay.
 */
function replaysArb(clients: readonly ClientPlan[]): fc.Arbitrary<readonly Replay[]> {
  if (clients.length === 0) {
    return fc.constant([]);
  }
  return fc.array(
    fc
      .record({
        client: fc.nat(clients.length - 1),
        // The JOIN (its second datagram) most often.
        nth: fc.oneof({ weight: 3, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.nat(4) }),
        afterMs: fc.integer({ min: 50, max: 1500 }),
      })
      .map(
        ({ client, nth, afterMs }): Replay => ({
          // After the client's QUIT when it quits (its session then over, the JOIN's cookie still good).
          atMs: (clients[client]?.quitAtMs ?? clients[client]?.joinAtMs ?? 0) + afterMs,
          from: clientNodeName(client),
          nth,
        }),
      ),
    { minLength: 1, maxLength: 4, size: 'max' },
  );
}

/**
 * A member's session is usually open this long after its client began to join: a line planned later
 * goes out at once, rather than waiting in the client for the handshake.
 */
const JOINED_AFTER_MS = 400;

/** A line planned while its client is most likely a member: it knows the password, has joined, and is still there. */
interface SpokenLine {
  readonly atMs: number;
  readonly author: number;
}

/**
 * The lines of {@link SpokenLine}, by time: what a fault aimed "amid talk" aims at. A client whose name
 * an earlier one asks for too (`ANA` and `ana` are one name) is likely refused, and is passed over.
 */
function spokenLines(plans: readonly Omit<ClientPlan, 'address'>[]): SpokenLine[] {
  const firstToAsk = (plan: Omit<ClientPlan, 'address'>, index: number) =>
    plans.every(
      (other, otherIndex) =>
        otherIndex === index ||
        !other.knowsPassword ||
        other.name.toLowerCase() !== plan.name.toLowerCase() ||
        other.joinAtMs > plan.joinAtMs ||
        (other.joinAtMs === plan.joinAtMs && otherIndex > index),
    );
  return plans
    .flatMap((plan, author) => {
      const goneAtMs = plan.quitAtMs ?? plan.crashAtMs ?? Number.POSITIVE_INFINITY;
      return plan.knowsPassword && firstToAsk(plan, author)
        ? plan.says
            .filter((say) => say.atMs >= plan.joinAtMs + JOINED_AFTER_MS && say.atMs < goneAtMs)
            .map((say) => ({ atMs: say.atMs, author }))
        : [];
    })
    .sort((a, b) => a.atMs - b.atMs);
}

/**
 * Three times in four, the server is stopped a few milliseconds after some member's line was sent,
 * while it is still on its way: a stopping room must not sequence it.
 */
function stopAmidTalkArb(
  shutdownAtMs: number | undefined,
  plans: readonly Omit<ClientPlan, 'address'>[],
): fc.Arbitrary<number | undefined> {
  const lines = spokenLines(plans);
  if (shutdownAtMs === undefined || lines.length === 0) {
    return fc.constant(shutdownAtMs);
  }
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(shutdownAtMs) },
    {
      weight: 3,
      arbitrary: fc
        .record({ line: fc.nat(lines.length - 1), afterMs: fc.integer({ min: 0, max: 5 }) })
        .map(({ line, afterMs }) => (lines[line]?.atMs ?? shutdownAtMs) + afterMs),
    },
  );
}

function runArb(
  run: RunShape,
  faults: FaultSettings,
  tape: { readonly fullLength?: boolean },
): fc.Arbitrary<Scenario> {
  const cleanPercent = Math.max(1, 100 - faults.lossPercent - faults.duplicatePercent - faults.delayPercent);
  const anyTapeFault =
    faults.lossPercent + faults.duplicatePercent + faults.delayPercent + run.lateCopyWeight > 0;
  return fc
    .record({
      seed: fc.integer({ min: 0, max: 0x7fff_ffff }),
      plans: fc.array(clientPlanArb(run.plan), run.clientCount),
      latencyMs: fc.integer({ min: 1, max: 20 }),
      faultTape: anyTapeFault
        ? faultTapeArb({
            cleanWeight: cleanPercent,
            lossWeight: faults.lossPercent,
            duplicateWeight: faults.duplicatePercent,
            delayWeight: faults.delayPercent,
            delayMsMax: faults.delayMsMax,
            lateCopyWeight: run.lateCopyWeight,
            ...(tape.fullLength === true ? { decisionCountMin: FAULT_TAPE_LENGTH_MAX_DEFAULT } : {}),
          })
        : fc.constant([]),
      shutdownAtMs: run.shutdown
        ? fc.integer({ min: Math.floor(run.activeMs * 0.5), max: Math.floor(run.activeMs * 1.2) })
        : fc.constant(undefined),
      // Down for less than a client's link waits (so that most rejoin), sometimes for longer.
      serverRestart: run.restart
        ? fc.record({
            atMs: fc.integer({ min: Math.floor(run.activeMs * 0.3), max: Math.floor(run.activeMs * 0.9) }),
            downMs: fc.oneof(
              { weight: 4, arbitrary: fc.integer({ min: 0, max: 1500 }) },
              { weight: 1, arbitrary: fc.integer({ min: 1500, max: 8000 }) },
            ),
          })
        : fc.constant(undefined),
    })
    .chain((drawn) => run.room(drawn.plans.length).map((room) => ({ ...drawn, room })))
    .chain((drawn) =>
      stopAmidTalkArb(drawn.shutdownAtMs, drawn.plans).map((shutdownAtMs) => ({ ...drawn, shutdownAtMs })),
    )
    .chain((drawn) =>
      restartAmidTalkArb(drawn.serverRestart, drawn.plans, drawn.latencyMs).map((serverRestart) => ({
        ...drawn,
        serverRestart,
      })),
    )
    .chain((base) =>
      addressesArb(base.plans.length, run.addresses).chain((choices) => {
        const clients = placeClients(base.plans, choices);
        const nodes = [SERVER_NODE, ...clients.map((_, index) => clientNodeName(index))];
        const joinPartitions: fc.Arbitrary<readonly (Partition | undefined)[]> = run.joinPartitions
          ? fc.tuple(
              ...clients.map((plan, index) => joinPartitionArb(plan, clientNodeName(index), base.latencyMs)),
            )
          : fc.constant([]);
        return fc
          .record({
            partitions: fc.array(partitionArb(nodes, run.activeMs), {
              maxLength: Math.min(faults.partitionCountMax, run.partitionCountMax),
            }),
            joinPartitions,
            aroundShutdown: shutdownPartitionArb(base.shutdownAtMs, clients.length),
            aroundRestart: restartPartitionArb(base.serverRestart, clients),
            replays: run.replays ? replaysArb(clients) : fc.constant([]),
          })
          .map(({ partitions, joinPartitions: aroundJoins, aroundShutdown, aroundRestart, replays }) => {
            const all = [
              ...partitions,
              ...aroundJoins.filter((partition): partition is Partition => partition !== undefined),
              ...(aroundShutdown === undefined ? [] : [aroundShutdown]),
              ...(aroundRestart === undefined ? [] : [aroundRestart]),
            ];
            // Every fault ends by the heal, and every plan's last action falls before it.
            const lastActionMs = Math.max(
              run.activeMs,
              ...clients.map((plan) =>
                Math.max(
                  plan.joinAtMs,
                  ...plan.says.map((say) => say.atMs),
                  plan.quitAtMs ?? 0,
                  plan.crashAtMs ?? 0,
                ),
              ),
              ...all.map((partition) => partition.endMs),
              base.serverRestart === undefined ? 0 : base.serverRestart.atMs + base.serverRestart.downMs,
            );
            const healAtMs = lastActionMs;
            const shutdownAtMs = base.shutdownAtMs;
            const endAtMs = Math.max(healAtMs, shutdownAtMs ?? 0) + run.calmMs;
            const scenario: Scenario = {
              seed: base.seed,
              shape: run.shape,
              room: base.room,
              clients,
              latencyMs: base.latencyMs,
              faultTape: base.faultTape,
              partitions: all,
              ...(replays.length === 0 ? {} : { replays }),
              faults,
              healAtMs,
              ...(shutdownAtMs === undefined ? {} : { shutdownAtMs }),
              ...(base.serverRestart === undefined ? {} : { serverRestart: base.serverRestart }),
              endAtMs,
              stepCountMax: stepBudget(endAtMs, clients),
            };
            return scenario;
          });
      }),
    );
}

const DEFAULT_ROOM = () => fc.constant(SIM_ROOM_LIMITS);
/** Most clients on hosts of their own, a few sharing one or reusing an address, in every shape. */
const MOSTLY_OWN_ADDRESSES = { own: 8, shareHost: 1, reuse: 1 } as const;

/** The run shapes: how each draws its clients, room and faults. */
function runShape(
  shape: ScenarioShape,
  options: WorkloadOptions,
  faults: FaultSettings,
): fc.Arbitrary<RunShape> {
  // Drawn over the whole range (`size: 'max'`), so a shape's small minimum (kept so that shrinking can
  // reach one client) does not make its rooms small.
  const clientsOf = (min: number, max: number) =>
    options.clientCount === undefined
      ? { minLength: min, maxLength: max, size: 'max' as const }
      : { minLength: options.clientCount, maxLength: options.clientCount };
  const calmMs = options.calmMs ?? CALM_MS_DEFAULT;
  const crash = faults.crashes ? 1 : 0;
  const basePlan = (activeMs: number): PlanShape => ({
    activeMs,
    names: fc.constantFrom(...NAMES),
    joinWindow: 0.6,
    sayWindow: 0.4,
    says: messageCountOf(options, MESSAGE_COUNT_MAX_DEFAULT),
    text: everydayTextArb,
    leave: { stay: 3, quit: 2, crash },
    leaveWindow: 0.4,
    wrongPasswords: faults.wrongPasswords,
    burst: false,
  });
  // Members join early and talk throughout, so that some line is on its way when the server stops
  // or dies.
  const talkingThroughout = (activeMs: number): PlanShape => ({
    ...basePlan(activeMs),
    joinWindow: 0.3,
    sayWindow: 0.8,
    says: messageCountOf(options, 16, 6, 'max'),
    leave: { stay: 4, quit: 1, crash },
  });
  const common = {
    shape,
    calmMs,
    room: DEFAULT_ROOM,
    addresses: MOSTLY_OWN_ADDRESSES,
    partitionCountMax: Number.POSITIVE_INFINITY,
    joinPartitions: false,
    shutdown: false,
    restart: false,
    lateCopyWeight: 0,
    replays: false,
  };
  const fixed = (activeMs: number, make: (activeMs: number) => RunShape) => fc.constant(make(activeMs));
  const active = options.activeMs ?? ACTIVE_MS_DEFAULT;
  switch (shape) {
    case 'small':
      return fixed(active, (activeMs) => ({
        ...common,
        activeMs,
        clientCount: clientsOf(1, CLIENT_COUNT_MAX_DEFAULT),
        plan: basePlan(activeMs),
        replays: true,
      }));
    case 'texts':
      return fixed(active, (activeMs) => ({
        ...common,
        activeMs,
        clientCount: clientsOf(1, 3),
        plan: {
          ...basePlan(activeMs),
          says: messageCountOf(options, 12, 6, 'max'),
          text: anyTextArb(),
          leave: { stay: 4, quit: 1, crash: 0 },
          wrongPasswords: false,
        },
      }));
    case 'long':
      // Minutes of activity: sessions outlive many keepalive intervals, the room falls quiet for long
      // stretches, and several loss bursts strike one session over its life.
      return fc.integer({ min: 60_000, max: 240_000 }).map((drawn) => {
        const activeMs = options.activeMs ?? drawn;
        return {
          ...common,
          activeMs,
          clientCount: clientsOf(1, 4),
          plan: {
            ...basePlan(activeMs),
            joinWindow: 0.2,
            sayWindow: 0.75,
            says: messageCountOf(options, 10),
            leave: { stay: 6, quit: 1, crash },
            leaveWindow: 0.7,
          },
          partitionCountMax: 6,
        };
      });
    case 'big':
      // Half the time the bursts come together, once most clients have joined.
      return fc
        .option(fc.integer({ min: Math.floor(active * 0.65), max: Math.floor(active * 0.8) }), {
          nil: undefined,
          freq: 2,
        })
        .map((chorusAtMs) => ({
          ...common,
          activeMs: active,
          clientCount: clientsOf(6, 12),
          plan: {
            ...basePlan(active),
            // Mostly distinct names, so that the room fills before the names run out.
            names: fc.constantFrom(...NAMES, ...MORE_NAMES),
            says: messageCountOf(options, 24, 0, 'max'),
            burst: true,
            ...(chorusAtMs === undefined ? {} : { chorusAtMs }),
            leave: { stay: 6, quit: 1, crash },
          },
          // Fewer places than clients, so the room fills.
          room: (clientCount) =>
            fc
              .integer({ min: Math.max(2, clientCount - 6), max: Math.max(2, clientCount - 2) })
              .map((memberCountMax) => ({
                memberCountMax,
                sessionCountMax: 2 * memberCountMax,
                // A table of recent joins smaller than the room, so that it fills over a run.
                recentJoinCountMax: Math.max(2, memberCountMax - 2),
              })),
        }));
    case 'addresses':
      return fixed(active, (activeMs) => ({
        ...common,
        activeMs,
        clientCount: clientsOf(2, 6),
        plan: {
          ...basePlan(activeMs),
          joinWindow: 0.4,
          leave: { stay: 1, quit: 2, crash: 2 * crash },
          leaveWindow: 0.3,
        },
        addresses: { own: 1, shareHost: 2, reuse: 3 },
        replays: true,
      }));
    case 'handshake':
      // Slow handshakes: a partition around a client's join, with typing, quitting and crashing soon
      // after it; retries span cookie slots and meet fresh CHALLENGEs.
      return fixed(active, (activeMs) => ({
        ...common,
        activeMs,
        clientCount: clientsOf(1, 5),
        plan: {
          ...basePlan(activeMs),
          sayWindow: 0.25,
          leaveWindow: 0.3,
          leave: { stay: 2, quit: 2, crash },
        },
        joinPartitions: true,
      }));
    case 'late':
      return fixed(active, (activeMs) => ({
        ...common,
        activeMs,
        calmMs: Math.max(calmMs, LATE_CALM_MS),
        clientCount: clientsOf(1, 5),
        plan: {
          ...basePlan(activeMs),
          says: messageCountOf(options, 8, 2),
          leave: { stay: 1, quit: 3, crash },
          // Quits soon after joining, so that a replayed JOIN comes back within its cookie's life.
          leaveWindow: 0.2,
        },
        lateCopyWeight: 25,
        replays: true,
      }));
    case 'shutdown':
      return fixed(active, (activeMs) => ({
        ...common,
        activeMs,
        clientCount: clientsOf(1, 5),
        plan: talkingThroughout(activeMs),
        shutdown: true,
        partitionCountMax: 3,
      }));
    case 'restart':
      return fixed(active, (activeMs) => ({
        ...common,
        activeMs,
        clientCount: clientsOf(1, 5),
        plan: talkingThroughout(activeMs),
        restart: true,
        partitionCountMax: 2,
      }));
  }
}

/** How often each shape is drawn: most runs small and quick, every corner reached in every suite. */
export const SHAPE_WEIGHTS: Readonly<Record<ScenarioShape, number>> = {
  small: 10,
  texts: 16,
  long: 10,
  big: 14,
  addresses: 11,
  handshake: 14,
  late: 11,
  shutdown: 14,
  restart: 18,
};

/** A run of one shape under the given faults. */
export function shapedScenarioArb(
  shape: ScenarioShape,
  options: WorkloadOptions,
  faults: FaultSettings,
  tape: { readonly fullLength?: boolean } = {},
): fc.Arbitrary<Scenario> {
  return runShape(shape, options, faults).chain((run) => runArb(run, faults, tape));
}

/**
 * A whole run of today's default shape under the given faults: clients with their workloads, a fault
 * tape, and partitions that all heal before the calm phase. Shrinking removes clients, messages,
 * faults and partitions.
 */
export function scenarioArbWith(
  options: WorkloadOptions,
  faults: FaultSettings,
  tape: { readonly fullLength?: boolean } = {},
): fc.Arbitrary<Scenario> {
  return shapedScenarioArb('small', options, faults, tape);
}

/** A shape, drawn by {@link SHAPE_WEIGHTS}; small first, so that shrinking moves toward it. */
const shapeArb: fc.Arbitrary<ScenarioShape> = fc.oneof(
  ...(Object.entries(SHAPE_WEIGHTS) as [ScenarioShape, number][]).map(([shape, weight]) => ({
    weight,
    arbitrary: fc.constant(shape),
  })),
);

/** The scenarios of the properties: a shape per run, under {@link PROPERTY_FAULTS}. */
export const scenarioArb: fc.Arbitrary<Scenario> = shapeArb.chain((shape) =>
  shapedScenarioArb(shape, {}, PROPERTY_FAULTS),
);

/**
 * Fault settings for swarm testing: each run draws its own, so that some runs are fault-free, some
 * lose up to 30 % of datagrams, some partition, some crash, and the mix differs from run to run
 * (a fixed mix would test one corner of the space over and over).
 */
export const faultSettingsArb: fc.Arbitrary<FaultSettings> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(NO_FAULTS) },
  {
    weight: 7,
    arbitrary: fc.record({
      lossPercent: fc.integer({ min: 0, max: 30 }),
      duplicatePercent: fc.integer({ min: 0, max: 10 }),
      delayPercent: fc.integer({ min: 0, max: 20 }),
      delayMsMax: fc.integer({ min: 1, max: 100 }),
      partitionCountMax: fc.integer({ min: 0, max: 3 }),
      crashes: fc.boolean(),
      wrongPasswords: fc.boolean(),
    }),
  },
);

/** Swarm testing: a shape and fault settings, then a scenario under them. */
export function swarmScenarioArb(options: WorkloadOptions = {}): fc.Arbitrary<Scenario> {
  return fc
    .tuple(shapeArb, faultSettingsArb)
    .chain(([shape, faults]) => shapedScenarioArb(shape, options, faults, { fullLength: true }));
}
