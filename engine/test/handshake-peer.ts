import {
  acceptClearBytes,
  decodeFrames,
  decodePacket,
  encodePacket,
  encodeSessionPlaintext,
  type NumberedFrame,
  prepareFrame,
  sessionIdToBytes,
} from '../codec/codec.ts';
import type {
  AcceptPacket,
  AckFrame,
  ChallengePacket,
  Frame,
  JoinPacket,
  Packet,
  ReliableFrame,
  SessionId,
  SessionPacket,
} from '../codec/frames.ts';
import { Link } from '../link/link.ts';
import { LINK_CONFIG_DEFAULT, type LinkConfig } from '../link/link-config.ts';
import { packetNonce } from '../secure/aead.ts';
import {
  acceptSignedBytes,
  channelId,
  handshakeSid,
  openAccept,
  passwordBytes,
  resetKeyOf,
  resetTokenOf,
  sealAccept,
  sessionKeysOf,
} from '../secure/handshake-crypto.ts';
import type { DirectionKeys, SessionKeys } from '../secure/keys.ts';
import { type OpenOutcome, SessionProtection } from '../secure/session-protection.ts';
import type { CryptoSuite } from '../secure/suite.ts';

/**
 * Both halves of a protocol v2 handshake as a test computes them by hand, from the same steps the
 * machines use (handshake-crypto.ts): the client's (to drive a Room directly) and the server's (to
 * script a server for the client machine). Nothing here keeps state a machine would: a test holds the
 * pieces and decides what to send.
 */

/** Random bytes that are all different and all predictable: a counter, from `start`. */
export function counterRandom(start = 0): (count: number) => Uint8Array {
  let counter = start;
  return (count) =>
    Uint8Array.from({ length: count }, () => {
      counter += 1;
      return counter & 0xff;
    });
}

/** Decodes a datagram the test expects to be a packet, or throws. */
export function packetOf(datagram: Uint8Array): Packet {
  const decoded = decodePacket(datagram);
  if (!decoded.ok) {
    throw new Error(`not a packet: ${decoded.error.message}`);
  }
  return decoded.packet;
}

/** The client's key exchange for one CHALLENGE, and the JOIN that carries its share. */
export interface TestExchange {
  readonly challenge: ChallengePacket;
  readonly join: JoinPacket;
  /** The JOIN, encoded. */
  readonly datagram: Uint8Array;
  readonly ci: Uint8Array;
  readonly sid: Uint8Array;
  readonly share: Uint8Array;
  finish(peerShare: Uint8Array): Uint8Array | undefined;
}

/** Starts the client's side of the exchange for a CHALLENGE, with `password`, as the client machine does. */
export function clientJoin(
  crypto: CryptoSuite,
  password: string,
  challenge: ChallengePacket,
  random: (count: number) => Uint8Array,
): TestExchange {
  const ci = channelId(challenge.serverKey);
  const sid = handshakeSid(challenge.clientNonce, challenge.cookie);
  const run = crypto.keyExchange.initiate({
    prs: passwordBytes(password),
    ci,
    sid,
    random: random(crypto.keyExchange.randomByteCount),
  });
  const join: JoinPacket = {
    type: 'join',
    clientNonce: challenge.clientNonce,
    timeSlot: challenge.timeSlot,
    cookie: challenge.cookie,
    share: run.share,
  };
  return { challenge, join, datagram: encodePacket(join), ci, sid, share: run.share, finish: run.finish };
}

/** What checking an ACCEPT came to: the keys it gives, or the first step that failed. */
export type AcceptCheck =
  | {
      readonly ok: true;
      readonly sessionId: SessionId;
      readonly isk: Uint8Array;
      readonly resetToken: Uint8Array;
    }
  | { readonly ok: false; readonly failed: 'share' | 'seal' | 'signature' };

/** Checks an ACCEPT as the client machine does: the exchange finishes, the ISK opens it, the signature holds. */
export function checkAccept(crypto: CryptoSuite, exchange: TestExchange, accept: AcceptPacket): AcceptCheck {
  const isk = exchange.finish(accept.share);
  if (isk === undefined) {
    return { ok: false, failed: 'share' };
  }
  const clear = acceptClearBytes(accept.clientNonce, accept.sessionId, accept.share);
  const secret = openAccept(crypto.aead, isk, clear, accept.sealed);
  if (secret === undefined) {
    return { ok: false, failed: 'seal' };
  }
  const signed = acceptSignedBytes(
    exchange.ci,
    exchange.sid,
    exchange.share,
    accept.share,
    sessionIdToBytes(accept.sessionId),
  );
  if (!crypto.signature.verify(exchange.challenge.serverKey, signed, secret.signature)) {
    return { ok: false, failed: 'signature' };
  }
  return { ok: true, sessionId: accept.sessionId, isk, resetToken: secret.resetToken };
}

/**
 * The client's end of an opened session: its packet protection (with a replay window) and its link,
 * keyed from `isk` (which, for a client with the wrong password, is the wrong one).
 */
export class TestPeer {
  readonly sessionId: SessionId;
  readonly protection: SessionProtection;
  readonly link: Link;

  constructor(
    crypto: CryptoSuite,
    isk: Uint8Array,
    sessionId: SessionId,
    linkConfig: LinkConfig,
    nowMs: number,
  ) {
    this.sessionId = sessionId;
    this.protection = new SessionProtection(
      sessionKeysOf(isk, sessionIdToBytes(sessionId)),
      'client',
      crypto.aead,
      LINK_CONFIG_DEFAULT.forgeriesMax,
    );
    this.link = new Link(linkConfig, sessionId, nowMs, this.protection.seal);
  }

