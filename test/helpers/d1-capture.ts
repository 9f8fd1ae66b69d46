/** A statement as the code under test sent it to D1: its SQL and the values it bound. */
export interface CapturedStatement {
  sql: string;
  params: unknown[];
}

/**
 * The real D1 binding, recording every statement that is bound through it (drizzle binds every
 * statement it runs, parameters or not). Queries still run against the real database.
 */
export function capturingD1(db: D1Database, into: CapturedStatement[]): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") {
        return (sql: string) =>
          new Proxy(target.prepare(sql), {
            get(stmt, key) {
              if (key === "bind")
                return (...params: unknown[]) => {
                  into.push({ sql, params });
                  return stmt.bind(...params);
                };
              const value: unknown = Reflect.get(stmt, key, stmt);
              return typeof value === "function" ? value.bind(stmt) : value;
            },
          });
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** SQLite's plan for a captured statement, one line per step ("SEARCH users USING INDEX …"). */
export async function queryPlan(db: D1Database, statement: CapturedStatement): Promise<string[]> {
  const { results } = await db
    .prepare(`EXPLAIN QUERY PLAN ${statement.sql}`)
    .bind(...statement.params)
    .all<{ detail: string }>();
  return results.map((row) => row.detail);
}
