import test from 'ava';
import { decodePacket, encodePacket } from '../../engine/index.ts';
import type { PeerAddress } from '../../engine/port.ts';
import {
  ADVERSARY_NODE,
  Adversary,
  type AdversaryMove,
  type AdversaryPlan,
  bytesOfHex,
  craft,
  hexOf,
  isAdversaryPlan,
  type Knowledge,
  type MoveTiming,
  RETRY_AFTER_MS_MAX,
  type SeenDatagram,
  strangerAddress,
  WIRE_ANATOMY,
  WireLog,
} from './adversary.ts';
import { NO_FAULTS } from './arbitraries/scenario.ts';
import { SimNetwork } from './network.ts';
import { decodeReplayToken, encodeReplayToken } from './replay-token.ts';
import type { Scenario } from './scenario.ts';
import { Trace } from './trace.ts';
import { VirtualClock } from './virtual-clock.ts';

const SERVER: PeerAddress = { host: '10.0.0.1', port: 8080 };
const ANA: PeerAddress = { host: '10.0.1.1', port: 5000 };
const BUDI: PeerAddress = { host: '10.0.1.2', port: 5001 };
const KNOWLEDGE: Knowledge = { server: SERVER, clients: [ANA, BUDI] };
const AT_ONCE: MoveTiming = { atMs: 0, back: 0, of: 'any', delayMs: 0 };
const AS_SEEN = { to: { kind: 'as-seen' }, from: { kind: 'as-seen' } } as const;

/** A SESSION packet as protocol v1 lays it out: version, type, session id, packet number 7, then frames. */
const SESSION_PACKET = new Uint8Array([
  1, 6, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0, 0, 0, 7, 3, 0, 4, 0x68, 0x61, 0x6c, 0x6f,
]);

function seen(bytes: Uint8Array, from = ANA, to = SERVER): SeenDatagram {
  return { t: 0, send: 3, from: 'c0', fromAddress: from, to, toName: 'server', bytes };
}

function made(move: AdversaryMove, source = seen(SESSION_PACKET)) {
  const crafted = craft(move, source, KNOWLEDGE);
  if (crafted === undefined) {
    throw new Error(`${move.kind} made nothing`);
  }
  return crafted;
}

/** The bit positions (most significant bit of byte 0 first) where two equally long byte strings differ. */
function differingBits(a: Uint8Array, b: Uint8Array): number[] {
  const positions: number[] = [];
  for (let bit = 0; bit < a.byteLength * 8; bit += 1) {
    const mask = 0x80 >> (bit & 7);
    if (((a[bit >> 3] ?? 0) & mask) !== ((b[bit >> 3] ?? 0) & mask)) {
      positions.push(bit);
    }
  }
  return positions;
}

test('a replay is byte for byte the datagram seen, from its sender to its destination', (t) => {
  const crafted = made({ ...AT_ONCE, kind: 'replay', ...AS_SEEN });
  t.deepEqual(crafted.bytes, SESSION_PACKET);
  t.deepEqual(crafted.from, ANA);
  t.deepEqual(crafted.to, SERVER);
});

test('a replay may go elsewhere and claim another address: the server, a client seen, a stranger', (t) => {
  const toBudi = made({
    ...AT_ONCE,
    kind: 'replay',
    to: { kind: 'client', pick: 3 },
    from: { kind: 'server' },
  });
  t.deepEqual(toBudi.to, BUDI);
  t.deepEqual(toBudi.from, SERVER);
  const fromStranger = made({
    ...AT_ONCE,
    kind: 'replay',
    to: { kind: 'as-seen' },
    from: { kind: 'stranger', pick: 7 },
  });
  t.deepEqual(fromStranger.from, strangerAddress(7));
  t.false([SERVER, ANA, BUDI].some((address) => address.host === fromStranger.from.host));
});

test('a bit-flip differs from its source in exactly the bits it flipped, and only within its region', (t) => {
  const header = WIRE_ANATOMY.headerBytes(SESSION_PACKET);
  t.is(header, 14);
  // Bit 3 of the body, twice over (flipped once), and bit 9 (byte 1 of the body, second bit).
  const body = made({ ...AT_ONCE, kind: 'bit-flip', region: 'body', bits: [3, 9, 3 + 7 * 8], ...AS_SEEN });
  t.deepEqual(differingBits(SESSION_PACKET, body.bytes), [header * 8 + 3, header * 8 + 9]);
  const inHeader = made({ ...AT_ONCE, kind: 'bit-flip', region: 'header', bits: [0, 12, 1000], ...AS_SEEN });
  const flipped = differingBits(SESSION_PACKET, inHeader.bytes);
  t.deepEqual(
    flipped,
    [0, 12, 1000 % (header * 8)].sort((a, b) => a - b),
  );
  t.true(flipped.every((bit) => bit < header * 8));
  t.is(inHeader.bytes.byteLength, SESSION_PACKET.byteLength);
});

