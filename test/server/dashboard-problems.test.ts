/**
 * The run page of `reckon ui` in headless Chromium: the run's name and id, and a problem table
 * a user can work with: filtered (wrong answers, a level, disputed problems), sorted by a
 * column, paged, all from links and a form that work without scripts; a bad parameter is a 400
 * that names it.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import { startBench } from "../../src/bench/runner.js";
import type { ResultFacts } from "../../src/store/results.js";
import { openStore, type ProblemRecord } from "../../src/store/sqlite.js";
import { arithmeticResponder } from "../support/arithmetic-responder.js";
import { launchChromium } from "../support/chromium.js";
import { repoRoot } from "../support/cli.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";

const dataset = { levels: [1, 2, 3], perLevel: 20, seed: 4 };
let dir: string;
let upstream: OpenAITestServer;
let ui: ChildProcess;
let url: string;
let browser: Browser;
let problems: ProblemRecord[];
let facts: ResultFacts[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "reckon-ui-problems-"));
  const db = join(dir, "runs.sqlite");
  upstream = await startOpenAITestServer({ respond: arithmeticResponder(dataset) });
  const store = openStore(db);
  try {
    await startBench(
      {
        name: "problem table test",
        dataset: { name: "arithmetic", ...dataset },
        strategies: ["single", { name: "self-consistency", grid: { n: [4] } }],
        sampling: { max_tokens: 32 },
        seed: 3,
        metrics: { bootstrapResamples: 20 },
      },
      {
        store,
        backend: createOpenAIBackend({ baseURL: upstream.url, model: "test-model", mode: "completion" }),
        runId: "table-run",
      },
    );
    problems = store.getProblems("table-run");
    facts = store.results.facts("table-run");
  } finally {
    store.close();
  }

  // The dashboard as a user starts it, on a free port it reports.
  ui = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "ui", "--db", db, "--port", "0"], {
    cwd: repoRoot,
    stdio: ["ignore", "ignore", "pipe"],
  });
  url = await new Promise<string>((resolve, reject) => {
    let stderr = "";
    ui.stderr!.on("data", (chunk) => {
      stderr += chunk;
      const found = /at (http:\/\/\S+\/ui)/.exec(stderr);
      if (found) resolve(found[1]!.replace(/\/ui$/, ""));
    });
    ui.once("exit", (code) => reject(new Error(`reckon ui exited (${code}): ${stderr}`)));
  });

  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (ui?.exitCode === null) {
    const exited = new Promise((resolve) => ui.once("exit", resolve));
    ui.kill("SIGTERM");
    await exited;
  }
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

const runUrl = () => `${url}/ui/runs/table-run`;
const shownIds = (page: Page) =>
  page
    .locator("#problems tbody tr")
    .evaluateAll((rows) => rows.map((row) => row.getAttribute("data-problem")!));
const values = (page: Page, column: string) =>
  page
    .locator(`#problems tbody td.${column}`)
    .evaluateAll((cells) => cells.map((cell) => Number(cell.getAttribute("data-value"))));
const resultOf = (problemId: string, config: string) =>
  facts.find((r) => r.problemId === problemId && r.config === config)!;

async function open(path = ""): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  const response = await page.goto(`${runUrl()}${path}`);
  expect(response!.status()).toBe(200);
  expect(errors).toEqual([]);
  return page;
}

describe("the run page's problem table in headless Chromium", () => {
  it("shows the run's name and id", async () => {
    const page = await open();
    expect(await page.locator("#run-title").textContent()).toBe("problem table test");
    expect(await page.locator("#run-id").textContent()).toBe("table-run");
    expect(await page.title()).toContain("problem table test");
    await page.goto(`${url}/ui`);
    expect(await page.locator("#run-list tbody tr td").allTextContents()).toContain("problem table test");
    await page.close();
  });

  it("pages 50 problems at a time: page 2 shows the next ones", async () => {
    const page = await open();
    expect(problems).toHaveLength(60);
    expect(await shownIds(page)).toEqual(problems.slice(0, 50).map((p) => p.problemId));
    expect(await page.locator("#problem-count").textContent()).toBe("Problems 1–50 of 60.");
    await page.click("#problem-pages a[rel=next]");
    await page.waitForURL(/page=2/);
    expect(await shownIds(page)).toEqual(problems.slice(50).map((p) => p.problemId));
    expect(await page.locator("#problem-count").textContent()).toBe("Problems 51–60 of 60.");
    expect(await page.locator("#problem-pages a[rel=next]").count()).toBe(0);
    await page.click("#problem-pages a[rel=prev]");
    await page.waitForURL((u) => !u.search.includes("page="));
    expect(await shownIds(page)).toEqual(problems.slice(0, 50).map((p) => p.problemId));
    await page.close();
  });

  it("filters to one configuration's wrong answers, and only those", async () => {
    const page = await open();
    await page.selectOption("#problem-filters select[name=config]", "single");
    await page.selectOption("#problem-filters select[name=answers]", "wrong");
    await page.click("#problem-filters button[type=submit]");
    await page.waitForURL(/answers=wrong/);
    const wrong = problems.filter((p) => !resultOf(p.problemId, "single").correct).map((p) => p.problemId);
    expect(wrong.length).toBeGreaterThan(0);
    expect(wrong.length).toBeLessThan(60);
    expect(await shownIds(page)).toEqual(wrong);
    // Only the chosen configuration's column, and every cell of it a wrong answer.
    expect(await page.locator("#problems thead th").allTextContents()).not.toContain("self-consistency n=4");
    const cells = await page.locator("#problems tbody td.bad, #problems tbody td.ok").allTextContents();
    expect(cells).toHaveLength(wrong.length);
    for (const cell of cells) expect(cell.startsWith("✗")).toBe(true);
    expect(await page.locator("#problem-count").textContent()).toBe(
      `Problems 1–${wrong.length} of ${wrong.length} (filtered from 60).`,
    );

    // The correct ones are the rest.
    await page.goto(`${runUrl()}?config=single&answers=correct`);
    const right = await shownIds(page);
    expect(right.length).toBe(60 - wrong.length);
    for (const id of right) expect(resultOf(id, "single").correct).toBe(true);
    await page.close();
  });

  it("filters by level and by disagreement among the candidates", async () => {
    const page = await open("?level=2&per=100");
    expect(await shownIds(page)).toEqual(problems.filter((p) => p.level === 2).map((p) => p.problemId));
    await page.selectOption("#problem-filters select[name=disagree]", "yes");
    await page.click("#problem-filters button[type=submit]");
    await page.waitForURL(/disagree=yes/);
    expect(page.url()).toContain("level=2");
    const disputed = await page.locator("#problems tbody td.answers").allTextContents();
    expect(disputed.length).toBeGreaterThan(0);
    for (const cell of disputed) expect(Number(cell.split(" ")[0])).toBeGreaterThan(1);
    const agreed = await open("?level=2&per=100&disagree=no");
    const agreeing = await agreed.locator("#problems tbody td.answers").allTextContents();
    for (const cell of agreeing) expect(cell.startsWith("1 (")).toBe(true);
    expect(disputed.length + agreeing.length).toBe(20);
    await agreed.close();
    await page.close();
  });

  it("sorts by a column's header: tokens, most first, then the other way round", async () => {
    const page = await open("?per=100");
    await page.click("#problems th[data-sort=tokens] a");
    await page.waitForURL(/sort=tokens/);
    const descending = await values(page, "tokens");
    expect(descending).toHaveLength(60);
    expect(descending).toEqual([...descending].sort((a, b) => b - a));
    expect(new Set(descending).size).toBeGreaterThan(1);
    await page.click("#problems th[data-sort=tokens] a");
    await page.waitForURL(/order=asc/);
    const ascending = await values(page, "tokens");
    expect(ascending).toEqual([...descending].reverse());

    // Correctness: wrong first; a page of a sorted view continues the order.
    await page.goto(`${runUrl()}?sort=correct&per=25&page=2`);
    const all = await open("?sort=correct&per=100");
    expect(await shownIds(page)).toEqual((await shownIds(all)).slice(25, 50));
    const correct = await values(all, "correct");
    expect(correct).toEqual([...correct].sort((a, b) => a - b));
    await all.close();
    await page.close();
  });

  it("answers a bad parameter with 400 naming it", async () => {
    for (const [query, named] of [
      ["?sort=token", "invalid parameter sort"],
      ["?page=0", "invalid parameter page"],
      ["?answers=maybe", "invalid parameter answers"],
      ["?level=9", "invalid parameter level: no problem has level 9 (levels: 1, 2, 3)"],
      ["?config=nope", 'invalid parameter config: this run has no configuration "nope"'],
      ["?colour=red", "invalid parameter colour: unknown parameter"],
    ] as const) {
      const response = await fetch(`${runUrl()}${query}`);
      expect(response.status).toBe(400);
      expect(await response.text()).toContain(named.replaceAll('"', "&quot;"));
    }
  });
});
