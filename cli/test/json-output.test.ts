import test from 'ava';
import { clientEventJson } from '../client-json.ts';
import { JSON_OUTPUT_PENDING_BYTES_MAX, jsonOutput } from '../json-client.ts';
import { jsonLine } from '../json-line.ts';
import { type JsonLine, startClient, startServer } from './processes.ts';
import { StalledSink } from './stalled-sink.ts';

/** The JSON client's line for a member's message: what a busy room writes most. */
function messageLine(index: number): string {
  return jsonLine(
    clientEventJson({
      type: 'message',
      from: 'budi',
      text: `pesan nomor ${index}`,
      roomSeq: index,
      timeMs: Date.UTC(2026, 10, 24, 10, 0, 0, index % 1000),
      self: false,
    }),
  );
}

const parse = (chunk: string) => JSON.parse(chunk) as JsonLine;

test('JSON output nobody reads keeps at most 1 MiB pending, counts what it dropped, and writes output.dropped once it drains, in order', (t) => {
  const sink = new StalledSink();
  const output = jsonOutput(sink);
  // About 2.5 times the bound: an unbounded writer would hold all of it.
  const lines = Array.from({ length: 25_000 }, (_, index) => messageLine(index));
  let pendingMax = 0;
  for (const line of lines) {
    output.line(line);
    pendingMax = Math.max(pendingMax, sink.writableLength);
  }
  const longest = Math.max(...lines.map((line) => line.length + 1));
  t.true(
    pendingMax <= JSON_OUTPUT_PENDING_BYTES_MAX + longest,
    `${pendingMax} bytes pending, the bound is ${JSON_OUTPUT_PENDING_BYTES_MAX}`,
  );
  const kept = sink.written.length;
  t.true(kept > 0 && kept < lines.length, `${kept} of ${lines.length} lines written`);
  t.is(output.dropped, lines.length - kept);
  t.deepEqual(
    sink.written,
    lines.slice(0, kept).map((line) => `${line}\n`),
    'the lines kept are the first ones, as given',
  );

  sink.read();
  t.is(sink.written.length, kept + 1, 'one notice, as soon as the output drains');
  const notice = parse(sink.written.at(-1) ?? '');
  t.deepEqual(
    Object.keys(notice),
    ['type', 'count', 'message'],
    'the shape of the other lines: a type first',
  );
  t.like(notice, { type: 'output.dropped', count: lines.length - kept });
  t.regex(
    String(notice.message),
    /^\d{1,3}(,\d{3})* output lines were dropped: standard output was not read/,
  );

  output.line(messageLine(25_000));
  t.is(sink.written.at(-1), `${messageLine(25_000)}\n`, 'what comes next follows the notice');
  t.is(output.dropped, lines.length - kept);
  t.is(sink.listenerCount('drain'), 0, 'no listener is left waiting once the notice is out');
});

test('a JSON client finishing while its reader still lags writes output.dropped at once, last, and only once', (t) => {
  const sink = new StalledSink();
  const output = jsonOutput(sink, 1000);
  for (let index = 0; index < 100; index += 1) {
    output.line(messageLine(index));
  }
  t.true(output.dropped > 0);
  const kept = sink.written.length;
  output.finish();
  t.is(sink.written.length, kept + 1, 'the notice does not wait for a drain that may come after the exit');
  t.like(parse(sink.written.at(-1) ?? ''), { type: 'output.dropped', count: 100 - kept });
  sink.read();
  output.finish();
  t.is(sink.written.length, kept + 1, 'the count was said: a drain or a second finish adds nothing');
  t.false(
    sink.written.slice(0, -1).some((chunk) => chunk.includes('output.dropped')),
    'no notice among the lines',
  );
});

test('JSON output read in time drops nothing, and finishing adds no notice', (t) => {
  const sink = new StalledSink();
  const output = jsonOutput(sink, 1000);
  for (let index = 0; index < 100; index += 1) {
    output.line(messageLine(index));
    sink.read();
  }
  output.finish();
  t.is(output.dropped, 0);
  t.deepEqual(
    sink.written,
    Array.from({ length: 100 }, (_, index) => `${messageLine(index)}\n`),
  );
});

/** An input line that is not UTF-8: the client answers it with an error line without asking the server. */
const BAD_UTF8_LINE = Buffer.from([0xff, 0x0a]);

test('a JSON client whose reader stalls holds at most about 1 MiB, keeps its lines in order, and says what it dropped before it exits', async (t) => {
  const { server, port, host } = await startServer(t);
  const ana = await startClient(t, { host, port }, 'ana');
  const welcomed = ana.lines.length;
  // The reader stops: once the pipe and this side's buffer are full, nothing more is taken.
  ana.child.stdout.pause();
  // About 4 MiB of error lines (one per input line), far past the bound, then the end of input.
  const lineCount = 40_000;
  ana.child.stdin.end(Buffer.concat(Array.from({ length: lineCount }, () => BAD_UTF8_LINE)));
  // Its input is read in order, so the server hears it leave only once every line has been answered,
  // all of them while nobody read. Its closing line races the reader taking up again: it comes after
  // the notice (written at the drain), or is dropped with the rest (the notice written at the exit).
  await server.waitFor('ana left', (line) => line.type === 'member.left' && line.name === 'ana');
  ana.child.stdout.resume();
  t.is(await ana.exitCode(), 0);

  const after = ana.lines.slice(welcomed).map((line) => JSON.parse(line) as JsonLine);
  const noticeAt = after.findIndex((line) => line.type === 'output.dropped');
  t.true(noticeAt > 0, 'lines were dropped, and it was said before the exit');
  t.is(after.filter((line) => line.type === 'output.dropped').length, 1, 'once');
  const errors = after.slice(0, noticeAt);
  t.true(
    errors.every(
      (line, index) => line.type === 'error' && line.code === 'bad-utf8' && line.line === index + 1,
    ),
    'the lines written are the first ones, in order, without a gap',
  );
  t.true(errors.length < lineCount, `${errors.length} of ${lineCount} lines written`);
  const rest = after.slice(noticeAt + 1);
  t.true(
    rest.length === 0 || (rest.length === 1 && rest[0]?.type === 'closed'),
    `after the notice only the closing line, if it was not dropped: ${JSON.stringify(rest)}`,
  );
  // Every line the client had to say (each error and the closing line) was written or counted.
  t.is(Number(after[noticeAt]?.count) + errors.length + rest.length, lineCount + 1);
  const keptBytes = errors.reduce((sum, line) => sum + Buffer.byteLength(jsonLine(line)) + 1, 0);
  // The bound, plus what the pipe and this process's paused stream took before the stall: never 4 MiB.
  t.true(
    keptBytes <= JSON_OUTPUT_PENDING_BYTES_MAX + 512 * 1024,
    `${keptBytes} bytes written before the notice, the bound is ${JSON_OUTPUT_PENDING_BYTES_MAX}`,
  );
});
