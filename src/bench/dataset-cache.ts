/**
 * Named datasets fetched once from their public homes into a cache folder, and checked against
 * their sha256 on every read. A fetch writes a temporary file beside the target and renames it
 * into place only when the whole file has arrived and been verified, so a failed or interrupted
 * fetch leaves no file that could be read as the dataset.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { AbortedError, InvalidInputError, ReckonError } from "../core/errors.js";
import { type DatasetHome, type DatasetName, datasetHomes } from "./dataset-registry.js";

/** A named dataset could not be fetched from its home (or the mirror). */
export class DatasetUnavailableError extends ReckonError {
  constructor(
    readonly dataset: DatasetName,
    /** The URL tried: the home's, or the mirror's. */
    readonly url: string,
    readonly reason: string,
    home: string,
    cachePath: string,
  ) {
    super(
      `cannot fetch dataset ${dataset} from ${url}: ${reason}`,
      `provide the file by hand: download ${home} where you can and save it as ${cachePath} (it is checked against its sha256), ` +
        "or pass any copy with --dataset-path FILE; RECKON_DATASETS_MIRROR=URL fetches every dataset from a mirror that keeps the homes' hosts and paths",
    );
  }
}

/** A dataset file whose bytes are not the ones published (or first fetched). */
export class DatasetIntegrityError extends ReckonError {}

/** Where, besides the cache, a named dataset may come from, and what to tell the user. */
export interface DatasetSources {
  /** Default: `datasetCacheDir()`. */
  cacheDir?: string;
  /** Base URL of a mirror that keeps every home's host and path; default: `datasetMirror()`. */
  mirror?: string;
  /** Where `../shared/datasets` (the development copy) is looked for; default: the working directory. */
  cwd?: string;
  signal?: AbortSignal;
  /** Told when a file is fetched. */
  onNote?: (note: string) => void;
}

/** A located dataset file and its bytes. */
export interface DatasetFile {
  path: string;
  bytes: Buffer;
  origin: "cache" | "development copy" | "fetched";
}

/** `$RECKON_DATASETS_DIR`, else `$XDG_CACHE_HOME/reckon/datasets`, else `~/.cache/reckon/datasets`. */
export function datasetCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RECKON_DATASETS_DIR) return resolve(env.RECKON_DATASETS_DIR);
  // The XDG specification says a relative XDG_CACHE_HOME is to be ignored.
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME))
    return join(env.XDG_CACHE_HOME, "reckon", "datasets");
  return join(homedir(), ".cache", "reckon", "datasets");
}

/** `$RECKON_DATASETS_MIRROR` without a trailing slash, or undefined; anything but http(s) is refused. */
export function datasetMirror(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env.RECKON_DATASETS_MIRROR?.trim();
  if (!value) return undefined;
  let protocol: string | undefined;
  try {
    protocol = new URL(value).protocol;
  } catch {
    // reported below
  }
  if (protocol !== "http:" && protocol !== "https:")
    throw new InvalidInputError(
      "RECKON_DATASETS_MIRROR",
      `"${value}" is not an http(s) URL`,
      "set it to the base URL of a mirror, e.g. http://mirror.example/datasets",
    );
  return value.replace(/\/+$/, "");
}

/**
 * Where a home's file is fetched from: the home itself, or `<mirror>/<host><path>` (the layout
 * `wget -x` gives a copy of the home URLs), so one mirror serves every home.
 */
export function fetchUrl(home: DatasetHome, mirror?: string): string {
  if (!mirror) return home.url;
  const url = new URL(home.url);
  return `${mirror}/${url.host}${url.pathname}`;
}

/** Where a dataset is (or would be) cached. */
export function cachePathOf(name: DatasetName, cacheDir: string = datasetCacheDir()): string {
  return join(cacheDir, datasetHomes[name].file);
}

/**
 * The development copy of a dataset (`../shared/datasets/<file>` relative to `cwd`) when it
 * exists, as that relative path so recipes stay portable; undefined otherwise.
 */
export function defaultDatasetPath(name: DatasetName, cwd: string = process.cwd()): string | undefined {
  const relative = `../shared/datasets/${datasetHomes[name].file}`;
  return existsSync(resolve(cwd, relative)) ? relative : undefined;
}

/**
 * A named dataset's file: the cached copy (verified), else the development copy beside the
 * checkout, else fetched from its home into the cache. `validate` checks a fetched file's
 * content before it is kept (a page of HTML is not a dataset, whatever its hash).
 */
export async function locateDataset(
  name: DatasetName,
  sources: DatasetSources = {},
  validate?: (bytes: Buffer, source: string) => void,
): Promise<DatasetFile> {
  const home = datasetHomes[name];
  const cacheDir = sources.cacheDir ?? datasetCacheDir();
  const cached = join(cacheDir, home.file);
  if (existsSync(cached)) return { path: cached, bytes: readVerified(home, cached), origin: "cache" };
  const cwd = sources.cwd ?? process.cwd();
  const development = defaultDatasetPath(name, cwd);
  if (development !== undefined)
    return { path: development, bytes: readFileSync(resolve(cwd, development)), origin: "development copy" };
  const fetched = await fetchDataset(home, { ...sources, cacheDir, validate });
  return { ...fetched, origin: "fetched" };
}

