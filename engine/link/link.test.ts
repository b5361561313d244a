import { fc, testProp } from '@fast-check/ava';
import test from 'ava';
import type { ReliableFrame, SessionPacket } from '../codec/frames.ts';
import { openTestDatagram, testSeal } from '../test/sealing.ts';
import { Link, linkTableBounds } from './link.ts';
import { LINK_CONFIG_DEFAULT, type LinkConfig } from './link-config.ts';

const SESSION = '0123456789abcdef';

function decodeSession(datagram: Uint8Array): SessionPacket {
  return openTestDatagram(datagram);
}

/**
 * Two links joined by a wire that loses the datagrams `lose` picks. Time advances only when nothing is
 * in flight, to the earlier of the two links' deadlines, as a simulation would.
 */
function pump(a: Link, b: Link, lose: (index: number) => boolean, stepCountMax = 2000) {
  let now = 0;
  let sent = 0;
  let lost = 0;
  const deliveredToB: ReliableFrame[] = [];
  for (let step = 0; step < stepCountMax; step += 1) {
    let moved = false;
    for (const [from, to] of [
      [a, b],
      [b, a],
    ] as const) {
      for (const datagram of from.poll(now)) {
        moved = true;
        const index = sent;
        sent += 1;
        if (lose(index)) {
          lost += 1;
        } else {
          const frames = to.receive(decodeSession(datagram), now);
          if (to === b) {
            deliveredToB.push(...frames);
          }
        }
      }
    }
    if (a.dead !== undefined || b.dead !== undefined) {
      break;
    }
    if (!moved) {
      if (a.sendQueueCount === 0) {
        break;
      }
      const next = Math.min(
        a.nextDeadlineMs(now) ?? Number.POSITIVE_INFINITY,
        b.nextDeadlineMs(now) ?? Number.POSITIVE_INFINITY,
      );
      now = Math.max(now, next);
      a.handleTimeout(now);
      b.handleTimeout(now);
    }
  }
  return { deliveredToB, now, sent, lost };
}

function texts(frames: readonly ReliableFrame[]): string[] {
  return frames.flatMap((frame) => (frame.type === 'say' ? [frame.text] : []));
}

test('frames arrive in order, each once, over a perfect wire', (t) => {
  const a = new Link(LINK_CONFIG_DEFAULT, SESSION, 0, testSeal());
  const b = new Link(LINK_CONFIG_DEFAULT, SESSION, 0, testSeal());
  const sent = Array.from({ length: 50 }, (_, index) => `pesan ${index}`);
  for (const text of sent) {
    t.true(a.enqueue({ type: 'say', line: 1, text }));
  }
  const { deliveredToB } = pump(a, b, () => false);
  t.deepEqual(texts(deliveredToB), sent);
  t.is(a.sendQueueCount, 0);
  t.is(a.stats.framesRetransmitted, 0);
});

testProp(
  'frames arrive in order and exactly once whatever datagrams the wire loses, as long as it heals',
  [fc.array(fc.boolean(), { maxLength: 60 }), fc.integer({ min: 1, max: 60 })],
  (t, losses, count) => {
    const config: LinkConfig = {
      ...LINK_CONFIG_DEFAULT,
      retransmitCountMax: 100,
      idleTimeoutMs: 10_000_000,
      windowCount: 8,
    };
    const a = new Link(config, SESSION, 0, testSeal());
    const b = new Link(config, SESSION, 0, testSeal());
    const sent = Array.from({ length: count }, (_, index) => `m${index} ✓`);
    for (const text of sent) {
      a.enqueue({ type: 'say', line: 1, text });
    }
    const { deliveredToB, lost } = pump(a, b, (index) => losses[index] === true);
    t.deepEqual(texts(deliveredToB), sent);
    t.is(a.sendQueueCount, 0);
    // Every lost datagram carried data or an acknowledgement of it; either way the sender resent.
    t.is(lost > 0, a.stats.framesRetransmitted > 0);
  },
);

test('a lost datagram is sent again after the retransmission timeout', (t) => {
  const a = new Link(LINK_CONFIG_DEFAULT, SESSION, 0, testSeal());
  const b = new Link(LINK_CONFIG_DEFAULT, SESSION, 0, testSeal());
  a.enqueue({ type: 'say', line: 1, text: 'halo' });
  const { deliveredToB, now } = pump(a, b, (index) => index === 0);
  t.deepEqual(texts(deliveredToB), ['halo']);
  t.is(a.stats.retransmitTimeouts, 1);
  t.is(now, LINK_CONFIG_DEFAULT.rtoInitialMs);
});

test('a peer that never answers is declared dead after the bounded number of retransmissions', (t) => {
  const config: LinkConfig = { ...LINK_CONFIG_DEFAULT, idleTimeoutMs: 10_000_000 };
  const a = new Link(config, SESSION, 0, testSeal());
  a.enqueue({ type: 'say', line: 1, text: 'anyone?' });
  let now = 0;
  let sends = 0;
  for (let step = 0; step < 100 && a.dead === undefined; step += 1) {
    sends += a.poll(now).length;
    now = a.nextDeadlineMs(now) ?? now;
    a.handleTimeout(now);
  }
  t.is(a.dead, 'retransmit-limit');
  t.is(sends, config.retransmitCountMax + 1);
  // 1 + 2 + 4 + 8 + 8 + 8 + 8 + 8 + 8 seconds of doubling, clamped at 8 s.
  t.is(now, 55_000);
});

