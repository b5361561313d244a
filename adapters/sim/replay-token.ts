import { existsSync, readFileSync } from 'node:fs';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { isAdversaryPlan } from './adversary.ts';
import { type FaultDecision, NO_FAULT } from './network.ts';
import { SCENARIO_SHAPES, type Scenario } from './scenario.ts';

/** Marks the token format, so that an old token is refused with a reason rather than misread. */
const TOKEN_PREFIX = 'g2.';
/**
 * The token of a scenario with an adversary: the same format with one more field, marked apart so
 * that a gaschat without the adversary refuses it rather than replaying the run without it. Every
 * scenario without one keeps its `g2.` token, byte for byte.
 */
const ADVERSARY_TOKEN_PREFIX = 'g3.';

/** A fault tape as its faults alone: `[send index, drop, duplicate, delayMs, lateCopyMs]`, and its length. */
interface SparseTape {
  readonly length: number;
  readonly faults: readonly (readonly [number, 0 | 1, 0 | 1, number, number])[];
}

function isFault(decision: FaultDecision): boolean {
  return decision.drop || decision.duplicate || decision.delayMs > 0 || (decision.lateCopyMs ?? 0) > 0;
}

/** The tape's faults, by send index: a tape is mostly "deliver normally", which need not be written. */
export function sparseTape(tape: readonly FaultDecision[]): SparseTape {
  const faults: [number, 0 | 1, 0 | 1, number, number][] = [];
  tape.forEach((decision, index) => {
    if (isFault(decision)) {
      faults.push([
        index,
        decision.drop ? 1 : 0,
        decision.duplicate ? 1 : 0,
        decision.delayMs,
        decision.lateCopyMs ?? 0,
      ]);
    }
  });
  return { length: tape.length, faults };
}

function denseTape(sparse: SparseTape): FaultDecision[] {
  const tape: FaultDecision[] = Array.from({ length: sparse.length }, () => NO_FAULT);
  for (const [index, drop, duplicate, delayMs, lateCopyMs] of sparse.faults) {
    tape[index] = {
      drop: drop === 1,
      duplicate: duplicate === 1,
      delayMs,
      ...(lateCopyMs > 0 ? { lateCopyMs } : {}),
    };
  }
  return tape;
}

/**
 * A replay token: the whole scenario of a run, its fault tape written as its faults alone, compressed,
 * in characters a shell passes untouched. It holds the scenario itself, not a seed, so it replays
 * exactly even if the generators change.
 */
export function encodeReplayToken(scenario: Scenario): string {
  const compact = { ...scenario, faultTape: sparseTape(scenario.faultTape) };
  const prefix = scenario.adversary === undefined ? TOKEN_PREFIX : ADVERSARY_TOKEN_PREFIX;
  return prefix + deflateRawSync(Buffer.from(JSON.stringify(compact), 'utf8')).toString('base64url');
}

/** Reads a token back; throws an Error that says what is wrong with it. */
export function decodeReplayToken(token: string): Scenario {
  const prefix = token.startsWith(ADVERSARY_TOKEN_PREFIX) ? ADVERSARY_TOKEN_PREFIX : TOKEN_PREFIX;
  if (!token.startsWith(prefix)) {
    const old = token.startsWith('g1.') ? ' (this one is from an older gaschat, whose scenarios differ)' : '';
    throw new Error(
      `"${token.slice(0, 20)}${token.length > 20 ? '…' : ''}" is not a replay token${old}: tokens start with ${TOKEN_PREFIX} (${ADVERSARY_TOKEN_PREFIX} with an adversary; copy it whole from the failure report)`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(
      inflateRawSync(Buffer.from(token.slice(prefix.length), 'base64url')).toString('utf8'),
    );
  } catch {
    throw new Error(
      'the replay token is damaged (cut short or mistyped?): copy it whole from the failure report',
    );
  }
  if (
    !isCompactScenario(parsed) ||
    (prefix === ADVERSARY_TOKEN_PREFIX) !== (parsed.adversary !== undefined)
  ) {
    throw new Error('the replay token does not hold a scenario this version of gaschat can run');
  }
  return { ...parsed, faultTape: denseTape(parsed.faultTape) };
}

type CompactScenario = Omit<Scenario, 'faultTape'> & { readonly faultTape: SparseTape };

function isCompactScenario(value: unknown): value is CompactScenario {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const candidate = value as Record<string, unknown>;
  const planIsValid = (plan: unknown): boolean => {
    const fields = plan as Record<string, unknown> | null;
    return (
      typeof fields === 'object' &&
      fields !== null &&
      typeof fields.name === 'string' &&
      typeof fields.knowsPassword === 'boolean' &&
      typeof fields.address === 'object' &&
      Number.isSafeInteger(fields.joinAtMs) &&
      Array.isArray(fields.says) &&
      fields.says.every(
        (say: unknown) =>
          typeof say === 'object' &&
          say !== null &&
          Number.isSafeInteger((say as { atMs?: unknown }).atMs) &&
          typeof (say as { text?: unknown }).text === 'string',
      )
    );
  };
  const tape = candidate.faultTape as Record<string, unknown> | null;
  return (
    Array.isArray(candidate.clients) &&
    candidate.clients.every(planIsValid) &&
    typeof tape === 'object' &&
    tape !== null &&
    Number.isSafeInteger(tape.length) &&
    Array.isArray(tape.faults) &&
    Array.isArray(candidate.partitions) &&
    typeof candidate.faults === 'object' &&
    typeof candidate.room === 'object' &&
    (SCENARIO_SHAPES as readonly unknown[]).includes(candidate.shape) &&
    (candidate.adversary === undefined || isAdversaryPlan(candidate.adversary)) &&
    (candidate.serverRestart === undefined ||
      (typeof candidate.serverRestart === 'object' &&
        candidate.serverRestart !== null &&
        Number.isSafeInteger((candidate.serverRestart as { atMs?: unknown }).atMs) &&
        Number.isSafeInteger((candidate.serverRestart as { downMs?: unknown }).downMs))) &&
    ['seed', 'latencyMs', 'healAtMs', 'endAtMs', 'stepCountMax'].every((key) =>
      Number.isSafeInteger(candidate[key]),
    )
  );
}

/**
 * What `--replay` takes: a token, or the path of a file holding one (a failure writes long tokens to
 * a file). Throws an Error that says what is wrong with it.
 */
export function readReplayArgument(tokenOrFile: string): Scenario {
  if (/^g\d+\./.test(tokenOrFile) || !existsSync(tokenOrFile)) {
    return decodeReplayToken(tokenOrFile);
  }
  return decodeReplayToken(readFileSync(tokenOrFile, 'utf8').trim());
}
