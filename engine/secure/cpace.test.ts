import { ristretto255, ristretto255_hasher } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import test from 'ava';
import {
  CPACE_DSI,
  CPACE_DSI_ISK,
  CPACE_GROUP_ORDER,
  CPACE_HASH_BLOCK_BYTES,
  CPACE_ISK_BYTES,
  CPACE_SCALAR_RANDOM_BYTES,
  CPACE_SHARE_BYTES,
  cpaceGenerator,
  cpaceGeneratorString,
  cpaceInitiatorStart,
  cpaceIskInitiatorResponder,
  cpaceIskSymmetric,
  cpaceRespond,
  cpaceScalar,
  cpaceSecret,
  cpaceShare,
  cpaceSidOutputInitiatorResponder,
  cpaceSidOutputSymmetric,
  generatorString,
  lexicographicallyLarger,
  lvCat,
  oCat,
  prependLen,
  transcriptIr,
  transcriptOc,
} from './cpace.ts';

// Test vectors copied from draft-irtf-cfrg-cpace-21 (Appendix A and Appendix B.3, suite
// CPACE-RISTR255-SHA512); the draft's multi-line hex dumps are joined into one string each.

const hex = (...lines: string[]): Uint8Array => hexToBytes(lines.join(''));
const ascii = (text: string): Uint8Array => utf8ToBytes(text);
const range = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i);
/** Little-endian bytes to an integer, written out here so the scalar checks do not lean on noble. */
const le = (bytes: Uint8Array): bigint => BigInt(`0x${bytesToHex(bytes.slice().reverse()) || '0'}`);

// Appendix B.3.1 to B.3.7 (also B.3.8 / B.3.9, the same values).
const V = {
  prs: ascii('Password'),
  ci: hex('0b415f696e69746961746f720b425f726573706f6e646572'),
  sid: hex('7e4b4791d6a8ef019b936c79fb7f2c57'),
  generatorString: hex(
    '11435061636552697374726574746f3235350850617373776f726464',
    '00000000000000000000000000000000000000000000000000000000',
    '00000000000000000000000000000000000000000000000000000000',
    '00000000000000000000000000000000000000000000000000000000',
    '00000000000000000000000000000000180b415f696e69746961746f',
    '720b425f726573706f6e646572107e4b4791d6a8ef019b936c79fb7f',
    '2c57',
  ),
  generatorHash: hex(
    'da6d3ddc8802fca9058755ffd3ebde08a9c2c74945901a258482a288',
    'b6663af06bf645c93cd1c51512307199c80e84908916d983b34af772',
    '05f90851a657ee27',
  ),
  g: hex('222b6b195fe84b1652badb6f6a3ae3d24341e7306967f0b8115b40d5', '698c7e56'),
  adA: ascii('ADa'),
  ya: hex('da3d23700a9e5699258aef94dc060dfda5ebb61f02a5ea77fad53f4f', 'f0976d08'),
  Ya: hex('d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec', '482b9157'),
  adB: ascii('ADb'),
  yb: hex('d2316b454718c35362d83d69df6320f38578ed5984651435e2949762', 'd900b80d'),
  Yb: hex('3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7', '433f7258'),
  K: hex('80b69a8a76457ab6a4d7f887a4bf6b55a2f80ac19c333f917a05fc98', '87c8b40f'),
  transcriptIr: hex(
    '20d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0e',
    'ec482b915703414461203ea7e0b19560d7c0b0f5734f63b955286dfa',
    '8232b5ebe63324e2d9e7433f725803414462',
  ),
  dsiIsk: hex('435061636552697374726574746f3235355f49534b'),
  iskInputIr: hex(
    '15435061636552697374726574746f3235355f49534b107e4b4791d6',
    'a8ef019b936c79fb7f2c572080b69a8a76457ab6a4d7f887a4bf6b55',
    'a2f80ac19c333f917a05fc9887c8b40f20d6bac480f2c386c394efc7',
    'c47adb9925dcd2630b64f240c50f8d0eec482b915703414461203ea7',
    'e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f',
    '725803414462',
  ),
  iskIr: hex(
    'b69effbf61b51d56401c0f65601abe428de8206feaaf0e32198896dc',
    'ae7b35cd2b38950a39dfd5d4a79164614c2984f7daa460b588c1e80c',
    '3fa2068af7900447',
  ),
  transcriptOc: hex(
    '6f6320d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f',
    '8d0eec482b915703414461203ea7e0b19560d7c0b0f5734f63b95528',
    '6dfa8232b5ebe63324e2d9e7433f725803414462',
  ),
  iskInputOc: hex(
    '15435061636552697374726574746f3235355f49534b107e4b4791d6',
    'a8ef019b936c79fb7f2c572080b69a8a76457ab6a4d7f887a4bf6b55',
    'a2f80ac19c333f917a05fc9887c8b40f6f6320d6bac480f2c386c394',
    'efc7c47adb9925dcd2630b64f240c50f8d0eec482b91570341446120',
    '3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7',
    '433f725803414462',
  ),
  iskOc: hex(
    '544199d71f62f8d9a1fee55727e24fe4a45844593c2b6013c4fa3969',
    'd0e5debb2244675c0b43397cbb68d342b01fc0f98fc961469a25134d',
    'e9f0f813c1a57476',
  ),
  sidOutputIr: hex(
    'bb1c449b35f0ea79a65c209f329a693d475e0ce2387bed9fe4b78f60',
    'b2a27c219813fb2cfe175ef40d2222d9261e66da7d78f7c55a303b1b',
    '8611dcdfab880c47',
  ),
  sidOutputOc: hex(
    '10d5941d4933497fe31b9188d690b84465e2a2d158332a7267284a07',
    '1a8d0876fc5c8c329dc735d59a9f8ef6623ee23924704a2f929dd631',
    'ca981227ee82fff2',
  ),
};

