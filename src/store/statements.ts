import type Database from "better-sqlite3";

/**
 * Prepares each SQL text once per database: a large run makes the same queries many times.
 * Returns the function the tables call instead of `db.prepare`.
 */
export function statementCache(db: Database.Database): (sql: string) => Database.Statement {
  const prepared = new Map<string, Database.Statement>();
  return (sql) => {
    let found = prepared.get(sql);
    if (!found) {
      found = db.prepare(sql);
      prepared.set(sql, found);
    }
    return found;
  };
}
