/**
 * Both objects' SQLite schemas are ordered lists of migrations. Objects live for years and are woken
 * with whatever schema they were last written with, so a change is a new entry at the end of the
 * list (never an edit of an old one); each object runs the entries it has not run yet, in order,
 * in one transaction, and records how many it has run.
 */
export function runMigrations(storage: DurableObjectStorage, migrations: readonly string[]): number {
  const sql = storage.sql;
  sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
  const row = sql.exec("SELECT version FROM schema_version").toArray()[0];
  const found = typeof row?.version === "number" ? row.version : 0;
  if (found >= migrations.length) return found;
  storage.transactionSync(() => {
    for (const step of migrations.slice(found)) sql.exec(step);
    sql.exec("DELETE FROM schema_version");
    sql.exec("INSERT INTO schema_version (version) VALUES (?)", migrations.length);
  });
  return found;
}
