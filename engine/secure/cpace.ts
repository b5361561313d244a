import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { bytesToNumberLE } from '@noble/curves/utils.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { concatBytes, utf8ToBytes } from '@noble/hashes/utils.js';

/**
 * CPace, the balanced PAKE of draft-irtf-cfrg-cpace-21 ("CPace, a balanced composable PAKE"), for the
 * cipher suite CPACE-RISTR255-SHA512 (group ristretto255 of RFC 9496, hash SHA-512): draft §7 (the
 * protocol), §8.1 and §8.3 (the group object G_Ristretto255), Appendix A (string utilities), with the
 * test vectors of Appendix A and Appendix B.3 in `cpace.test.ts`.
 *
 * Every primitive comes from noble: the group arithmetic, the ristretto255 encoding and decoding and the
 * RFC 9496 element derivation ("one-way map" from 64 uniform bytes) from `@noble/curves`, SHA-512 from
 * `@noble/hashes`. This module only composes them as the draft says.
 *
 * Randomness: none of its own. The caller passes {@link CPACE_SCALAR_RANDOM_BYTES} uniform random bytes
 * (the engine takes them from its environment's random source, so a simulation replays exactly).
 *
 * Side channels: JavaScript gives no constant-time guarantee. Secrets here are `bigint` scalars and
 * `Uint8Array`s (PRS, K, ISK); their handling is only as constant-time as noble's field and point code
 * (noble's `multiply` is its constant-time-intended ladder) and the JavaScript engine allow. Bigints
 * cannot be wiped; byte arrays are not wiped either. Draft §10.10 asks for all state-of-the-art methods
 * for constant-time execution: that is not reachable in this language, and a caller who needs it must
 * use another implementation.
 *
 * Contract violations by the caller (a wrong length of random bytes, a zero scalar, an out-of-range
 * scalar, a second `finish`) throw a plain `Error`. Data from the peer that is not acceptable (a share
 * that is not a canonical ristretto255 encoding, or the identity) makes the functions return
 * `undefined`: the draft's "abort" (§7.2).
 */

// ---------------------------------------------------------------------------------------------------
// Constants of the suite (draft §6.2, §8.3)

/** The cipher suite's name in the draft's "CPACE-G-H" convention (draft §5). */
export const CPACE_SUITE = 'CPACE-RISTR255-SHA512';
/** G_Ristretto255.DSI, the group's domain-separation identifier (draft §8.3). */
export const CPACE_DSI = 'CPaceRistretto255';
/** G.DSI || b"_ISK", the domain-separation identifier of the ISK hash (draft §7.2, Appendix B.3.5). */
export const CPACE_DSI_ISK = `${CPACE_DSI}_ISK`;
/** The prefix of the optional session-id output sid_output (draft §10.6). */
export const CPACE_SID_OUTPUT_PREFIX = 'CPaceSidOutput';
/** H.s_in_bytes: SHA-512's input block size, which the generator string's zero padding fills (draft §6.2, §8.1). */
export const CPACE_HASH_BLOCK_BYTES = 128;
/** H.b_in_bytes: SHA-512's output, the length of ISK and of sid_output (draft §6.2, §7.2). */
export const CPACE_HASH_BYTES = 64;
/** G_Ristretto255.field_size_bytes (draft §8.3); also the length of an encoded element. */
export const CPACE_FIELD_BYTES = 32;
/** 2 · field_size_bytes: the length of the generator string's hash, input to element derivation (draft §8.3). */
export const CPACE_GENERATOR_HASH_BYTES = 2 * CPACE_FIELD_BYTES;
/** G_Ristretto255.group_size_bits (draft §8.3): a sampled scalar keeps this many low bits. */
export const CPACE_GROUP_SIZE_BITS = 252;
/** G_Ristretto255.group_order = 2^252 + 27742317777372353535851937790883648493 (draft §8.3). */
export const CPACE_GROUP_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;
/**
 * How many uniform random bytes {@link cpaceScalar} takes: 32, the draft's RECOMMENDED sample_scalar for
 * ristretto255 (draft §8.3): sample_random_bytes(32), clear the bits above group_size_bits = 252, read
 * little-endian. The result is uniform on [0, 2^252), which lies inside [0, group_order).
 */
export const CPACE_SCALAR_RANDOM_BYTES = 32;
/** The length of a public share Y = y·g and of the secret K: one encoded ristretto255 element. */
export const CPACE_SHARE_BYTES = CPACE_FIELD_BYTES;
/** The length of the intermediate session key ISK (draft §7.2): H.b_in_bytes of SHA-512. */
export const CPACE_ISK_BYTES = CPACE_HASH_BYTES;

