import { env } from "cloudflare:workers";

/**
 * Real D1 faults for one conversation: a trigger in the test database that refuses the
 * conversation's message rows, so every outbox batch carrying them fails in D1 itself (the batch
 * is one transaction: nothing of it lands). Other conversations are untouched. Returns the undo.
 */
export async function refuseMessageRows(conversationId: string): Promise<() => Promise<void>> {
  // Conversation ids are `c_` and base-36 characters: safe inside the trigger's name and literal.
  if (!/^c_[0-9a-z]{20}$/.test(conversationId)) throw new Error(`not a conversation id: ${conversationId}`);
  const trigger = `refuse_${conversationId}`;
  await env.DB.prepare(
    `CREATE TRIGGER ${trigger} BEFORE INSERT ON messages WHEN NEW.conversation_id = '${conversationId}'
     BEGIN SELECT RAISE(FAIL, 'injected'); END`,
  ).run();
  return async () => {
    await env.DB.prepare(`DROP TRIGGER IF EXISTS ${trigger}`).run();
  };
}

/** The conversation's message rows in D1. */
export async function d1MessageRows(
  conversationId: string,
): Promise<{ id: string; seq: number; body: string }[]> {
  const rows = await env.DB.prepare(
    "SELECT id, seq, body FROM messages WHERE conversation_id = ? ORDER BY seq",
  )
    .bind(conversationId)
    .all<{ id: string; seq: number; body: string }>();
  return rows.results;
}

/** The conversation's rows in D1, polled until `expected` (the outbox copies in the background) or 3 s. */
export async function d1MessageCount(conversationId: string, expected: number): Promise<number> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const n = (await d1MessageRows(conversationId)).length;
    if (n === expected || Date.now() > deadline) return n;
    await new Promise((r) => setTimeout(r, 25));
  }
}
