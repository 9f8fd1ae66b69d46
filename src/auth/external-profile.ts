import type { JWTPayload } from "jose";
import * as z from "zod";
import type { Limits } from "../config";
import type { ClaimMap } from "./external-settings";
import { LABEL_RULES } from "../protocol/text";

/**
 * The profile an identity provider's token describes, read through EXTERNAL_JWT_CLAIMS. A field is
 * undefined when the token does not say (or says something unusable): it is then left as it is.
 * The same rules as a profile typed into the app apply; a claim that breaks them is ignored rather
 * than repaired, since the provider's value is not ours to rewrite.
 */
export interface ClaimedProfile {
  firstName?: string;
  lastName?: string;
  avatarUrl?: string;
  email?: string;
}

function claimAt(claims: JWTPayload, name: string | undefined): unknown {
  if (!name) return undefined;
  if (Object.hasOwn(claims, name)) return claims[name];
  let value: unknown = claims;
  for (const part of name.split(".")) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() !== "" ? value.trim() : undefined;
}

/** A one-line label within the length limit (cut at a code point boundary), or undefined. */
function label(value: string | undefined, max: number): string | undefined {
  if (value === undefined) return undefined;
  const cut = [...value].slice(0, max).join("").trim();
  return cut && LABEL_RULES.every((rule) => rule.test(cut)) ? cut : undefined;
}

function httpUrl(value: string | undefined, max: number): string | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
    return url.href.length <= max ? url.href : undefined;
  } catch {
    return undefined;
  }
}

const Email = z.email().max(254);

export function profileFromClaims(claims: JWTPayload, map: ClaimMap, limits: Limits): ClaimedProfile {
  const max = limits.maxNameChars;
  let firstName = label(text(claimAt(claims, map.firstName)), max);
  let lastName = label(text(claimAt(claims, map.lastName)), max);
  if (firstName === undefined && lastName === undefined) {
    // Only a full name: the first word is the first name, the rest the last name.
    const full = text(claimAt(claims, map.name));
    if (full !== undefined) {
      const [first = "", ...rest] = full.split(/\s+/);
      firstName = label(first, max);
      lastName = firstName === undefined ? undefined : (label(rest.join(" "), max) ?? "");
    }
  }
  const profile: ClaimedProfile = {};
  if (firstName !== undefined) profile.firstName = firstName;
  if (lastName !== undefined) profile.lastName = lastName;
  const avatarUrl = httpUrl(text(claimAt(claims, map.avatarUrl)), limits.maxAvatarUrlChars);
  if (avatarUrl !== undefined) profile.avatarUrl = avatarUrl;
  // An address the provider itself marks unverified is not shown as theirs.
  const email = text(claimAt(claims, map.email))?.toLowerCase();
  if (email !== undefined && claims.email_verified !== false && Email.safeParse(email).success) {
    profile.email = email;
  }
  return profile;
}

/** Names for a user seen for the first time whose token carries none: the email's local part, or "User". */
export function fallbackNames(
  profile: ClaimedProfile,
  limits: Limits,
): { firstName: string; lastName: string } {
  const local = profile.email?.split("@")[0];
  return {
    firstName: profile.firstName ?? label(local, limits.maxNameChars) ?? "User",
    lastName: profile.lastName ?? "",
  };
}

/** What decides whether a later token changes anything: a hash of the profile it describes. */
export async function profileHash(profile: ClaimedProfile): Promise<string> {
  const canonical = JSON.stringify([profile.firstName, profile.lastName, profile.avatarUrl, profile.email]);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
