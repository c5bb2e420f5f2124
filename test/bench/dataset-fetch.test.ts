/**
 * Named datasets fetched from their homes (a loopback mirror here) into the cache on first use,
 * read from the cache afterwards, checked against their sha256, and never half-kept.
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DatasetIntegrityError,
  DatasetUnavailableError,
  datasetCacheDir,
  datasetMirror,
  fetchDataset,
  locateDataset,
  readVerified,
} from "../../src/bench/dataset-cache.js";
import { type DatasetHome, datasetHomes, datasetNames } from "../../src/bench/dataset-registry.js";
import { loadDataset, parseDatasetText } from "../../src/bench/datasets.js";
import { InvalidInputError } from "../../src/core/errors.js";
import { repoRoot } from "../support/cli.js";
import {
  type DatasetMirror,
  mirrorPath,
  sharedDatasets,
  startDatasetMirror,
} from "../support/dataset-mirror.js";

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

let mirror: DatasetMirror;
const root = mkdtempSync(join(tmpdir(), "reckon-dataset-fetch-"));
/** A working directory with no `../shared/datasets` beside it. */
const elsewhere = join(root, "work", "here");
mkdirSync(elsewhere, { recursive: true });
let caches = 0;
const freshCache = () => join(root, `cache-${++caches}`);

beforeAll(async () => {
  mirror = await startDatasetMirror();
});
afterAll(async () => {
  await mirror.close();
  rmSync(root, { recursive: true, force: true });
});

const gsm8kPath = () => mirrorPath(datasetHomes.gsm8k);

describe("the registry", () => {
  it("pins every home's sha256 to the bytes of the development copy, and names a file the loader reads", () => {
    for (const name of datasetNames) {
      const home = datasetHomes[name];
      const bytes = readFileSync(join(sharedDatasets, home.file));
      expect(home.sha256, name).toBe(sha256(bytes));
      expect(home.url, name).toMatch(/^https:\/\/[^/]+\/.+[0-9a-f]{40}\/.+/);
      expect(home.url.endsWith(".gz"), name).toBe(home.format === "jsonl.gz");
      const text = name === "humaneval" ? "" : bytes.toString("utf8");
      if (text) expect(parseDatasetText(name, text)).toHaveLength(home.problems);
    }
  });
});

describe("fetching a named dataset", () => {
  it("fetches on first use, then reads the cache without asking the home again", async () => {
    const cacheDir = freshCache();
    const sources = { cacheDir, mirror: mirror.url, cwd: elsewhere };
    const before = mirror.requests.length;
    const first = await loadDataset({ name: "gsm8k", limit: 3 }, sources);
    expect(mirror.requests.slice(before)).toEqual([gsm8kPath()]);
    expect(first.map((r) => r.reference)).toEqual(["18", "3", "70000"]);
    // Only the verified file is left: no temporary, no recorded hash (this one is pinned).
    expect(readdirSync(cacheDir)).toEqual(["gsm8k-test.jsonl"]);
    expect(sha256(readFileSync(join(cacheDir, "gsm8k-test.jsonl")))).toBe(datasetHomes.gsm8k.sha256);

    const again = await loadDataset({ name: "gsm8k", limit: 3 }, sources);
    expect(mirror.requests.length).toBe(before + 1);
    expect(again).toEqual(first);
    expect((await locateDataset("gsm8k", sources)).origin).toBe("cache");
  });

  it("fetches gzipped HumanEval and reads it", async () => {
    const cacheDir = freshCache();
    const rows = await loadDataset({ name: "humaneval" }, { cacheDir, mirror: mirror.url, cwd: elsewhere });
    expect(rows).toHaveLength(164);
    expect(rows[0]).toMatchObject({ id: "HumanEval/0", reference: "has_close_elements" });
    expect(readdirSync(cacheDir)).toEqual(["HumanEval.jsonl.gz"]);
  });

  it("refuses a file whose sha256 is not the published one, and keeps nothing", async () => {
    const cacheDir = freshCache();
    const home = datasetHomes.aime24;
    const published = readFileSync(join(sharedDatasets, home.file));
    const tampered = Buffer.from(published.toString("utf8").replace('"answer":"204"', '"answer":"205"'));
    expect(tampered.equals(published)).toBe(false);
    mirror.serve(mirrorPath(home), tampered);
    try {
      const error = await loadDataset(
        { name: "aime24" },
        { cacheDir, mirror: mirror.url, cwd: elsewhere },
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DatasetIntegrityError);
      expect((error as Error).message).toContain(sha256(tampered));
      expect((error as Error).message).toContain(home.sha256);
      expect(existsSync(cacheDir)).toBe(false);
    } finally {
      mirror.serve(mirrorPath(home), published);
    }
  });

  it("keeps nothing of a download cut off halfway", async () => {
    const cacheDir = freshCache();
    const home = datasetHomes.amc23;
    mirror.serve(mirrorPath(home), "cut");
    try {
      await expect(
        loadDataset({ name: "amc23" }, { cacheDir, mirror: mirror.url, cwd: elsewhere }),
      ).rejects.toBeInstanceOf(DatasetUnavailableError);
      expect(existsSync(cacheDir) ? readdirSync(cacheDir) : []).toEqual([]);
    } finally {
      mirror.serve(mirrorPath(home), readFileSync(join(sharedDatasets, home.file)));
    }
  });

  it("says, when the home cannot be reached, which dataset, which URL, why, and how to provide the file", async () => {
    const down = await startDatasetMirror();
    await down.close();
    const cacheDir = freshCache();
    const error = await loadDataset(
      { name: "math500" },
      { cacheDir, mirror: down.url, cwd: elsewhere },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetUnavailableError);
    const url = `${down.url}${mirrorPath(datasetHomes.math500)}`;
    expect((error as DatasetUnavailableError).url).toBe(url);
    const message = (error as Error).message;
    expect(message).toContain(`cannot fetch dataset math500 from ${url}: `);
    expect(message).toContain("ECONNREFUSED");
    expect(message).toContain(`save it as ${join(cacheDir, "math500-test.jsonl")}`);
    expect(message).toContain(datasetHomes.math500.url);
    expect(message).toContain("--dataset-path FILE");
    expect(existsSync(cacheDir)).toBe(false);
  });

  it("refuses a cached file changed after it was fetched", async () => {
    const cacheDir = freshCache();
    const sources = { cacheDir, mirror: mirror.url, cwd: elsewhere };
    await loadDataset({ name: "amc23" }, sources);
    const cached = join(cacheDir, "amc23-test.jsonl");
    const changed = readFileSync(cached, "utf8").replace('"answer":27.0', '"answer":28.0');
    expect(changed).not.toBe(readFileSync(cached, "utf8"));
    writeFileSync(cached, changed);
    const error = await loadDataset({ name: "amc23" }, sources).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DatasetIntegrityError);
    expect((error as Error).message).toContain(`the cached amc23 at ${cached}`);
    expect((error as Error).message).toContain("delete it to fetch the dataset again");
  });

  it("reads the development copy when the cache is empty, and the cache before it", async () => {
    const cacheDir = freshCache();
    const sources = { cacheDir, mirror: mirror.url, cwd: repoRoot };
    const before = mirror.requests.length;
    const development = await locateDataset("math500", sources);
    expect(development).toMatchObject({
      origin: "development copy",
      path: "../shared/datasets/math500-test.jsonl",
    });
    expect(mirror.requests.length).toBe(before);
    expect(existsSync(cacheDir)).toBe(false);

    await locateDataset("math500", { ...sources, cwd: elsewhere });
    expect((await locateDataset("math500", sources)).origin).toBe("cache");
    expect(mirror.requests.length).toBe(before + 1);
  });
});

