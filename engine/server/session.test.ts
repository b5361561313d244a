import test from 'ava';
import { decodePacket, prepareFrame } from '../codec/codec.ts';
import type { ReliableFrame, SealedSessionPacket, SessionPacket } from '../codec/frames.ts';
import { SERVER_CONFIG_DEFAULT } from '../config.ts';
import { Link } from '../link/link.ts';
import { LINK_CONFIG_DEFAULT, type LinkConfig } from '../link/link-config.ts';
import { nobleChaCha20Poly1305 } from '../secure/aead.ts';
import { SessionProtection } from '../secure/session-protection.ts';
import { TEST_SESSION_KEYS } from '../test/sealing.ts';
import { ServerSession } from './session.ts';

// The session's three phases, row by row of the table in session.ts, against a real client link. Both
// ends seal for real (the test keys); the room's part, opening what arrives before the session reads
// it, is played here by each end's packet protection.

const SESSION_ID = '0123456789abcdef';
const FIRST_CONTACT_MS = 15_000;

function sealed(datagram: Uint8Array): SealedSessionPacket {
  const decoded = decodePacket(datagram);
  if (!decoded.ok || decoded.packet.type !== 'session') {
    throw new Error(`not a session packet: ${JSON.stringify(decoded)}`);
  }
  return decoded.packet;
}

/** Opens a datagram with one end's protection, as the room (or the client) does before its link reads it. */
function open(protection: SessionProtection, datagram: Uint8Array): SessionPacket {
  const opened = protection.open(sealed(datagram));
  if (!opened.ok) {
    throw new Error(`the datagram did not open: ${opened.reason}`);
  }
  return opened.packet;
}

function pair(config: LinkConfig = LINK_CONFIG_DEFAULT) {
  const serverProtection = new SessionProtection(
    TEST_SESSION_KEYS,
    'server',
    nobleChaCha20Poly1305,
    config.forgeriesMax,
  );
  const session = new ServerSession(
    {
      sessionId: SESSION_ID,
      address: { host: '10.0.0.2', port: 5000 },
      addressKey: '10.0.0.2:5000',
      nonceKey: '01'.repeat(16),
      clientShare: new Uint8Array(32).fill(3),
      accept: new Uint8Array(154),
      protection: serverProtection,
    },
    config,
    0,
    FIRST_CONTACT_MS,
    SERVER_CONFIG_DEFAULT,
  );
  const clientProtection = new SessionProtection(
    TEST_SESSION_KEYS,
    'client',
    nobleChaCha20Poly1305,
    config.forgeriesMax,
  );
  const client = new Link(config, SESSION_ID, 0, clientProtection.seal);
  /** What the client's link delivered, in order. */
  const atClient: ReliableFrame[] = [];
  /** Carries every datagram both ways until neither side has anything to send; returns what the room got. */
  const exchange = (nowMs = 0) => {
    const claims: string[] = [];
    const said: string[] = [];
    let bye = false;
    for (let round = 0; round < 100; round += 1) {
      let moved = false;
      for (const datagram of session.link.poll(nowMs)) {
        moved = true;
        atClient.push(...client.receive(open(clientProtection, datagram), nowMs));
      }
      for (const datagram of client.poll(nowMs)) {
        moved = true;
        const input = session.receive(open(serverProtection, datagram), nowMs);
        if (input.claim !== undefined) {
          claims.push(input.claim.name);
        }
        said.push(...input.said.map((say) => say.text));
        bye ||= input.bye;
      }
      if (!moved) {
        return { claims, said, bye };
      }
    }
    throw new Error('the links never went quiet');
  };
  return { session, client, clientProtection, serverProtection, atClient, exchange };
}

/** A pair whose peer has claimed its name, as every session that is a member has. */
function claimedPair(config: LinkConfig = LINK_CONFIG_DEFAULT) {
  const it = pair(config);
  it.client.enqueue({ type: 'claim', name: 'ana', originSecret: new Uint8Array(16) });
  const claimed = it.exchange();
  if (claimed.claims[0] !== 'ana' || !it.session.claimed) {
    throw new Error('the claim did not reach the session');
  }
  return it;
}

test('open: the first frame claims a name, which the session hands the room once, with the frames after it', (t) => {
  const { session, client, exchange } = pair();
  t.false(session.claimed);
  t.is(session.name, '', 'a session has no name before its claim');
  client.enqueue({ type: 'claim', name: 'ana', originSecret: new Uint8Array(16) });
  client.enqueue({ type: 'say', line: 1, text: 'halo' });
  t.deepEqual(exchange(), { claims: ['ana'], said: ['halo'], bye: false });
  t.true(session.claimed);
  t.is(session.name, '', 'the name is the room’s to grant: the session only reports the claim');
  t.is(session.phase, 'open');
});

