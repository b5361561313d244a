import assert from 'node:assert/strict';
import { toHex } from '../../engine/index.ts';

/** Events are shallow; anything deeper is almost surely a cycle, which JSON cannot hold. */
const JSON_DEPTH_MAX = 32;

/** A value `JSON.stringify` writes the same way every time. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

/**
 * Copies `value` into plain JSON data that serialises deterministically: Uint8Array (and every typed
 * array view) becomes lowercase hex, bigint its decimal text, non-finite numbers their text, Map an
 * array of [key, value] pairs, Set an array. As with `JSON.stringify`, undefined and function
 * properties are left out and become null in arrays. Key order is the object's own order.
 *
 * @example
 * ```ts
 * toJsonValue({ type: 'x', nonce: new Uint8Array([1, 255]) }); // { type: 'x', nonce: '01ff' }
 * ```
 */
export function toJsonValue(value: unknown): JsonValue {
  return convert(value, 0) ?? null;
}

/** Returns undefined for what JSON leaves out (undefined, functions, symbols). */
function convert(value: unknown, depth: number): JsonValue | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'bigint':
      return value.toString();
    case 'object':
      return value === null ? null : convertObject(value, depth);
    default:
      return undefined;
  }
}

function convertObject(value: object, depth: number): JsonValue {
  assert.ok(depth < JSON_DEPTH_MAX, `a trace event is nested deeper than ${JSON_DEPTH_MAX}: a cycle?`);
  if (ArrayBuffer.isView(value)) {
    return toHex(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  }
  if (Array.isArray(value)) {
    return value.map((item: unknown) => convert(item, depth + 1) ?? null);
  }
  if (value instanceof Map) {
    return [...value].map(([key, item]: [unknown, unknown]) => [
      convert(key, depth + 1) ?? null,
      convert(item, depth + 1) ?? null,
    ]);
  }
  if (value instanceof Set) {
    return [...value].map((item: unknown) => convert(item, depth + 1) ?? null);
  }
  const result: Record<string, JsonValue> = {};
  for (const [key, item] of Object.entries(value)) {
    const converted = convert(item, depth + 1);
    if (converted !== undefined) {
      result[key] = converted;
    }
  }
  return result;
}
