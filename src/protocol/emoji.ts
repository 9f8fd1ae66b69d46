import * as z from "zod";
import { isWellFormed } from "./text";

/**
 * What a reaction may be (API.md: one emoji, or a short name of at most 32 characters): shared by
 * the REST path parameter, the `react` frame and the web client's picker.
 */

/** A short name as chat apps write them between colons: "thumbsup", "+1", "party_parrot". */
const SHORT_NAME = /^[a-z0-9_+-]{1,32}$/;

/**
 * One grapheme is at most this many UTF-16 units here: the longest emoji in use (family and
 * subdivision-flag sequences) take about 30, while a cap keeps a base emoji with a long tail of
 * combining marks out.
 */
const MAX_GRAPHEME_UNITS = 64;

/** Something that makes a grapheme an emoji: a pictograph, a flag's regional indicator, a keycap. */
const EMOJI_PART = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\u20e3/u;

let segmenter: Intl.Segmenter | null = null;

/** Whether `text` is exactly one grapheme (a user-perceived character), as Intl.Segmenter splits it. */
function isOneGrapheme(text: string): boolean {
  segmenter ??= new Intl.Segmenter("en", { granularity: "grapheme" });
  let count = 0;
  for (const _ of segmenter.segment(text)) if (++count > 1) return false;
  return count === 1;
}

export function isReactionEmoji(text: string): boolean {
  if (SHORT_NAME.test(text)) return true;
  if (text.length === 0 || text.length > MAX_GRAPHEME_UNITS || !isWellFormed(text)) return false;
  return EMOJI_PART.test(text) && isOneGrapheme(text);
}

export const EMOJI_RULE = "must be one emoji, or a short name of at most 32 characters of a-z 0-9 _ + -";

export const EmojiSchema = z.string().refine(isReactionEmoji, EMOJI_RULE);