test('a silent peer is declared dead after the idle timeout', (t) => {
  const a = new Link(LINK_CONFIG_DEFAULT, SESSION, 0, testSeal());
  let now = 0;
  for (let step = 0; step < 1000 && a.dead === undefined; step += 1) {
    a.poll(now);
    now = a.nextDeadlineMs(now) ?? now;
    a.handleTimeout(now);
  }
  t.is(a.dead, 'idle-timeout');
  t.is(now, LINK_CONFIG_DEFAULT.idleTimeoutMs);
});

test('a quiet link sends a keepalive PING after the keepalive interval', (t) => {
  const a = new Link(LINK_CONFIG_DEFAULT, SESSION, 0, testSeal());
  t.is(a.nextDeadlineMs(0), LINK_CONFIG_DEFAULT.keepaliveIntervalMs);
  a.handleTimeout(LINK_CONFIG_DEFAULT.keepaliveIntervalMs);
  const datagrams = a.poll(LINK_CONFIG_DEFAULT.keepaliveIntervalMs);
  t.is(datagrams.length, 1);
  const [datagram] = datagrams;
  t.deepEqual(datagram === undefined ? [] : decodeSession(datagram).frames, [{ type: 'ping' }]);
});

test('the send queue refuses frames past its maximum', (t) => {
  const config: LinkConfig = { ...LINK_CONFIG_DEFAULT, sendQueueCountMax: 3 };
  const a = new Link(config, SESSION, 0, testSeal());
  const accepted = Array.from({ length: 5 }, (_, index) =>
    a.enqueue({ type: 'say', line: 1, text: `${index}` }),
  );
  t.deepEqual(accepted, [true, true, true, false, false]);
  t.is(a.stats.sendQueueHighWater, 3);
});

test('a duplicated datagram delivers its frames once', (t) => {
  const a = new Link(LINK_CONFIG_DEFAULT, SESSION, 0, testSeal());
  const b = new Link(LINK_CONFIG_DEFAULT, SESSION, 0, testSeal());
  a.enqueue({ type: 'say', line: 1, text: 'sekali' });
  const [datagram] = a.poll(0);
  t.not(datagram, undefined);
  const packet = decodeSession(datagram ?? new Uint8Array());
  t.is(b.receive(packet, 1).length, 1);
  t.is(b.receive(packet, 2).length, 0);
  t.is(b.stats.duplicatePacketsReceived, 1);
});

test('no datagram the link builds is larger than 1200 bytes, even with the longest messages', (t) => {
  const a = new Link(LINK_CONFIG_DEFAULT, SESSION, 0, testSeal());
  for (let index = 0; index < 20; index += 1) {
    a.enqueue({
      type: 'message',
      roomSeq: 2 ** 31 + index,
      timeMs: 1_790_000_000_000,
      from: 'x'.repeat(32),
      origin: '0123456789abcdef',
      line: 1,
      text: 'é'.repeat(500),
    });
  }
  const datagrams = a.poll(0);
  t.true(datagrams.length >= 20);
  for (const datagram of datagrams) {
    t.true(datagram.length <= 1200, `${datagram.length} bytes`);
  }
});

test('a late acknowledgement of a packet already declared lost clears its frame and keeps the peer alive', (t) => {
  const config: LinkConfig = { ...LINK_CONFIG_DEFAULT, idleTimeoutMs: 10_000_000, retransmitCountMax: 2 };
  const a = new Link(config, SESSION, 0, testSeal());
  const b = new Link(config, SESSION, 0, testSeal());
  a.enqueue({ type: 'say', line: 1, text: 'slow path' });
  const [first] = a.poll(0);
  // The path is slow, not dead: the retransmission timer fires twice before anything comes back.
  a.handleTimeout(1000);
  t.is(a.poll(1000).length, 1);
  a.handleTimeout(3000);
  t.is(a.poll(3000).length, 1);
  t.is(a.stats.retransmitTimeouts, 2);
  // Now the first copy arrives and its acknowledgement comes back.
  t.truthy(first);
  b.receive(decodeSession(first ?? new Uint8Array()), 3500);
  const [ack] = b.poll(3500);
  a.receive(decodeSession(ack ?? new Uint8Array()), 3600);
  t.is(a.sendQueueCount, 0, 'the frame is acknowledged by its first copy');
  // Without the late ack, one more timeout would exceed retransmitCountMax and kill the link.
  a.handleTimeout(7000);
  t.is(a.dead, undefined);
});

