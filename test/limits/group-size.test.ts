import { env } from "cloudflare:workers";
import { afterAll, describe, expect, it } from "vitest";
import { limitsFrom } from "../../src/config";
import { registerUser } from "../helpers/api";
import { call } from "../helpers/call";
import { Figures, expectApiError } from "../helpers/checks";

const figures = new Figures("group-size");
afterAll(() => figures.print());

/** MAX_GROUP_SIZE is 3 here: a group is full with its creator and two others. */
describe("group size", () => {
  it("caps participants at MAX_GROUP_SIZE when creating and when adding", async () => {
    expect(limitsFrom(env).maxGroupSize).toBe(3);
    const [a, b, c, d] = await Promise.all([registerUser(), registerUser(), registerUser(), registerUser()]);
    const tooMany = await call("POST", "/api/conversations", {
      token: a!.token,
      body: { participantIds: [b!.user.id, c!.user.id, d!.user.id] },
    });
    expect(expectApiError(tooMany, "4 people in a group of 3", 422)).toBe("validation_failed");
    const fits = await call("POST", "/api/conversations", {
      token: a!.token,
      body: { participantIds: [b!.user.id, c!.user.id] },
    });
    expect(fits.status).toBe(201);
    const id = fits.body.conversation.id;
    const add = await call("POST", `/api/conversations/${id}/participants`, {
      token: a!.token,
      body: { userIds: [d!.user.id] },
    });
    expect(expectApiError(add, "adding a 4th to a group of 3", 422)).toBe("validation_failed");
    expect(
      (await call("GET", `/api/conversations/${id}`, { token: a!.token })).body.participants,
    ).toHaveLength(3);
    figures.add("inputs", 3);
  });
});

describe("group size under concurrent requests", () => {
  it("never lets concurrent adds push a group past MAX_GROUP_SIZE: one fits, the others are refused", async () => {
    const [a, b, ...newcomers] = await Promise.all(Array.from({ length: 6 }, () => registerUser()));
    const { status, body } = await call("POST", "/api/conversations", {
      token: a!.token,
      body: { participantIds: [b!.user.id], title: "two of three" },
    });
    expect(status).toBe(201);
    const id = body.conversation.id;
    // Four adds at once, from both members, each fitting on its own (2 + 1 ≤ 3): only one may land.
    const adds = await Promise.all(
      newcomers.map((n, i) =>
        call("POST", `/api/conversations/${id}/participants`, {
          token: (i % 2 === 0 ? a : b)!.token,
          body: { userIds: [n.user.id] },
        }),
      ),
    );
    expect(adds.filter((r) => r.status === 200)).toHaveLength(1);
    for (const refused of adds.filter((r) => r.status !== 200)) {
      expect(expectApiError(refused, "an add past the size limit", 422)).toBe("validation_failed");
    }
    const view = await call("GET", `/api/conversations/${id}`, { token: a!.token });
    expect(view.body.participants).toHaveLength(3);
    expect(view.body.participantCount).toBe(3);
    figures.add("concurrent adds", adds.length);
  });

  it("never lets concurrent adds of overlapping people count anyone twice or overfill the group", async () => {
    const [a, b, c, d] = await Promise.all(Array.from({ length: 4 }, () => registerUser()));
    const { body } = await call("POST", "/api/conversations", {
      token: a!.token,
      body: { participantIds: [b!.user.id], title: "overlap" },
    });
    const id = body.conversation.id;
    // [c] alone fits, [c, d] does not; racing, c is added at most once and d never.
    const adds = await Promise.all([
      call("POST", `/api/conversations/${id}/participants`, {
        token: a!.token,
        body: { userIds: [c!.user.id] },
      }),
      call("POST", `/api/conversations/${id}/participants`, {
        token: b!.token,
        body: { userIds: [c!.user.id, d!.user.id] },
      }),
      call("POST", `/api/conversations/${id}/participants`, {
        token: b!.token,
        body: { userIds: [c!.user.id] },
      }),
    ]);
    expect(adds.map((r) => r.status).toSorted()).toEqual([200, 200, 422]);
    const view = await call("GET", `/api/conversations/${id}`, { token: a!.token });
    expect(view.body.participants.map((p: { id: string }) => p.id).toSorted()).toEqual(
      [a!.user.id, b!.user.id, c!.user.id].toSorted(),
    );
  });
});