/** A ristretto255 group element in noble's internal representation (the draft's "_g", §8.3). */
export type CpacePoint = InstanceType<typeof ristretto255.Point>;

const DSI_BYTES = utf8ToBytes(CPACE_DSI);
const DSI_ISK_BYTES = utf8ToBytes(CPACE_DSI_ISK);
const SID_OUTPUT_PREFIX_BYTES = utf8ToBytes(CPACE_SID_OUTPUT_PREFIX);
const OC_PREFIX_BYTES = utf8ToBytes('oc');
const SCALAR_MASK = (1n << BigInt(CPACE_GROUP_SIZE_BITS)) - 1n;

/**
 * RFC 9496 §4.3.4 element derivation (64 uniform bytes → group element): noble's
 * `ristretto255_hasher.deriveToCurve`. Its type is optional in noble's generic hasher interface, so
 * its presence is checked once, here. (Not `hashToCurve`: that is RFC 9380's hash_to_ristretto255,
 * which runs expand_message_xmd first.)
 */
const elementDerivation: (bytes: Uint8Array) => CpacePoint = (() => {
  const derive = ristretto255_hasher.deriveToCurve;
  if (derive === undefined) {
    throw new Error(
      'cpace: @noble/curves has no ristretto255_hasher.deriveToCurve (RFC 9496 element derivation)',
    );
  }
  return (bytes) => derive(bytes);
})();

if (ristretto255.Point.Fn.ORDER !== CPACE_GROUP_ORDER || sha512.blockLen !== CPACE_HASH_BLOCK_BYTES) {
  throw new Error('cpace: noble ristretto255 / SHA-512 parameters differ from draft-irtf-cfrg-cpace-21 §8.3');
}

function requireBytes(value: Uint8Array, what: string, length?: number): void {
  if (!(value instanceof Uint8Array)) {
    throw new Error(`cpace: ${what} must be a Uint8Array`);
  }
  if (length !== undefined && value.length !== length) {
    throw new Error(`cpace: ${what} must be ${length} bytes, got ${value.length}`);
  }
}

function requireScalar(scalar: bigint): void {
  if (typeof scalar !== 'bigint' || scalar <= 0n || scalar >= CPACE_GROUP_ORDER) {
    throw new Error('cpace: scalar must be a bigint in [1, group_order - 1]');
  }
}

// ---------------------------------------------------------------------------------------------------
// String utilities (draft §6.3, Appendix A)

/**
 * prepend_len (draft §6.3, Appendix A.1.1): the LEB128 encoding of `data`'s length, then `data`.
 * LEB128: 7 bits a byte, least significant first, bit 7 set while more bytes follow.
 */
export function prependLen(data: Uint8Array): Uint8Array {
  requireBytes(data, 'prepend_len input');
  const lengthBytes: number[] = [];
  let length = data.length;
  for (;;) {
    const low = length % 128;
    length = Math.floor(length / 128);
    lengthBytes.push(length === 0 ? low : low + 0x80);
    if (length === 0) {
      break;
    }
  }
  const out = new Uint8Array(lengthBytes.length + data.length);
  out.set(lengthBytes, 0);
  out.set(data, lengthBytes.length);
  return out;
}

/** lv_cat (draft §6.3, Appendix A.1.3): prepend_len of each argument, concatenated. */
export function lvCat(...parts: readonly Uint8Array[]): Uint8Array {
  return concatBytes(...parts.map(prependLen));
}

/**
 * generator_string (draft §8.1, Appendix A.2): lv_cat(DSI, PRS, zero_bytes(len_zpad), CI, sid), where
 * len_zpad = max(0, s_in_bytes − 1 − len(prepend_len(PRS)) − len(prepend_len(DSI))), so that DSI, PRS
 * and the padding fill the hash's first input block whenever PRS is short.
 */
export function generatorString(
  dsi: Uint8Array,
  prs: Uint8Array,
  ci: Uint8Array,
  sid: Uint8Array,
  sInBytes: number,
): Uint8Array {
  if (!Number.isSafeInteger(sInBytes) || sInBytes < 0) {
    throw new Error('cpace: s_in_bytes must be a non-negative integer');
  }
  const lenZpad = Math.max(0, sInBytes - 1 - prependLen(prs).length - prependLen(dsi).length);
  return lvCat(dsi, prs, new Uint8Array(lenZpad), ci, sid);
}

