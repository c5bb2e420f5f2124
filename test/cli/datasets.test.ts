/**
 * Named datasets as a user meets them: `reckon bench --dataset gsm8k` run from a folder with no
 * `../shared` beside it fetches the set from its home (a loopback mirror here) once and reads
 * the cache afterwards; a refused bench leaves no file behind; `reckon datasets` lists the sets
 * and where they are cached; `--dataset-path` with `--fields` reads any JSONL file.
 */
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { datasetHomes, datasetNames } from "../../src/bench/dataset-registry.js";
import { loadDataset } from "../../src/bench/datasets.js";
import type { RunSummary } from "../../src/bench/summary.js";
import { type CliRun, reckon } from "../support/cli.js";
import {
  type DatasetMirror,
  mirrorPath,
  sharedDatasets,
  startDatasetMirror,
} from "../support/dataset-mirror.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";

/** The CLI from source, run in `cwd` (not the repository), with no dataset mirror unless given. */
const reckonIn = (cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> =>
  reckon(args, { cwd, env: { RECKON_DATASETS_MIRROR: undefined, ...env } });

const root = mkdtempSync(join(tmpdir(), "reckon-datasets-cli-"));
let mirror: DatasetMirror;
let model: OpenAITestServer;
let folders = 0;
/** An empty folder outside the repository, with no `../shared` beside it. */
function emptyFolder(): string {
  const dir = join(root, `user-${++folders}`, "project");
  mkdirSync(dir, { recursive: true });
  expect(existsSync(join(dir, "..", "shared"))).toBe(false);
  return dir;
}

const gsm8kQuestions = new Map<string, string>();

beforeAll(async () => {
  mirror = await startDatasetMirror();
  for (const row of await loadDataset({ name: "gsm8k", path: join(sharedDatasets, "gsm8k-test.jsonl") }))
    gsm8kQuestions.set(row.question, row.reference);
  // A model that knows GSM8K's answers: right only when the prompts carry the real questions.
  model = await startOpenAITestServer({
    respond: ({ prompt }) => {
      for (const [question, reference] of gsm8kQuestions)
        if (prompt.includes(question)) return `Working it out.\n#### ${reference}`;
      return "#### 0";
    },
  });
});
afterAll(async () => {
  await mirror.close();
  await model.close();
  rmSync(root, { recursive: true, force: true });
});

describe("reckon bench --dataset NAME from anywhere", () => {
  it("fetches GSM8K from its home into the cache on the first run, and reads the cache on the second", async () => {
    const cwd = emptyFolder();
    const cache = join(root, "cache-first-use");
    const env = { RECKON_DATASETS_DIR: cache, RECKON_DATASETS_MIRROR: mirror.url };
    const args = ["bench", "--dataset", "gsm8k", "--limit", "5", "--backend", `openai:${model.url}`];
    const common = [...args, "--model", "m", "--strategy", "single", "--json"];
    const before = mirror.requests.length;

    const first = await reckonIn(cwd, common, env);
    expect(first.code, first.stderr).toBe(0);
    expect(mirror.requests.slice(before)).toEqual([mirrorPath(datasetHomes.gsm8k)]);
    const summary = JSON.parse(first.stdout) as RunSummary;
    expect(summary.problems).toBe(5);
    expect(summary.strategies.single![0]!.accuracy).toBe(1);
    expect(readdirSync(cache)).toEqual(["gsm8k-test.jsonl"]);
    // The run's database is the default one, in the folder the command ran in.
    expect(readdirSync(cwd)).toEqual([".reckon"]);

    const second = await reckonIn(cwd, [...common.slice(0, -1)], env);
    expect(second.code, second.stderr).toBe(0);
    expect(mirror.requests.length).toBe(before + 1);
    expect(second.stdout).toMatch(/single/);
    expect(second.stderr).not.toContain("fetching");

    const listed = await reckonIn(cwd, ["datasets", "--json"], env);
    const { datasets } = JSON.parse(listed.stdout) as { datasets: { name: string; cached: string | null }[] };
    expect(datasets.find((d) => d.name === "gsm8k")!.cached).toBe(join(cache, "gsm8k-test.jsonl"));
    expect(datasets.filter((d) => d.cached !== null).map((d) => d.name)).toEqual(["gsm8k"]);
  });

  it("says on stderr what it fetches, from where, into where", async () => {
    const cwd = emptyFolder();
    const cache = join(root, "cache-note");
    const run = await reckonIn(
      cwd,
      ["bench", "--dataset", "aime24", "--limit", "2", "--backend", `openai:${model.url}`, "--model", "m"],
      { RECKON_DATASETS_DIR: cache, RECKON_DATASETS_MIRROR: mirror.url },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(
      `note: fetching dataset aime24 from ${mirror.url}${mirrorPath(datasetHomes.aime24)} into ${join(cache, "aime24-test.jsonl")}`,
    );
  });
});

describe("a refused bench leaves no file behind", () => {
  it("when the home cannot be reached: the error names the dataset, the URL, the cause and the way out", async () => {
    const down = await startDatasetMirror();
    await down.close();
    const cwd = emptyFolder();
    const cache = join(root, "cache-offline");
    const run = await reckonIn(cwd, ["bench", "--dataset", "math500", "--limit", "3"], {
      RECKON_DATASETS_DIR: cache,
      RECKON_DATASETS_MIRROR: down.url,
    });
    expect(run.code).toBe(2);
    const url = `${down.url}${mirrorPath(datasetHomes.math500)}`;
    expect(run.stderr).toContain(`reckon: cannot fetch dataset math500 from ${url}: connect ECONNREFUSED`);
    expect(run.stderr).toContain(`save it as ${join(cache, "math500-test.jsonl")}`);
    expect(run.stderr).toContain("--dataset-path FILE");
    expect(readdirSync(cwd)).toEqual([]);
    expect(existsSync(cache)).toBe(false);
  });

  it("when the dataset is unknown, or its file is bad, and an existing database is kept", async () => {
    const cwd = emptyFolder();
    const env = { RECKON_DATASETS_DIR: join(root, "cache-refused"), RECKON_DATASETS_MIRROR: mirror.url };
    const unknown = await reckonIn(cwd, ["bench", "--dataset", "mmlu"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("dataset.name");
    expect(readdirSync(cwd)).toEqual([]);

    writeFileSync(join(cwd, "bad.jsonl"), `${JSON.stringify({ question: "1+1?", answer: "two" })}\n`);
    const bad = await reckonIn(
      cwd,
      ["bench", "--dataset", "gsm8k", "--dataset-path", "bad.jsonl", "--db", "runs/r.sqlite"],
      env,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid bad.jsonl line 1, field "answer"');
    expect(readdirSync(cwd)).toEqual(["bad.jsonl"]);

    // A database that was there before is the user's: a refused run leaves it as it was.
    const good = jsonlFile(cwd, "good.jsonl", [{ q: "2+2?", a: "4" }]);
    const ran = await reckonIn(
      cwd,
      [
        "bench",
        "--dataset",
        "gsm8k",
        "--dataset-path",
        good,
        "--fields",
        "prompt=q,answer=a",
        "--backend",
        `openai:${model.url}`,
        "--model",
        "m",
        "--strategy",
        "single",
      ],
      { ...env, RECKON_DATASETS_MIRROR: undefined },
    );
    expect(ran.code, ran.stderr).toBe(0);
    const db = join(cwd, ".reckon", "reckon.sqlite");
    const kept = readFileSync(db);
    const again = await reckonIn(cwd, ["bench", "--dataset", "gsm8k", "--dataset-path", "bad.jsonl"], env);
    expect(again.code).toBe(2);
    expect(readFileSync(db).equals(kept)).toBe(true);
  });
});

function jsonlFile(dir: string, name: string, rows: unknown[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${rows.map((row) => JSON.stringify(row)).join("\n")}\n`);
  return path;
}

describe("--dataset-path with --fields", () => {
  it("reads any JSONL file, requiring only the fields the task uses", async () => {
    const cwd = emptyFolder();
    const file = jsonlFile(cwd, "mine.jsonl", [
      { id: "q1", question: "What is $3 \\cdot 4$?", final: "12" },
      { id: "q2", question: "What is $\\frac{1}{2} + \\frac{1}{4}$?", final: "\\frac{3}{4}" },
    ]);
    const args = [
      "bench",
      "--dataset",
      "math500",
      "--dataset-path",
      file,
      "--backend",
      `openai:${model.url}`,
      "--model",
      "m",
    ];
    const run = await reckonIn(
      cwd,
      [...args, "--strategy", "single", "--fields", "id=id,prompt=question,answer=final", "--json"],
      {},
    );
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as RunSummary).problems).toBe(2);

    const typo = await reckonIn(cwd, [...args, "--fields", "promt=question"], {});
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('invalid dataset.fields.promt: math500 reads no field "promt"');
    const missing = await reckonIn(cwd, [...args, "--fields", "prompt=question,answer=result"], {});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('invalid mine.jsonl line 1, field "result": missing (read as answer)');
    const malformed = await reckonIn(cwd, [...args, "--fields", "prompt"], {});
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toContain("--fields");
    expect(readdirSync(cwd).sort()).toEqual([".reckon", "mine.jsonl"]);
  });
});

describe("reckon datasets", () => {
  it("lists every named dataset with its problems, home and cache state", async () => {
    const cwd = emptyFolder();
    const cache = join(root, "cache-list");
    const run = await reckonIn(cwd, ["datasets"], { RECKON_DATASETS_DIR: cache });
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(`cache: ${cache}`);
    expect(lines[1]).toMatch(/^name\s+problems\s+cached\s+home$/);
    for (const [i, name] of datasetNames.entries()) {
      const home = datasetHomes[name];
      expect(lines[i + 2]).toMatch(
        new RegExp(`^${name}\\s+${home.problems}\\s+not fetched\\s+${home.url.replace(/[.?]/g, "\\$&")}$`),
      );
    }
    const json = await reckonIn(cwd, ["datasets", "--json"], {
      RECKON_DATASETS_DIR: cache,
      RECKON_DATASETS_MIRROR: mirror.url,
    });
    const listed = JSON.parse(json.stdout) as {
      cacheDir: string;
      mirror: string;
      datasets: Record<string, unknown>[];
    };
    expect(listed.cacheDir).toBe(cache);
    expect(listed.mirror).toBe(mirror.url);
    expect(listed.datasets.map((d) => d.name)).toEqual([...datasetNames]);
    expect(listed.datasets[0]).toMatchObject({
      name: "gsm8k",
      problems: 1319,
      url: datasetHomes.gsm8k.url,
      sha256: datasetHomes.gsm8k.sha256,
      fetchUrl: `${mirror.url}${mirrorPath(datasetHomes.gsm8k)}`,
      cached: null,
      developmentCopy: null,
    });
  });
});
