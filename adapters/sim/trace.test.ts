import test from 'ava';
import { Trace } from './trace.ts';

test('events are stored as JSON with binary fields in hex, so later changes to the object do not alter them', (t) => {
  const trace = new Trace();
  const event = { type: 'welcome', nonce: new Uint8Array([0, 15, 255]), members: ['ana'], note: undefined };
  trace.event(1500, 'ana', event);
  event.members.push('budi');
  t.is(
    trace.toJsonLines(),
    '{"t":1500,"kind":"event","node":"ana","event":{"type":"welcome","nonce":"000fff","members":["ana"]}}\n',
  );
});

test('bigints, maps, sets and non-finite numbers serialise deterministically', (t) => {
  const trace = new Trace();
  trace.event(0, 'x', {
    big: 10n,
    map: new Map([['k', 1]]),
    set: new Set([2]),
    inf: Number.POSITIVE_INFINITY,
  });
  t.deepEqual(trace.entries[0], {
    t: 0,
    kind: 'event',
    node: 'x',
    event: { big: '10', map: [['k', 1]], set: [2], inf: 'Infinity' },
  });
});

test('a cyclic event fails loudly instead of hanging', (t) => {
  const cyclic: { self?: unknown } = {};
  cyclic.self = cyclic;
  t.throws(() => new Trace().event(0, 'x', cyclic));
});

test('beyond traceEntryCountMax entries are counted, not stored, and both outputs say so', (t) => {
  const trace = new Trace({ traceEntryCountMax: 2 });
  for (let index = 0; index < 5; index += 1) {
    trace.append({ t: index, kind: 'send', from: 'a', to: 'b', size: 1, hash: '00000000', send: index });
  }
  trace.event(9, 'a', { type: 'late' });
  t.is(trace.entries.length, 2);
  t.is(trace.omittedCount, 4);
  t.is(trace.entryCount, 6);
  t.true(trace.toJsonLines().endsWith('{"kind":"truncated","omittedCount":4}\n'));
  t.regex(trace.formatted(), /4 more not stored/);
});

test('formatted prints one readable line per entry', (t) => {
  const trace = new Trace();
  trace.append({ t: 12_345, kind: 'send', from: 'ana', to: 'server', size: 84, hash: 'a1b2c3d4', send: 0 });
  trace.append({
    t: 12_350,
    kind: 'drop',
    from: 'ana',
    to: 'server',
    size: 84,
    hash: 'a1b2c3d4',
    send: 0,
    reason: 'loss',
  });
  t.deepEqual(trace.formatted().split('\n'), [
    '   12.345s  ana -> server         send 84B #a1b2c3d4',
    '   12.350s  ana -> server         drop(loss) 84B #a1b2c3d4',
  ]);
});

test('formatted with a limit shows the head and the tail around a gap line', (t) => {
  const trace = new Trace();
  for (let index = 0; index < 10; index += 1) {
    trace.event(index, 'n', { index });
  }
  const lines = trace.formatted(4).split('\n');
  t.is(lines.length, 5);
  t.regex(lines[2] ?? '', /6 entries not shown/);
  t.regex(lines[4] ?? '', /"index":9/);
});

test('an empty trace serialises to empty text', (t) => {
  t.is(new Trace().toJsonLines(), '');
});
