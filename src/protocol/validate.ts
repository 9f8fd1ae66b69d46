import type { SafeParser } from "./parse";

/**
 * The web client's validators: the few shapes of zod that what the server sends uses, in about a
 * kilobyte (zod, even zod/mini, was most of the client's bundle). They accept exactly what the
 * server's zod schemas accept and return what zod returns (a copy holding only the schema's keys),
 * which test/unit/client-schemas.test.ts checks on generated values. The schemas built from these
 * are generated from the zod ones (src/protocol/client-schemas.ts); only a few client-local shapes
 * are written by hand.
 */

const FAIL: unique symbol = Symbol("invalid");
type Check<T> = (value: unknown) => T | typeof FAIL;

export interface Schema<T> extends SafeParser<T> {
  readonly check: Check<T>;
  /** The value as the schema returns it, or an error (`safeParse` without one). */
  parse(value: unknown): T;
}

function schema<T>(check: Check<T>): Schema<T> {
  return {
    check,
    safeParse(value) {
      const out = check(value);
      return out === FAIL ? { success: false } : { success: true, data: out };
    },
    parse(value) {
      const out = check(value);
      if (out === FAIL) throw new TypeError("value does not match its schema");
      return out;
    },
  };
}

type Out<S> = S extends Schema<infer T> ? T : never;

/** A string of `min` to `max` UTF-16 code units (zod's `.min`/`.max` count the same). */
export const string = (min = 0, max = Number.POSITIVE_INFINITY): Schema<string> =>
  schema((v) => (typeof v === "string" && v.length >= min && v.length <= max ? v : FAIL));

/** A finite number within bounds (zod's `z.number()`, with `.gte`/`.lte` when given). */
export const number = (min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY): Schema<number> =>
  schema((v) => (typeof v === "number" && Number.isFinite(v) && v >= min && v <= max ? v : FAIL));

/** A safe integer within bounds (zod's `.int()`). */
export const int = (min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): Schema<number> =>
  schema((v) => (typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max ? v : FAIL));

export const boolean = (): Schema<boolean> => schema((v) => (typeof v === "boolean" ? v : FAIL));

export const literal = <const L extends string | number | boolean | null | undefined>(
  expected: L,
): Schema<L> => schema((v) => (v === expected ? expected : FAIL));

export const enumOf = <const E extends readonly string[]>(values: E): Schema<E[number]> =>
  schema((v) => (typeof v === "string" && values.includes(v) ? (v as E[number]) : FAIL));

export const nullable = <T>(inner: Schema<T>): Schema<T | null> =>
  schema((v) => (v === null ? null : inner.check(v)));

/** Marks an object key optional: absent (or undefined) is accepted and stays so. */
export const optional = <T>(inner: Schema<T>): Schema<T | undefined> & { optional: true } => ({
  ...schema<T | undefined>((v) => (v === undefined ? undefined : inner.check(v))),
  optional: true,
});

/** Absent or undefined becomes `fallback`. */
export const withDefault = <T>(inner: Schema<T>, fallback: T): Schema<T> =>
  schema((v) => (v === undefined ? fallback : inner.check(v)));

export const array = <T>(item: Schema<T>): Schema<T[]> =>
  schema((v) => {
    if (!Array.isArray(v)) return FAIL;
    const out: T[] = [];
    for (const element of v) {
      const checked = item.check(element);
      if (checked === FAIL) return FAIL;
      out.push(checked);
    }
    return out;
  });

type Shape = Record<string, Schema<unknown>>;
type ObjectOut<S extends Shape> = {
  [K in keyof S as S[K] extends { optional: true } ? never : K]: Out<S[K]>;
} & { [K in keyof S as S[K] extends { optional: true } ? K : never]?: Out<S[K]> };

/**
 * An object: its keys checked, unknown keys dropped (zod's `z.object`), or refused when `strict`
 * (`z.strictObject`). An optional key that is absent stays absent.
 */
export const object = <S extends Shape>(shape: S, strict = false): Schema<ObjectOut<S>> =>
  schema((v) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return FAIL;
    const input = v as Record<string, unknown>;
    if (strict && Object.keys(input).some((k) => !Object.hasOwn(shape, k))) return FAIL;
    const out: Record<string, unknown> = {};
    for (const [key, field] of Object.entries(shape)) {
      const present = Object.hasOwn(input, key);
      if (!present && "optional" in field) continue;
      const checked = field.check(present ? input[key] : undefined);
      if (checked === FAIL) return FAIL;
      out[key] = checked;
    }
    return out as ObjectOut<S>;
  });

/** The first option that accepts the value (a discriminated union's options differ in their tag). */
export const union = <const O extends readonly Schema<unknown>[]>(options: O): Schema<Out<O[number]>> =>
  schema((v) => {
    for (const option of options) {
      const checked = option.check(v);
      if (checked !== FAIL) return checked as Out<O[number]>;
    }
    return FAIL;
  });