test('a truncation is a strict prefix of its source, an extension its source and the bytes appended', (t) => {
  const cut = made({ ...AT_ONCE, kind: 'truncate', keep: 5, ...AS_SEEN });
  t.deepEqual(cut.bytes, SESSION_PACKET.slice(0, 5));
  const wrapped = made({ ...AT_ONCE, kind: 'truncate', keep: SESSION_PACKET.byteLength + 2, ...AS_SEEN });
  t.deepEqual(wrapped.bytes, SESSION_PACKET.slice(0, 2));
  const longer = made({ ...AT_ONCE, kind: 'extend', extra: 'deadbeef', ...AS_SEEN });
  t.deepEqual(longer.bytes.slice(0, SESSION_PACKET.byteLength), SESSION_PACKET);
  t.is(hexOf(longer.bytes.slice(SESSION_PACKET.byteLength)), 'deadbeef');
});

test('a reflection goes back to its sender as from its receiver, or to the server as from a member', (t) => {
  const fromServer = seen(SESSION_PACKET, SERVER, ANA);
  const back = made({ ...AT_ONCE, kind: 'reflect' }, fromServer);
  t.deepEqual(back.bytes, SESSION_PACKET);
  t.deepEqual(back.from, fromServer.to);
  t.deepEqual(back.to, fromServer.fromAddress);
  const asMember = made({ ...AT_ONCE, kind: 'reflect', toServerAs: 1 }, fromServer);
  t.deepEqual(asMember.to, SERVER);
  t.deepEqual(asMember.from, BUDI);
});

test("forgeries: the tape's own bytes; a seen header with the tape's body; a seen session under another number", (t) => {
  const random = made({ ...AT_ONCE, kind: 'forge-random', bytes: '0102ff', ...AS_SEEN });
  t.deepEqual(random.bytes, new Uint8Array([1, 2, 0xff]));
  const headed = made({ ...AT_ONCE, kind: 'forge-header', body: 'c0ffee', ...AS_SEEN });
  t.deepEqual(headed.bytes.slice(0, 14), SESSION_PACKET.slice(0, 14));
  t.is(hexOf(headed.bytes.slice(14)), 'c0ffee');
  const ahead = made({ ...AT_ONCE, kind: 'forge-packet-number', packetNumber: { ahead: 3 }, ...AS_SEEN });
  // Packet number 7 becomes 10: bits of the last byte of the number only, the session id as it was.
  t.is(new DataView(ahead.bytes.buffer).getUint32(10), 10);
  t.deepEqual(ahead.bytes.slice(0, 10), SESSION_PACKET.slice(0, 10));
  t.deepEqual(ahead.bytes.slice(14), SESSION_PACKET.slice(14));
  const exact = made({
    ...AT_ONCE,
    kind: 'forge-packet-number',
    packetNumber: { exactly: 0xffff_fffe },
    body: 'ab',
    ...AS_SEEN,
  });
  t.is(new DataView(exact.bytes.buffer).getUint32(10), 0xffff_fffe);
  t.is(hexOf(exact.bytes.slice(14)), 'ab');
  // A handshake packet has no packet number to change.
  const hello = new Uint8Array(64).fill(0, 2);
  hello[0] = 1;
  hello[1] = 1;
  t.is(
    craft(
      { ...AT_ONCE, kind: 'forge-packet-number', packetNumber: { ahead: 1 }, ...AS_SEEN },
      seen(hello),
      KNOWLEDGE,
    ),
    undefined,
  );
});

/** A client nonce, and a HELLO and a CHALLENGE of its handshake as the codec writes them. */
const NONCE = new Uint8Array(16).map((_, index) => 0xc0 + index);
const HELLO = encodePacket({ type: 'hello', clientNonce: NONCE });
const CHALLENGE = encodePacket({
  type: 'challenge',
  clientNonce: NONCE,
  timeSlot: 9,
  cookie: new Uint8Array(16).fill(7),
  serverKey: new Uint8Array(32).fill(8),
});