// Appendix B.3.10 and B.3.11.
const S = hex('7cd0e075fa7955ba52c02759a6c90dbbfc10e6d40aea8d283e407d88', 'cf538a05');
const X = hex('2c3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d6', '54b4a51c');
const S_TIMES_X = hex('7c13645fe790a468f62c39beb7388e541d8405d1ade69d1778c5fe3e', '7f6b600e');
const Y_I1 = hex('2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d6', '54b4a51c');
const Y_I2 = hex('00000000000000000000000000000000000000000000000000000000', '00000000');

// ---------------------------------------------------------------------------------------------------
// Appendix A: string utilities

test('A.1.2 prepend_len vectors', (t) => {
  t.is(bytesToHex(prependLen(new Uint8Array(0))), '00');
  t.is(bytesToHex(prependLen(ascii('1234'))), '0431323334');
  t.is(
    bytesToHex(prependLen(range(127))),
    [
      '7f000102030405060708090a0b0c0d0e0f101112131415161718191a1b',
      '1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738',
      '393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455',
      '565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172',
      '737475767778797a7b7c7d7e',
    ].join(''),
  );
  t.is(
    bytesToHex(prependLen(range(128))),
    [
      '8001000102030405060708090a0b0c0d0e0f101112131415161718191a',
      '1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637',
      '38393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f5051525354',
      '55565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f7071',
      '72737475767778797a7b7c7d7e7f',
    ].join(''),
  );
});

test('prepend_len: LEB128 lengths of two and three bytes (worked by hand from draft §6.3)', (t) => {
  // 300 = 0b10_0101100: low seven bits 0x2c with the continuation bit, then 0x02.
  t.is(bytesToHex(prependLen(new Uint8Array(300)).subarray(0, 3)), 'ac0200');
  t.is(prependLen(new Uint8Array(300)).length, 302);
  // 16384 = 2^14: 0x80 0x80 0x01.
  t.is(bytesToHex(prependLen(new Uint8Array(16384)).subarray(0, 4)), '80800100');
  t.is(prependLen(new Uint8Array(16384)).length, 16387);
});

