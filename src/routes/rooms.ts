import { type RpcResult, unwrapRpc } from "../errors";
import type { ConversationRoom, RoomCaller } from "../durable/conversation-room";

/** The conversation's object, addressed by its id. */
export function roomOf(env: Env, conversationId: string): DurableObjectStub<ConversationRoom> {
  return env.CONVERSATION_ROOM.getByName(conversationId);
}

/** Calls the room and turns a failure it returned back into the ApiError it was (see errors.ts). */
export async function callRoom<T>(fn: () => Promise<RpcResult<T>>): Promise<T> {
  return unwrapRpc(await fn());
}

const CONVERSATION_ID = /^c_[0-9a-z]{20}$/;

/** Ids that cannot exist are refused before an object is created for them. */
export function isConversationId(id: string): boolean {
  return CONVERSATION_ID.test(id);
}

export type { RoomCaller };
