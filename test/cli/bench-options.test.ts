/**
 * `reckon bench --options '<json>'` (the one strategy's options, checked by its own schema) and
 * `--api-key-env NAME` (the key read from that variable, never stored), as a user runs them
 * against a loopback OpenAI-compatible server that checks the Authorization header; the same
 * `--api-key-env` for `reckon ask` and `--upstream-api-key-env` for `reckon serve`.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunSummary } from "../../src/bench/summary.js";
import { openStore } from "../../src/store/sqlite.js";
import { reckon } from "../support/cli.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";

const serverKey = "sk-bench-7c1e9a3f5d";
let dir: string;
let server: OpenAITestServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "reckon-bench-options-"));
  server = await startOpenAITestServer({ apiKey: serverKey, respond: () => "A: 7" });
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const bench = (db: string, ...args: string[]) => [
  "bench",
  "--dataset",
  "arithmetic",
  "--levels",
  "1",
  "--per-level",
  "2",
  "--backend",
  `openai:${server.url}`,
  "--model",
  "m",
  "--mode",
  "completion",
  "--db",
  db,
  ...args,
];

// The key the run must use is only in BENCH_KEY; OPENAI_API_KEY holds a wrong one.
const env = { BENCH_KEY: serverKey, OPENAI_API_KEY: "sk-wrong-2b4d6f8a0c" };

describe("reckon bench --options and --api-key-env", () => {
  it("runs the strategy with the options given, reads the key from the named variable, and stores the options but never the key", async () => {
    const db = join(dir, "options.sqlite");
    const before = server.requests.length;
    const run = await reckon(
      bench(
        db,
        "--strategy",
        "self-consistency",
        "--options",
        '{"n": 3, "batchSize": 1}',
        "--api-key-env",
        "BENCH_KEY",
        "--run-id",
        "with-options",
        "--json",
      ),
      { env },
    );
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse(run.stdout) as RunSummary;
    expect(summary.samples).toBe(6);

    // The options reached the strategy: 3 samples per problem, one per call (batchSize 1),
    // every call carrying the key from BENCH_KEY.
    const sent = server.requests.slice(before);
    expect(sent).toHaveLength(6);
    for (const request of sent) {
      expect(request.body.n ?? 1).toBe(1);
      expect(request.authorization).toBe(`Bearer ${serverKey}`);
    }

    // Stored as a recipe file's per-strategy options are; the key nowhere in the database.
    const store = openStore(db, { create: false });
    try {
      const recipe = store.getRun("with-options").recipe as { strategies: unknown[] };
      expect(recipe.strategies).toEqual([{ name: "self-consistency", options: { n: 3, batchSize: 1 } }]);
      expect(JSON.stringify(recipe)).not.toContain(serverKey);
    } finally {
      store.close();
    }
    for (const file of readdirSync(dir).filter((f) => f.startsWith("options.sqlite")))
      expect(readFileSync(join(dir, file)).includes(serverKey)).toBe(false);
  });

  it("refuses --options with two strategies, and a bad option naming its field, before any run is made", async () => {
    const db = join(dir, "refused.sqlite");
    const two = await reckon(
      bench(db, "--strategy", "self-consistency,best-of-n", "--options", '{"n": 2}', "--verifier", "reward"),
      { env },
    );
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/invalid --options: .*2 are selected \(self-consistency, best-of-n\)/);

    const bad = await reckon(bench(db, "--strategy", "self-consistency", "--options", '{"batchSize": 0}'), {
      env,
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid --options\.batchSize: /);

    const unknown = await reckon(
      bench(db, "--strategy", "self-consistency", "--options", '{"beamWidth": 4}'),
      { env },
    );
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/invalid --options: .*beamWidth/);
    expect(server.requests.filter((r) => r.body.n === 2)).toHaveLength(0);
  });

  it("refuses --api-key-env naming a variable that is not set or is empty, before creating anything", async () => {
    const db = join(dir, "no-key.sqlite");
    const unset = await reckon(bench(db, "--api-key-env", "RECKON_TEST_NO_SUCH_KEY"), { env });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(
      /invalid --api-key-env: the environment variable RECKON_TEST_NO_SUCH_KEY is not set/,
    );
    const empty = await reckon(bench(db, "--api-key-env", "EMPTY_KEY"), { env: { ...env, EMPTY_KEY: "" } });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/the environment variable EMPTY_KEY is empty/);
    expect(existsSync(db)).toBe(false);
  });
});

describe("--api-key-env of reckon ask and --upstream-api-key-env of reckon serve", () => {
  it("ask reads the key from the named variable; a missing one is an error naming it", async () => {
    const args = ["ask", "Q: 3+4=?", "--endpoint", server.url, "--model", "m", "--mode", "completion"];
    const answered = await reckon([...args, "--strategy", "single", "--api-key-env", "BENCH_KEY", "--json"], {
      env,
    });
    expect(answered.code, answered.stderr).toBe(0);
    expect(JSON.parse(answered.stdout).answer).toBe("7");
    expect(server.requests.at(-1)!.authorization).toBe(`Bearer ${serverKey}`);

    const missing = await reckon([...args, "--api-key-env", "RECKON_TEST_NO_SUCH_KEY"], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(
      /--api-key-env: the environment variable RECKON_TEST_NO_SUCH_KEY is not set/,
    );
  });

  it("serve refuses a missing upstream key variable, naming the flag", async () => {
    const run = await reckon([
      "serve",
      "--port",
      "0",
      "--upstream",
      server.url,
      "--upstream-api-key-env",
      "RECKON_TEST_NO_SUCH_KEY",
    ]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(
      /--upstream-api-key-env: the environment variable RECKON_TEST_NO_SUCH_KEY is not set/,
    );
  });
});
