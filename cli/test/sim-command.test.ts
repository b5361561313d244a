import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Chalk } from 'chalk';
import { NO_FAULTS } from '../../adapters/sim/arbitraries/scenario.ts';
import { checkRun } from '../../adapters/sim/check.ts';
import { renderDiagramHtml, renderDiagramSvg } from '../../adapters/sim/diagram.ts';
import { decodeReplayToken } from '../../adapters/sim/replay-token.ts';
import { type RunRecord, runScenario } from '../../adapters/sim/run.ts';
import { type ClientPlan, type Scenario, SIM_ROOM_LIMITS } from '../../adapters/sim/scenario.ts';
import { firstTraceDifference, judge, runSwarm, swarmScenarioForSeed } from '../../adapters/sim/swarm.ts';
import { determinismLine, type SimCommandOptions, simCommand, simulatingLine } from '../sim-command.ts';
import { GaschatProcess } from './processes.ts';

const plain = new Chalk({ level: 0 });

/** A planted bug: "nobody may ever see a message". Any run with a delivered message breaks it. */
function plantedCheck(run: RunRecord) {
  const seen = run.clients.some((client) => client.events.some(({ event }) => event.type === 'message'));
  return seen ? [{ invariant: 'planted', message: 'a client saw a message' }] : [];
}

function count(text: string, pattern: RegExp): number {
  return text.match(pattern)?.length ?? 0;
}

/** The token a report's replay command names: inline, or in the file it wrote (captured in `files`). */
function replayToken(text: string, files: ReadonlyMap<string, string>): string {
  const argument = /gaschat sim --replay (\S+)/.exec(text)?.[1] ?? '';
  return argument.startsWith('g2.') ? argument : (files.get(argument) ?? '').trim();
}

function capture(options: Partial<SimCommandOptions>) {
  const lines: string[] = [];
  const files = new Map<string, string>();
  const code = simCommand(
    { runs: 5, seed: 1, checkDeterminism: false, json: false, ...options },
    { chalk: plain, out: (line) => lines.push(line), writeFile: (path, text) => files.set(path, text) },
  );
  return { code, text: lines.join('\n'), lines, files };
}

