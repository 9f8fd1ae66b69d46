import { ApiError } from "../../errors";

/** The `since` of an upgrade: null when absent, else a non-negative integer (422 before any upgrade). */
export function parseSince(value: string | null): number | null {
  if (value === null || value === "") return null;
  const since = Number(value);
  if (!Number.isSafeInteger(since) || since < 0) {
    throw new ApiError("validation_failed", "since must be a non-negative integer", {
      details: [{ path: "since", message: "must be a non-negative integer" }],
    });
  }
  return since;
}