test('open: frames before a CLAIM are not heard (but acknowledged), and a second CLAIM is ignored', (t) => {
  const { session, client, exchange } = pair();
  client.enqueue({ type: 'say', line: 1, text: 'terlalu awal' });
  client.enqueue({ type: 'bye' });
  t.deepEqual(exchange(), { claims: [], said: [], bye: false }, 'a SAY and a BYE before any CLAIM');
  t.false(session.claimed);
  t.is(client.sendQueueCount, 0, 'the link acknowledged them all the same');
  client.enqueue({ type: 'claim', name: 'ana', originSecret: new Uint8Array(16) });
  client.enqueue({ type: 'say', line: 1, text: 'sekarang' });
  t.deepEqual(exchange(), { claims: ['ana'], said: ['sekarang'], bye: false });
  client.enqueue({ type: 'claim', name: 'budi', originSecret: new Uint8Array(16) });
  client.enqueue({ type: 'say', line: 1, text: 'masih ana' });
  t.deepEqual(
    exchange(),
    { claims: [], said: ['masih ana'], bye: false },
    'the second CLAIM is not reported',
  );
  t.is(session.phase, 'open');
});

test('open: a packet from the peer brings its SAYs in order, and its BYE', (t) => {
  const { session, client, exchange } = claimedPair();
  client.enqueue({ type: 'say', line: 1, text: 'halo' });
  client.enqueue({ type: 'say', line: 1, text: 'apa kabar' });
  t.deepEqual(exchange(), { claims: [], said: ['halo', 'apa kabar'], bye: false });
  client.enqueue({ type: 'bye' });
  t.deepEqual(exchange(), { claims: [], said: [], bye: true });
  t.is(session.phase, 'open', 'a BYE is the room’s to act on: the session only reports it');
});

test('open: a delivery is queued and reaches the peer; one that would take the goodbye’s place is refused whole', (t) => {
  const config = { ...LINK_CONFIG_DEFAULT, sendQueueCountMax: 4 };
  const { session, atClient, exchange } = claimedPair(config);
  const frame = (text: string) =>
    prepareFrame({
      type: 'message',
      roomSeq: 1,
      timeMs: 0,
      from: 'budi',
      origin: '0123456789abcdef',
      line: 1,
      text,
    });
  t.true(session.deliver([frame('satu'), frame('dua')]));
  t.is(session.link.sendQueueCount, 2);
  t.false(session.deliver([frame('tiga'), frame('empat')]), 'two more would leave no place for the goodbye');
  t.is(session.link.sendQueueCount, 2, 'a refused delivery queues none of its frames');
  t.true(session.deliver([frame('tiga')]), 'one more still leaves the place');
  exchange();
  t.deepEqual(
    atClient.map((f) => (f.type === 'message' ? f.text : f.type)),
    ['satu', 'dua', 'tiga'],
  );
});

test('open: everything the session sends is sealed with the server’s direction keys: the peer opens it, the session’s own protection does not', (t) => {
  const { session, clientProtection, serverProtection } = claimedPair();
  session.deliver([prepareFrame({ type: 'joined', roomSeq: 2, name: 'budi' })]);
  const [datagram] = session.link.poll(0);
  if (datagram === undefined) {
    t.fail('nothing sent');
    return;
  }
  const text = new TextDecoder('latin1').decode(datagram);
  t.false(text.includes('budi'), 'the name is not in clear on the wire');
  t.like(
    serverProtection.open(sealed(datagram)),
    { ok: false, reason: 'unauthentic' },
    'reflected back, it does not verify',
  );
  const opened = clientProtection.open(sealed(datagram));
  t.true(opened.ok);
  t.deepEqual(opened.ok ? opened.packet.frames.filter((frame) => frame.type === 'joined') : [], [
    { type: 'joined', msgSeq: 0, roomSeq: 2, name: 'budi' },
  ]);
});

test('a QUIT on a full queue still gets its GOODBYE: the last place is kept for it', (t) => {
  const config = { ...LINK_CONFIG_DEFAULT, sendQueueCountMax: 3 };
  const { session, atClient, exchange } = claimedPair(config);
  const frame = prepareFrame({
    type: 'message',
    roomSeq: 1,
    timeMs: 0,
    from: 'budi',
    origin: '0123456789abcdef',
    line: 1,
    text: 'x',
  });
  t.true(session.deliver([frame, frame]));
  t.false(session.deliver([frame]), 'the queue is full but for the kept place');
  session.close('goodbye');
  t.is(session.link.sendQueueCount, 3, 'the GOODBYE took the kept place');
  t.is(session.phase, 'closing');
  exchange();
  t.is(atClient.at(-1)?.type, 'goodbye');
  t.deepEqual(session.outcome(), { confirmed: true });
});

