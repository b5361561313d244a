import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Chalk } from 'chalk';
import { checkRun } from '../../adapters/sim/check.ts';
import { renderDiagramHtml, renderDiagramSvg } from '../../adapters/sim/diagram.ts';
import { decodeReplayToken } from '../../adapters/sim/replay-token.ts';
import type { RunRecord } from '../../adapters/sim/run.ts';
import { firstTraceDifference, judge, runSwarm, swarmScenarioForSeed } from '../../adapters/sim/swarm.ts';
import { type SimCommandOptions, simCommand } from '../sim-command.ts';
import { GaschatProcess } from './processes.ts';

const plain = new Chalk({ level: 0 });

/** A planted bug: "nobody may ever see a message". Any run with a delivered message breaks it. */
function plantedCheck(run: RunRecord) {
  const seen = run.clients.some((client) => client.events.some(({ event }) => event.type === 'message'));
  return seen ? [{ invariant: 'planted', message: 'a client saw a message' }] : [];
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
  const { code, text } = capture({ runs: 3, seed: 11, messageCount: 3, check: plantedCheck });
  t.is(code, 1);
  t.regex(text, /\[planted\] a client saw a message/);
  const token = /gaschat sim --replay (g1\.\S+)/.exec(text)?.[1];
  t.truthy(token, text);
  const scenario = decodeReplayToken(token ?? '');
  // The smallest failure: clients cannot go below 1 nor messages below 3 (both pinned), faults to none.
  t.is(scenario.clients.length, 1);
  t.is(scenario.clients[0]?.sayAtMs.length, 3);
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
    t.true(scenario.clients.every((plan) => plan.sayAtMs.length === 2));
    t.is(scenario.healAtMs, 5000);
    t.is(scenario.endAtMs, 25_000);
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
  t.is(count(/class="node-name"/g), run.scenario.clients.length + 1);
  const html = renderDiagramHtml(run, 'test', ['[relay] something']);
  t.regex(html, /<li>\[relay\] something<\/li>/);
  t.true(html.includes('<svg'));
});

test('gaschat sim from the command line: JSON summary, a diagram file, and clear usage errors', async (t) => {
  const diagram = join(mkdtempSync(join(tmpdir(), 'gaschat-')), 'run.html');
  const run = new GaschatProcess(['sim', '--runs', '15', '--seed', '3', '--json', '--diagram', diagram]);
  t.is(await run.exitCode(60_000), 0);
  t.like(run.json[0], { type: 'summary', runs: 15, failures: 0 });
  const page = readFileSync(diagram, 'utf8');
  t.regex(page, /<h1>run of seed 3<\/h1>[\s\S]*<svg/);
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
