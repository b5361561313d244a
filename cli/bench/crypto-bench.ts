import { nodeChaCha20Poly1305 } from '../../adapters/udp/node-aead.ts';
import { type Aead, nobleChaCha20Poly1305, PacketOpener, PacketSealer } from '../../engine/secure/aead.ts';
import { CPACE_SCALAR_RANDOM_BYTES, cpaceInitiatorStart, cpaceRespond } from '../../engine/secure/cpace.ts';
import type { DirectionKeys } from '../../engine/secure/keys.ts';

// The per-packet cost of protocol v2's packet protection: seal one packet and open it again, as a
// sender and its receiver do, through PacketSealer and PacketOpener (so the nonce is counted too).
// Usage: npx tsx cli/bench/crypto-bench.ts

/** Payload sizes measured: a short chat line, a long one, and a packet near the datagram limit. */
export const CRYPTO_BENCH_PAYLOAD_BYTES = [64, 256, 1200] as const;
/** The associated data of each packet: a session header's worth of bytes. */
export const CRYPTO_BENCH_HEADER_BYTES = 16;
/** Each figure is measured over about this long, so that timer resolution and one GC pause weigh little. */
const MEASURE_SECONDS = 0.5;
/** Run before each figure and thrown away: the JIT has optimised the path by its end. */
const WARM_UP_SECONDS = 0.1;
/** Run after the warm-up, warm, to pick the iteration count that takes about {@link MEASURE_SECONDS}. */
const CALIBRATE_SECONDS = 0.1;

/** The implementations measured, by the name the table shows. */
const IMPLEMENTATIONS: readonly (readonly [CryptoBenchRow['implementation'], Aead])[] = [
  ['@noble/ciphers', nobleChaCha20Poly1305],
  ['node:crypto', nodeChaCha20Poly1305],
];

/** One implementation at one payload size. */
export interface CryptoBenchRow {
  readonly implementation: '@noble/ciphers' | 'node:crypto';
  readonly payloadBytes: number;
  /** Packets sealed and opened in the measured run. */
  readonly packets: number;
  readonly seconds: number;
  /** Sealing one packet plus opening it, in microseconds. */
  readonly microsecondsPerPacket: number;
  /** Payload bytes (10^6 a MB) that go through seal and then open per second. */
  readonly megabytesPerSecond: number;
}

export interface CryptoBenchResult {
  readonly headerBytes: number;
  readonly rows: readonly CryptoBenchRow[];
}

/** A sender and a receiver on one key, numbering packets from 0 as a session does. */
class PacketPair {
  readonly #sealer: PacketSealer;
  readonly #opener: PacketOpener;
  readonly #header: Uint8Array;
  readonly #plaintext: Uint8Array;
  #packetNumber = 0;

  constructor(aead: Aead, payloadBytes: number) {
    const keys: DirectionKeys = {
      key: Uint8Array.from({ length: 32 }, (_, index) => index),
      iv: Uint8Array.from({ length: 12 }, (_, index) => 0xf0 - index),
    };
    this.#sealer = new PacketSealer(keys, aead);
    this.#opener = new PacketOpener(keys, aead);
    this.#header = Uint8Array.from({ length: CRYPTO_BENCH_HEADER_BYTES }, (_, index) => index * 7);
    this.#plaintext = Uint8Array.from({ length: payloadBytes }, (_, index) => index & 0xff);
  }

  /** Seals the next packet and opens it; throws if it does not open, as the figure would then be a lie. */
  roundTrip(): void {
    const packetNumber = this.#packetNumber;
    this.#packetNumber += 1;
    const sealed = this.#sealer.seal(this.#header, packetNumber, this.#plaintext);
    const opened = this.#opener.open(this.#header, packetNumber, sealed);
    if (opened?.length !== this.#plaintext.length) {
      throw new Error(`packet ${packetNumber} did not open`);
    }
  }
}

/** Round trips `count` times; the seconds it took. */
function timeRoundTrips(pair: PacketPair, count: number): number {
  const startedAt = performance.now();
  for (let index = 0; index < count; index += 1) {
    pair.roundTrip();
  }
  return (performance.now() - startedAt) / 1000;
}

/** Round trips for `seconds` (checking the clock every 64): how many per second. */
function runFor(pair: PacketPair, seconds: number): number {
  let count = 0;
  const startedAt = performance.now();
  while (performance.now() - startedAt < seconds * 1000) {
    for (let index = 0; index < 64; index += 1) {
      pair.roundTrip();
    }
    count += 64;
  }
  return count / ((performance.now() - startedAt) / 1000);
}

