import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ClientFrameSchema, fastClientFrame, parseClientFrame } from "../../src/protocol/frames";
import { hostileKey, hostileNumber, hostileString, hostileValue, hugeString } from "../helpers/hostile";

/** Strings around the frame schema's limits: a clientId of 128 characters, a body of 100,000. */
const edgeString = fc.oneof(
  hostileString,
  fc.constantFrom("", " ", "\u200b", "a\u0000", "\u0085", "\t", "\ud83d", "\ude00x", "\u202e"),
  fc.constantFrom(127, 128, 129).map((n) => "c".repeat(n)),
  fc.constantFrom(99_999, 100_000, 100_001).map((n) => "b".repeat(n)),
  hugeString,
);
const anyField = fc.oneof(
  { weight: 4, arbitrary: edgeString },
  { weight: 1, arbitrary: hostileNumber },
  { weight: 1, arbitrary: hostileValue },
);

/** The three frames of every message, their fields valid or not, sometimes missing or with one more. */
const messageFrame: fc.Arbitrary<unknown> = fc
  .tuple(
    fc.oneof(
      fc.record(
        { type: fc.constant("send"), body: anyField, clientId: anyField },
        { requiredKeys: ["type"] },
      ),
      fc.record({ type: fc.constant("send"), body: edgeString, clientId: edgeString }),
      fc.record(
        {
          type: fc.constant("read"),
          seq: fc.oneof(fc.nat(), fc.integer({ min: -2, max: 2 }), hostileNumber, hostileValue),
        },
        { requiredKeys: ["type"] },
      ),
      fc.record(
        { type: fc.constant("typing"), active: fc.oneof(fc.boolean(), hostileValue) },
        { requiredKeys: ["type"] },
      ),
      fc.record({
        type: fc.constantFrom("edit", "delete", "dance", "Send"),
        body: edgeString,
        messageId: edgeString,
      }),
      hostileValue,
    ),
    fc.option(fc.tuple(hostileKey, hostileValue), { freq: 4 }),
  )
  .map(([frame, extra]) =>
    extra && typeof frame === "object" && frame !== null && !Array.isArray(frame)
      ? { ...frame, [extra[0]]: extra[1] }
      : frame,
  );

describe("client frame parser", () => {
  it("returns a valid frame itself", () => {
    expect(parseClientFrame('{"type":"send","body":"hi","clientId":"c1"}')).toEqual({
      type: "send",
      body: "hi",
      clientId: "c1",
    });
    expect(parseClientFrame('{"type":"read","seq":3}')).toEqual({ type: "read", seq: 3 });
  });

  it("refuses binary frames and text that is not JSON as bad_request", () => {
    expect(parseClientFrame(new ArrayBuffer(2))).toEqual({
      type: "invalid",
      code: "bad_request",
      message: "Frames must be JSON text",
    });
    expect(parseClientFrame("{not json")).toMatchObject({ type: "invalid", code: "bad_request" });
  });

  it("refuses unknown types as bad_request and broken fields of known ones as validation_failed", () => {
    expect(parseClientFrame('{"type":"dance","clientId":"d1"}')).toEqual({
      type: "invalid",
      code: "bad_request",
      message: "Unknown frame type",
      clientId: "d1",
    });
    expect(parseClientFrame('{"type":{"toString":{}}}')).toMatchObject({ code: "bad_request" });
    expect(parseClientFrame('{"type":"send","body":42,"clientId":"w1"}')).toMatchObject({
      type: "invalid",
      code: "validation_failed",
      message: expect.stringContaining("body"),
      clientId: "w1",
    });
    expect(parseClientFrame('{"type":"read","seq":-3}')).toMatchObject({ code: "validation_failed" });
  });

  it("echoes only a usable clientId of a refused frame", () => {
    expect(parseClientFrame(`{"type":"send","body":42,"clientId":"${"x".repeat(129)}"}`)).not.toHaveProperty(
      "clientId",
    );
    expect(parseClientFrame('{"type":"send","body":42,"clientId":7}')).not.toHaveProperty("clientId");
    expect(parseClientFrame("[1,2]")).toEqual({
      type: "invalid",
      code: "bad_request",
      message: "Unknown frame type",
    });
  });

  it("checks send, read and typing frames by hand exactly as the schema does", () => {
    const FAST = ["send", "read", "typing"];
    fc.assert(
      fc.property(messageFrame, (frame) => {
        // What a socket delivers: the frame's JSON text, parsed.
        const raw: unknown = JSON.parse(JSON.stringify(frame) ?? "null");
        const slow = ClientFrameSchema.safeParse(raw);
        const fast = fastClientFrame(raw);
        if (slow.success && FAST.includes(slow.data.type)) expect(fast).toEqual(slow.data);
        else expect(fast).toBeUndefined();
      }),
      { numRuns: 3000 },
    );
  });

  it("gives the same answer through the fast path as through the schema, refusals included", () => {
    for (const text of [
      '{"type":"read","seq":-0}',
      '{"type":"read","seq":9007199254740991}',
      '{"type":"read","seq":9007199254740992}',
      '{"type":"read","seq":1e3}',
      '{"type":"send","body":"x","clientId":"a","__proto__":{"clientId":"b"}}',
      '{"__proto__":{"type":"send","body":"x","clientId":"proto"}}',
      '{"type":"send","body":"x","clientId":"dup","clientId":""}',
      '{"type":"typing","active":true,"active":1}',
    ]) {
      const raw: unknown = JSON.parse(text);
      const slow = ClientFrameSchema.safeParse(raw);
      expect(fastClientFrame(raw), text).toEqual(slow.success ? slow.data : undefined);
      expect(parseClientFrame(text).type, text).toBe(slow.success ? slow.data.type : "invalid");
    }
  });
});
