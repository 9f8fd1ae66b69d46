// oxlint-disable no-underscore-dangle -- a zod check's definition is read through `_zod` (zod 4's
// documented internals for library authors)
import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import type * as z from "zod";
import * as client from "../../src/protocol/client-schemas";
import * as errors from "../../src/protocol/errors";
import * as frames from "../../src/protocol/frames";
import * as models from "../../src/protocol/models";
import * as responses from "../../src/protocol/responses";
import type { Schema } from "../../src/protocol/validate";

/**
 * The web client checks what the server sends with schemas generated from the server's zod ones
 * (src/protocol/client-schemas.ts, on src/protocol/validate.ts). They must agree with zod on every
 * input: accept the same values, refuse the same values, and return the same data. Values are drawn
 * from each zod schema's own shape (valid ones), then broken at one random place (a field replaced
 * with anything, removed, or an unknown field added), plus arbitrary JSON-like values.
 */

const full: Record<string, unknown> = { ...errors, ...models, ...responses, ...frames };
const pairs = Object.entries(client).map(([name, mini]) => {
  const zod = full[name] as z.ZodType | undefined;
  if (!zod) throw new Error(`${name} has no zod schema of the same name`);
  return { name, zod, mini: mini as Schema<unknown> };
});

type Def = {
  type: string;
  checks?: { _zod: { def: Record<string, unknown> } }[];
  innerType?: z.ZodType;
  element?: z.ZodType;
  entries?: Record<string, string>;
  values?: unknown[];
  shape?: Record<string, z.ZodType>;
  options?: z.ZodType[];
};

const defOf = (schema: z.ZodType): Def => schema.def as unknown as Def;
const checkOf = (def: Def, name: string) => def.checks?.map((c) => c._zod.def).find((c) => c.check === name);

/** Values the zod schema accepts, drawn from its definition. */
function valid(schema: z.ZodType): fc.Arbitrary<unknown> {
  const def = defOf(schema);
  switch (def.type) {
    case "string": {
      const min = checkOf(def, "min_length")?.minimum as number | undefined;
      const max = checkOf(def, "max_length")?.maximum as number | undefined;
      return fc.string({ minLength: min ?? 0, maxLength: Math.min(max ?? 12, 12) });
    }
    case "number":
      return checkOf(def, "number_format")
        ? fc.integer()
        : fc.double({ noNaN: true, noDefaultInfinity: true });
    case "boolean":
      return fc.boolean();
    case "nullable":
      return fc.option(valid(def.innerType!), { nil: null });
    case "optional":
      return fc.option(valid(def.innerType!), { nil: undefined });
    case "array":
      return fc.array(valid(def.element!), { maxLength: 3 });
    case "enum":
      return fc.constantFrom(...Object.values(def.entries!));
    case "literal":
      return fc.constantFrom(...def.values!);
    case "object": {
      const shape = def.shape!;
      const requiredKeys = Object.keys(shape).filter((k) => defOf(shape[k]!).type !== "optional");
      return fc.record(Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, valid(v)])), {
        requiredKeys,
      });
    }
    case "union":
      return fc.oneof(...def.options!.map(valid));
    default:
      throw new Error(`no generator for a ${def.type}`);
  }
}

/** Every place inside a JSON-like value, as a path of keys. */
function places(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  const out = [path];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...places(v, [...path, i])));
  else if (typeof value === "object" && value !== null) {
    for (const [k, v] of Object.entries(value)) out.push(...places(v, [...path, k]));
  }
  return out;
}

/** A copy of `value` broken at `path`: the place replaced, removed, or given an unknown field. */
function broken(value: unknown, path: (string | number)[], op: string, junk: unknown): unknown {
  const copy: unknown = structuredClone(value);
  if (path.length === 0)
    return op === "extra" && typeof copy === "object" && copy ? { ...copy, extra: junk } : junk;
  let parent = copy as Record<string | number, unknown>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  if (op === "delete" && !Array.isArray(parent)) delete parent[last];
  else if (
    op === "extra" &&
    typeof parent[last] === "object" &&
    parent[last] !== null &&
    !Array.isArray(parent[last])
  ) {
    parent[last] = { ...(parent[last] as object), extra: junk };
  } else parent[last] = junk;
  return copy;
}

const jsonLike = fc.jsonValue();

function candidates(schema: z.ZodType): fc.Arbitrary<unknown> {
  const good = valid(schema);
  const bad = good.chain((value) => {
    const all = places(value);
    return fc
      .record({
        at: fc.nat(all.length - 1),
        op: fc.constantFrom("replace", "delete", "extra"),
        junk: fc.oneof(
          jsonLike,
          fc.constantFrom(undefined, Number.NaN, Number.POSITIVE_INFINITY, 1.5, -1, ""),
        ),
      })
      .map(({ at, op, junk }) => broken(value, all[at]!, op, junk));
  });
  return fc.oneof({ arbitrary: good, weight: 2 }, { arbitrary: bad, weight: 3 }, jsonLike);
}

describe("the web client's schemas", () => {
  it("cover every schema they are generated from, under the same name", () => {
    expect(pairs.map((p) => p.name)).toEqual(
      expect.arrayContaining(["MessageSchema", "RoomEventSchema", "InboxEventSchema"]),
    );
  });

  for (const { name, zod, mini } of pairs) {
    it(`${name} accepts, refuses and returns exactly what its zod schema does`, () => {
      let accepted = 0;
      fc.assert(
        fc.property(candidates(zod), (value) => {
          const expected = zod.safeParse(value);
          const got = mini.safeParse(value);
          expect(got.success, JSON.stringify(value)).toBe(expected.success);
          if (expected.success && got.success) {
            accepted++;
            expect(got.data).toStrictEqual(expected.data);
          }
        }),
        { numRuns: 300 },
      );
      // The generated values reach the accepting side too, not only refusals.
      expect(accepted).toBeGreaterThan(0);
    });
  }
});