/**
 * lexiographically_larger (the draft's spelling; draft Appendix A.3.1): true if `a` > `b` in
 * lexicographic byte order, a proper prefix being the smaller.
 */
export function lexicographicallyLarger(a: Uint8Array, b: Uint8Array): boolean {
  const common = Math.min(a.length, b.length);
  for (let i = 0; i < common; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x !== y) {
      return x > y;
    }
  }
  return a.length > b.length;
}

/**
 * o_cat (draft §6.3, Appendix A.3.2): b"oc", then the lexicographically larger string, then the other.
 */
export function oCat(a: Uint8Array, b: Uint8Array): Uint8Array {
  return lexicographicallyLarger(a, b)
    ? concatBytes(OC_PREFIX_BYTES, a, b)
    : concatBytes(OC_PREFIX_BYTES, b, a);
}

/**
 * transcript_ir (draft §6.3, Appendix A.3.4): lv_cat(Ya, ADa) || lv_cat(Yb, ADb), the transcript of the
 * initiator-responder setting, A being the initiator.
 */
export function transcriptIr(ya: Uint8Array, adA: Uint8Array, yb: Uint8Array, adB: Uint8Array): Uint8Array {
  return concatBytes(lvCat(ya, adA), lvCat(yb, adB));
}

/**
 * transcript_oc (draft §6.3, Appendix A.3.6): o_cat(lv_cat(Ya, ADa), lv_cat(Yb, ADb)), the transcript of
 * the symmetric (parallel) setting: the same whichever party's message is called "a".
 */
export function transcriptOc(ya: Uint8Array, adA: Uint8Array, yb: Uint8Array, adB: Uint8Array): Uint8Array {
  return oCat(lvCat(ya, adA), lvCat(yb, adB));
}

// ---------------------------------------------------------------------------------------------------
// G_Ristretto255 (draft §8.3) with H = SHA-512

/**
 * The suite's generator string: generator_string(b"CPaceRistretto255", PRS, CI, sid, 128) (draft §8.3,
 * first step of calculate_generator; Appendix B.3.1).
 */
export function cpaceGeneratorString(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): Uint8Array {
  requireBytes(prs, 'PRS');
  requireBytes(ci, 'CI');
  requireBytes(sid, 'sid');
  return generatorString(DSI_BYTES, prs, ci, sid, CPACE_HASH_BLOCK_BYTES);
}

/**
 * G_Ristretto255.calculate_generator(H, PRS, CI, sid) (draft §8.3): gen_str_hash =
 * SHA-512(generator_string(DSI, PRS, CI, sid, 128)) truncated to 2 · 32 = 64 bytes (that is, all of
 * it), then _g = element_derivation(gen_str_hash), the RFC 9496 §4.3.4 map. Returns the decoded point.
 * The generator is secret (it depends on PRS).
 */
export function cpaceGenerator(prs: Uint8Array, ci: Uint8Array, sid: Uint8Array): CpacePoint {
  const genStrHash = sha512(cpaceGeneratorString(prs, ci, sid)).subarray(0, CPACE_GENERATOR_HASH_BYTES);
  return elementDerivation(genStrHash);
}

/**
 * G_Ristretto255.sample_scalar() (draft §8.3, the RECOMMENDED way), from caller-supplied randomness:
 * `random` must be {@link CPACE_SCALAR_RANDOM_BYTES} (32) uniform random bytes; the bits above bit 251
 * are cleared and the rest read little-endian. A zero result (probability 2^−252 from a sound random
 * source) throws, since a zero scalar is not a valid Diffie-Hellman key. Every scalar must be used for
 * one session only (draft §10.9).
 */
export function cpaceScalar(random: Uint8Array): bigint {
  requireBytes(random, 'scalar randomness', CPACE_SCALAR_RANDOM_BYTES);
  const scalar = bytesToNumberLE(random) & SCALAR_MASK;
  if (scalar === 0n) {
    throw new Error('cpace: the random bytes give a zero scalar (a broken random source?)');
  }
  return scalar;
}

/**
 * G_Ristretto255.scalar_mult(y, _g) (draft §8.3, §7.2): the 32-byte public encoding of Y = y·g, the
 * share a party sends.
 */
export function cpaceShare(generator: CpacePoint, scalar: bigint): Uint8Array {
  if (!(generator instanceof ristretto255.Point)) {
    throw new Error('cpace: generator must be a ristretto255 point');
  }
  requireScalar(scalar);
  return generator.multiply(scalar).toBytes();
}