function decodedWait(bytes: Uint8Array) {
  const decoded = decodePacket(bytes);
  if (!decoded.ok || decoded.packet.type !== 'wait') {
    throw new Error(`not a WAIT: ${hexOf(bytes)}`);
  }
  return decoded.packet;
}

test("a forged WAIT carries the seen handshake's nonce and the tape's reason and retry-after, to its client as from its server", (t) => {
  const move: AdversaryMove = { ...AT_ONCE, kind: 'forge-wait', reason: 1, retryAfterMs: 60_000, ...AS_SEEN };
  // Whichever end sent the datagram seen, as seen it goes to the client, as from the server.
  for (const source of [seen(HELLO, ANA, SERVER), seen(CHALLENGE, SERVER, ANA)]) {
    const crafted = made(move, source);
    t.deepEqual(crafted.from, SERVER);
    t.deepEqual(crafted.to, ANA);
    const wait = decodedWait(crafted.bytes);
    t.deepEqual(wait.clientNonce, NONCE);
    t.is(wait.reason, 'throttled');
    t.is(wait.retryAfterMs, 60_000);
  }
  // The reason wraps around the three; the retry-after goes up to a u32's largest.
  const wrapped = decodedWait(
    made({ ...move, reason: 5, retryAfterMs: RETRY_AFTER_MS_MAX }, seen(HELLO)).bytes,
  );
  t.is(wrapped.reason, 'host-quota');
  t.is(wrapped.retryAfterMs, RETRY_AFTER_MS_MAX);
  t.is(decodedWait(made({ ...move, reason: 0, retryAfterMs: 0 }, seen(HELLO)).bytes).reason, 'load');
  // Aimed elsewhere: to another client, as from a stranger.
  const aimed = made(
    { ...move, to: { kind: 'client', pick: 1 }, from: { kind: 'stranger', pick: 2 } },
    seen(HELLO),
  );
  t.deepEqual(aimed.to, BUDI);
  t.deepEqual(aimed.from, strangerAddress(2));
  // A session packet, or bytes no handshake is made of, carry no nonce to forge a WAIT for.
  t.is(craft(move, seen(SESSION_PACKET), KNOWLEDGE), undefined);
  t.is(craft(move, seen(new Uint8Array([1, 2, 3])), KNOWLEDGE), undefined);
});

/** A JOIN of another handshake (another nonce). */
const JOIN_NONCE = NONCE.map((byte) => byte ^ 0xff);
const JOIN = encodePacket({
  type: 'join',
  clientNonce: JOIN_NONCE,
  timeSlot: 9,
  cookie: new Uint8Array(16).fill(7),
  share: new Uint8Array(32).fill(9),
});

test('a forged WAIT is made when a JOIN goes by: from that JOIN, or an earlier datagram of a handshake', (t) => {
  const sends = [
    { atMs: 100, bytes: HELLO },
    { atMs: 200, bytes: SESSION_PACKET },
    { atMs: 300, bytes: JOIN },
  ];
  const move: AdversaryMove = {
    ...AT_ONCE,
    atMs: 150,
    kind: 'forge-wait',
    reason: 2,
    retryAfterMs: 1500,
    ...AS_SEEN,
  };
  // Armed at 150 ms, it lets the session packet at 200 ms go by and fires on the JOIN at 300 ms.
  for (const [back, nonce] of [
    [0, JOIN_NONCE],
    [1, NONCE],
  ] as const) {
    const { received, report } = adversaryRun({ startAtMs: 0, moves: [{ ...move, back }] }, sends);
    t.like(report, { injectionCount: 1, idle: 0, reached: { server: 0, client: 1, nobody: 0 } });
    t.like(report.injected, { 'forge-wait': 1 });
    t.like(report.spoofedAs, { server: 1 });
    const forged = received.filter(({ node }) => node === 'c0');
    t.deepEqual(
      forged.map(({ t: at, from }) => [at, from.port]),
      [[305, SERVER.port]],
    );
    const wait = decodedWait(forged[0]?.bytes ?? new Uint8Array());
    t.deepEqual(wait.clientNonce, nonce);
    t.like(wait, { reason: 'host-quota', retryAfterMs: 1500 });
  }
  // Without a JOIN it never fires; on a JOIN with nothing of the server's seen, it has nothing to work from.
  t.like(adversaryRun({ startAtMs: 0, moves: [move] }, sends.slice(0, 2)).report, {
    injectionCount: 0,
    idle: 0,
  });
  t.like(adversaryRun({ startAtMs: 0, moves: [{ ...move, of: 'server' }] }, sends).report, {
    injectionCount: 0,
    idle: 1,
  });
});

