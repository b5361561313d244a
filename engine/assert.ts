/**
 * Contract checks for the engine, without `node:assert`: the engine imports nothing from Node, so that
 * it runs wherever JavaScript does (a browser, a worker, another runtime). A failed check is a bug in
 * the engine or in the program calling it, never bad input from the network: that is validated and
 * answered, not asserted.
 */

/** A broken contract: what the code promised itself did not hold. */
export class ContractError extends Error {
  override readonly name = 'ContractError';
}

interface Assert {
  /** Throws a {@link ContractError} unless `value` is truthy. */
  ok(value: unknown, message?: string): asserts value;
  /** Throws a {@link ContractError} unless `actual === expected` (`Object.is` for NaN). */
  equal<T>(actual: T, expected: T, message?: string): void;
  /** Always throws a {@link ContractError}. */
  fail(message: string): never;
}

const assert: Assert = {
  ok(value: unknown, message?: string): asserts value {
    if (!value) {
      throw new ContractError(message ?? 'the value is not truthy');
    }
  },
  equal<T>(actual: T, expected: T, message?: string): void {
    if (!Object.is(actual, expected)) {
      throw new ContractError(message ?? `${String(actual)} is not ${String(expected)}`);
    }
  },
  fail(message: string): never {
    throw new ContractError(message);
  },
};

export default assert;