/**
 * G_Ristretto255.scalar_mult_vfy(y, X) with the abort check of draft §7.2: decodes the peer's share X
 * (RFC 9496 §4.3.1 decode, which refuses non-canonical encodings), computes K = y·X and returns its
 * 32-byte encoding. Returns `undefined` where the draft has G.I and says abort: X is not 32 bytes or not
 * a valid encoding, or K is the identity (in this prime-order group, exactly when X is the identity,
 * whose encoding is 32 zero bytes). K is secret: it must not leave the caller (draft §10.3).
 */
export function cpaceSecret(scalar: bigint, peerShare: Uint8Array): Uint8Array | undefined {
  requireScalar(scalar);
  if (!(peerShare instanceof Uint8Array) || peerShare.length !== CPACE_SHARE_BYTES) {
    return undefined;
  }
  let peer: CpacePoint;
  try {
    peer = ristretto255.Point.fromBytes(peerShare);
  } catch {
    return undefined;
  }
  // The identity is refused before the multiplication, which would otherwise be spent on it (a
  // stranger's cheapest way to cost the server one); K below is then never the identity either.
  if (peer.is0()) {
    return undefined;
  }
  const k = peer.multiply(scalar);
  if (k.is0()) {
    return undefined;
  }
  return k.toBytes();
}

function isk(sid: Uint8Array, k: Uint8Array, transcript: Uint8Array): Uint8Array {
  return sha512(concatBytes(lvCat(DSI_ISK_BYTES, sid, k), transcript));
}

function requireIskInputs(
  sid: Uint8Array,
  k: Uint8Array,
  ya: Uint8Array,
  adA: Uint8Array,
  yb: Uint8Array,
  adB: Uint8Array,
): void {
  requireBytes(sid, 'sid');
  requireBytes(k, 'K', CPACE_SHARE_BYTES);
  requireBytes(ya, 'Ya', CPACE_SHARE_BYTES);
  requireBytes(adA, 'ADa');
  requireBytes(yb, 'Yb', CPACE_SHARE_BYTES);
  requireBytes(adB, 'ADb');
}

/**
 * The intermediate session key of the initiator-responder setting (draft §7.2, §6.3; Appendix B.3.5):
 * ISK = SHA-512(lv_cat(b"CPaceRistretto255_ISK", sid, K) || transcript_ir(Ya, ADa, Yb, ADb)), 64 bytes.
 * A is the initiator (spoke first), on both sides. Draft §10.3 recommends passing ISK through a KDF
 * before use.
 */
export function cpaceIskInitiatorResponder(
  sid: Uint8Array,
  k: Uint8Array,
  ya: Uint8Array,
  adA: Uint8Array,
  yb: Uint8Array,
  adB: Uint8Array,
): Uint8Array {
  requireIskInputs(sid, k, ya, adA, yb, adB);
  return isk(sid, k, transcriptIr(ya, adA, yb, adB));
}

/**
 * The intermediate session key of the symmetric (parallel) setting (draft §7.2, §6.3; Appendix B.3.6):
 * ISK = SHA-512(lv_cat(b"CPaceRistretto255_ISK", sid, K) || transcript_oc(Ya, ADa, Yb, ADb)), 64 bytes;
 * the same whichever share each party calls its own.
 */
export function cpaceIskSymmetric(
  sid: Uint8Array,
  k: Uint8Array,
  ya: Uint8Array,
  adA: Uint8Array,
  yb: Uint8Array,
  adB: Uint8Array,
): Uint8Array {
  requireIskInputs(sid, k, ya, adA, yb, adB);
  return isk(sid, k, transcriptOc(ya, adA, yb, adB));
}

/**
 * The optional public session identifier of the initiator-responder setting (draft §4.2, §10.6;
 * Appendix B.3.7): sid_output = SHA-512(b"CPaceSidOutput" || transcript_ir(Ya, ADa, Yb, ADb)), 64 bytes.
 * The draft offers it for runs whose sid input was empty; it depends on no secret and not on sid.
 */
export function cpaceSidOutputInitiatorResponder(
  ya: Uint8Array,
  adA: Uint8Array,
  yb: Uint8Array,
  adB: Uint8Array,
): Uint8Array {
  return sha512(concatBytes(SID_OUTPUT_PREFIX_BYTES, transcriptIr(ya, adA, yb, adB)));
}

/**
 * The optional public session identifier of the symmetric setting (draft §10.6; Appendix B.3.7):
 * sid_output = SHA-512(b"CPaceSidOutput" || transcript_oc(Ya, ADa, Yb, ADb)), 64 bytes.
 */
