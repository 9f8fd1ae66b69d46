import { describe, expect, it } from "vitest";
import { parseClientFrame } from "../../src/protocol/frames";

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
});
