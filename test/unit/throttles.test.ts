import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/errors";
import { RateWindow, TypingThrottle } from "../../src/durable/room/throttles";
import { manualClock } from "./support";

describe("rate window", () => {
  it("allows the limit per user at once, then refuses with the seconds until a token is back", () => {
    const clock = manualClock();
    const rate = new RateWindow(3, 10_000, clock.now);
    for (let i = 0; i < 3; i++) rate.take("ann");
    clock.advance(1_000);
    let refusal: unknown;
    try {
      rate.take("ann");
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(ApiError);
    // One token every 3.33 s; 1 s of it has passed.
    expect(refusal).toMatchObject({ code: "rate_limited", retryAfterSeconds: 3 });
    // Another user has a budget of their own.
    rate.take("bob");
  });

  it("allows no second burst across a window boundary (a fixed window allowed twice the limit)", () => {
    const clock = manualClock();
    const rate = new RateWindow(10, 10_000, clock.now);
    clock.advance(9_900);
    let taken = 0;
    const burst = () => {
      for (;;) {
        try {
          rate.take("ann");
          taken++;
        } catch {
          return;
        }
      }
    };
    burst(); // just before a fixed window's end
    clock.advance(200);
    burst(); // just after it
    expect(taken).toBe(10);
    clock.advance(5_000);
    burst();
    expect(taken).toBe(15);
  });

  it("charges a failed frame without refusing it, and never below empty", () => {
    const clock = manualClock();
    const rate = new RateWindow(2, 10_000, clock.now);
    rate.charge("ann");
    rate.charge("ann");
    rate.charge("ann");
    expect(() => rate.take("ann")).toThrow(ApiError);
    clock.advance(5_000);
    rate.take("ann");
  });

  it("never asks to retry in less than a second", () => {
    const clock = manualClock();
    const rate = new RateWindow(1, 10_000, clock.now);
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