describe("a dataset without a pinned hash", () => {
  const home: DatasetHome = {
    ...datasetHomes.gsm8k,
    sha256: undefined,
    url: "https://datasets.example/unpinned/gsm8k.jsonl",
    file: "unpinned-gsm8k.jsonl",
  };
  const validate = (bytes: Buffer, source: string) => {
    parseDatasetText("gsm8k", bytes.toString("utf8"), source);
  };

  it("records the hash of its first fetch and checks every later read against it", async () => {
    const bytes = readFileSync(join(sharedDatasets, "gsm8k-test.jsonl"));
    mirror.serve(mirrorPath(home), bytes);
    const cacheDir = freshCache();
    const fetched = await fetchDataset(home, { cacheDir, mirror: mirror.url, validate });
    expect(readdirSync(cacheDir).sort()).toEqual(["unpinned-gsm8k.jsonl", "unpinned-gsm8k.jsonl.sha256"]);
    expect(readFileSync(`${fetched.path}.sha256`, "utf8")).toBe(`${sha256(bytes)}  unpinned-gsm8k.jsonl\n`);
    expect(readVerified(home, fetched.path).equals(bytes)).toBe(true);

    writeFileSync(fetched.path, Buffer.concat([bytes, Buffer.from("\n")]));
    expect(() => readVerified(home, fetched.path)).toThrow(DatasetIntegrityError);
    expect(() => readVerified(home, fetched.path)).toThrow(/recorded when it was fetched from/);
  });

  it("keeps nothing when what arrives does not read as the dataset", async () => {
    mirror.serve(mirrorPath(home), Buffer.from("<html><body>Rate limited</body></html>\n"));
    const cacheDir = freshCache();
    await expect(fetchDataset(home, { cacheDir, mirror: mirror.url, validate })).rejects.toThrow(
      /unpinned\/gsm8k\.jsonl line 1: not valid JSON/,
    );
    expect(existsSync(cacheDir)).toBe(false);
  });
});

describe("where datasets are cached and fetched from", () => {
  it("takes RECKON_DATASETS_DIR, else XDG_CACHE_HOME, else ~/.cache", () => {
    expect(datasetCacheDir({ RECKON_DATASETS_DIR: "/data/sets", XDG_CACHE_HOME: "/xdg" })).toBe("/data/sets");
    expect(datasetCacheDir({ XDG_CACHE_HOME: "/xdg" })).toBe("/xdg/reckon/datasets");
    // A relative XDG_CACHE_HOME is ignored, as the specification says.
    expect(datasetCacheDir({ XDG_CACHE_HOME: "xdg" })).toBe(join(homedir(), ".cache", "reckon", "datasets"));
    expect(datasetCacheDir({})).toBe(join(homedir(), ".cache", "reckon", "datasets"));
  });

  it("takes a mirror base URL from RECKON_DATASETS_MIRROR and refuses anything but http(s)", () => {
    expect(datasetMirror({ RECKON_DATASETS_MIRROR: "http://mirror.local/sets/" })).toBe(
      "http://mirror.local/sets",
    );
    expect(datasetMirror({})).toBeUndefined();
    expect(() => datasetMirror({ RECKON_DATASETS_MIRROR: "/srv/sets" })).toThrow(InvalidInputError);
    expect(() => datasetMirror({ RECKON_DATASETS_MIRROR: "/srv/sets" })).toThrow(/RECKON_DATASETS_MIRROR/);
  });
});
