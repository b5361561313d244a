import { testProp } from '@fast-check/ava';
import test from 'ava';
import { encodePacket, type Frame, type Packet } from '../../engine/index.ts';
import { packetArb } from '../../properties/arbitraries/frames.ts';
import { DATAGRAM_LABEL_LENGTH_MAX, describeDatagram } from './datagram-label.ts';
import { SimNetwork } from './network.ts';
import { plainTraceEntry, Trace } from './trace.ts';
import { VirtualClock } from './virtual-clock.ts';

const NONCE = Uint8Array.from({ length: 16 }, (_, index) => index);
const COOKIE = Uint8Array.from({ length: 16 }, (_, index) => 100 + index);
const SESSION_ID = '0123456789abcdef';

function session(...frames: Frame[]): Packet {
  return { type: 'session', sessionId: SESSION_ID, packetNumber: 7, frames };
}

function labelOf(packet: Packet) {
  return describeDatagram(encodePacket(packet));
}

const ACK: Frame = { type: 'ack', ranges: [{ smallest: 1, largest: 5 }] };
const MESSAGE_4: Frame = { type: 'message', msgSeq: 2, roomSeq: 4, timeMs: 1500, from: 'ana', text: 'halo' };

test('handshake packets are labelled by their type, a JOIN with its name and a REFUSE with its reason', (t) => {
  t.deepEqual(labelOf({ type: 'hello', clientNonce: NONCE }), {
    text: 'HELLO',
    ackOrPingOnly: false,
    packetType: 'hello',
  });
  t.is(labelOf({ type: 'challenge', clientNonce: NONCE, timeSlot: 3, cookie: COOKIE }).text, 'CHALLENGE');
  const join = {
    type: 'join',
    clientNonce: NONCE,
    timeSlot: 3,
    cookie: COOKIE,
    proof: COOKIE,
    name: 'ana',
  } as const;
  t.is(labelOf(join).text, 'JOIN ana');
  t.is(labelOf({ type: 'accept', clientNonce: NONCE, sessionId: SESSION_ID, proof: COOKIE }).text, 'ACCEPT');
  t.is(labelOf({ type: 'refuse', clientNonce: NONCE, reason: 'bad-password' }).text, 'REFUSE bad-password');
  t.is(labelOf({ type: 'refuse', clientNonce: NONCE, reason: 'room-full' }).text, 'REFUSE room-full');
});

test('a SESSION packet is labelled by its frames, room events with their roomSeq', (t) => {
  t.is(labelOf(session(ACK, MESSAGE_4)).text, 'ACK+MESSAGE #4');
  t.is(labelOf(session({ type: 'say', msgSeq: 1, text: 'halo' })).text, 'SAY');
  t.is(
    labelOf(session({ type: 'members', msgSeq: 1, roomSeq: 3, final: true, names: ['ana'] })).text,
    'MEMBERS #3',
  );
  t.is(labelOf(session({ type: 'joined', msgSeq: 2, roomSeq: 5, name: 'budi' })).text, 'JOINED #5 budi');
  t.is(
    labelOf(session({ type: 'left', msgSeq: 3, roomSeq: 6, name: 'budi', reason: 'timeout' })).text,
    'LEFT #6 budi',
  );
  t.is(labelOf(session({ type: 'bye', msgSeq: 4 })).text, 'BYE');
  t.is(labelOf(session(ACK, { type: 'goodbye', msgSeq: 5 })).text, 'ACK+GOODBYE');
});

test('only packets whose frames are all ACK or PING are marked as ACK-only or keepalive', (t) => {
  t.deepEqual(labelOf(session(ACK)), {
    text: 'ACK',
    ackOrPingOnly: true,
    packetType: 'session',
    sessionId: SESSION_ID,
  });
  t.deepEqual(labelOf(session({ type: 'ping' })), {
    text: 'PING',
    ackOrPingOnly: true,
    packetType: 'session',
    sessionId: SESSION_ID,
  });
  t.deepEqual(labelOf(session(ACK, { type: 'ping' })), {
    text: 'ACK+PING',
    ackOrPingOnly: true,
    packetType: 'session',
    sessionId: SESSION_ID,
  });
  t.false(labelOf(session(ACK, MESSAGE_4)).ackOrPingOnly);
  t.false(labelOf(session({ type: 'ping' }, { type: 'bye', msgSeq: 1 })).ackOrPingOnly);
  t.false(labelOf({ type: 'hello', clientNonce: NONCE }).ackOrPingOnly);
});

