import { type RpcResult, unwrapRpc } from "../../errors";
import type { ConversationRoom } from "./conversation-room";

/** How the Worker reaches a conversation's object: by its id, which is the object's name. */

export type RoomStub = DurableObjectStub<ConversationRoom>;

export function roomOf(env: Env, conversationId: string): RoomStub {
  return env.CONVERSATION_ROOM.getByName(conversationId);
}

/** Awaits a room's answer and turns a failure it returned back into the ApiError it was (errors.ts). */
export async function callRoom<T>(call: Promise<RpcResult<T>>): Promise<T> {
  return unwrapRpc(await call);
}

const CONVERSATION_ID = /^c_[0-9a-z]{20}$/;

/** Ids that cannot exist are refused before an object is created for them. */
export function isConversationId(id: string): boolean {
  return CONVERSATION_ID.test(id);
}
