import test from 'ava';
import { decodePacket, prepareFrame } from '../codec/codec.ts';
import type { ReliableFrame, SessionPacket } from '../codec/frames.ts';
import { Link } from '../link/link.ts';
import { LINK_CONFIG_DEFAULT, type LinkConfig } from '../link/link-config.ts';
import { ServerSession } from './session.ts';

// The session's three phases, row by row of the table in session.ts, against a real client link.

const SESSION_ID = '0123456789abcdef';
const FIRST_CONTACT_MS = 15_000;

function decodeSession(datagram: Uint8Array): SessionPacket {
  const decoded = decodePacket(datagram);
  if (!decoded.ok || decoded.packet.type !== 'session') {
    throw new Error(`not a session packet: ${JSON.stringify(decoded)}`);
  }
  return decoded.packet;
}

function pair(config: LinkConfig = LINK_CONFIG_DEFAULT) {
  const session = new ServerSession(
    {
      sessionId: SESSION_ID,
      address: { host: '10.0.0.2', port: 5000 },
      addressKey: '10.0.0.2:5000',
      name: 'ana',
      nonceKey: '01'.repeat(16),
    },
    config,
    0,
    FIRST_CONTACT_MS,
  );
  const client = new Link(config, SESSION_ID, 0);
  /** What the client's link delivered, in order. */
  const atClient: ReliableFrame[] = [];
  /** Carries every datagram both ways until neither side has anything to send; returns what the room got. */
  const exchange = (nowMs = 0) => {
    const said: string[] = [];
    let bye = false;
    for (let round = 0; round < 100; round += 1) {
      let moved = false;
      for (const datagram of session.link.poll(nowMs)) {
        moved = true;
        atClient.push(...client.receive(decodeSession(datagram), nowMs));
      }
      for (const datagram of client.poll(nowMs)) {
        moved = true;
        const input = session.receive(decodeSession(datagram), nowMs);
        said.push(...input.said);
        bye ||= input.bye;
      }
      if (!moved) {
        return { said, bye };
      }
    }
    throw new Error('the links never went quiet');
  };
  return { session, client, atClient, exchange };
}

test('open: a packet from the peer brings its SAYs in order, and its BYE', (t) => {
  const { session, client, exchange } = pair();
  client.enqueue({ type: 'say', text: 'halo' });
  client.enqueue({ type: 'say', text: 'apa kabar' });
  t.deepEqual(exchange(), { said: ['halo', 'apa kabar'], bye: false });
  client.enqueue({ type: 'bye' });
  t.deepEqual(exchange(), { said: [], bye: true });
  t.is(session.phase, 'open', 'a BYE is the room’s to act on: the session only reports it');
});

test('open: a delivery is queued and reaches the peer; one that would take the goodbye’s place is refused whole', (t) => {
  const config = { ...LINK_CONFIG_DEFAULT, sendQueueCountMax: 4 };
  const { session, atClient, exchange } = pair(config);
  const frame = (text: string) =>
    prepareFrame({ type: 'message', roomSeq: 1, timeMs: 0, from: 'budi', text });
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

test('a QUIT on a full queue still gets its GOODBYE: the last place is kept for it', (t) => {
  const config = { ...LINK_CONFIG_DEFAULT, sendQueueCountMax: 3 };
  const { session, atClient, exchange } = pair(config);
  const frame = prepareFrame({ type: 'message', roomSeq: 1, timeMs: 0, from: 'budi', text: 'x' });
  t.true(session.deliver([frame, frame]));
  t.false(session.deliver([frame]), 'the queue is full but for the kept place');
  session.close('goodbye');
  t.is(session.link.sendQueueCount, 3, 'the GOODBYE took the kept place');
  t.is(session.phase, 'closing');
  exchange();
  t.is(atClient.at(-1)?.type, 'goodbye');
  t.deepEqual(session.outcome(), { confirmed: true });
});

test('closing: frames from the peer are acknowledged but ignored; deliveries are not taken; a second goodbye is not queued', (t) => {
  const { session, client, exchange } = pair();
  session.close('shutdown');
  t.is(session.phase, 'closing');
  t.is(session.outcome(), undefined, 'not done while the notice is unacknowledged');
  session.close('goodbye');
  t.is(session.link.sendQueueCount, 1, 'one last word only');
  client.enqueue({ type: 'say', text: 'terlambat' });
  t.deepEqual(exchange(), { said: [], bye: false }, 'a closing session passes nothing on');
  t.is(client.sendQueueCount, 0, 'but the peer’s SAY was acknowledged');
  t.true(session.deliver([prepareFrame({ type: 'joined', roomSeq: 2, name: 'budi' })]));
  t.is(session.link.sendQueueCount, 0, 'a closing session is no member: a delivery is not queued');
  t.deepEqual(session.outcome(), { confirmed: true });
});

test('closing: a peer that never acknowledges makes the session end unconfirmed once its link dies', (t) => {
  const config = { ...LINK_CONFIG_DEFAULT, idleTimeoutMs: 2000, keepaliveIntervalMs: 500 };
  const { session, exchange } = pair(config);
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
  const { session, client } = pair();
  session.markClosed();
  client.enqueue({ type: 'say', text: 'halo' });
  const [datagram] = client.poll(0);
  t.truthy(datagram);
  if (datagram !== undefined) {
    t.deepEqual(session.receive(decodeSession(datagram), 0), { said: [], bye: false });
  }
  t.is(session.link.stats.datagramsReceived, 0, 'not even read by its link');
  t.true(session.deliver([prepareFrame({ type: 'joined', roomSeq: 2, name: 'budi' })]));
  t.is(session.link.sendQueueCount, 0);
  session.close('goodbye');
  t.is(session.link.sendQueueCount, 0);
  t.is(session.outcome(), undefined);
});
