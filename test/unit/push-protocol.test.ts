import { describe, expect, it } from "vitest";
import { clip, decodeBase64Url, notificationText, pushRequestSchemas } from "../../src/protocol/push";

/** The words of a notification (shared by the server's pushes and the web client's in-tab ones). */

const person = (id: string, firstName: string, lastName = "") => ({
  id,
  firstName,
  lastName,
  avatarUrl: null,
});
const me = person("u_me", "Me");
const ann = person("u_ann", "Ann", "Lee");

describe("notification text", () => {
  it("titles a direct message with its sender and collapses whitespace in the text", () => {
    const direct = { kind: "direct" as const, title: null, participants: [me, ann] };
    expect(notificationText(direct, { sender: ann, body: " Hi\n\n there  " }, me.id, 50)).toEqual({
      title: "Ann Lee",
      body: "Hi there",
    });
  });

  it("titles a group with its title, or the others' first names, and names the sender in the text", () => {
    const others = ["Bo", "Cy", "Di", "Ed"].map((n) => person(`u_${n}`, n));
    const titled = { kind: "group" as const, title: "Plans", participants: [me, ann] };
    expect(notificationText(titled, { sender: ann, body: "go" }, me.id, 50)).toEqual({
      title: "Plans",
      body: "Ann: go",
    });
    const untitled = { kind: "group" as const, title: null, participants: [me, ann, ...others] };
    expect(notificationText(untitled, { sender: ann, body: "go" }, me.id, 50).title).toBe("Ann, Bo, Cy +2");
  });

  it("titles a system message with the conversation and shows only its text", () => {
    const direct = { kind: "direct" as const, title: null, participants: [me, ann] };
    expect(notificationText(direct, { sender: null, body: "Order shipped" }, me.id, 50)).toEqual({
      title: "Ann Lee",
      body: "Order shipped",
    });
    const group = { kind: "group" as const, title: "Plans", participants: [me, ann] };
    expect(notificationText(group, { sender: null, body: "Meeting moved" }, me.id, 50)).toEqual({
      title: "Plans",
      body: "Meeting moved",
    });
  });

  it("cuts at whole characters with an ellipsis, never inside an emoji", () => {
    expect(clip("😀😀😀😀", 3)).toBe("😀😀…");
    expect(clip("short", 5)).toBe("short");
  });
});

describe("subscription bodies", () => {
  const rules = { pushEndpointMaxChars: 200, pushHttpHosts: ["localhost"] };
  const keys = { p256dh: `B${"A".repeat(86)}`, auth: "AAAAAAAAAAAAAAAAAAAAAA" };

  it("takes https endpoints, and plain http only on the listed hosts", () => {
    const { subscribe } = pushRequestSchemas(rules);
    expect(subscribe.safeParse({ endpoint: "https://push.example/a", keys }).success).toBe(true);
    expect(subscribe.safeParse({ endpoint: "http://localhost:8090/notify/x", keys }).success).toBe(true);
    expect(subscribe.safeParse({ endpoint: "http://push.example/a", keys }).success).toBe(false);
    expect(subscribe.safeParse({ endpoint: "ftp://push.example/a", keys }).success).toBe(false);
  });

  it("reads base64 with or without padding and url-safe letters, and refuses anything else", () => {
    expect(decodeBase64Url("-_8")).toEqual(new Uint8Array([251, 255]));
    expect(decodeBase64Url("+/8=")).toEqual(new Uint8Array([251, 255]));
    expect(decodeBase64Url("a")).toBeNull();
    expect(decodeBase64Url("a b")).toBeNull();
  });
});