test('A.1.4 lv_cat vector', (t) => {
  t.is(
    bytesToHex(lvCat(ascii('1234'), ascii('5'), new Uint8Array(0), ascii('678'))),
    '043132333401350003363738',
  );
  t.is(bytesToHex(lvCat()), '');
});

test('A.3.3 lexiographically_larger and o_cat vectors', (t) => {
  t.false(lexicographicallyLarger(hex('00'), hex('0000')));
  t.true(lexicographicallyLarger(hex('01'), hex('0000')));
  t.true(lexicographicallyLarger(hex('0000'), hex('00')));
  t.false(lexicographicallyLarger(hex('0000'), hex('01')));
  t.false(lexicographicallyLarger(hex('0001'), hex('01')));
  t.false(lexicographicallyLarger(ascii('ABCD'), ascii('BCD')));
  t.is(bytesToHex(oCat(ascii('ABCD'), ascii('BCD'))), '6f6342434441424344');
  t.is(bytesToHex(oCat(ascii('BCD'), ascii('ABCDE'))), '6f634243444142434445');
});

test('lexiographically_larger of equal strings is false, so o_cat of equal strings is well defined', (t) => {
  t.false(lexicographicallyLarger(ascii('same'), ascii('same')));
  t.is(bytesToHex(oCat(ascii('ab'), ascii('ab'))), '6f6361626162');
});

test('A.3.5 transcript_ir vectors', (t) => {
  t.is(
    bytesToHex(transcriptIr(ascii('123'), ascii('PartyA'), ascii('234'), ascii('PartyB'))),
    '03313233065061727479410332333406506172747942',
  );
  t.is(
    bytesToHex(transcriptIr(ascii('3456'), ascii('PartyA'), ascii('2345'), ascii('PartyB'))),
    '043334353606506172747941043233343506506172747942',
  );
});

test('A.3.7 transcript_oc vectors', (t) => {
  t.is(
    bytesToHex(transcriptOc(ascii('123'), ascii('PartyA'), ascii('234'), ascii('PartyB'))),
    '6f6303323334065061727479420331323306506172747941',
  );
  t.is(
    bytesToHex(transcriptOc(ascii('3456'), ascii('PartyA'), ascii('2345'), ascii('PartyB'))),
    '6f63043334353606506172747941043233343506506172747942',
  );
});

test('generator_string with a PRS too long for zero padding: len_zpad = 0, an empty field (draft §8.1)', (t) => {
  const prs = new Uint8Array(200).fill(0x61);
  const ci = ascii('ci');
  const sid = ascii('sid');
  const expected = concatBytes(
    hex('11'),
    ascii('CPaceRistretto255'),
    hex('c801'),
    prs,
    hex('00'),
    hex('02'),
    ci,
    hex('03'),
    sid,
  );
  t.is(bytesToHex(generatorString(ascii('CPaceRistretto255'), prs, ci, sid, 128)), bytesToHex(expected));
  t.is(bytesToHex(cpaceGeneratorString(prs, ci, sid)), bytesToHex(expected));
});

// ---------------------------------------------------------------------------------------------------
// Appendix B.3: CPace with ristretto255 and SHA-512

test('B.3.1 suite constants: DSI, ISK DSI and the SHA-512 block size', (t) => {
  t.is(bytesToHex(ascii(CPACE_DSI)), '435061636552697374726574746f323535');
  t.is(bytesToHex(ascii(CPACE_DSI_ISK)), bytesToHex(V.dsiIsk));
  t.is(CPACE_HASH_BLOCK_BYTES, 128);
  t.is(CPACE_GROUP_ORDER, 2n ** 252n + 27742317777372353535851937790883648493n);
  t.is(CPACE_SCALAR_RANDOM_BYTES, 32);
  t.is(CPACE_SHARE_BYTES, 32);
  t.is(CPACE_ISK_BYTES, 64);
});