test('refuse: the claim is answered with REFUSED and the reason, its last word; the session closes once the peer has it', (t) => {
  const { session, client, atClient, exchange } = pair();
  client.enqueue({ type: 'claim', name: 'ana', originSecret: new Uint8Array(16) });
  t.deepEqual(exchange(), { claims: ['ana'], said: [], bye: false });
  session.refuse('name-taken');
  t.is(session.phase, 'closing');
  t.is(session.outcome(), undefined, 'not done while the REFUSED is unacknowledged');
  session.refuse('room-full');
  session.close('goodbye');
  t.is(session.link.sendQueueCount, 1, 'one last word only');
  client.enqueue({ type: 'say', line: 1, text: 'tetap di sini' });
  t.deepEqual(exchange(), { claims: [], said: [], bye: false }, 'a refused session passes nothing on');
  t.deepEqual(atClient, [{ type: 'refused', msgSeq: 0, reason: 'name-taken' }]);
  t.true(session.deliver([prepareFrame({ type: 'joined', roomSeq: 2, name: 'budi' })]));
  t.is(session.link.sendQueueCount, 0, 'a refused session is no member: a delivery is not queued');
  t.deepEqual(session.outcome(), { confirmed: true });
});

test('closing: frames from the peer are acknowledged but ignored; deliveries are not taken; a second goodbye is not queued', (t) => {
  const { session, client, exchange } = claimedPair();
  session.close('shutdown');
  t.is(session.phase, 'closing');
  t.is(session.outcome(), undefined, 'not done while the notice is unacknowledged');
  session.close('goodbye');
  t.is(session.link.sendQueueCount, 1, 'one last word only');
  client.enqueue({ type: 'say', line: 1, text: 'terlambat' });
  t.deepEqual(exchange(), { claims: [], said: [], bye: false }, 'a closing session passes nothing on');
  t.is(client.sendQueueCount, 0, 'but the peer’s SAY was acknowledged');
  t.true(session.deliver([prepareFrame({ type: 'joined', roomSeq: 2, name: 'budi' })]));
  t.is(session.link.sendQueueCount, 0, 'a closing session is no member: a delivery is not queued');
  t.deepEqual(session.outcome(), { confirmed: true });
});

test('closing: a CLAIM that reaches a session closed before it is not reported', (t) => {
  const { session, client, exchange } = pair();
  session.close('shutdown');
  client.enqueue({ type: 'claim', name: 'ana', originSecret: new Uint8Array(16) });
  t.deepEqual(exchange(), { claims: [], said: [], bye: false });
  t.false(session.claimed);
});

test('closing: a peer that never acknowledges makes the session end unconfirmed once its link dies', (t) => {
  const config = { ...LINK_CONFIG_DEFAULT, idleTimeoutMs: 2000, keepaliveIntervalMs: 500 };
  const { session, exchange } = claimedPair(config);
  exchange();
  session.close('goodbye');
  // The peer has gone: nothing comes back, and the link's timers run until it gives up.
  let nowMs = 0;
  for (let step = 0; step < 1000 && session.link.dead === undefined; step += 1) {
    session.link.poll(nowMs);
    nowMs = Math.max(nowMs, session.link.timerDeadlineMs() ?? nowMs + 1);
    session.link.handleTimeout(nowMs);
  }
  t.not(session.link.dead, undefined);
  t.deepEqual(session.outcome(), { confirmed: false });
});

test('open: a peer never heard from is dead at the first-contact timeout, not before', (t) => {
  const { session } = pair();
  session.link.poll(0);
  session.link.handleTimeout(FIRST_CONTACT_MS - 1);
  t.is(session.outcome(), undefined);
  session.link.handleTimeout(FIRST_CONTACT_MS);
  t.deepEqual(session.outcome(), { death: 'never-heard-from' });
});

test('closed: the session takes nothing more, and has no outcome left to report', (t) => {
  const { session, client, serverProtection } = pair();
  session.markClosed();
  client.enqueue({ type: 'claim', name: 'ana', originSecret: new Uint8Array(16) });
  client.enqueue({ type: 'say', line: 1, text: 'halo' });
  const [datagram] = client.poll(0);
  t.truthy(datagram);
  if (datagram !== undefined) {
    t.deepEqual(session.receive(open(serverProtection, datagram), 0), {
      claim: undefined,
      said: [],
      bye: false,
    });
  }
  t.is(session.link.stats.datagramsReceived, 0, 'not even read by its link');
  t.false(session.claimed);
  t.true(session.deliver([prepareFrame({ type: 'joined', roomSeq: 2, name: 'budi' })]));
  t.is(session.link.sendQueueCount, 0);
  session.close('goodbye');
  session.refuse('bad-name');
  t.is(session.link.sendQueueCount, 0);
  t.is(session.outcome(), undefined);
});
