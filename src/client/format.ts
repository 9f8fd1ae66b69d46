import type { Conversation, Message, User } from "../protocol/models";
import { previewText } from "../protocol/text";

/** Names, initials, times and snippets, in one place for the inbox and the thread. */

export function fullName(user: User): string {
  const name = `${user.firstName} ${user.lastName}`.trim();
  return name || "Unknown user";
}

export function initials(text: string): string {
  const words = text.trim().split(/\s+/).filter(Boolean);
  const first = words[0]?.[0] ?? "?";
  const last = words.length > 1 ? (words[words.length - 1]?.[0] ?? "") : "";
  return (first + last).toUpperCase();
}

/** A stable colour slot (0–7) for someone's initials, from their id. */
export function colorSlot(id: string): number {
  let hash = 0;
  for (let i = 0; i < id.length; i++) hash = (hash * 31 + id.charCodeAt(i)) | 0;
  return Math.abs(hash) % 8;
}

/** The people of a conversation other than me (all of them if I am alone in it). */
export function others(conversation: Conversation, meId: string): User[] {
  const rest = conversation.participants.filter((p) => p.id !== meId);
  return rest.length > 0 ? rest : conversation.participants;
}

export function conversationName(conversation: Conversation, meId: string): string {
  if (conversation.title) return conversation.title;
  const people = others(conversation, meId);
  if (conversation.kind === "direct") return people[0] ? fullName(people[0]) : "Direct message";
  const names = people.map((p) => p.firstName || fullName(p));
  // The inbox lists only the first participants; the count has them all (me among them).
  const total = Math.max(names.length, conversation.participantCount - 1);
  return total > 3 ? `${names.slice(0, 3).join(", ")} +${total - 3}` : names.join(", ") || "Group";
}

export function snippet(message: Message | null, meId: string, kind: Conversation["kind"]): string {
  if (!message) return "No messages yet";
  const body = message.deletedAt ? "Message deleted" : previewText(message);
  const { sender } = message;
  if (!sender) return body; // a system message speaks for itself
  if (sender.id === meId) return `You: ${body}`;
  return kind === "group" ? `${sender.firstName || fullName(sender)}: ${body}` : body;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const weekdayFormat = new Intl.DateTimeFormat(undefined, { weekday: "short" });
const dateFormat = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const longDateFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "long",
  day: "numeric",
  month: "long",
  year: "numeric",
});
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

const DAY_MS = 86_400_000;

function startOfDay(date: Date): number {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
}

export function clockTime(iso: string): string {
  return timeFormat.format(new Date(iso));
}

export function fullTime(iso: string): string {
  return fullFormat.format(new Date(iso));
}

/** Inbox time: the clock today, the weekday this week, the date before that. */
export function shortTime(iso: string, now = new Date()): string {
  const date = new Date(iso);
  const days = Math.round((startOfDay(now) - startOfDay(date)) / DAY_MS);
  if (days <= 0) return timeFormat.format(date);
  if (days === 1) return "Yesterday";
  if (days < 7) return weekdayFormat.format(date);
  return dateFormat.format(date);
}

/** The divider between days in a thread. */
export function dayLabel(iso: string, now = new Date()): string {
  const date = new Date(iso);
  const days = Math.round((startOfDay(now) - startOfDay(date)) / DAY_MS);
  if (days === 0) return "Today";
  if (days === 1) return "Yesterday";
  return longDateFormat.format(date);
}

export function sameDay(a: string, b: string): boolean {
  return startOfDay(new Date(a)) === startOfDay(new Date(b));
}

/** A client id for an outgoing message: unique per send, reused on every retry of that send. */
export function newClientId(): string {
  // getRandomValues, unlike randomUUID, also works on plain-http pages (a phone on the LAN).
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `web-${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