/** The hash recorded beside an unpinned dataset at its first fetch, in `sha256sum` format. */
const recordPathOf = (path: string) => `${path}.sha256`;

function recordedHash(path: string): string | undefined {
  try {
    return /^[0-9a-f]{64}/.exec(readFileSync(recordPathOf(path), "utf8"))?.[0];
  } catch {
    return undefined;
  }
}

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** A cached file's bytes, refused when they are not the published (or first recorded) ones. */
export function readVerified(home: DatasetHome, path: string): Buffer {
  const bytes = readFileSync(path);
  const digest = sha256(bytes);
  const expected = home.sha256 ?? recordedHash(path);
  if (expected === undefined) {
    // A file put in the cache by hand, for a dataset without a pinned hash: trusted from now on.
    writeAtomically(recordPathOf(path), `${digest}  ${home.file}\n`);
    return bytes;
  }
  if (digest !== expected)
    throw new DatasetIntegrityError(
      `the cached ${home.name} at ${path} has sha256 ${digest}, not ${expected} (${home.sha256 ? "the file published at" : "recorded when it was fetched from"} ${home.url})`,
      "delete it to fetch the dataset again, or pass it with --dataset-path FILE to use it as it is",
    );
  return bytes;
}

export interface FetchOptions {
  cacheDir: string;
  mirror?: string;
  signal?: AbortSignal;
  onNote?: (note: string) => void;
  validate?: (bytes: Buffer, source: string) => void;
}

/** Fetches a home's file into the cache folder; see the module comment for how it is kept. */
export async function fetchDataset(
  home: DatasetHome,
  options: FetchOptions,
): Promise<{ path: string; bytes: Buffer }> {
  const url = fetchUrl(home, options.mirror ?? datasetMirror());
  const target = join(options.cacheDir, home.file);
  options.onNote?.(`fetching dataset ${home.name} from ${url} into ${target}`);
  let bytes: Buffer;
  try {
    const response = await fetch(url, { signal: options.signal, redirect: "follow" });
    if (!response.ok) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`);
    }
    bytes = Buffer.from(await response.arrayBuffer());
  } catch (error) {
    if (options.signal?.aborted) throw new AbortedError();
    throw new DatasetUnavailableError(home.name, url, causeOf(error), home.url, target);
  }
  const digest = sha256(bytes);
  if (home.sha256 !== undefined && digest !== home.sha256)
    throw new DatasetIntegrityError(
      `the file fetched from ${url} has sha256 ${digest}, not the published ${home.name}'s ${home.sha256}; it was not kept`,
      "a mirror must serve the published bytes; or pass your copy with --dataset-path FILE",
    );
  options.validate?.(bytes, url);
  try {
    mkdirSync(options.cacheDir, { recursive: true });
  } catch (error) {
    throw new ReckonError(
      `cannot create the dataset cache folder ${options.cacheDir}: ${causeOf(error)}`,
      "set RECKON_DATASETS_DIR to a folder you can write to",
    );
  }
  removeAbandonedParts(options.cacheDir, home.file);
  // Unpinned: the hash of this first fetch is what every later read is checked against.
  if (home.sha256 === undefined) writeAtomically(recordPathOf(target), `${digest}  ${home.file}\n`);
  writeAtomically(target, bytes);
  return { path: target, bytes };
}

/** Writes a temporary file beside `path` and renames it into place; the temporary never stays. */
function writeAtomically(path: string, content: string | Buffer): void {
  const temp = join(
    dirname(path),
    `.${basename(path)}.${process.pid}-${randomBytes(4).toString("hex")}.part`,
  );
  try {
    writeFileSync(temp, content);
    renameSync(temp, path);
  } finally {
    rmSync(temp, { force: true });
  }
}

/** Temporary files of fetches whose process is gone (killed before it could clean up). */
function removeAbandonedParts(dir: string, file: string): void {
  const prefix = `.${file}.`;
  for (const entry of readdirSync(dir)) {
    if (!entry.startsWith(prefix) || !entry.endsWith(".part")) continue;
    const pid = Number(
      /^(?:sha256\.)?(\d+)-[0-9a-f]+$/.exec(entry.slice(prefix.length, -".part".length))?.[1],
    );
    if (pid && !processAlive(pid)) rmSync(join(dir, entry), { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The reason under a failed fetch (`connect ECONNREFUSED …`, `getaddrinfo ENOTFOUND …`). */
function causeOf(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) {
    // undici's fetch fails with a bare "fetch failed"; a socket error may aggregate several tries.
    const inner =
      cause instanceof AggregateError && cause.errors[0] instanceof Error ? cause.errors[0] : cause;
    return inner.message || (inner as NodeJS.ErrnoException).code || String(inner);
  }
  return error instanceof Error ? error.message : String(error);
}
