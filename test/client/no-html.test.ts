import { describe, expect, it } from "vitest";

describe("the web client", () => {
  // Read-only look at the browser code: message bodies and names must reach the page as text.
  const sources = import.meta.glob("../../src/client/**/*.ts", {
    query: "?raw",
    import: "default",
    eager: true,
  }) as Record<string, string>;

  it("never turns strings into HTML", () => {
    expect(Object.keys(sources).length).toBeGreaterThan(0);
    const sinks =
      /\.(innerHTML|outerHTML)\s*[+]?=|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser|srcdoc|\beval\(|new Function\(/;
    const offenders = Object.entries(sources)
      .filter(([, text]) => sinks.test(text))
      .map(([file]) => file);
    expect(offenders).toEqual([]);
  });
});