test('B.3.1 generator_string, with its zero padding of 100 bytes', (t) => {
  const generic = generatorString(ascii('CPaceRistretto255'), V.prs, V.ci, V.sid, 128);
  t.is(generic.length, 170);
  t.is(bytesToHex(generic), bytesToHex(V.generatorString));
  t.is(bytesToHex(cpaceGeneratorString(V.prs, V.ci, V.sid)), bytesToHex(V.generatorString));
  // "ZPAD length: 100": after DSI (1 + 17 bytes) and PRS (1 + 8 bytes) comes 0x64 = 100, then 100 zeros.
  t.is(V.generatorString[27], 100);
  t.true(V.generatorString.subarray(28, 128).every((byte) => byte === 0));
});

test('B.3.1 hash of the generator string (SHA-512, 64 bytes)', (t) => {
  t.is(bytesToHex(sha512(V.generatorString)), bytesToHex(V.generatorHash));
});

test('B.3.1 the one-way map: noble deriveToCurve (RFC 9496 element derivation) of the hash is g', (t) => {
  const derive = ristretto255_hasher.deriveToCurve;
  if (derive === undefined) {
    t.fail('noble has no ristretto255_hasher.deriveToCurve');
    return;
  }
  t.is(bytesToHex(derive(V.generatorHash).toBytes()), bytesToHex(V.g));
  // RFC 9380 hash_to_ristretto255 (expand_message_xmd first) is a different function: not the draft's.
  t.not(bytesToHex(ristretto255_hasher.hashToCurve(V.generatorHash).toBytes()), bytesToHex(V.g));
});

test('B.3.1 calculate_generator gives the encoded generator g', (t) => {
  t.is(bytesToHex(cpaceGenerator(V.prs, V.ci, V.sid).toBytes()), bytesToHex(V.g));
});

test('B.3.2 message from A: sample_scalar keeps ya, scalar_mult gives Ya', (t) => {
  const ya = cpaceScalar(V.ya);
  t.is(ya, le(V.ya));
  t.is(bytesToHex(cpaceShare(cpaceGenerator(V.prs, V.ci, V.sid), ya)), bytesToHex(V.Ya));
  // The same from the generator's published encoding.
  t.is(bytesToHex(cpaceShare(ristretto255.Point.fromBytes(V.g), ya)), bytesToHex(V.Ya));
});

test('B.3.3 message from B: sample_scalar keeps yb, scalar_mult gives Yb', (t) => {
  const yb = cpaceScalar(V.yb);
  t.is(yb, le(V.yb));
  t.is(bytesToHex(cpaceShare(cpaceGenerator(V.prs, V.ci, V.sid), yb)), bytesToHex(V.Yb));
});

test('B.3.4 secret points K on both sides', (t) => {
  t.is(bytesToHex(cpaceSecret(le(V.ya), V.Yb) ?? new Uint8Array(0)), bytesToHex(V.K));
  t.is(bytesToHex(cpaceSecret(le(V.yb), V.Ya) ?? new Uint8Array(0)), bytesToHex(V.K));
});

test('B.3.5 ISK, initiator/responder: transcript_ir, the hash input and the ISK', (t) => {
  t.is(bytesToHex(transcriptIr(V.Ya, V.adA, V.Yb, V.adB)), bytesToHex(V.transcriptIr));
  t.is(
    bytesToHex(concatBytes(lvCat(ascii(CPACE_DSI_ISK), V.sid, V.K), transcriptIr(V.Ya, V.adA, V.Yb, V.adB))),
    bytesToHex(V.iskInputIr),
  );
  t.is(bytesToHex(sha512(V.iskInputIr)), bytesToHex(V.iskIr));
  t.is(bytesToHex(cpaceIskInitiatorResponder(V.sid, V.K, V.Ya, V.adA, V.Yb, V.adB)), bytesToHex(V.iskIr));
});

