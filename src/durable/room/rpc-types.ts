import type { Conversation, Message } from "../../protocol/models";

/** What the room's RPC methods take and answer, beyond the protocol's own types. */

/** What a send carries besides the sender (REST body, socket frame, a new conversation's first message). */
export interface SendInput {
  body: string;
  clientId?: string | undefined;
  replyTo?: string | undefined;
  /** Files the sender uploaded to this conversation (POST …/attachments), not sent before. */
  attachments?: string[] | undefined;
}

export interface SendResult {
  message: Message;
  /** False when the clientId had been used: the original message is returned, nothing is stored. */
  created: boolean;
}

export interface Opened {
  conversation: Conversation;
  message: Message | null;
  created: boolean;
}
