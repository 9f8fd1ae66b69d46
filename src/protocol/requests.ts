import { z } from "zod";
import type { Limits } from "../config";

/** REST request bodies of API.md. Length limits come from settings, so the schemas are built per limits. */

const trimmed = (max: number, what: string) =>
  z
    .string()
    .trim()
    .min(1, `${what} must not be empty`)
    .max(max, `${what} must be at most ${max} characters`);

/** http(s) only: a `javascript:` or `data:` avatar would run or leak in someone else's browser. */
const avatarUrl = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `avatarUrl must be at most ${max} characters`)
    .refine((value) => {
      try {
        const url = new URL(value);
        return url.protocol === "https:" || url.protocol === "http:";
      } catch {
        return false;
      }
    }, "avatarUrl must be an http or https URL")
    .nullable();

const userId = z.string().min(1).max(64);
const clientId = z.string().min(1).max(128);

export function requestSchemas(limits: Limits) {
  const body = trimmed(limits.maxMessageChars, "body");
  return {
    register: z.strictObject({
      email: z.email().max(254),
      password: z.string().min(8, "password must be at least 8 characters").max(1024),
      firstName: trimmed(limits.maxNameChars, "firstName"),
      lastName: trimmed(limits.maxNameChars, "lastName"),
      avatarUrl: avatarUrl(limits.maxAvatarUrlChars).optional(),
    }),
    login: z.strictObject({
      email: z.string().max(254),
      password: z.string().max(1024),
    }),
    updateMe: z.strictObject({
      firstName: trimmed(limits.maxNameChars, "firstName").optional(),
      lastName: trimmed(limits.maxNameChars, "lastName").optional(),
      avatarUrl: avatarUrl(limits.maxAvatarUrlChars).optional(),
    }),
    createConversation: z.strictObject({
      participantIds: z
        .array(userId)
        .min(1, "participantIds must name at least one other user")
        .max(limits.maxGroupSize, `a conversation has at most ${limits.maxGroupSize} participants`),
      title: trimmed(limits.maxTitleChars, "title").optional(),
      body: body.optional(),
      clientId: clientId.optional(),
    }),
    addParticipants: z.strictObject({
      userIds: z
        .array(userId)
        .min(1, "userIds must name at least one user")
        .max(limits.maxGroupSize, `a conversation has at most ${limits.maxGroupSize} participants`),
    }),
    sendMessage: z.strictObject({ body, clientId: clientId.optional() }),
    editMessage: z.strictObject({ body }),
    markRead: z.strictObject({ seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }),
  };
}

export type RequestSchemas = ReturnType<typeof requestSchemas>;
export type RegisterBody = z.infer<RequestSchemas["register"]>;
export type CreateConversationBody = z.infer<RequestSchemas["createConversation"]>;
