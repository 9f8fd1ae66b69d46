import { describe, expect, it } from "vitest";
import type { Message } from "../../src/protocol/models";
import { api, registerUser, startConversation } from "../helpers/api";
import { download, sendFiles, storedKeys, uploaded } from "../helpers/attachments";
import { gif, png, text } from "../helpers/files";

/**
 * README, "Your data": an account's deletion turns its messages into tombstones as if the user
 * deleted each one, files included, and deletes the uploads they never sent. The room's visit
 * answers once R2 has deleted them, so they are gone when DELETE /api/me answers.
 */

const messagesPath = (id: string) => `/api/conversations/${id}/messages`;

async function history(id: string, token: string): Promise<Message[]> {
  const res = await api<{ messages: Message[] }>("GET", messagesPath(id), { token });
  expect(res.status, res.text).toBe(200);
  return res.body.messages;
}

describe("deleting an account deletes its files", () => {
  it("their sent files leave R2 and their links 404, their unsent uploads go too, the others' files stay", async () => {
    const [ada, bob, cy] = await Promise.all([
      registerUser("Ada", "Leaving"),
      registerUser("Bob", "Stays"),
      registerUser("Cy", "Stays"),
    ]);
    const { conversation: direct } = await startConversation(ada.token, [bob.user.id]);
    const { conversation: group } = await startConversation(bob.token, [ada.user.id, cy.user.id], {
      title: "files",
    });
    const picture = png(40, 30);
    const adaPicture = await uploaded(ada.token, direct.id, picture, "image/png", "mine.png");
    const adaNote = await uploaded(ada.token, group.id, text("notes"), "text/plain", "notes.txt");
    const adaUnsent = await uploaded(ada.token, group.id, gif(2, 2), "image/gif");
    const bobFile = await uploaded(bob.token, direct.id, png(3, 3), "image/png", "bob.png");
    expect((await sendFiles(ada.token, direct.id, [adaPicture.id], "a picture")).status).toBe(201);
    expect((await sendFiles(ada.token, group.id, [adaNote.id])).status).toBe(201);
    expect((await sendFiles(bob.token, direct.id, [bobFile.id], "mine")).status).toBe(201);

    // The links Bob and Cy were given before the deletion: they work until it.
    const [onBob] = await history(direct.id, bob.token);
    const bobsLink = onBob!.attachments[0]!.url;
    const [onCy] = await history(group.id, cy.token);
    const cysLink = onCy!.attachments[0]!.url;
    expect((await download(bobsLink)).bytes).toEqual(picture);
    expect((await download(cysLink)).status).toBe(200);
    expect(await storedKeys(group.id)).toHaveLength(2);

    expect(
      (await api("DELETE", "/api/me", { token: ada.token, body: { password: ada.password } })).status,
    ).toBe(204);

    // Gone from R2 by the answer, in both rooms: sent and unsent alike.
    expect(await storedKeys(direct.id)).toEqual([`attachments/${direct.id}/${bobFile.id}`]);
    expect(await storedKeys(group.id)).toEqual([]);
    expect((await download(bobsLink)).status).toBe(404);
    expect((await download(cysLink)).status).toBe(404);
    // Ada's own link to her unsent upload went with it (and she has no token to ask with).
    expect((await download(adaUnsent.url)).status).toBe(404);

    const [adaMessage, bobMessage] = await history(direct.id, bob.token);
    expect(adaMessage).toMatchObject({ body: "", deletedAt: expect.any(String), attachments: [] });
    expect(adaMessage!.sender?.firstName).toBe("Deleted user");
    expect(bobMessage!.attachments.map((f) => f.id)).toEqual([bobFile.id]);
    expect((await download(bobMessage!.attachments[0]!.url)).status).toBe(200);
    const [groupMessage] = await history(group.id, cy.token);
    expect(groupMessage).toMatchObject({ body: "", deletedAt: expect.any(String), attachments: [] });
  });

  it("a link signed for the deleted user stops working in a direct conversation, which keeps them", async () => {
    const [ada, bob] = await Promise.all([registerUser("Ada", "Leaving"), registerUser("Bob", "Stays")]);
    const { conversation } = await startConversation(ada.token, [bob.user.id]);
    const bobFile = await uploaded(bob.token, conversation.id, png(5, 5), "image/png");
    expect((await sendFiles(bob.token, conversation.id, [bobFile.id])).status).toBe(201);
    const [onAda] = await history(conversation.id, ada.token);
    const adasLink = onAda!.attachments[0]!.url;
    expect((await download(adasLink)).status).toBe(200);

    expect(
      (await api("DELETE", "/api/me", { token: ada.token, body: { password: ada.password } })).status,
    ).toBe(204);

    expect((await download(adasLink)).status).toBe(404);
    // Bob's file stays his, and his own link works.
    const [onBob] = await history(conversation.id, bob.token);
    expect((await download(onBob!.attachments[0]!.url)).status).toBe(200);
    expect(await storedKeys(conversation.id)).toEqual([`attachments/${conversation.id}/${bobFile.id}`]);
  });
});
