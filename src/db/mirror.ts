import { and, eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { MessageFields } from "../views";
import type { Db } from "./client";
import { conversations, messages, participants } from "./schema";

/**
 * Writes what a conversation's object has durably stored into D1, the global queryable copy.
 * Every statement is idempotent (upserts, max()), so retrying a batch never duplicates anything.
 */

export type MirroredMessage = MessageFields;

export interface MirroredRead {
  userId: string;
  lastReadSeq: number;
}

export async function mirrorConversation(
  db: Db,
  conversationId: string,
  batch: { messages: MirroredMessage[]; reads: MirroredRead[] },
): Promise<void> {
  const statements: BatchItem<"sqlite">[] = [];
  let lastSeq = 0;
  let lastAt = "";
  for (const m of batch.messages) {
    statements.push(
      db
        .insert(messages)
        .values({ ...m, conversationId })
        .onConflictDoUpdate({
          target: [messages.conversationId, messages.seq],
          set: { body: m.body, editedAt: m.editedAt, deletedAt: m.deletedAt },
        }),
    );
    if (m.seq > lastSeq) {
      lastSeq = m.seq;
      lastAt = m.createdAt;
    }
  }
  if (lastSeq > 0) {
    statements.push(
      db
        .update(conversations)
        .set({
          lastSeq: sql`max(${conversations.lastSeq}, ${lastSeq})`,
          updatedAt: sql`max(${conversations.updatedAt}, ${lastAt})`,
        })
        .where(eq(conversations.id, conversationId)),
    );
  }
  for (const r of batch.reads) {
    statements.push(
      db
        .update(participants)
        .set({ lastReadSeq: sql`max(${participants.lastReadSeq}, ${r.lastReadSeq})` })
        .where(and(eq(participants.conversationId, conversationId), eq(participants.userId, r.userId))),
    );
  }
  const [first, ...rest] = statements;
  if (!first) return;
  await db.batch([first, ...rest]);
}
