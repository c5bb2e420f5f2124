/**
 * The /ui dashboard end to end in headless Chromium: live requests of a serving proxy
 * (refreshed by the page's script), upstream health, a bench run from a real SQLite store
 * with its chart, and a problem's candidates, votes and trace tree.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import { collectTrace, type TraceEvent } from "../../src/core/trace.js";
import { run } from "../../src/run.js";
import { openStore, type RunStore } from "../../src/store/sqlite.js";
import { arithmeticTask, generateArithmeticProblems, toProblem } from "../../src/tasks/arithmetic.js";
import { arithmeticResponder } from "../support/arithmetic-responder.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";
import { postJson, type RunningProxy, startProxy } from "./helpers.js";

const dataset = { levels: [2], perLevel: 3, seed: 9 };
const problems = generateArithmeticProblems({ level: 2, count: 3, seed: 9 }).map(toProblem);
let upstream: OpenAITestServer;
let store: RunStore;
let proxy: RunningProxy;
let browser: Browser;

/** A search tree as a tree strategy traces it: a root, two expansions, one pruned. */
const searchTree: TraceEvent[] = [
  { id: 0, kind: "scope", text: "beam-search", at: 0 },
  { id: 1, parent: 0, kind: "expanded", text: "step 1: 3*4=12", score: 0.9, at: 1 },
  { id: 2, parent: 0, kind: "pruned", text: "step 1: 3*4=11", score: 0.1, at: 2 },
  { id: 3, parent: 1, kind: "expanded", text: "step 2: 12+5=17", score: 0.8, at: 3 },
  { id: 4, parent: 3, kind: "answer", text: "17", at: 4 },
];

beforeAll(async () => {
  upstream = await startOpenAITestServer({ respond: arithmeticResponder(dataset) });
  store = openStore(join(mkdtempSync(join(tmpdir(), "reckon-ui-")), "runs.sqlite"));
  store.createRun({
    id: "tiny-run",
    recipe: { name: "dashboard test" },
    seed: 9,
    backend: "openai:test-model",
    problems: problems.map((p, position) => ({
      problemId: p.id,
      position,
      question: String(p.prompt),
      prompt: String(p.prompt),
      reference: p.reference!,
      level: 2,
    })),
  });
  const backend = createOpenAIBackend({ baseURL: upstream.url, model: "test-model", mode: "completion" });
  for (const problem of problems)
    for (const [strategy, n] of [
      ["single", 1],
      ["self-consistency", 4],
    ] as const) {
      const trace = collectTrace();
      const result = await run({
        problem,
        backend,
        strategy,
        options: strategy === "single" ? {} : { n },
        sampling: { seed: 1 },
        trace: trace.sink,
      });
      store.results.add("tiny-run", {
        problemId: problem.id,
        config: strategy === "single" ? "single" : `self-consistency n=${n}`,
        strategy,
        series: strategy,
        budget: n,
        options: strategy === "single" ? {} : { n },
        answer: result.answer,
        correct: (await arithmeticTask.grade(result.answer, problem)).correct,
        stopReason: result.stopReason,
        usage: result.usage,
        candidates: result.candidates.map(({ text, answer, score, tokens, finishReason }) => ({
          text,
          answer,
          score,
          tokens,
          finishReason,
        })),
        trace: problem === problems[0] && strategy === "single" ? searchTree : trace.events,
      });
    }
  store.setRunStatus("tiny-run", "completed");

  proxy = await startProxy({ upstreams: [upstream.url], task: "arithmetic" }, { runs: store });
  for (const [i, problem] of problems.slice(0, 2).entries())
    await postJson(`${proxy.url}/v1/completions`, {
      model: "self-consistency-5/test-model",
      prompt: problem.prompt,
      seed: 2,
      stream: i === 1,
    });

  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  store?.close();
  await upstream?.close();
});

describe("the dashboard in headless Chromium", () => {
  it("shows live requests, refreshes them, and walks from a run to a problem's candidates and tree", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problemsSeen: string[] = [];
    page.on("pageerror", (error) => problemsSeen.push(error.message));
    page.on("console", (message) => {
      if (message.type() === "error") problemsSeen.push(message.text());
    });

    await page.goto(`${proxy.url}/ui`);
    const live = page.locator("#live tbody tr");
    await expect(live.count()).resolves.toBe(2);
    const first = await live.nth(0).locator("td").allTextContents();
    expect(first[2]).toBe("self-consistency (stream)");
    expect(first[4]).toBe("200");
    expect(Number(first[7])).toBeGreaterThan(0);
    expect(await page.locator("#upstreams td.ok").textContent()).toBe("healthy");

    // A request made while the page is open appears without a reload.
    await postJson(`${proxy.url}/v1/completions`, {
      model: "single/test-model",
      prompt: problems[2]!.prompt,
    });
    // A string, evaluated in the page: this project's TypeScript has no DOM types.
    await page.waitForFunction('document.querySelectorAll("#live tbody tr").length === 3', undefined, {
      timeout: 10_000,
    });
    expect(await live.nth(0).locator("td").nth(2).textContent()).toBe("single");

    await page.click("#run-list a:text('tiny-run')");
    await page.waitForURL(/\/ui\/runs\/tiny-run$/);
    const chart = page.locator(".chart svg");
    expect(await chart.isVisible()).toBe(true);
    expect((await chart.boundingBox())!.width).toBeGreaterThan(400);
    expect(await page.locator(".chart svg").textContent()).toContain("self-consistency");
    expect(await page.locator("#configs tbody tr").count()).toBe(2);
    expect(await page.locator("#problems tbody tr").count()).toBe(3);

    await page.click(`#problems a:text('${problems[0]!.id}')`);
    await page.waitForURL(/\/problems\//);
    expect(await page.locator("pre.question").textContent()).toBe(String(problems[0]!.prompt));
    const sections = page.locator("details.result");
    expect(await sections.count()).toBe(2);
    const voting = page.locator("details.result[data-config='self-consistency n=4']");
    await voting.locator("summary").click();
    expect(await voting.locator("table.candidates tbody tr").count()).toBe(4);
    const votes = await voting.locator("table.tally tbody td:nth-child(2)").allTextContents();
    expect(votes.map(Number).reduce((a, b) => a + b, 0)).toBe(4);
    expect(await voting.locator(".trace li[data-kind='sample']").count()).toBe(4);

    // The search tree: nesting follows the parent ids.
    const tree = page.locator("details.result[data-config='single'] .trace");
    expect(await tree.locator("li[data-kind='pruned']").count()).toBe(1);
    const answer = tree.locator("li[data-id='4']");
    expect(await answer.locator("xpath=ancestor::li").count()).toBe(3);
    expect(await tree.locator("li[data-id='2'] li").count()).toBe(0);
    await page.screenshot({ path: "/tmp/reckon-dashboard.png", fullPage: true });
    expect(problemsSeen).toEqual([]);
  });

  it("answers an unknown run or problem with 404", async () => {
    expect((await fetch(`${proxy.url}/ui/runs/nope`)).status).toBe(404);
    expect((await fetch(`${proxy.url}/ui/runs/tiny-run/problems/nope`)).status).toBe(404);
  });
});
