import { app } from "./app";

export { ConversationRoom } from "./durable/conversation-room";
export { UserInbox } from "./durable/user-inbox";

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<Env>;
