import { ApiError } from "../../errors";
import type { BudgetKind } from "./budgets";

/**
 * The Worker's side of a user's budgets (budgets.ts, in the user's UserInbox object): one call
 * to the user's object per spend. Conversations created, profile changes and upload bytes go through here; messages
 * are leased by rooms in batches instead (room/allowance.ts).
 */

const WHAT: Record<BudgetKind, string> = {
  messages: "Too many messages; slow down",
  messageBytes: "Too much text sent; slow down",
  conversations: "Too many conversations created; try again later",
  uploadBytes: "Too much uploaded; try again later",
  profileUpdates: "Too many profile changes; try again later",
};

/** Takes `amount` from the user's `kind` budget, or throws 429 `rate_limited` with Retry-After. */
export async function spendBudget(
  env: Pick<Env, "USER_INBOX">,
  userId: string,
  kind: BudgetKind,
  amount: number,
): Promise<void> {
  const result = await env.USER_INBOX.getByName(userId).spend(kind, amount);
  if (!result.ok) {
    throw new ApiError("rate_limited", WHAT[kind], { retryAfterSeconds: result.retryAfterSeconds });
  }
}

/** Gives back what `spendBudget` took for something that did not happen. */
export async function refundBudget(
  env: Pick<Env, "USER_INBOX">,
  userId: string,
  kind: BudgetKind,
  amount: number,
): Promise<void> {
  await env.USER_INBOX.getByName(userId).refund(kind, amount);
}
