import type { Limits } from "../config";
import { ApiError } from "../errors";
import type { VerifiedToken } from "./tokens";

/**
 * Socket tickets as the Worker sees them: "<userId>.<secret>". The user id says which UserInbox holds
 * the ticket (it is redeemed there, once); the secret is 192 random bits that only that object knows.
 * A ticket lets its holder open sockets as the user until the token it was minted from expires.
 */

const TICKET = /^(u_[0-9a-z]{20})\.([A-Za-z0-9_-]{32})$/;

export interface Ticket {
  ticket: string;
  /** Seconds. */
  expiresIn: number;
}

export async function mintSocketTicket(env: Env, auth: VerifiedToken, limits: Limits): Promise<Ticket> {
  const minted = await env.USER_INBOX.getByName(auth.userId).mintTicket(
    auth.expiresAt,
    limits.wsTicketTtlSeconds,
    limits.wsTicketsPerUser,
  );
  return { ticket: `${auth.userId}.${minted.secret}`, expiresIn: minted.expiresIn };
}

export async function redeemSocketTicket(env: Env, ticket: string): Promise<VerifiedToken> {
  const match = TICKET.exec(ticket);
  const userId = match?.[1];
  const secret = match?.[2];
  // A malformed ticket wakes no object.
  const redeemed = userId && secret ? await env.USER_INBOX.getByName(userId).redeemTicket(secret) : null;
  if (!userId || !redeemed || redeemed.tokenExp * 1000 <= Date.now()) {
    throw new ApiError("unauthorized", "The ticket is unknown, used or expired");
  }
  return { userId, expiresAt: redeemed.tokenExp, source: "ticket" };
}
