import test from 'ava';
import { Chalk } from 'chalk';
import { clientEventJson } from '../client-json.ts';
import { formatServerEvent, serverEventJson } from '../server-log.ts';
import { fingerprint } from '../state-dir.ts';
import { colourFor, formatChatEvent } from '../terminal-client.ts';

const plain = new Chalk({ level: 0 });
const NOON = Date.UTC(2026, 10, 24, 10, 0, 0);

test('the JSON contract: the documented fields of each event', (t) => {
  t.deepEqual(
    clientEventJson({
      type: 'welcome',
      name: 'ana',
      members: ['ana', 'budi'],
      roomSeq: 2,
      serverKey: '00'.repeat(32),
    }),
    {
      type: 'welcome',
      name: 'ana',
      members: ['ana', 'budi'],
      seq: 2,
      serverKey: fingerprint(new Uint8Array(32)),
    },
  );
  t.like(
    clientEventJson({ type: 'message', from: 'budi', text: 'halo', roomSeq: 7, timeMs: NOON, self: false }),
    {
      type: 'message',
      from: 'budi',
      text: 'halo',
      seq: 7,
      time: '2026-11-24T10:00:00.000Z',
      self: false,
    },
  );
  t.like(clientEventJson({ type: 'left', name: 'budi', reason: 'timeout', roomSeq: 9 }), {
    type: 'left',
    name: 'budi',
    reason: 'timeout',
  });
  t.like(clientEventJson({ type: 'rejected', reason: 'name-taken', message: 'taken' }), {
    type: 'rejected',
    reason: 'name-taken',
  });
  t.like(clientEventJson({ type: 'closed', reason: 'unreachable', message: 'no answer' }), {
    type: 'closed',
    reason: 'unreachable',
  });
  t.like(clientEventJson({ type: 'error', code: 'text-too-long', message: 'too long' }), {
    type: 'error',
    message: 'too long',
  });
});

test('the server log names who, from where, how big and to how many, and never prints control characters raw', (t) => {
  const received = formatServerEvent(
    {
      type: 'message.received',
      roomSeq: 3,
      sessionId: '0123456789abcdef',
      from: 'ana',
      origin: '1111111111111111',
      line: 4,
      text: 'a\u001b[2Jb',
      byteCount: 6,
      timeMs: NOON,
    },
    plain,
    NOON,
    0,
  );
  t.regex(received, /received #3 from ana, 6 bytes: a\uFFFD\[2Jb/);
  t.false(received.includes('\u001b'));
  t.regex(
    formatServerEvent({ type: 'message.relayed', roomSeq: 3, recipientCount: 1 }, plain, NOON, 0),
    /relayed\s+#3 to 1 member$/,
  );
  t.regex(
    formatServerEvent(
      {
        type: 'member.left',
        roomSeq: 4,
        name: 'ana',
        address: '10.0.0.2:5000',
        sessionId: '0123456789abcdef',
        reason: 'timeout',
        cause: 'idle-timeout',
        memberCount: 0,
      },
      plain,
      NOON,
      0,
    ),
    /left\s+ana from 10\.0\.0\.2:5000: timeout \(idle-timeout\) \(0 members now\)/,
  );
  t.regex(
    formatServerEvent(
      { type: 'datagram.dropped', address: '10.0.0.9:1', reason: 'malformed', detail: 'too-short' },
      plain,
      NOON,
      12,
    ),
    /not a gaschat packet \(too-short\); 12 dropped so far/,
  );
  t.like(
    JSON.parse(serverEventJson({ type: 'handshake.challenged', address: '[::1]:5', reason: 'hello' }, NOON)),
    {
      type: 'handshake.challenged',
      time: '2026-11-24T10:00:00.000Z',
    },
  );
});

test('a name has one colour whatever its case, and chat lines mark confirmed own messages', (t) => {
  t.is(colourFor('Ana'), colourFor('aNA'));
  const names = ['ana', 'budi', 'citra', 'dewi', 'eko', 'fajar', 'gita', 'hadi'];
  t.true(new Set(names.map(colourFor)).size > 1, 'names spread over colours');
  const own = formatChatEvent(
    { type: 'message', from: 'ana', text: 'hai', roomSeq: 1, timeMs: NOON, self: true },
    plain,
    NOON,
  );
  t.regex(own ?? '', /ana ✓: hai$/);
  const other = formatChatEvent(
    { type: 'message', from: 'budi', text: '\u0007hai', roomSeq: 2, timeMs: NOON, self: false },
    plain,
    NOON,
  );
  t.regex(other ?? '', /budi: \uFFFDhai$/);
});
