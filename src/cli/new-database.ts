/**
 * A database that a command is about to create, with the folders created for it: removed again
 * when the command fails before any run is stored in it, so a refused bench (unknown dataset,
 * no network, a bad file) leaves no empty database behind.
 */
import { existsSync, rmdirSync, rmSync } from "node:fs";
import { dirname, resolve } from "node:path";

/** What opening `path` would create: the file, then each missing folder up to one that exists. */
export function pathsCreatedBy(path: string): string[] {
  if (path === ":memory:" || existsSync(path)) return [];
  const created = [resolve(path)];
  for (let dir = dirname(created[0]!); !existsSync(dir) && dir !== dirname(dir); dir = dirname(dir))
    created.push(dir);
  return created;
}

/** Removes what `pathsCreatedBy` listed: the database with its WAL files, then the folders if empty. */
export function removeCreated(created: readonly string[]): void {
  const [file, ...folders] = created;
  if (file === undefined) return;
  for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(`${file}${suffix}`, { force: true });
  for (const folder of folders) {
    try {
      rmdirSync(folder);
    } catch {
      // Something else was put there meanwhile: keep it.
      return;
    }
  }
}
