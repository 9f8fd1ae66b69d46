import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/errors";
import { RateWindow, TypingThrottle } from "../../src/durable/room/throttles";
import { manualClock } from "./support";

describe("rate window", () => {
  it("allows the limit per user in ten seconds, then refuses with the seconds left", () => {
    const clock = manualClock();
    const rate = new RateWindow(3, clock.now);
    for (let i = 0; i < 3; i++) rate.take("ann");
    clock.advance(2_500);
    let refusal: unknown;
    try {
      rate.take("ann");
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(ApiError);
    expect(refusal).toMatchObject({ code: "rate_limited", retryAfterSeconds: 8 });
    // Another user has a budget of their own.
    rate.take("bob");
  });

  it("starts a new window ten seconds after the first write of the last one", () => {
    const clock = manualClock();
    const rate = new RateWindow(1, clock.now);
    rate.take("ann");
    clock.advance(9_999);
    expect(() => rate.take("ann")).toThrow(ApiError);
    clock.advance(1);
    rate.take("ann");
    expect(() => rate.take("ann")).toThrow(ApiError);
  });

  it("never asks to retry in less than a second", () => {
    const clock = manualClock();
    const rate = new RateWindow(1, clock.now);
    rate.take("ann");
    clock.advance(9_990);
    expect(() => rate.take("ann")).toThrow(expect.objectContaining({ retryAfterSeconds: 1 }));
  });
});

describe("typing throttle", () => {
  it("tells a start, then its stop, and no second start within the throttle", () => {
    const clock = manualClock();
    const typing = new TypingThrottle(2_000, clock.now);
    expect(typing.allow("ann", true)).toBe(true);
    expect(typing.allow("ann", true)).toBe(false);
    expect(typing.allow("ann", false)).toBe(true);
    expect(typing.allow("ann", false)).toBe(false);
    clock.advance(1_999);
    expect(typing.allow("ann", true)).toBe(false);
    clock.advance(1);
    expect(typing.allow("ann", true)).toBe(true);
  });

  it("tells no stop that follows no start", () => {
    const typing = new TypingThrottle(2_000, manualClock().now);
    expect(typing.allow("ann", false)).toBe(false);
    expect(typing.allow("ann", true)).toBe(true);
    expect(typing.allow("bob", false)).toBe(false);
  });

  it("throttles nothing at 0 ms, but still tells a stop only after a start", () => {
    const typing = new TypingThrottle(0, manualClock().now);
    expect(typing.allow("ann", true)).toBe(true);
    expect(typing.allow("ann", true)).toBe(true);
    expect(typing.allow("ann", false)).toBe(true);
    expect(typing.allow("ann", false)).toBe(false);
  });
});
