import test from 'ava';
import { BoundedWriter } from '../bounded-output.ts';
import { DROP_ADDRESSES_COUNTED_MAX, DropSummary } from '../drop-summary.ts';
import { StalledSink } from './stalled-sink.ts';

test('a log whose reader stalls keeps at most its bound in memory, counts what it dropped, and says so once it drains', (t) => {
  const sink = new StalledSink();
  const log = new BoundedWriter(sink, (count) => `${count} dropped`, 100);
  for (let index = 0; index < 1000; index += 1) {
    log.line(`line ${String(index).padStart(4, '0')}`);
  }
  // Ten-byte lines: ten fit before the bound, then nothing more is taken.
  t.is(sink.written.length, 10);
  t.true(sink.writableLength <= 100 + 10);
  t.is(log.dropped, 990);
  sink.read();
  t.is(sink.written.at(-1), '990 dropped\n', 'the count is written as soon as the stream drains');
  log.line('after');
  t.deepEqual(sink.written.slice(-2), ['990 dropped\n', 'after\n']);
  t.is(log.dropped, 990);
  t.is(sink.listenerCount('drain'), 0, 'no listener is left waiting once the notice is out');
});

test('a log read in time drops nothing and adds no notice', (t) => {
  const sink = new StalledSink();
  const log = new BoundedWriter(sink, (count) => `${count} dropped`, 100);
  for (let index = 0; index < 50; index += 1) {
    log.line(`l${index}`);
    sink.read();
  }
  t.is(log.dropped, 0);
  t.is(sink.written.length, 50);
  t.false(sink.written.some((line) => line.includes('dropped')));
});

test('drops: the first few of each reason in an interval are shown, the rest summed with their addresses once the interval is over', (t) => {
  const summary = new DropSummary({ intervalMs: 10_000, shownMax: 3 });
  const shown: string[] = [];
  for (let index = 0; index < 40_000; index += 1) {
    const reason = index % 4 === 0 ? 'unauthentic' : 'malformed';
    const { show, due } = summary.drop(reason, `10.0.0.${index % 3}:4000`, index / 10);
    t.deepEqual(due, []);
    if (show) {
      shown.push(reason);
    }
  }
  t.deepEqual(shown, ['unauthentic', 'malformed', 'malformed', 'malformed', 'unauthentic', 'unauthentic']);
  t.deepEqual(summary.due(9_999), [], 'not before the interval is over');
  t.deepEqual(summary.due(10_000), [
    { reason: 'unauthentic', count: 9_997, addressCount: 3, addressesCapped: false, intervalMs: 10_000 },
    { reason: 'malformed', count: 29_997, addressCount: 3, addressesCapped: false, intervalMs: 10_000 },
  ]);
  t.deepEqual(summary.due(30_000), [], 'a new interval starts empty');
  t.true(summary.drop('malformed', '10.0.0.1:4000', 30_000).show, 'and shows the first of a reason again');
});

test('drops from more addresses than are counted say "more than", and memory stays bounded', (t) => {
  const summary = new DropSummary({ intervalMs: 1000, shownMax: 0 });
  for (let index = 0; index < 3 * DROP_ADDRESSES_COUNTED_MAX; index += 1) {
    summary.drop('malformed', `10.${index >> 16}.${(index >> 8) & 0xff}.${index & 0xff}:1`, 0);
  }
  t.like(summary.due(1000)[0], {
    count: 3 * DROP_ADDRESSES_COUNTED_MAX,
    addressCount: DROP_ADDRESSES_COUNTED_MAX,
    addressesCapped: true,
  });
});