test('B.3.6 ISK, parallel execution: transcript_oc, the hash input and the ISK, from either side', (t) => {
  t.is(bytesToHex(transcriptOc(V.Ya, V.adA, V.Yb, V.adB)), bytesToHex(V.transcriptOc));
  t.is(
    bytesToHex(concatBytes(lvCat(ascii(CPACE_DSI_ISK), V.sid, V.K), transcriptOc(V.Ya, V.adA, V.Yb, V.adB))),
    bytesToHex(V.iskInputOc),
  );
  t.is(bytesToHex(cpaceIskSymmetric(V.sid, V.K, V.Ya, V.adA, V.Yb, V.adB)), bytesToHex(V.iskOc));
  t.is(bytesToHex(cpaceIskSymmetric(V.sid, V.K, V.Yb, V.adB, V.Ya, V.adA)), bytesToHex(V.iskOc));
});

test('B.3.7 optional session id output, both settings', (t) => {
  t.is(bytesToHex(cpaceSidOutputInitiatorResponder(V.Ya, V.adA, V.Yb, V.adB)), bytesToHex(V.sidOutputIr));
  t.is(bytesToHex(cpaceSidOutputSymmetric(V.Ya, V.adA, V.Yb, V.adB)), bytesToHex(V.sidOutputOc));
  t.is(bytesToHex(cpaceSidOutputSymmetric(V.Yb, V.adB, V.Ya, V.adA)), bytesToHex(V.sidOutputOc));
});

test('B.3.10 scalar_mult and scalar_mult_vfy with valid inputs', (t) => {
  const s = le(S);
  t.is(bytesToHex(cpaceShare(ristretto255.Point.fromBytes(X), s)), bytesToHex(S_TIMES_X));
  t.is(bytesToHex(cpaceSecret(s, X) ?? new Uint8Array(0)), bytesToHex(S_TIMES_X));
});

test('B.3.11 invalid inputs for scalar_mult_vfy give the abort (undefined)', (t) => {
  const s = le(S);
  t.is(cpaceSecret(s, Y_I1), undefined);
  t.is(cpaceSecret(s, Y_I2), undefined);
});

test('B.3 the convenience layer replays the vectors: Ya, Yb and ISK_IR on both sides', (t) => {
  const initiator = cpaceInitiatorStart({ prs: V.prs, ci: V.ci, sid: V.sid, random: V.ya, ad: V.adA });
  t.is(bytesToHex(initiator.share), bytesToHex(V.Ya));
  const response = cpaceRespond({
    prs: V.prs,
    ci: V.ci,
    sid: V.sid,
    random: V.yb,
    ad: V.adB,
    peerShare: initiator.share,
    peerAd: V.adA,
  });
  t.not(response, undefined);
  t.is(bytesToHex(response?.share ?? new Uint8Array(0)), bytesToHex(V.Yb));
  t.is(bytesToHex(response?.isk ?? new Uint8Array(0)), bytesToHex(V.iskIr));
  t.is(bytesToHex(initiator.finish(V.Yb, V.adB) ?? new Uint8Array(0)), bytesToHex(V.iskIr));
});

// ---------------------------------------------------------------------------------------------------
// sample_scalar (draft §8.3)

test('sample_scalar clears the bits above bit 251 and reads little-endian', (t) => {
  t.is(cpaceScalar(new Uint8Array(32).fill(0xff)), 2n ** 252n - 1n);
  const one = new Uint8Array(32);
  one[0] = 1;
  one[31] = 0xf0;
  t.is(cpaceScalar(one), 1n);
  const top = new Uint8Array(32);
  top[31] = 0x08;
  t.is(cpaceScalar(top), 2n ** 251n);
});

