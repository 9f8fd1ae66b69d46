import { describe, expect, it } from "vitest";
import { InboxAlarm } from "../../src/durable/inbox/alarm";
import { type ProfileSource, ProfileSync } from "../../src/durable/inbox/profile-sync";
import type { User } from "../../src/protocol/models";
import { manualClock, person, withStorage } from "./support";

/** A user in `rooms` rooms whose profile is `current.user`; records every push as it is made. */
function fakeDirectory(rooms: number) {
  const ids = Array.from({ length: rooms }, (_, i) => `c_${String(i).padStart(3, "0")}`);
  const current: { user: User | null } = { user: person("u_1", "Ann") };
  const pushes: { id: string; name: string; version: number }[] = [];
  const source: ProfileSource = {
    profile: async () => current.user,
    rooms: async (after, limit) => ids.filter((id) => id > after).slice(0, limit),
    push: async (id, user, version) => {
      pushes.push({ id, name: user.firstName, version });
    },
  };
  return { ids, current, pushes, source };
}

/** The directory's source, except that a push to a room for which `refuses(id)` is true fails. */
function refusingSource(
  dir: ReturnType<typeof fakeDirectory>,
  refuses: (id: string) => boolean,
): ProfileSource {
  return {
    ...dir.source,
    push: async (id, user, version) => {
      if (refuses(id)) throw new Error("room refused");
      await dir.source.push(id, user, version);
    },
  };
}

/** The alarm as a value the test reads: when the inbox asked to be woken. */
function fakeAlarm() {
  let at: number | null = null;
  const alarm = new InboxAlarm({
    getAlarm: async () => at,
    setAlarm: async (when: number | Date) => {
      at = typeof when === "number" ? when : when.getTime();
    },
  });
  return {
    alarm,
    /** Takes the alarm as the runtime does when it fires: null until someone asks again. */
    fire: () => {
      const was = at;
      at = null;
      return was;
    },
  };
}

describe("profile sync from the user's inbox", () => {
  it("tells at most PROFILE_SYNC_BATCH rooms per alarm run, and every room by the end", async () => {
    await withStorage(async (storage) => {
      const dir = fakeDirectory(7);
      const clock = manualClock();
      const { alarm, fire } = fakeAlarm();
      const sync = new ProfileSync(
        storage.kv,
        dir.source,
        alarm,
        { batch: 3, retryMs: 1000 },
        "u_1",
        clock.now,
      );
      await sync.changed();
      const perRun: number[] = [];
      while (fire() !== null) {
        const before = dir.pushes.length;
        await sync.run();
        perRun.push(dir.pushes.length - before);
      }
      expect(perRun).toEqual([3, 3, 1]);
      expect(dir.pushes.map((p) => p.id)).toEqual(dir.ids);
      expect(new Set(dir.pushes.map((p) => p.version)).size).toBe(1);
    });
  });

  it("starts over with the newer profile when it changes during a walk, numbered above the older", async () => {
    await withStorage(async (storage) => {
      const dir = fakeDirectory(5);
      const clock = manualClock();
      const { alarm, fire } = fakeAlarm();
      const sync = new ProfileSync(
        storage.kv,
        dir.source,
        alarm,
        { batch: 2, retryMs: 1000 },
        "u_1",
        clock.now,
      );
      await sync.changed();
      fire();
      await sync.run(); // c_000, c_001 hear Ann
      dir.current.user = person("u_1", "Bea");
      await sync.changed();
      while (fire() !== null) await sync.run();
      const ann = dir.pushes.filter((p) => p.name === "Ann");
      const bea = dir.pushes.filter((p) => p.name === "Bea");
      expect(ann.map((p) => p.id)).toEqual(["c_000", "c_001"]);
      expect(bea.map((p) => p.id)).toEqual(dir.ids);
      expect(bea[0]!.version).toBeGreaterThan(ann[0]!.version);
    });
  });

  it("tries again later when the directory fails, and loses no change", async () => {
    await withStorage(async (storage) => {
      const dir = fakeDirectory(2);
      const clock = manualClock();
      const { alarm, fire } = fakeAlarm();
      let failing = true;
      const source: ProfileSource = {
        ...dir.source,
        profile: async () => {
          if (failing) throw new Error("D1 down");
          return dir.current.user;
        },
      };
      const sync = new ProfileSync(storage.kv, source, alarm, { batch: 5, retryMs: 1000 }, "u_1", clock.now);
      await sync.changed();
      fire();
      await sync.run();
      expect(dir.pushes).toEqual([]);
      expect(fire()).toBe(clock.now() + 1000);
      failing = false;
      await sync.run();
      expect(dir.pushes.map((p) => p.id)).toEqual(dir.ids);
    });
  });

  it("tries a room that refused the profile again after INBOX_RETRY_MS, until it takes it", async () => {
    await withStorage(async (storage) => {
      const dir = fakeDirectory(4);
      const clock = manualClock();
      const { alarm, fire } = fakeAlarm();
      let refusals = 2;
      const source = refusingSource(dir, (id) => id === "c_002" && refusals-- > 0);
      const sync = new ProfileSync(storage.kv, source, alarm, { batch: 3, retryMs: 1000 }, "u_1", clock.now);
      await sync.changed();
      const wakeUps: number[] = [];
      for (let at = fire(); at !== null; at = fire()) {
        wakeUps.push(at - clock.now());
        await sync.run();
      }
      expect(dir.pushes.map((p) => p.id).sort()).toEqual(dir.ids);
      expect(refusals).toBe(-1);
      // The walk's two runs at once, then each retry of the refusing room after the pause.
      expect(wakeUps).toEqual([0, 0, 1000, 1000]);
    });
  });

  it("leaves a room that keeps refusing after a few passes: the alarm stops", async () => {
    await withStorage(async (storage) => {
      const dir = fakeDirectory(2);
      const clock = manualClock();
      const { alarm, fire } = fakeAlarm();
      let tries = 0;
      const source = refusingSource(dir, (id) => id === "c_001" && ++tries > 0);
      const sync = new ProfileSync(storage.kv, source, alarm, { batch: 5, retryMs: 1000 }, "u_1", clock.now);
      await sync.changed();
      let runs = 0;
      while (fire() !== null && runs < 50) {
        runs++;
        await sync.run();
      }
      expect(dir.pushes.map((p) => p.id)).toEqual(["c_000"]);
      expect(tries).toBeGreaterThan(1);
      expect(runs).toBeLessThan(50);
      expect(fire()).toBeNull();
    });
  });
});