test('a long label is cut, naming the frames that fit and counting the rest', (t) => {
  const messages = Array.from(
    { length: 9 },
    (_, index): Frame => ({ ...MESSAGE_4, msgSeq: index, roomSeq: 10 + index }),
  );
  const label = labelOf(session(ACK, ...messages)).text;
  t.true(label.length <= DATAGRAM_LABEL_LENGTH_MAX, label);
  const match = /^(.*)\+(\d+) more$/.exec(label);
  t.truthy(match, label);
  const named = (match?.[1] ?? '').split('+');
  t.is(named[0], 'ACK');
  t.is(named[1], 'MESSAGE #10');
  t.is(named.length + Number(match?.[2]), 10, label);
});

test('bytes the codec refuses are labelled with the reason instead of throwing', (t) => {
  t.is(describeDatagram(new Uint8Array()).text, 'undecodable (too-short)');
  t.is(describeDatagram(Uint8Array.of(9, 1, 2, 3)).text, 'undecodable (version)');
});

test('a JOIN name that is not printable ASCII is shown with its odd characters replaced', (t) => {
  const datagram = encodePacket({
    type: 'join',
    clientNonce: NONCE,
    timeSlot: 3,
    cookie: COOKIE,
    proof: COOKIE,
    name: 'ana',
  });
  // The name is last in a JOIN; the server reads it unchecked (to refuse it as bad-name), so can the label.
  datagram[datagram.length - 1] = 0x07;
  t.is(describeDatagram(datagram).text, 'JOIN an?');
});

testProp(
  'every packet gets a short printable label, marked exactly when all its frames are ACK or PING',
  [packetArb],
  (t, packet) => {
    const label = labelOf(packet);
    t.true(label.text.length > 0 && label.text.length <= DATAGRAM_LABEL_LENGTH_MAX, label.text);
    t.regex(label.text, /^[\x20-\x7e…]+$/);
    const quiet =
      packet.type === 'session' && packet.frames.every((f) => f.type === 'ack' || f.type === 'ping');
    t.is(label.ackOrPingOnly, quiet);
  },
);

function networkWith(describe: boolean) {
  const clock = new VirtualClock();
  const trace = new Trace();
  const network = new SimNetwork({
    clock,
    trace,
    latencyMs: 5,
    faultTape: [],
    partitions: [],
    ...(describe ? { describe: describeDatagram } : {}),
  });
  const a = network.attach('a', { host: '10.0.0.1', port: 1 }, () => {});
  network.attach('b', { host: '10.0.0.2', port: 2 }, () => {});
  a.send(encodePacket(session(ACK)), { host: '10.0.0.2', port: 2 });
  a.send(encodePacket(session(ACK, MESSAGE_4)), { host: '10.0.0.2', port: 2 });
  clock.runUntil(100, 1000);
  return trace;
}

test('the network labels each send with its describer, once, and the trace shows it on every line of that datagram', (t) => {
  const trace = networkWith(true);
  const sends = trace.entries.filter((entry) => entry.kind === 'send');
  // Each names its session: an address may change hands, and the checker tells conversations apart.
  t.like(sends[0], { kind: 'send', label: 'ACK', ackOrPingOnly: true, session: SESSION_ID });
  t.like(sends[1], { kind: 'send', label: 'ACK+MESSAGE #4', session: SESSION_ID });
  t.is(sends[1]?.kind === 'send' ? sends[1].ackOrPingOnly : 'no send', undefined);
  t.false(sends[1] !== undefined && 'ackOrPingOnly' in plainTraceEntry(sends[1]), 'nor is it in its JSON');
  // Only the send carries the label: a delivery is tied to it by its send number.
  t.true(trace.entries.filter((entry) => entry.kind === 'deliver').every((entry) => !('label' in entry)));
  const lines = trace.formatted().split('\n');
  t.is(lines.length, 4);
  t.regex(lines[0] ?? '', /a -> b +send 18B #[0-9a-f]{8} ACK$/);
  t.regex(
    lines.find((line) => line.includes('deliver') && line.includes('MESSAGE')) ?? '',
    /ACK\+MESSAGE #4$/,
  );
  t.is(trace.toJsonLines(), networkWith(true).toJsonLines());
});

test('without a describer the trace is exactly as before: no label fields at all', (t) => {
  const trace = networkWith(false);
  t.true(trace.entries.every((entry) => !('label' in entry) && !('ackOrPingOnly' in entry)));
  t.regex(trace.formatted().split('\n')[0] ?? '', /send 18B #[0-9a-f]{8}$/);
  t.notRegex(trace.toJsonLines(), /label|ackOrPingOnly|session/);
});