function benchOne(
  implementation: CryptoBenchRow['implementation'],
  aead: Aead,
  payloadBytes: number,
): CryptoBenchRow {
  const pair = new PacketPair(aead, payloadBytes);
  runFor(pair, WARM_UP_SECONDS);
  const rate = runFor(pair, CALIBRATE_SECONDS);
  // A fixed count, not a deadline, so that reading the clock costs nothing inside the measured loop.
  const packets = Math.max(1000, Math.round(rate * MEASURE_SECONDS));
  const seconds = timeRoundTrips(pair, packets);
  return {
    implementation,
    payloadBytes,
    packets,
    seconds,
    microsecondsPerPacket: (seconds * 1e6) / packets,
    megabytesPerSecond: (payloadBytes * packets) / seconds / 1e6,
  };
}

/**
 * Measures seal+open per packet for each payload size with the engine's pure-JavaScript AEAD and with
 * node:crypto's, each figure over about half a second after a warm-up. Takes some 5 seconds.
 */
export function benchCrypto(): CryptoBenchResult {
  // Before the first figure, the code shared by every size (the AEAD, the nonce, the sealer) is still
  // cold, and a tenth of a second did not warm it: the first figure came out low. Warm it all once.
  for (const [, aead] of IMPLEMENTATIONS) {
    for (const payloadBytes of CRYPTO_BENCH_PAYLOAD_BYTES) {
      runFor(new PacketPair(aead, payloadBytes), WARM_UP_SECONDS);
    }
  }
  const rows: CryptoBenchRow[] = [];
  for (const payloadBytes of CRYPTO_BENCH_PAYLOAD_BYTES) {
    for (const [implementation, aead] of IMPLEMENTATIONS) {
      rows.push(benchOne(implementation, aead, payloadBytes));
    }
  }
  return { headerBytes: CRYPTO_BENCH_HEADER_BYTES, rows };
}

/** The result as a markdown table, one row per implementation and payload size. */
export function formatCryptoBench(result: CryptoBenchResult): string {
  const lines = [
    '| AEAD | payload (B) | seal+open (µs/packet) | MB/s | packets measured | in (s) |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const row of result.rows) {
    lines.push(
      `| ${row.implementation} | ${row.payloadBytes} | ${row.microsecondsPerPacket.toFixed(2)} | ${row.megabytesPerSecond.toFixed(1)} | ${row.packets} | ${row.seconds.toFixed(2)} |`,
    );
  }
  return lines.join('\n');
}

/** What one password-authenticated key exchange costs each side (CPace, ristretto255, SHA-512). */
export interface PakeBenchResult {
  readonly exchanges: number;
  /** The initiator (the client): its share, then the secret and ISK from the server's share. */
  readonly initiatorMs: number;
  /** The responder (the server): its share, the secret and the ISK, from the client's share. */
  readonly responderMs: number;
}

/** Runs whole exchanges for about {@link MEASURE_SECONDS} after a warm-up, timing each side apart. */
export function benchPake(): PakeBenchResult {
  const encoder = new TextEncoder();
  const prs = encoder.encode('bench password');
  const ci = encoder.encode('bench room');
  const ad = new Uint8Array(0);
  let counter = 0;
  // Distinct random bytes for every scalar, as a real run has (a repeated scalar could be cached).
  const random = () => {
    counter += 1;
    const bytes = new Uint8Array(CPACE_SCALAR_RANDOM_BYTES);
    new DataView(bytes.buffer).setUint32(0, counter);
    bytes[31] = 0x01;
    return bytes;
  };
  let initiatorMs = 0;
  let responderMs = 0;
  const exchange = () => {
    const sid = random();
    const startedAt = performance.now();
    const initiator = cpaceInitiatorStart({ prs, ci, sid, random: random(), ad });
    const afterStart = performance.now();
    const response = cpaceRespond({
      prs,
      ci,
      sid,
      random: random(),
      ad,
      peerShare: initiator.share,
      peerAd: ad,
    });
    const afterResponse = performance.now();
    if (response === undefined || initiator.finish(response.share, ad) === undefined) {
      throw new Error('a CPace exchange with one password on both sides failed');
    }
    initiatorMs += afterStart - startedAt + (performance.now() - afterResponse);
    responderMs += afterResponse - afterStart;
  };
  const warmUpUntil = performance.now() + WARM_UP_SECONDS * 1000;
  while (performance.now() < warmUpUntil) {
    exchange();
  }
  initiatorMs = 0;
  responderMs = 0;
  let exchanges = 0;
  const until = performance.now() + MEASURE_SECONDS * 1000;
  while (performance.now() < until) {
    exchange();
    exchanges += 1;
  }
  return { exchanges, initiatorMs: initiatorMs / exchanges, responderMs: responderMs / exchanges };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(
    `## Packet protection (ChaCha20-Poly1305, ${CRYPTO_BENCH_HEADER_BYTES}-byte header as AAD, seal + open)\n`,
  );
  console.log(formatCryptoBench(benchCrypto()));
  const pake = benchPake();
  console.log(
    `\nCPace: ${pake.initiatorMs.toFixed(2)} ms the initiator, ${pake.responderMs.toFixed(2)} ms the responder (${pake.exchanges} exchanges)`,
  );
}