/** Runs one link alone until `untilMs`, handing it `incoming` packets at their times; returns it. */
function runAlone(link: Link, untilMs: number, incoming: readonly { atMs: number; packet: SessionPacket }[]) {
  let now = 0;
  const pending = [...incoming].sort((a, b) => a.atMs - b.atMs);
  for (let step = 0; step < 10_000 && link.dead === undefined && now < untilMs; step += 1) {
    link.poll(now);
    const deadline = link.nextDeadlineMs(now) ?? untilMs;
    const next = pending[0];
    if (next !== undefined && next.atMs <= deadline) {
      now = next.atMs;
      pending.shift();
      link.receive(next.packet, now);
    } else {
      now = Math.max(now, deadline);
      link.handleTimeout(now);
    }
  }
  return now;
}

const ping = (packetNumber: number): SessionPacket => ({
  sessionId: SESSION,
  packetNumber,
  frames: [{ type: 'ping' }],
});

test('a peer whose packets keep arriving is never declared dead, though our own data is never acknowledged', (t) => {
  const config: LinkConfig = { ...LINK_CONFIG_DEFAULT, retransmitCountMax: 2 };
  const a = new Link(config, SESSION, 0, testSeal());
  a.enqueue({ type: 'say', line: 1, text: 'lost every time' });
  // The peer pings every 2 s for a minute (so its packets arrive), but never acknowledges ours.
  const incoming = Array.from({ length: 30 }, (_, index) => ({
    atMs: 2000 * (index + 1),
    packet: ping(index),
  }));
  runAlone(a, 60_000, incoming);
  t.is(a.dead, undefined);
  t.true(a.stats.retransmitTimeouts > config.retransmitCountMax, `${a.stats.retransmitTimeouts} timeouts`);
});

test('a duplicate or replayed packet is no sign of life: the idle timeout runs from the last new one', (t) => {
  const a = new Link(LINK_CONFIG_DEFAULT, SESSION, 0, testSeal());
  // Packet 0 at 1 s, then the same packet again and again: the peer itself has gone quiet.
  const copies = Array.from({ length: 20 }, (_, index) => ({ atMs: 1000 + 2000 * index, packet: ping(0) }));
  const diedAt = runAlone(a, 100_000, copies);
  t.is(a.dead, 'idle-timeout');
  t.true(a.stats.duplicatePacketsReceived > 0);
  // Dead at 1 s + the idle timeout, whatever copies came after.
  t.is(diedAt, 1000 + LINK_CONFIG_DEFAULT.idleTimeoutMs);
});

test('before its peer first speaks, a link ends only at the first-contact timeout, as never-heard-from', (t) => {
  const config: LinkConfig = { ...LINK_CONFIG_DEFAULT, retransmitCountMax: 1, idleTimeoutMs: 2000 };
  const silent = new Link(config, SESSION, 0, testSeal(), { firstContactTimeoutMs: 15_000 });
  silent.enqueue({ type: 'members', roomSeq: 1, final: true, names: ['ana'] });
  const endedAt = runAlone(silent, 100_000, []);
  t.is(silent.dead, 'never-heard-from');
  t.is(endedAt, 15_000);
  // Once the peer has spoken, the idle timeout and the retransmission limit apply again.
  const spoken = new Link(config, SESSION, 0, testSeal(), { firstContactTimeoutMs: 15_000 });
  spoken.enqueue({ type: 'members', roomSeq: 1, final: true, names: ['ana'] });
  runAlone(spoken, 100_000, [{ atMs: 500, packet: ping(0) }]);
  t.not(spoken.dead, 'never-heard-from');
  t.not(spoken.dead, undefined);
});

test('every table of a link stays within the bounds linkTableBounds names, and reports its size', (t) => {
  const config: LinkConfig = { ...LINK_CONFIG_DEFAULT, sendQueueCountMax: 8, windowCount: 4 };
  const a = new Link(config, SESSION, 0, testSeal());
  let accepted = 0;
  for (let index = 0; index < 20; index += 1) {
    accepted += a.enqueue({ type: 'say', line: 1, text: `m${index}` }) ? 1 : 0;
  }
  t.is(accepted, 8);
  a.poll(0);
  const sizes = a.tableSizes();
  const bounds = linkTableBounds(config);
  t.is(sizes.unacked, 8);
  t.is(sizes.inFlight, 1);
  for (const table of Object.keys(sizes) as (keyof typeof sizes)[]) {
    t.true(sizes[table] <= bounds[table], table);
  }
});

test('a link that sealed packetNumberMax + 1 packets sends no more: it gives up as keys-spent, never reusing a number', (t) => {
  const config: LinkConfig = { ...LINK_CONFIG_DEFAULT, packetNumberMax: 2 };
  const a = new Link(config, SESSION, 0, testSeal());
  const numbers: number[] = [];
  for (let index = 0; index < 5; index += 1) {
    a.enqueue({ type: 'say', line: index + 1, text: `${index}` });
    for (const datagram of a.poll(index)) {
      numbers.push(decodeSession(datagram).packetNumber);
    }
  }
  t.deepEqual(numbers, [0, 1, 2]);
  t.is(a.dead, 'keys-spent');
  t.deepEqual(a.poll(10), []);
});