test('the wire log finds a secret within one datagram, never across two', (t) => {
  const log = new WireLog();
  const text = new TextEncoder();
  const append = (bytes: Uint8Array) =>
    log.append({ t: 0, bytes, from: 'c0', fromAddress: ANA, to: SERVER, toName: 'server', send: log.count });
  append(text.encode('..hal'));
  append(text.encode('o..'));
  t.is(log.find(text.encode('halo')), undefined);
  append(text.encode('x halo x'));
  t.is(log.find(text.encode('halo')), 2);
  t.is(log.count, 3);
  t.deepEqual(log.at(1)?.bytes, text.encode('o..'));
});

/** A network of a server and two clients with an adversary on it; returns what each node received. */
function adversaryRun(plan: AdversaryPlan, sends: readonly { atMs: number; bytes: Uint8Array }[]) {
  const clock = new VirtualClock();
  const trace = new Trace();
  const network = new SimNetwork({ clock, trace, latencyMs: 10, faultTape: [], partitions: [] });
  const received: { node: string; t: number; from: PeerAddress; bytes: Uint8Array }[] = [];
  const attach = (node: string, address: PeerAddress) =>
    network.attach(node, address, (bytes, from) => received.push({ node, t: clock.now(), from, bytes }));
  attach('server', SERVER);
  const ana = attach('c0', ANA);
  attach('c1', BUDI);
  const adversary = new Adversary({
    network,
    clock,
    plan,
    server: { node: 'server', address: SERVER },
    latencyMs: 10,
  });
  for (const { atMs, bytes } of sends) {
    clock.setTimeout(() => ana.send(bytes, SERVER), atMs);
  }
  clock.runUntil(120_000, 10_000);
  return { received, trace, report: adversary.report() };
}

test('on a network, an injection arrives halfway along the path as from the address it claims, and is traced and counted', (t) => {
  const { received, trace, report } = adversaryRun(
    {
      startAtMs: 0,
      moves: [
        { ...AT_ONCE, kind: 'replay', ...AS_SEEN },
        { ...AT_ONCE, kind: 'reflect' },
        {
          ...AT_ONCE,
          delayMs: 2000,
          kind: 'forge-random',
          bytes: '00',
          to: { kind: 'stranger', pick: 1 },
          from: AS_SEEN.from,
        },
      ],
    },
    [{ atMs: 100, bytes: SESSION_PACKET }],
  );
  // The replay (at 105 ms, before the original at 110 ms), then the original, then the reflection to ana.
  t.deepEqual(
    received.map(({ node, t: at, from }) => [node, at, from.port]),
    [
      ['server', 105, ANA.port],
      ['c0', 105, SERVER.port],
      ['server', 110, ANA.port],
    ],
  );
  t.true(received.every(({ bytes }) => hexOf(bytes) === hexOf(SESSION_PACKET)));
  t.like(report, { seenCount: 1, injectionCount: 3, reached: { server: 1, client: 1, nobody: 1 } });
  t.like(report.injected, { replay: 1, reflect: 1, 'forge-random': 1, 'bit-flip': 0 });
  t.like(report.spoofedAs, { member: 2, server: 1, stranger: 0 });
  const injected = trace.entries.filter((entry) => entry.kind !== 'event' && entry.from === ADVERSARY_NODE);
  t.deepEqual(
    injected.map((entry) => (entry.kind === 'event' ? '' : `${entry.kind} ${entry.send} ${entry.to}`)),
    [
      'send -1 server',
      'send -2 c0',
      'deliver -1 server',
      'deliver -2 c0',
      'send -3 10.0.66.2:40001',
      'drop -3 10.0.66.2:40001',
    ],
  );
});