test('a failing seed is shrunk to its smallest case, printed with its log, and its token replays it exactly', (t) => {
  const { code, text, files } = capture({ runs: 3, seed: 11, messageCount: 3, check: plantedCheck });
  t.is(code, 1);
  t.regex(text, /\[planted\] a client saw a message/);
  // The first failure is told before shrinking starts, with its own replay command.
  t.regex(
    text,
    /seed 11 broke 1 guarantee \([^)]*\); replay it as it was: gaschat sim --replay \S+\n[\s\S]*shrinking it, for at most 60 s/,
  );
  const token = replayToken(text.slice(text.indexOf('shrunk in')), files);
  t.truthy(token, text);
  const scenario = decodeReplayToken(token ?? '');
  // Smaller than the first failure: no more clients than it had, each with the 3 messages pinned, and
  // faults down to none.
  const firstClients = Number(/seed 11 broke 1 guarantee \([^,]*, (\d+) clients?/.exec(text)?.[1]);
  t.true(scenario.clients.length >= 1 && scenario.clients.length <= firstClients, text);
  t.true(scenario.clients.every((client) => client.says.length === 3));
  t.true(
    scenario.faultTape.every((decision) => !decision.drop && !decision.duplicate && decision.delayMs === 0),
  );
  t.deepEqual(scenario.partitions, []);
  t.regex(text, /its log, one event per line/);
  t.regex(text, /c0\s+event \{"type":"message"/);

  const replayed = capture({ replay: token ?? '', check: plantedCheck });
  t.is(replayed.code, 1);
  t.regex(replayed.text, /\[planted\] a client saw a message/);
  // The same scenario keeps every real guarantee: the failure was the planted check's alone.
  t.is(capture({ replay: token ?? '' }).code, 0);
});

test('swarm runs draw their own faults: some runs have none, others lose, duplicate, partition and crash', (t) => {
  const { summary, failures } = runSwarm({ runs: 120, seed: 7 });
  t.deepEqual(failures, []);
  t.is(summary.runs, 120);
  t.true(
    summary.faultFreeRuns > 0 && summary.faultFreeRuns < 120,
    `fault-free runs: ${summary.faultFreeRuns}`,
  );
  t.true(summary.datagramsDropped > 0);
  t.true(summary.datagramsDuplicated > 0);
  t.true(summary.retransmissions > 0);
  t.true(summary.timeouts > 0);
  const losses = new Set(
    Array.from({ length: 40 }, (_, index) => swarmScenarioForSeed(100 + index).faults.lossPercent),
  );
  t.true(losses.size > 5, `loss settings drawn: ${[...losses]}`);
  t.true([...losses].some((percent) => percent >= 20));
});

test('--clients, --messages and --time-ms pin the workload of every run', (t) => {
  for (const seed of [1, 2, 3]) {
    const scenario = swarmScenarioForSeed(seed, { clientCount: 4, messageCount: 2, activeMs: 5000 });
    t.is(scenario.clients.length, 4);
    t.true(scenario.clients.every((plan) => plan.says.length === 2));
    // Every planned action falls in the active phase (5 s, longer only when a shape moves a join
    // past another client's leave), and 20 s at least of healed network follow.
    t.true(scenario.healAtMs >= 5000);
    for (const plan of scenario.clients) {
      t.true([plan.joinAtMs, ...plan.says.map((say) => say.atMs)].every((atMs) => atMs <= scenario.healAtMs));
    }
    t.true(scenario.endAtMs >= scenario.healAtMs + 20_000);
  }
});

test('determinism: the same seed twice gives the same trace, and a difference is found at its line', (t) => {
  const { summary, failures } = runSwarm({ runs: 20, seed: 40, checkDeterminism: true });
  t.is(summary.failures, 0, JSON.stringify(failures.map((failure) => failure.violations)));
  t.is(firstTraceDifference('a\nb\nc\n', 'a\nb\nc\n'), undefined);
  t.regex(firstTraceDifference('a\nb\nc\n', 'a\nB\nc\n') ?? '', /line 2: first run "b", second run "B"/);
});

test('the diagram draws every delivered datagram as an arrow and every drop and duplicate as marked', (t) => {
  // A seed whose run has losses and duplicates.
  const seed = [...Array(200).keys()].find((candidate) => {
    const faults = swarmScenarioForSeed(candidate).faults;
    return faults.lossPercent > 10 && faults.duplicatePercent > 3;
  });
  t.not(seed, undefined);
  const { run } = judge(swarmScenarioForSeed(seed ?? 0), checkRun, false);
  const svg = renderDiagramSvg(run, 'test');
  const count = (pattern: RegExp) => svg.match(pattern)?.length ?? 0;
  t.is(count(/<line class="datagram( duplicate)?"/g), run.network.delivered);
  const dropped = Object.values(run.network.dropped).reduce((sum, value) => sum + value, 0);
  t.is(count(/<g class="drop /g), dropped);
  t.true(run.network.duplicated > 0 && count(/class="datagram duplicate"/g) > 0);
  // A lane for the server and each client (and one for an address a datagram went to after its client
  // closed, such as a WAIT answering a JOIN still in flight).
  const headings = [...svg.matchAll(/class="node-name"[^>]*>([^<]*)</g)].map((match) => match[1]);
  t.true(headings.includes('server'));
  for (const [index, plan] of run.scenario.clients.entries()) {
    t.true(headings.includes(`c${index} · ${plan.name}`), `c${index}`);
  }
  const html = renderDiagramHtml(run, 'test', ['[relay] something']);
  t.regex(html, /<li>\[relay\] something<\/li>/);
  t.true(html.includes('<svg'));
});

test('gaschat sim from the command line: JSON summary, a diagram file, and clear usage errors', async (t) => {
  const diagram = join(mkdtempSync(join(tmpdir(), 'gaschat-')), 'run.html');
  const run = new GaschatProcess(['sim', '--runs', '15', '--seed', '3', '--json', '--diagram', diagram]);
  t.is(await run.exitCode(), 0);
  t.like(run.json[0], { type: 'summary', runs: 15, failures: 0 });
  // What a run cost, per run: counts, the same for the same seeds on any machine.
  const perRun = (run.json[0] as { perRun?: Record<string, number> }).perRun ?? {};
  t.true((perRun.machineEvents ?? 0) > (perRun.serverMachineEvents ?? 0), JSON.stringify(perRun));
  t.true((perRun.serverMachineEvents ?? 0) > 0 && (perRun.clockSteps ?? 0) > 0, JSON.stringify(perRun));
  const again = new GaschatProcess(['sim', '--runs', '15', '--seed', '3', '--json']);
  t.is(await again.exitCode(), 0);
  t.deepEqual((again.json[0] as { perRun?: unknown }).perRun, perRun);
  const page = readFileSync(diagram, 'utf8');
  t.true(
    page.includes(`<h1>run of seed 3 (scenario seed ${swarmScenarioForSeed(3).seed})</h1>`),
    page.slice(0, 400),
  );
  t.regex(page, /<\/h1>[\s\S]*<svg/);
  for (const [args, message] of [
    [['sim', '--replay', 'nonsense'], /not a replay token/],
    [['sim', '--diagram', 'out.png'], /\.svg or \.html/],
    [['sim', '--runs', '0'], /--runs is "0"/],
    [['sim', '--replay', 'g1.AAAA', '--seed', '3'], /leave out --runs, --seed/],
  ] as const) {
    const bad = new GaschatProcess([...args]);
    t.is(await bad.exitCode(), 2, args.join(' '));
    t.regex(bad.stderr.join(''), message);
  }
});

/** A plan that joins at `joinAtMs` and says two things. */
function plan(name: string, joinAtMs: number, more: Partial<ClientPlan> = {}): ClientPlan {
  return {
    name,
    knowsPassword: true,
    address: { kind: 'own' },
    joinAtMs,
    says: [
      { atMs: joinAtMs + 1500, text: `${name} halo` },
      { atMs: joinAtMs + 2500, text: `${name} lagi` },
    ],
    ...more,
  };
}

/**
 * A fault-free room where every kind of datagram happens: ana and budi join and talk, budi quits,
 * "Ana" asks for ana's name (case aside) and is refused, and eko has the wrong password.
 */
const ROOM: Scenario = {
  seed: 20_240_607,
  shape: 'small',
  room: SIM_ROOM_LIMITS,
  clients: [
    plan('ana', 0),
    plan('budi', 100, { quitAtMs: 6000 }),
    plan('Ana', 200),
    plan('eko', 300, { knowsPassword: false }),
  ],
  latencyMs: 5,
  faultTape: [],
  partitions: [],
  faults: { ...NO_FAULTS, wrongPasswords: true },
  healAtMs: 8000,
  endAtMs: 15_000,
  stepCountMax: 1_000_000,
};

interface Arrow {
  readonly label: string;
  readonly from: string;
  readonly to: string;
  readonly ackOrPingOnly: boolean;
}

/** Every datagram arrow of a diagram (delivered or dropped), read back from its markup and tooltip. */
function arrowsOf(svg: string): Arrow[] {
  const pattern = /<g class="(?:flight|drop [a-z-]+)( ack-ping-only)?"><title>([^<]*) · (\S+) → (\S+), /g;
  return [...svg.matchAll(pattern)].map((match) => ({
    ackOrPingOnly: match[1] !== undefined,
    label: match[2] ?? '',
    from: match[3] ?? '',
    to: match[4] ?? '',
  }));
}

test('every arrow of the diagram is labelled with what its datagram carries, matching what the room did', (t) => {
  const run = runScenario(ROOM);
  t.deepEqual(checkRun(run), []);
  const svg = renderDiagramSvg(run, 'room');
  const arrows = arrowsOf(svg);
  // Every arrow drawn is read back, and it carries a label.
  t.is(arrows.length, run.network.delivered);
  t.is(count(svg, /<g class="(flight|drop)/g), arrows.length);
  const has = (from: string, to: string, label: string) =>
    arrows.some((arrow) => arrow.from === from && arrow.to === to && arrow.label === label);
  for (const client of run.clients) {
    t.true(has(client.node, 'server', 'HELLO'), `${client.node} sends HELLO`);
    t.true(has('server', client.node, 'CHALLENGE'), `${client.node} is challenged`);
    // Version 2: the JOIN carries a key exchange share, and the name goes sealed, in the CLAIM.
    t.true(has(client.node, 'server', 'JOIN'), `${client.node} sends JOIN`);
    t.true(has('server', client.node, 'ACCEPT'), `${client.node} is accepted into a session`);
  }
  for (const node of ['c0', 'c1', 'c2']) {
    t.true(
      arrows.some((arrow) => arrow.from === node && arrow.to === 'server' && arrow.label.startsWith('CLAIM')),
      `${node} claims its name`,
    );
  }
  // The room refuses the taken name, sealed; the wrong password cannot open its ACCEPT and never claims.
  t.true(has('server', 'c2', 'ACK+REFUSED'));
  t.false(arrows.some((arrow) => arrow.from === 'c3' && arrow.label.startsWith('CLAIM')));
  const c3 = run.clients.find((client) => client.node === 'c3');
  t.true(c3?.events.some(({ event }) => event.type === 'rejected' && event.reason === 'bad-password'));
  t.true(arrows.some((a) => a.from === 'c1' && /(^|\+)BYE$/.test(a.label)));
  t.true(arrows.some((a) => a.from === 'server' && a.to === 'c1' && /(^|\+)GOODBYE$/.test(a.label)));
  t.true(arrows.some((a) => a.from === 'c0' && /(^|\+)SAY(\+|$)/.test(a.label)));

  // The room sequence numbers on the arrows are the ones the server's log gave each room event.
  const relayed = run.server.flatMap(({ event }) =>
    event.type === 'message.relayed' ? [event.roomSeq] : [],
  );
  t.is(relayed.length, 4);
  const labelled = (pattern: RegExp) =>
    new Set(arrows.flatMap((arrow) => [...arrow.label.matchAll(pattern)].map((match) => Number(match[1]))));
  t.deepEqual([...labelled(/MESSAGE #(\d+)/g)].sort(), [...relayed].sort());
  for (const { event } of run.server) {
    if (event.type === 'member.joined') {
      const joiner = run.clients.find((client) => client.plan.name === event.name)?.node ?? '';
      t.true(
        arrows.some((a) => a.to === joiner && a.label.includes(`MEMBERS #${event.roomSeq}`)),
        `${event.name} gets MEMBERS #${event.roomSeq}`,
      );
      if (event.roomSeq > 1) {
        t.true(
          arrows.some((a) => a.to === 'c0' && a.label.includes(`JOINED #${event.roomSeq} ${event.name}`)),
        );
      }
    }
    if (event.type === 'member.left') {
      t.true(arrows.some((a) => a.to === 'c0' && a.label.includes(`LEFT #${event.roomSeq} ${event.name}`)));
    }
  }
  t.true(run.server.some(({ event }) => event.type === 'member.left'));
});

test('exactly the ACK-only and keepalive arrows carry the class the HTML page hides, behind a visible checkbox', (t) => {
  const run = runScenario(ROOM);
  const arrows = arrowsOf(renderDiagramSvg(run, 'room'));
  const quiet = arrows.filter((arrow) => arrow.ackOrPingOnly);
  t.true(quiet.length > 0 && quiet.length < arrows.length);
  for (const arrow of arrows) {
    t.is(arrow.ackOrPingOnly, /^(ACK|PING)(\+(ACK|PING))*$/.test(arrow.label), arrow.label);
  }
  t.true(quiet.some((arrow) => arrow.label === 'PING'));
  t.true(quiet.some((arrow) => arrow.label === 'ACK'));

  // Also on drops: a lossy run's lost ACKs are hidden with the rest.
  const lossy = runScenario({
    ...ROOM,
    faultTape: Array.from({ length: 400 }, (_, index) => ({
      drop: index % 5 === 3,
      duplicate: false,
      delayMs: 0,
    })),
  });
  const lossyArrows = arrowsOf(renderDiagramSvg(lossy, 'lossy'));
  t.true(lossy.network.dropped.loss > 0);
  t.true(lossyArrows.length > lossy.network.delivered);
  for (const arrow of lossyArrows) {
    t.is(arrow.ackOrPingOnly, /^(ACK|PING)(\+(ACK|PING))*$/.test(arrow.label), arrow.label);
  }

  const html = renderDiagramHtml(run, 'room', []);
  const checkbox =
    /<input type="checkbox" id="([a-z-]+)" checked><label class="toggle" for="\1">show ACK-only and keepalive datagrams \((\d+) of the (\d+) arrows\)<\/label>/.exec(
      html,
    );
  t.truthy(checkbox, html.slice(0, 1500));
  t.is(Number(checkbox?.[2]), quiet.length);
  t.is(Number(checkbox?.[3]), arrows.length);
  // The CSS that hides them when the box is unchecked, and the box is a sibling before the diagram.
  t.true(html.includes(`#${checkbox?.[1]}:not(:checked) ~ svg .ack-ping-only{display:none}`));
  const body = html.slice(html.indexOf('<body>'));
  t.true(body.indexOf('<input type="checkbox"') < body.indexOf('<svg'));
  t.true(body.indexOf('</details>') < body.indexOf('<input type="checkbox"'));
});

test('lanes are headed by node and client name, and two clients with one name still head distinct lanes', (t) => {
  const svg = renderDiagramSvg(runScenario(ROOM), 'room');
  const headings = [...svg.matchAll(/<text class="node-name"[^>]*>([^<]*)<\/text>/g)].map(
    (match) => match[1],
  );
  const subtitles = [...svg.matchAll(/<text class="node-sub"[^>]*>([^<]*)<\/text>/g)].map(
    (match) => match[1],
  );
  t.deepEqual(headings, ['server', 'c0 · ana', 'c1 · budi', 'c2 · Ana', 'c3 · eko']);
  t.is(new Set(headings).size, headings.length);
  t.deepEqual(subtitles, ['the room', 'same name as c2', '', 'same name as c0', 'wrong password']);
});

test('the diagram title shows the seed asked for and the seed the scenario really used', (t) => {
  const scenarioSeed = swarmScenarioForSeed(42).seed;
  t.not(scenarioSeed, 42);
  const { files, text } = capture({ runs: 1, seed: 42, diagram: 'run.html' });
  const title = `run of seed 42 (scenario seed ${scenarioSeed})`;
  t.true(files.get('run.html')?.includes(`<h1>${title}</h1>`), files.get('run.html')?.slice(0, 300));
  t.true(files.get('run.html')?.includes(`<text class="title" x="90" y="24">${title}</text>`));
  t.true(text.includes(`diagram of ${title} written to run.html`));

  const failing = capture({ runs: 1, seed: 11, messageCount: 3, check: plantedCheck, diagram: 'f.svg' });
  const token = replayToken(failing.text.slice(failing.text.indexOf('shrunk in')), failing.files);
  const shrunkSeed = decodeReplayToken(token).seed;
  t.regex(
    failing.files.get('f.svg') ?? '',
    new RegExp(`>shrunk failure of seed 11 \\(scenario seed ${shrunkSeed}\\)<`),
  );
  const replayed = capture({ replay: token, diagram: 'r.svg' });
  t.regex(replayed.files.get('r.svg') ?? '', new RegExp(`>replayed run \\(scenario seed ${shrunkSeed}\\)<`));
});

/** "1 runs" or "1 steps", but not the "5.1 runs/s" of the speed line (which depends on the machine). */
const ONE_IN_PLURAL = /(?<![\d.])1 (runs|steps)\b/;

test('counts are worded for one: "1 run", "1 of 1 run failed", "simulating 1 run from seed 42"', (t) => {
  t.is(simulatingLine(1, 42), 'simulating 1 run from seed 42');
  t.is(simulatingLine(500, 7), 'simulating 500 runs from seed 7');
  const one = capture({ runs: 1, seed: 42 });
  t.is(one.code, 0);
  t.true(one.lines.includes('1 run, every guarantee held'), one.text);
  t.notRegex(one.text, ONE_IN_PLURAL);
  t.true(capture({ runs: 2, seed: 42 }).lines.includes('2 runs, every guarantee held'));
  const failing = capture({ runs: 1, seed: 11, messageCount: 3, check: plantedCheck });
  t.true(failing.lines.includes('1 of 1 run failed'), failing.text);
  t.notRegex(failing.text, ONE_IN_PLURAL);
});

test('--check-determinism says every run was run twice and how many trace pairs matched, in text and JSON', (t) => {
  const checked = capture({ runs: 3, seed: 40, checkDeterminism: true });
  t.is(checked.code, 0);
  t.true(
    checked.lines.includes(
      'determinism: each of the 3 runs was run twice; all 3 trace pairs matched byte for byte',
    ),
    checked.text,
  );
  t.true(
    capture({ runs: 1, seed: 40, checkDeterminism: true }).lines.includes(
      'determinism: the run was run twice; its two traces matched byte for byte',
    ),
  );
  t.notRegex(capture({ runs: 3, seed: 40 }).text, /determinism/);
  t.is(
    determinismLine(500, 2),
    'determinism: each of the 500 runs was run twice; 498 of the 500 trace pairs matched byte for byte, 2 differed',
  );
  t.is(determinismLine(1, 1), 'determinism: the run was run twice; its two traces differed');

  const json = capture({ runs: 2, seed: 40, checkDeterminism: true, json: true });
  t.like(JSON.parse(json.lines[0] ?? '{}'), {
    type: 'summary',
    runs: 2,
    determinismChecked: true,
    tracePairsDiffering: 0,
  });
  const unchecked = capture({ runs: 2, seed: 40, json: true });
  t.like(JSON.parse(unchecked.lines[0] ?? '{}'), { type: 'summary', determinismChecked: false });
});

test('a run traced twice with labels gives byte-identical JSON lines, and its log shows the labels', (t) => {
  const first = runScenario(ROOM).trace;
  t.is(first.toJsonLines(), runScenario(ROOM).trace.toJsonLines());
  t.regex(
    first.toJsonLines(),
    /"kind":"send","from":"c0","to":"server","size":96,"hash":"[0-9a-f]{8}","send":0,"label":"HELLO","packet":"hello"\}/,
  );
  // A sealed packet is labelled by its frames (the simulator keeps what it sealed); the name is in the
  // CLAIM, never in clear in the JOIN.
  t.regex(first.formatted(), /c3 -> server +send 160B #[0-9a-f]{8} JOIN\n/);
  t.regex(first.formatted(), /c0 -> server +send \d+B #[0-9a-f]{8} CLAIM\n/);
  t.regex(first.formatted(), /server -> c2 +deliver \d+B #[0-9a-f]{8} ACK\+REFUSED\n/);
});
