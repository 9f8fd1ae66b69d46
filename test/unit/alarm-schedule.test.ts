import { describe, expect, it } from "vitest";
import { recordingAlarm } from "./support";

/** The room's one alarm, shared by its clocks (src/durable/room/alarm.ts). */
describe("alarm schedule", () => {
  it("sets the earliest time asked for and ignores later ones until it fires", () => {
    const { alarm, requests } = recordingAlarm();
    alarm.request(2000);
    alarm.request(3000);
    alarm.request(1000);
    expect(requests).toEqual([2000, 1000]);
    alarm.fired();
    alarm.request(5000);
    expect(requests).toEqual([2000, 1000, 5000]);
  });

  it("never moves an alarm set before a wake-up later (a socket's expiry survives an eviction)", async () => {
    const { alarm, requests } = recordingAlarm(1000);
    await alarm.load();
    alarm.request(60_000);
    expect(requests).toEqual([]);
    alarm.request(500);
    expect(requests).toEqual([500]);
  });

  it("ignores a time that is not a number", () => {
    const { alarm, requests } = recordingAlarm();
    alarm.request(Number.NaN);
    expect(requests).toEqual([]);
  });
});
