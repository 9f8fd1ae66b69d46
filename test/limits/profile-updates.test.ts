import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { limitsFrom } from "../../src/config";
import type { Conversation } from "../../src/protocol/models";
import { api, registerUser, startConversation } from "../helpers/api";
import { expectApiError } from "../helpers/checks";
import { until } from "../helpers/wait";

/** Here (test/vitest.config.ts, "limits"): 3 profile changes per hour, rooms told 2 per alarm run. */
const limits = limitsFrom(env);

describe("profile changes", () => {
  it("throttles profile changes per user: past USER_PROFILE_UPDATES_PER_HOUR a change is 429 and changes nothing", async () => {
    expect(limits.userBudgets.profileUpdates.capacity).toBe(3);
    const [a, other] = await Promise.all([registerUser("Ann", "Throttle"), registerUser()]);
    for (let i = 0; i < 3; i++) {
      expect((await api("PATCH", "/api/me", { token: a.token, body: { firstName: `N${i}` } })).status).toBe(
        200,
      );
    }
    const refused = await api("PATCH", "/api/me", { token: a.token, body: { firstName: "Refused" } });
    expect(expectApiError(refused, "a fourth profile change within the hour", 429)).toBe("rate_limited");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await api("GET", "/api/me", { token: a.token })).body.firstName).toBe("N2");
    // An empty change changes nothing and costs nothing; another user has a budget of their own.
    expect((await api("PATCH", "/api/me", { token: a.token, body: {} })).status).toBe(200);
    expect((await api("PATCH", "/api/me", { token: other.token, body: { firstName: "Mine" } })).status).toBe(
      200,
    );
  });

  it("passes one change to every room of the user, however many more than PROFILE_SYNC_BATCH", async () => {
    expect(limits.profileSyncBatch).toBe(2);
    const a = await registerUser("Ann", "Walk");
    // Five rooms, each started by someone else (conversations created are budgeted per creator).
    const others = await Promise.all(Array.from({ length: 5 }, () => registerUser()));
    const rooms = await Promise.all(
      others.map(async (o) => ({
        reader: o,
        id: (await startConversation(o.token, [a.user.id])).conversation.id,
      })),
    );
    expect((await api("PATCH", "/api/me", { token: a.token, body: { lastName: "Everywhere" } })).status).toBe(
      200,
    );
    for (const { reader, id } of rooms) {
      await until(`room ${id} shows the change`, async () => {
        const res = await api<Conversation>("GET", `/api/conversations/${id}`, { token: reader.token });
        return res.body.participants.find((p) => p.id === a.user.id)?.lastName === "Everywhere";
      });
    }
  });
});
