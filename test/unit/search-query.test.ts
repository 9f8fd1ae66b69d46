import * as fc from "fast-check";
import { describe, expect, it } from "vitest";
import { snippetParts } from "../../src/protocol/snippet";
import { decodeSearchCursor, encodeSearchCursor } from "../../src/search/cursor";
import { bodyMatch, conversationMatch } from "../../src/search/fts-query";
import { markSnippet } from "../../src/search/snippet";

describe("a search box's text as an FTS5 query", () => {
  it("quotes every word, so FTS5 syntax is text, and makes the last word a prefix from 3 characters", () => {
    expect(bodyMatch("hello world", 3)).toBe('{body} : ("hello" "world"*)');
    expect(bodyMatch('say "NEAR(x" OR', 3)).toBe('{body} : ("say" """NEAR(x""" "OR")');
    expect(bodyMatch("don't", 3)).toBe(`{body} : ("don't")`);
    expect(bodyMatch("x ab", 3)).toBe('{body} : ("x" "ab")');
    expect(bodyMatch("  spaced\tout\n ", 3)).toBe('{body} : ("spaced" "out"*)');
    // MESSAGE_SEARCH_PREFIX_MIN_CHARS: another length, or 0 for words only.
    expect(bodyMatch("hello wo", 2)).toBe('{body} : ("hello" "wo"*)');
    expect(bodyMatch("hello world", 0)).toBe('{body} : ("hello" "world")');
  });

  it("leaves out words without a letter or digit, and gives up when none is left", () => {
    expect(bodyMatch("* 😀 hello !!", 3)).toBe('{body} : ("hello"*)');
    for (const q of ['"', "*", "😀 👩‍👩‍👧‍👦", "() : ^ -", ""]) expect(bodyMatch(q, 3)).toBeNull();
  });

  it("matches conversations by the distinctive part of their id", () => {
    expect(conversationMatch(["c_0123456789abcdefghij", "odd-id"])).toBe(
      '{conversation_id} : ("0123456789abcdefghij" OR "odd-id")',
    );
  });
});

describe("search snippets", () => {
  it("marks matches with [[ ]] and keeps the text's brackets from reading as marks", () => {
    expect(markSnippet("a \u0002b\u0003 c")).toBe("a [[b]] c");
    expect(markSnippet("[\u0002b\u0003]")).toBe("[\u200b[[b]]\u200b]");
    expect(markSnippet("[[x]] ]]")).toBe("[\u200b[x]\u200b] ]\u200b]");
  });

  it("reads back as exactly the matched runs, whatever brackets the text has", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            text: fc.stringMatching(/^[a-z[\] ]{0,6}$/),
            match: fc.stringMatching(/^[a-z]{1,4}$/),
          }),
          { maxLength: 5 },
        ),
        fc.stringMatching(/^[a-z[\] ]{0,6}$/),
        (pieces, tail) => {
          const raw = pieces.map((p) => `${p.text}\u0002${p.match}\u0003`).join("") + tail;
          const parts = snippetParts(markSnippet(raw));
          expect(parts.filter((p) => p.match).map((p) => p.text)).toEqual(pieces.map((p) => p.match));
          expect(
            parts
              .map((p) => p.text)
              .join("")
              .replaceAll("\u200b", ""),
          ).toBe(pieces.map((p) => p.text + p.match).join("") + tail);
        },
      ),
    );
  });
});

describe("the search cursor", () => {
  it("round-trips a position per shard and refuses anything else", () => {
    const cursor = new Map([
      ["SHARD_A", 120],
      ["SHARD_B", 0],
    ]);
    expect(decodeSearchCursor(encodeSearchCursor(cursor))).toEqual(cursor);
    for (const bad of ["", "x", btoa("[]"), btoa("{}"), btoa('{"A":-1}'), btoa('{"A":"1"}'), btoa("null")])
      expect(decodeSearchCursor(bad), bad).toBeNull();
    expect(decodeSearchCursor(btoa('{"__proto__":3}'))?.get("__proto__")).toBe(3);
  });
});