test("the plan's bounds hold injections back: a count, a window, a time it stops", (t) => {
  const sends = [0, 1000, 2000, 3000].map((atMs) => ({ atMs, bytes: SESSION_PACKET }));
  const every = (count: number): AdversaryMove[] =>
    Array.from({ length: count }, (_, index) => ({
      ...AT_ONCE,
      atMs: index * 1000,
      kind: 'replay',
      ...AS_SEEN,
    }));
  t.is(adversaryRun({ startAtMs: 0, moves: every(4) }, sends).report.injectionCount, 4);
  t.like(adversaryRun({ startAtMs: 0, injectionCountMax: 2, moves: every(4) }, sends).report, {
    injectionCount: 2,
    heldBack: 2,
  });
  t.is(adversaryRun({ startAtMs: 1000, stopAtMs: 3000, moves: every(4) }, sends).report.injectionCount, 2);
  t.is(adversaryRun({ startAtMs: 0, stopAtMs: 1000, moves: every(4) }, sends).report.injectionCount, 1);
});

test('a scenario with an adversary replays from its token (g3.), and a scenario without keeps its g2. token', (t) => {
  const scenario: Scenario = {
    seed: 1,
    shape: 'small',
    room: { memberCountMax: 4, sessionCountMax: 8, recentJoinCountMax: 64 },
    clients: [],
    latencyMs: 5,
    faultTape: [],
    partitions: [],
    faults: NO_FAULTS,
    healAtMs: 1000,
    endAtMs: 2000,
    stepCountMax: 1000,
  };
  const plan: AdversaryPlan = {
    startAtMs: 0,
    stopAtMs: 900,
    moves: [{ ...AT_ONCE, kind: 'bit-flip', region: 'body', bits: [1, 2], ...AS_SEEN }],
  };
  t.true(encodeReplayToken(scenario).startsWith('g2.'));
  const token = encodeReplayToken({ ...scenario, adversary: plan });
  t.true(token.startsWith('g3.'));
  t.deepEqual(decodeReplayToken(token).adversary, plan);
  t.true(isAdversaryPlan(plan));
  t.false(isAdversaryPlan({ ...plan, moves: [{ ...AT_ONCE, kind: 'extend', extra: 'xyz', ...AS_SEEN }] }));
  // A forged WAIT's fields: a reason index and a u32 retry-after.
  const waitPlan: AdversaryPlan = {
    startAtMs: 0,
    moves: [{ ...AT_ONCE, kind: 'forge-wait', reason: 2, retryAfterMs: RETRY_AFTER_MS_MAX, ...AS_SEEN }],
  };
  t.true(isAdversaryPlan(waitPlan));
  t.deepEqual(decodeReplayToken(encodeReplayToken({ ...scenario, adversary: waitPlan })).adversary, waitPlan);
  for (const bad of [
    { reason: -1, retryAfterMs: 0 },
    { reason: 0, retryAfterMs: RETRY_AFTER_MS_MAX + 1 },
    { reason: 0 },
    { reason: 0, retryAfterMs: 1.5 },
  ]) {
    t.false(isAdversaryPlan({ ...plan, moves: [{ ...AT_ONCE, kind: 'forge-wait', ...bad, ...AS_SEEN }] }));
  }
  // A token written before forged WAITs (this scenario with three earlier kinds) still replays.
  const older =
    'g3.nZLNTsMwEITfZc6uFFBByDfEDamoEtwqDouzaaM6duTd_kRR3h05aWmBE9y833pndmT3EOYS9sZANtQyLKQh72GQYmxgezTcfHB6irugCzrCzg2EReoYLuzBILHjoM-xvsL388HA-ZqDCuzq3cCTcnDdQmDvDCraeX0bbXt4DmvdwBYnPk4MBi0lrbWO4SRxbvbwUWTJKfuOY-Wu9bUj5W-QPXW_wELGBYsr-cvahYFLJBsW2Iq8sMEhxbBeksghpvKMB4MNk3_UHOemKAoDDuVU3o6lKLcX3ekKlXtOQqnLEUQp6TRRGDRxnz1XPeiMPshtx0OsYEGhw1eCEW_rUMIicesp9zRm2RMlmQlzwGBQpek1f3YG8x-zyrPT0e2V057TY078H6kqpjXPWnJb1lnY5Z-G_Ca5fplK24OP5NR3sPk__Tnh-zB8Ag';
  t.deepEqual(
    decodeReplayToken(older).adversary?.moves.map((move) => move.kind),
    ['replay', 'reflect', 'forge-packet-number'],
  );
  t.deepEqual(bytesOfHex(hexOf(SESSION_PACKET)), SESSION_PACKET);
});