export function cpaceSidOutputSymmetric(
  ya: Uint8Array,
  adA: Uint8Array,
  yb: Uint8Array,
  adB: Uint8Array,
): Uint8Array {
  return sha512(concatBytes(SID_OUTPUT_PREFIX_BYTES, transcriptOc(ya, adA, yb, adB)));
}

// ---------------------------------------------------------------------------------------------------
// One run of the initiator-responder setting (draft §7.1, §7.2)

/** What each party of a run starts with (draft §4.1, §7). The empty string stands for an unused input. */
export interface CpaceStartInput {
  /** The password-related string, shared by both parties; secret. */
  readonly prs: Uint8Array;
  /** The channel identifier; both parties must hold the same one. Not sent. */
  readonly ci: Uint8Array;
  /** The session identifier; both parties must hold the same one. Public, should be unique (draft §10.9). */
  readonly sid: Uint8Array;
  /** {@link CPACE_SCALAR_RANDOM_BYTES} fresh uniform random bytes, used for this run only. */
  readonly random: Uint8Array;
  /** This party's associated data (ADa for the initiator, ADb for the responder), sent in clear. */
  readonly ad: Uint8Array;
}

/** The initiator's side of a run once it has sent its message. */
export interface CpaceInitiator {
  /** Ya, the 32-byte share to send to the responder, with ADa. */
  readonly share: Uint8Array;
  /**
   * Takes the responder's message (Yb, ADb) and returns the 64-byte ISK, or `undefined` if Yb is not
   * acceptable (the draft's abort). May be called once: the scalar serves one peer message only, so
   * that a session yields at most one password guess; a second call throws.
   */
  finish(peerShare: Uint8Array, peerAd: Uint8Array): Uint8Array | undefined;
}

/**
 * The initiator A (draft §7.2): computes g = calculate_generator(PRS, CI, sid), ya = sample_scalar(),
 * Ya = ya·g, and returns Ya to send with ADa, and `finish` for the responder's answer, which computes
 * K = scalar_mult_vfy(ya, Yb) and ISK with transcript_ir(Ya, ADa, Yb, ADb).
 */
export function cpaceInitiatorStart(input: CpaceStartInput): CpaceInitiator {
  const { prs, ci, sid, random, ad } = input;
  requireBytes(ad, 'ADa');
  let scalar: bigint | undefined = cpaceScalar(random);
  const share = cpaceShare(cpaceGenerator(prs, ci, sid), scalar);
  const sidCopy = sid.slice();
  const adCopy = ad.slice();
  return {
    share: share.slice(),
    finish(peerShare: Uint8Array, peerAd: Uint8Array): Uint8Array | undefined {
      if (scalar === undefined) {
        throw new Error('cpace: finish was already called for this run');
      }
      requireBytes(peerAd, 'ADb');
      const ya = scalar;
      scalar = undefined;
      const k = cpaceSecret(ya, peerShare);
      if (k === undefined) {
        return undefined;
      }
      return cpaceIskInitiatorResponder(sidCopy, k, share, adCopy, peerShare, peerAd);
    },
  };
}

/** What the responder starts with: its own inputs and the initiator's message (Ya, ADa). */
export interface CpaceRespondInput extends CpaceStartInput {
  /** Ya, the initiator's share. */
  readonly peerShare: Uint8Array;
  /** ADa, the initiator's associated data. */
  readonly peerAd: Uint8Array;
}

/** The responder's result: Yb to send back with ADb, and the 64-byte ISK. */
export interface CpaceResponse {
  readonly share: Uint8Array;
  readonly isk: Uint8Array;
}

/**
 * The responder B (draft §7.2): computes g, yb, Yb = yb·g, K = scalar_mult_vfy(yb, Ya) and ISK with
 * transcript_ir(Ya, ADa, Yb, ADb). Returns `undefined` if Ya is not acceptable (the draft's abort:
 * nothing is to be sent).
 */
export function cpaceRespond(input: CpaceRespondInput): CpaceResponse | undefined {
  const { prs, ci, sid, random, ad, peerShare, peerAd } = input;
  requireBytes(prs, 'PRS');
  requireBytes(ci, 'CI');
  requireBytes(sid, 'sid');
  requireBytes(ad, 'ADb');
  requireBytes(peerAd, 'ADa');
  const scalar = cpaceScalar(random);
  const k = cpaceSecret(scalar, peerShare);
  if (k === undefined) {
    return undefined;
  }
  const share = cpaceShare(cpaceGenerator(prs, ci, sid), scalar);
  return { share, isk: cpaceIskInitiatorResponder(sid, k, peerShare, peerAd, share, ad) };
}
