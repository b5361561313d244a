import test from 'ava';
import { fuzzRoom } from './fuzz.ts';

// A bounded fuzz of a live room; `npm run fuzz -- --datagrams 1000000` is the deep one (BENCHMARKS.md).

test('a live server fuzzed with 20,000 hostile datagrams while three members chat: nothing lost, nothing shown twice, nobody removed', async (t) => {
  const report = await fuzzRoom({ datagrams: 20_000, members: 3, linesEach: 20, deadlineMs: 120_000 });
  t.deepEqual(report.troubles, []);
  t.true(report.finished, 'every member saw every line before the deadline');
  t.is(report.sent, 20_000);
  // The flood happened, and reached the code it aims at: copies of real datagrams, from members'
  // addresses, dropped for what they are (some the kernel may have lost on the way).
  t.true(report.mutatedCopies > 10_000, `${report.mutatedCopies} mutated copies`);
  const dropped = Object.values(report.dropped).reduce((sum, count) => sum + count, 0);
  t.true(dropped > report.sent / 2, `${dropped} of ${report.sent} counted as dropped`);
  for (const reason of ['malformed', 'unauthentic', 'wrong-address'] as const) {
    t.true(report.dropped[reason] > 0, `no ${reason} drop`);
  }
  const bySender = (lines: readonly string[]) => {
    const groups = new Map<string, string[]>();
    for (const line of lines) {
      const author = line.slice(0, line.indexOf(':'));
      groups.set(author, [...(groups.get(author) ?? []), line]);
    }
    return Object.fromEntries([...groups].sort(([a], [b]) => a.localeCompare(b)));
  };
  const said = bySender(report.said);
  for (const [member, shown] of report.shown) {
    t.is(new Set(shown).size, shown.length, `${member} was shown a line twice`);
    t.deepEqual(bySender(shown), said, `${member} saw each author's lines, all of them, in order`);
  }
  t.is(report.stats.messagesRelayed, report.said.length);
});
