// The web client is being built (issue 5); this placeholder keeps the bundle step working.
import type { Conversation } from "../protocol/models";

const root = document.getElementById("app");
const empty: Conversation[] = [];
if (root) root.textContent = `Edge chat: ${empty.length} conversations`;
