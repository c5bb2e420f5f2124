/**
 * The /ui dashboard end to end in headless Chromium: live requests of a serving proxy
 * (refreshed by the page's script), upstream health, a bench run from a real SQLite store
 * with its chart, and a problem's candidates, votes and trace tree.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOpenAIBackend } from "../../src/backends/openai.js";
import { startBench } from "../../src/bench/runner.js";
import { openStore, type RunStore } from "../../src/store/sqlite.js";
import { generateArithmeticProblems, toProblem } from "../../src/tasks/arithmetic.js";
import { arithmeticResponder } from "../support/arithmetic-responder.js";
import { launchChromium } from "../support/chromium.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";
import { postJson, type RunningProxy, startProxy } from "./helpers.js";

const dataset = { levels: [2], perLevel: 3, seed: 9 };
const problems = generateArithmeticProblems({ level: 2, count: 3, seed: 9 }).map(toProblem);
let upstream: OpenAITestServer;
let store: RunStore;
let proxy: RunningProxy;
let browser: Browser;

beforeAll(async () => {
  upstream = await startOpenAITestServer({ respond: arithmeticResponder(dataset) });
  store = openStore(join(mkdtempSync(join(tmpdir(), "reckon-ui-")), "runs.sqlite"));
  // A real bench run: a sampling strategy, a voting one and a tree search with a process verifier.
  await startBench(
    {
      name: "dashboard test",
      dataset: { name: "arithmetic", ...dataset },
      strategies: [
        "single",
        { name: "self-consistency", grid: { n: [4] } },
        { name: "beam-search", options: { n: 4, beamWidth: 2, maxDepth: 3 } },
      ],
      verifier: "step-checker",
      sampling: { max_tokens: 32 },
      seed: 1,
      metrics: { bootstrapResamples: 50 },
    },
    {
      store,
      backend: createOpenAIBackend({ baseURL: upstream.url, model: "test-model", mode: "completion" }),
      runId: "tiny-run",
    },
  );

  proxy = await startProxy({ upstreams: [upstream.url], task: "arithmetic" }, { runs: store });
  for (const [i, problem] of problems.slice(0, 2).entries())
    await postJson(`${proxy.url}/v1/completions`, {
      model: "self-consistency-5/test-model",
      prompt: problem.prompt,
      seed: 2,
      stream: i === 1,
    });

  browser = await launchChromium();
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
    expect(await page.locator("#configs tbody tr").count()).toBe(3);
    expect(await page.locator("#problems tbody tr").count()).toBe(3);

    await page.click(`#problems a:text('${problems[0]!.id}')`);
    await page.waitForURL(/\/problems\//);
    expect(await page.locator("pre.question").textContent()).toBe(store.getProblems("tiny-run")[0]!.question);
    const sections = page.locator("details.result");
    expect(await sections.count()).toBe(3);
    const voting = page.locator("details.result[data-config='self-consistency n=4']");
    await voting.locator("summary").click();
    expect(await voting.locator("table.candidates tbody tr").count()).toBe(4);
    const votes = await voting.locator("table.tally tbody td:nth-child(2)").allTextContents();
    expect(votes.map(Number).reduce((a, b) => a + b, 0)).toBe(4);
    expect(await voting.locator(".trace li[data-kind='sample']").count()).toBe(4);

    // The search tree: every event is drawn inside the item of its parent event.
    const stored = store.getResults("tiny-run", { problemId: problems[0]!.id, config: "beam-search" })[0]!;
    expect(stored.trace.some((e) => e.kind === "step")).toBe(true);
    const tree = page.locator("details.result[data-config='beam-search'] .trace");
    for (const event of stored.trace.filter((e) => e.parent !== undefined).slice(0, 12)) {
      const item = tree.locator(`li[data-id='${event.id}']`);
      expect(await item.count()).toBe(1);
      expect(await item.locator(`xpath=ancestor::li[@data-id='${event.parent}']`).count()).toBe(1);
    }
    await page.screenshot({ path: "/tmp/reckon-dashboard.png", fullPage: true });
    expect(problemsSeen).toEqual([]);
  });

  it("answers an unknown run or problem with 404", async () => {
    expect((await fetch(`${proxy.url}/ui/runs/nope`)).status).toBe(404);
    expect((await fetch(`${proxy.url}/ui/runs/tiny-run/problems/nope`)).status).toBe(404);
  });
});
