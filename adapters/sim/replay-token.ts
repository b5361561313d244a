import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Scenario } from './scenario.ts';

/** Marks the token format, so that an old token is refused with a reason rather than misread. */
const TOKEN_PREFIX = 'g1.';

/**
 * A replay token: the whole scenario of a run, compressed, in characters a shell passes untouched.
 * It holds the scenario itself, not a seed, so it replays exactly even if the generators change.
 */
export function encodeReplayToken(scenario: Scenario): string {
  return TOKEN_PREFIX + deflateRawSync(Buffer.from(JSON.stringify(scenario), 'utf8')).toString('base64url');
}

/** Reads a token back; throws an Error that says what is wrong with it. */
export function decodeReplayToken(token: string): Scenario {
  if (!token.startsWith(TOKEN_PREFIX)) {
    throw new Error(
      `"${token.slice(0, 20)}${token.length > 20 ? '…' : ''}" is not a replay token: tokens start with ${TOKEN_PREFIX} (copy it whole from the failure report)`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(
      inflateRawSync(Buffer.from(token.slice(TOKEN_PREFIX.length), 'base64url')).toString('utf8'),
    );
  } catch {
    throw new Error(
      'the replay token is damaged (cut short or mistyped?): copy it whole from the failure report',
    );
  }
  if (!isScenario(parsed)) {
    throw new Error('the replay token does not hold a scenario this version of gaschat can run');
  }
  return parsed;
}

function isScenario(value: unknown): value is Scenario {
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
      Number.isSafeInteger(fields.joinAtMs) &&
      Array.isArray(fields.sayAtMs) &&
      fields.sayAtMs.every((atMs) => Number.isSafeInteger(atMs))
    );
  };
  return (
    Array.isArray(candidate.clients) &&
    candidate.clients.every(planIsValid) &&
    Array.isArray(candidate.faultTape) &&
    Array.isArray(candidate.partitions) &&
    typeof candidate.faults === 'object' &&
    ['seed', 'latencyMs', 'healAtMs', 'endAtMs', 'stepCountMax'].every((key) =>
      Number.isSafeInteger(candidate[key]),
    )
  );
}