  /** Queues a CLAIM (or anything else) and returns the datagrams the link sends now. */
  send(nowMs: number, ...bodies: Parameters<Link['enqueue']>[0][]): Uint8Array[] {
    for (const body of bodies) {
      this.link.enqueue(body);
    }
    return this.link.poll(nowMs);
  }

  /** Opens a datagram from the server and gives it to the link: the frames it completes, or why not. */
  receive(
    datagram: Uint8Array,
    nowMs: number,
  ): { readonly ok: true; readonly frames: readonly ReliableFrame[] } | Exclude<OpenOutcome, { ok: true }> {
    const packet = packetOf(datagram);
    if (packet.type !== 'session') {
      throw new Error(`expected a session packet, got ${packet.type}`);
    }
    const opened = this.protection.open(packet);
    if (!opened.ok) {
      return opened;
    }
    return { ok: true, frames: this.link.receive(opened.packet, nowMs) };
  }
}

/** What a scripted server made for a JOIN: the ACCEPT, and the keys of the session it opens. */
export interface TestAccept {
  readonly datagram: Uint8Array;
  readonly packet: AcceptPacket;
  readonly isk: Uint8Array;
  readonly keys: SessionKeys;
  readonly resetToken: Uint8Array;
}

/**
 * The server's answer to a JOIN, computed as the room computes it: its share, and sealed under the
 * exchange's ISK the reset token and the signature by `identitySecret` over the exchange. A forger who
 * knows the password but not the server's secret is `signingSecret`: the exchange is the genuine
 * server's (bound to its identity key), the signature and the reset token its own.
 */
export function serverAccept(
  crypto: CryptoSuite,
  options: {
    readonly password: string;
    readonly identitySecret: Uint8Array;
    readonly join: JoinPacket;
    readonly sessionId: SessionId;
    readonly random: (count: number) => Uint8Array;
    readonly signingSecret?: Uint8Array;
  },
): TestAccept {
  const { join, sessionId, identitySecret } = options;
  const signingSecret = options.signingSecret ?? identitySecret;
  const ci = channelId(crypto.signature.publicKey(identitySecret));
  const sid = handshakeSid(join.clientNonce, join.cookie);
  const response = crypto.keyExchange.respond({
    prs: passwordBytes(options.password),
    ci,
    sid,
    random: options.random(crypto.keyExchange.randomByteCount),
    peerShare: join.share,
  });
  if (response === undefined) {
    throw new Error('the key exchange refused the share');
  }
  const sessionIdBytes = sessionIdToBytes(sessionId);
  const clear = acceptClearBytes(join.clientNonce, sessionId, response.share);
  const signature = crypto.signature.sign(
    signingSecret,
    acceptSignedBytes(ci, sid, join.share, response.share, sessionIdBytes),
  );
  const resetToken = resetTokenOf(resetKeyOf(signingSecret), sessionIdBytes);
  const sealed = sealAccept(crypto.aead, response.isk, clear, { resetToken, signature });
  const packet: AcceptPacket = {
    type: 'accept',
    clientNonce: join.clientNonce,
    sessionId,
    share: response.share,
    sealed,
  };
  return {
    datagram: encodePacket(packet),
    packet,
    isk: response.isk,
    keys: sessionKeysOf(response.isk, sessionIdBytes),
    resetToken,
  };
}

/**
 * A SESSION packet with exactly these frames and this packet number, sealed with `keys` (one
 * direction's): for a test that plays one end by hand, and may send the same number twice.
 */
export function sealSession(
  crypto: CryptoSuite,
  keys: DirectionKeys,
  sessionId: SessionId,
  packetNumber: number,
  frames: readonly Frame[],
): Uint8Array {
  let ack: AckFrame | undefined;
  let ping = false;
  const reliable: NumberedFrame[] = [];
  for (const frame of frames) {
    if (frame.type === 'ack') {
      ack = frame;
    } else if (frame.type === 'ping') {
      ping = true;
    } else {
      const { msgSeq, ...body } = frame;
      reliable.push({ msgSeq, prepared: prepareFrame(body as Parameters<typeof prepareFrame>[0]) });
    }
  }
  const { header, plaintext } = encodeSessionPlaintext({
    sessionIdBytes: sessionIdToBytes(sessionId),
    packetNumber,
    ack,
    frames: reliable,
    ping,
  });
  const sealed = crypto.aead.seal(keys.key, packetNonce(keys.iv, packetNumber), header, plaintext);
  const datagram = new Uint8Array(header.length + sealed.length);
  datagram.set(header);
  datagram.set(sealed, header.length);
  return datagram;
}

/** Opens a SESSION datagram with one direction's keys, without a replay window; undefined if it does not verify. */
export function openSession(
  crypto: CryptoSuite,
  keys: DirectionKeys,
  datagram: Uint8Array,
): SessionPacket | undefined {
  const packet = packetOf(datagram);
  if (packet.type !== 'session') {
    return undefined;
  }
  const plaintext = crypto.aead.open(
    keys.key,
    packetNonce(keys.iv, packet.packetNumber),
    packet.header,
    packet.sealed,
  );
  if (plaintext === undefined) {
    return undefined;
  }
  const frames = decodeFrames(plaintext);
  if (!frames.ok) {
    throw new Error(`frames do not decode: ${frames.error.message}`);
  }
  return { sessionId: packet.sessionId, packetNumber: packet.packetNumber, frames: frames.frames };
}
