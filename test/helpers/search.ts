import { expect } from "vitest";
import { type SearchPage, SearchPageSchema } from "../../src/protocol/responses";
import type { ApiResult } from "./api";
import { call } from "./call";

/** One `GET /api/search` as a client sends it; a 200 is checked against the shared schema. */
export async function search(
  token: string,
  params: Record<string, string | number>,
): Promise<ApiResult<SearchPage>> {
  const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
  const res = await call<SearchPage>("GET", `/api/search?${query}`, { token });
  if (res.status === 200) expect(SearchPageSchema.strict().safeParse(res.body).success, res.text).toBe(true);
  return res;
}

/** The results' message bodies for `q`, one page (asserting a 200). */
export async function found(token: string, q: string, extra: Record<string, string | number> = {}) {
  const res = await search(token, { q, ...extra });
  expect(res.status, res.text).toBe(200);
  return res.body.results.map((r) => r.message.body);
}

/** Every page of a search, in order, following nextCursor. */
export async function allPages(
  token: string,
  params: Record<string, string | number>,
  between: () => Promise<void> = async () => undefined,
): Promise<SearchPage[]> {
  const pages: SearchPage[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 100; i++) {
    const res: ApiResult<SearchPage> = await search(token, cursor === null ? params : { ...params, cursor });
    expect(res.status, res.text).toBe(200);
    pages.push(res.body);
    cursor = res.body.nextCursor;
    if (cursor === null) return pages;
    await between();
  }
  throw new Error("more than 100 pages");
}

/** A word no other test uses, so a file's searches see only their own messages. */
export const uniqueWord = (stem: string): string =>
  `${stem}${crypto.randomUUID().replaceAll("-", "").slice(0, 10)}`;
