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
