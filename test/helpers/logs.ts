import { vi } from "vitest";

/**
 * Every console line written while `fn` runs (`fn` sees them as they come). The Worker and its
 * objects run in the test's isolate, so their logs pass through this console too.
 */
export async function captureLogs<T>(
  fn: (lines: readonly string[]) => Promise<T>,
): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const spies = (["log", "warn", "error", "info", "debug"] as const).map((level) =>
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
    }),
  );
  try {
    return { result: await fn(lines), lines };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}