test('sample_scalar refuses a zero scalar and a wrong number of random bytes', (t) => {
  t.throws(() => cpaceScalar(new Uint8Array(32)), { instanceOf: Error });
  const highOnly = new Uint8Array(32);
  highOnly[31] = 0xf0;
  t.throws(() => cpaceScalar(highOnly), { instanceOf: Error });
  t.throws(() => cpaceScalar(new Uint8Array(31).fill(1)), { instanceOf: Error });
  t.throws(() => cpaceScalar(new Uint8Array(64).fill(1)), { instanceOf: Error });
});

test('scalar_mult and scalar_mult_vfy refuse scalars outside [1, group_order - 1]', (t) => {
  const g = cpaceGenerator(V.prs, V.ci, V.sid);
  t.throws(() => cpaceShare(g, 0n), { instanceOf: Error });
  t.throws(() => cpaceShare(g, CPACE_GROUP_ORDER), { instanceOf: Error });
  t.throws(() => cpaceSecret(0n, V.Ya), { instanceOf: Error });
  t.throws(() => cpaceSecret(-1n, V.Ya), { instanceOf: Error });
});

// ---------------------------------------------------------------------------------------------------
// End to end, initiator-responder

/** Deterministic stand-in for the environment's random source: 32 bytes per label. */
const randomFor = (label: string): Uint8Array => sha512(ascii(label)).subarray(0, CPACE_SCALAR_RANDOM_BYTES);

interface Side {
  readonly prs: Uint8Array;
  readonly ci: Uint8Array;
  readonly sid: Uint8Array;
}

function run(a: Side, b: Side, adA = ascii('alice'), adB = ascii('bob')) {
  const initiator = cpaceInitiatorStart({ ...a, random: randomFor('a'), ad: adA });
  const response = cpaceRespond({
    ...b,
    random: randomFor('b'),
    ad: adB,
    peerShare: initiator.share,
    peerAd: adA,
  });
  if (response === undefined) {
    throw new Error('the responder refused an honest share');
  }
  const iskA = initiator.finish(response.share, adB);
  if (iskA === undefined) {
    throw new Error('the initiator refused an honest share');
  }
  return { iskA, iskB: response.isk, shareA: initiator.share, shareB: response.share };
}

const base: Side = {
  prs: ascii('correct horse'),
  ci: ascii('udp:10.0.0.1:4000|10.0.0.2:4000'),
  sid: hex('0102'),
};

test('initiator and responder with the same PRS, CI and sid get the same 64-byte ISK', (t) => {
  const { iskA, iskB, shareA, shareB } = run(base, base);
  t.is(iskA.length, 64);
  t.is(bytesToHex(iskA), bytesToHex(iskB));
  t.is(shareA.length, 32);
  t.not(bytesToHex(shareA), bytesToHex(shareB));
  // Independent recomputation from the spec's formula: SHA-512(lv_cat(DSI_ISK, sid, K) || transcript_ir).
  const k = cpaceSecret(cpaceScalar(randomFor('a')), shareB);
  if (k === undefined) {
    t.fail('K undefined');
    return;
  }
  const expected = sha512(
    concatBytes(
      lvCat(ascii('CPaceRistretto255_ISK'), base.sid, k),
      lvCat(shareA, ascii('alice')),
      lvCat(shareB, ascii('bob')),
    ),
  );
  t.is(bytesToHex(iskA), bytesToHex(expected));
});

test('a different PRS, CI or sid on one side gives different ISKs', (t) => {
  for (const [what, other] of [
    ['PRS', { ...base, prs: ascii('correct horsf') }],
    ['CI', { ...base, ci: ascii('udp:10.0.0.1:4000|10.0.0.3:4000') }],
    ['sid', { ...base, sid: hex('0103') }],
  ] as const) {
    const { iskA, iskB } = run(base, other);
    t.not(bytesToHex(iskA), bytesToHex(iskB), what);
  }
});

