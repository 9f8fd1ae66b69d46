import { env } from "cloudflare:workers";
import { SignJWT, exportSPKI } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call } from "../helpers/call";
import { api, registerUser, sendMessage, startConversation } from "../helpers/api";
import { IDP, type IdpKey, TestIdp, idpToken, newKey, newSub } from "../helpers/idp";
import { ofType, openSocket } from "../helpers/socket";

const b64url = (value: unknown): string =>
  btoa(JSON.stringify(value)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

const idp = new TestIdp();
let rsa: IdpKey;
let ec: IdpKey;
let ed: IdpKey;

beforeAll(async () => {
  [rsa, ec, ed] = await Promise.all([newKey("RS256"), newKey("ES256"), newKey("EdDSA")]);
  idp.publish([rsa, ec, ed]);
  idp.install();
});
afterAll(() => idp.uninstall());

describe("tokens of the configured identity provider", () => {
  it("creates the user on first sight of a sub, from the token's claims", async () => {
    const sub = newSub("auth0|");
    const token = await idpToken(rsa, sub, {
      given_name: "Katherine",
      family_name: "Johnson",
      picture: "https://images.example/kj.png",
      email: "Katherine.Johnson@Example.com",
    });
    const me = await api("GET", "/api/me", { token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      id: expect.stringMatching(/^u_[0-9a-z]{20}$/),
      firstName: "Katherine",
      lastName: "Johnson",
      avatarUrl: "https://images.example/kj.png",
      email: "katherine.johnson@example.com",
      externalId: sub,
    });
    // The same sub is the same user, whichever of the provider's keys signed the token.
    for (const key of [ec, ed]) {
      const again = await api("GET", "/api/me", { token: await idpToken(key, sub) });
      expect(again.status, key.alg).toBe(200);
      expect(again.body.id).toBe(me.body.id);
    }
    // Others see the public profile only.
    const other = await registerUser("Dorothy", "Vaughan");
    const seen = await api("GET", `/api/users/${me.body.id}`, { token: other.token });
    expect(seen.body).toEqual({
      id: me.body.id,
      firstName: "Katherine",
      lastName: "Johnson",
      avatarUrl: "https://images.example/kj.png",
    });
  });

  it("names a user from `name` or the email when the token has no given and family names", async () => {
    const full = await api("GET", "/api/me", {
      token: await idpToken(ec, newSub(), { name: "Mary Winston Jackson" }),
    });
    expect(full.body).toMatchObject({ firstName: "Mary", lastName: "Winston Jackson", email: null });
    const mailOnly = await api("GET", "/api/me", {
      token: await idpToken(ec, newSub(), { email: "annie.easley@example.com" }),
    });
    expect(mailOnly.body).toMatchObject({ firstName: "annie.easley", lastName: "" });
    // An address the provider marks unverified, a javascript: picture and a name with a direction
    // override are not taken.
    const dubious = await api("GET", "/api/me", {
      token: await idpToken(ec, newSub(), {
        given_name: "Eve\u202e",
        family_name: "Sneaky",
        email: "ceo@example.com",
        email_verified: false,
        picture: "javascript:alert(1)",
      }),
    });
    expect(dubious.body).toMatchObject({
      firstName: "User",
      lastName: "Sneaky",
      email: null,
      avatarUrl: null,
    });
  });

  it("reads the claims EXTERNAL_JWT_CLAIMS names: nested paths and namespaced claim names", async () => {
    const claims = {
      "https://chat.example/given_name": "Evelyn",
      user_metadata: { full_name: "Evelyn Boyd Granville", avatar_url: "https://images.example/ebg.png" },
    };
    const map = {
      EXTERNAL_JWT_CLAIMS:
        "firstName=https://chat.example/given_name,name=user_metadata.full_name,avatarUrl=user_metadata.avatar_url",
    };
    const namespaced = await call("GET", "/api/me", {
      token: await idpToken(rsa, newSub(), claims),
      env: map,
    });
    expect(namespaced.body).toMatchObject({
      firstName: "Evelyn",
      lastName: "",
      avatarUrl: "https://images.example/ebg.png",
    });
    const nested = await call("GET", "/api/me", {
      token: await idpToken(rsa, newSub(), { user_metadata: claims.user_metadata }),
      env: map,
    });
    expect(nested.body).toMatchObject({ firstName: "Evelyn", lastName: "Boyd Granville" });
  });

  it("updates the profile when later claims change, and keeps an edit while they do not", async () => {
    const sub = newSub();
    const first = await idpToken(rsa, sub, { given_name: "Grace", family_name: "Hopper" });
    const id = (await api("GET", "/api/me", { token: first })).body.id;
    // The user renames themselves; a new token with the same claims leaves that alone.
    await api("PATCH", "/api/me", { token: first, body: { firstName: "Amazing Grace" } });
    const same = await idpToken(rsa, sub, { given_name: "Grace", family_name: "Hopper" });
    expect((await api("GET", "/api/me", { token: same })).body.firstName).toBe("Amazing Grace");
    // The provider's profile changes: the next token brings the change.
    const changed = await idpToken(rsa, sub, {
      given_name: "Grace",
      family_name: "Murray Hopper",
      picture: "https://images.example/gmh.png",
    });
    const me = (await api("GET", "/api/me", { token: changed })).body;
    expect(me).toMatchObject({
      id,
      firstName: "Grace",
      lastName: "Murray Hopper",
      avatarUrl: "https://images.example/gmh.png",
    });
  });

  it("never lets an external identity take over an own account with the same email", async () => {
    const own = await registerUser("Ada", "Lovelace");
    const token = await idpToken(rsa, newSub(), {
      given_name: "Not",
      family_name: "Ada",
      email: own.user.email,
    });
    const external = (await api("GET", "/api/me", { token })).body;
    expect(external.id).not.toBe(own.user.id);
    expect(external.email).toBe(own.user.email);
    const login = await api("POST", "/api/auth/login", {
      body: { email: own.user.email, password: own.password },
    });
    expect(login.status).toBe(200);
    expect(login.body.user).toMatchObject({ id: own.user.id, firstName: "Ada", externalId: null });
    // Searching the address finds the own account; the external user by a name.
    const third = await registerUser("Third", "Person");
    const found = await api("GET", `/api/users?q=${encodeURIComponent(own.user.email)}`, {
      token: third.token,
    });
    expect(found.body.users.map((u: { id: string }) => u.id)).toEqual([own.user.id]);
    const external2 = await api("GET", `/api/users?q=${encodeURIComponent(own.user.email)}`, {
      token: own.token,
    });
    expect(external2.body.users.map((u: { id: string }) => u.id)).toEqual([external.id]);
    // An external user has no password to sign in with.
    const noPassword = await api("POST", "/api/auth/login", {
      body: { email: own.user.email, password: "" },
    });
    expect(noPassword.status).toBe(401);
  });

  it("works on REST and on sockets beside own accounts", async () => {
    const token = await idpToken(ed, newSub(), { given_name: "Hedy", family_name: "Lamarr" });
    const hedy = (await api("GET", "/api/me", { token })).body;
    const own = await registerUser("George", "Antheil");
    const inbox = await openSocket("/api/inbox/ws", { token });
    await inbox.next(ofType("ready"));
    const { conversation } = await startConversation(own.token, [hedy.id], { body: "Frequency hopping?" });
    await inbox.next(ofType("conversation.created"));
    const room = await openSocket(`/api/conversations/${conversation.id}/ws?since=0`, { token });
    expect((await room.next(ofType("message"))).message.body).toBe("Frequency hopping?");
    room.send({ type: "send", body: "Let us patent it.", clientId: "hedy-1" });
    expect((await room.next(ofType("ack"))).message.sender.id).toBe(hedy.id);
    await sendMessage(own.token, conversation.id, "Deal.");
    expect((await room.next(ofType("message"))).message.body).toBe("Deal.");
    const history = await api("GET", `/api/conversations/${conversation.id}/messages`, { token });
    expect(history.body.messages.map((m: { body: string }) => m.body)).toEqual([
      "Frequency hopping?",
      "Let us patent it.",
      "Deal.",
    ]);
    room.close();
    inbox.close();
  });

  it("picks up a new signing key (a new kid) by fetching the JWKS again", async () => {
    const sub = newSub();
    expect((await call("GET", "/api/me", { token: await idpToken(rsa, sub) })).status).toBe(200);
    const before = idp.fetchCount();
    // The provider rotates: a new key is published and the old one withdrawn.
    const rotated = await newKey("RS256");
    idp.publish([rotated, ec, ed]);
    const res = await call("GET", "/api/me", { token: await idpToken(rotated, sub) });
    expect(res.status).toBe(200);
    expect(idp.fetchCount()).toBeGreaterThan(before);
    // A kid the provider never published is refused.
    const stranger = await newKey("RS256", rotated.kid);
    expect((await call("GET", "/api/me", { token: await idpToken(stranger, sub) })).status).toBe(401);
    idp.publish([rsa, ec, ed]);
  });
});

describe("algorithm confusion and foreign tokens", () => {
  it("refuses every forged or foreign token with 401", async () => {
    const sub = newSub();
    const now = Math.floor(Date.now() / 1000);
    const claims = { sub, iss: IDP.issuer, aud: IDP.audience, iat: now, exp: now + 3600 };
    const publicPem = await exportSPKI(rsa.publicKey);
    const hmacWith = (secret: string, kid?: string) =>
      new SignJWT({})
        .setProtectedHeader(kid ? { alg: "HS256", kid } : { alg: "HS256" })
        .setSubject(sub)
        .setIssuer(IDP.issuer)
        .setAudience(IDP.audience)
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .sign(new TextEncoder().encode(secret));
    // A second key of the same type, published beside the first, at another JWKS URL.
    const twin = await newKey("RS256");
    const twoKeysUrl = "https://idp.test/two-keys/jwks.json";
    idp.publish([rsa, twin], twoKeysUrl);
    const twoKeys = { EXTERNAL_JWKS_URL: twoKeysUrl };

    const cases: [string, string, Partial<Env>?][] = [
      ["HS256 signed with the provider's public key", await hmacWith(publicPem, rsa.kid)],
      ["HS256 signed with the public JWK", await hmacWith(JSON.stringify(rsa.publicJwk))],
      ["alg none", `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`],
      ["alg none with the provider's kid", `${b64url({ alg: "none", kid: rsa.kid })}.${b64url(claims)}.`],
      ["no kid while several keys match", await idpToken(rsa, sub, {}, { kid: false }), twoKeys],
      ["another issuer", await idpToken(rsa, sub, {}, { issuer: "https://other-idp.test/" })],
      ["another audience", await idpToken(rsa, sub, {}, { audience: "someone-else" })],
      ["expired", await idpToken(rsa, sub, {}, { expiresInSeconds: -60 })],
      ["a kid naming another key", await idpToken(ec, sub, {}, { kid: rsa.kid })],
      [
        "the signature of another token",
        `${(await idpToken(rsa, sub)).split(".").slice(0, 2).join(".")}.${(await idpToken(rsa, newSub())).split(".")[2]}`,
      ],
    ];
    for (const [name, token, settings] of cases) {
      const res = await call("GET", "/api/me", { token, env: settings });
      expect(res.status, name).toBe(401);
      expect(res.body.error.code, name).toBe("unauthorized");
    }
    // The controls: the same provider's real tokens pass, a kid-less one too where only one key matches.
    expect((await call("GET", "/api/me", { token: await idpToken(rsa, sub) })).status).toBe(200);
    const oneKeyUrl = "https://idp.test/one-key/jwks.json";
    idp.publish([rsa], oneKeyUrl);
    const kidless = await idpToken(rsa, sub, {}, { kid: false });
    expect(
      (await call("GET", "/api/me", { token: kidless, env: { EXTERNAL_JWKS_URL: oneKeyUrl } })).status,
    ).toBe(200);
    // No user was created for any refused token.
    const { results } = await env.DB.prepare("SELECT id FROM users WHERE external_id = ?").bind(sub).all();
    expect(results).toHaveLength(1);
  });

  it("refuses a provider's token when no provider is configured", async () => {
    const token = await idpToken(rsa, newSub());
    const res = await call("GET", "/api/me", { token, env: { EXTERNAL_JWKS_URL: "" } });
    expect(res.status).toBe(401);
  });

  it("answers 500 (not 401) while the provider's JWKS cannot be fetched, and creates nobody", async () => {
    const downUrl = "https://idp.test/down/jwks.json";
    idp.breakDown(downUrl);
    const sub = newSub();
    const token = await idpToken(rsa, sub);
    const res = await call("GET", "/api/me", { token, env: { EXTERNAL_JWKS_URL: downUrl } });
    expect(res.status).toBe(500);
    expect(res.body.error.code).toBe("internal");
    const { results } = await env.DB.prepare("SELECT id FROM users WHERE external_id = ?").bind(sub).all();
    expect(results).toHaveLength(0);
  });
});
