import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Opens (creating its folder) a SQLite database for state that must survive a crash: WAL with
 * `synchronous = FULL`, so a committed transaction is on disk before the call returns. The node's
 * stores (vouchers, jobs, gateway channels and spend) all open through here so none is weaker.
 * `:memory:` opens a throwaway database for tests.
 *
 * @example
 * const db = openDurableDatabase(join(stateDir, 'node.db'))
 */
export function openDurableDatabase(path: string): Database.Database {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  return db;
}