test('associated data seen differently by the two sides gives different ISKs', (t) => {
  const initiator = cpaceInitiatorStart({ ...base, random: randomFor('a'), ad: ascii('alice') });
  const response = cpaceRespond({
    ...base,
    random: randomFor('b'),
    ad: ascii('bob'),
    peerShare: initiator.share,
    peerAd: ascii('mallory'),
  });
  const iskA = initiator.finish(response?.share ?? new Uint8Array(32), ascii('bob'));
  t.not(iskA, undefined);
  t.not(bytesToHex(iskA ?? new Uint8Array(0)), bytesToHex(response?.isk ?? new Uint8Array(0)));
});

// ---------------------------------------------------------------------------------------------------
// Refused shares

const P_LE = hex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'); // p = 2^255 - 19

/** Shares that are not acceptable, each with why. */
const badShares: readonly (readonly [string, Uint8Array])[] = [
  ['all zeros (the identity, G.I)', new Uint8Array(32)],
  ['the identity as noble encodes it', ristretto255.Point.ZERO.toBytes()],
  ['B.3.11 Y_i1 (a negative field element)', Y_I1],
  ['p itself: a non-canonical encoding of zero', P_LE],
  [
    'p + 2: a non-canonical encoding of 2',
    (() => {
      const b = P_LE.slice();
      b[0] = 0xef;
      return b;
    })(),
  ],
  [
    'Ya with bit 255 set: non-canonical',
    (() => {
      const b = V.Ya.slice();
      b[31] = (b[31] ?? 0) | 0x80;
      return b;
    })(),
  ],
  ['all 0xff', new Uint8Array(32).fill(0xff)],
  ['31 bytes', V.Ya.subarray(0, 31)],
  ['33 bytes', concatBytes(V.Ya, hex('00'))],
  ['empty', new Uint8Array(0)],
];

test('the identity is encoded as 32 zero bytes', (t) => {
  t.is(bytesToHex(ristretto255.Point.ZERO.toBytes()), '00'.repeat(32));
});

test('scalar_mult_vfy refuses the identity, non-canonical and malformed shares', (t) => {
  const y = cpaceScalar(randomFor('y'));
  for (const [what, share] of badShares) {
    t.is(cpaceSecret(y, share), undefined, what);
  }
});

test('the responder refuses such a share from the initiator', (t) => {
  for (const [what, share] of badShares) {
    const response = cpaceRespond({
      ...base,
      random: randomFor('b'),
      ad: ascii('bob'),
      peerShare: share,
      peerAd: ascii('alice'),
    });
    t.is(response, undefined, what);
  }
});

test('the initiator refuses such a share from the responder', (t) => {
  for (const [what, share] of badShares) {
    const initiator = cpaceInitiatorStart({ ...base, random: randomFor('a'), ad: ascii('alice') });
    t.is(initiator.finish(share, ascii('bob')), undefined, what);
  }
});

test('finish serves one peer message only: a second call throws, also after a refused share', (t) => {
  const initiator = cpaceInitiatorStart({ ...base, random: randomFor('a'), ad: ascii('alice') });
  t.not(initiator.finish(V.Yb, ascii('bob')), undefined);
  t.throws(() => initiator.finish(V.Yb, ascii('bob')), { instanceOf: Error });
  const refused = cpaceInitiatorStart({ ...base, random: randomFor('a'), ad: ascii('alice') });
  t.is(refused.finish(new Uint8Array(32), ascii('bob')), undefined);
  t.throws(() => refused.finish(V.Yb, ascii('bob')), { instanceOf: Error });
});

test('the ISK functions refuse a K or share of the wrong length', (t) => {
  t.throws(() => cpaceIskInitiatorResponder(V.sid, V.K.subarray(1), V.Ya, V.adA, V.Yb, V.adB), {
    instanceOf: Error,
  });
  t.throws(() => cpaceIskSymmetric(V.sid, V.K, V.Ya.subarray(1), V.adA, V.Yb, V.adB), { instanceOf: Error });
});
