/**
 * A reasoning model's thinking on the dashboard, in headless Chromium: on a bench run's problem
 * page (each candidate, and each sample of the trace tree, from its stored draw) and in the
 * proxy's live view (the chosen sample's), always collapsed above the answer until its summary
 * is clicked, escaped like any text; the run page's problem table reads none of it.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createReplayBackend } from "../../src/backends/replay.js";
import { type ReplayRow, writeReplayRows } from "../../src/backends/replay-format.js";
import { startBench } from "../../src/bench/runner.js";
import type { LiveRequest } from "../../src/server/live.js";
import { openStore, type RunStore } from "../../src/store/sqlite.js";
import { launchChromium } from "../support/chromium.js";
import { type OpenAITestServer, startOpenAITestServer } from "../support/openai-test-server.js";
import { postJson, type RunningProxy, startProxy } from "./helpers.js";

/** Samples of one problem: two answers, each sample with thinking of its own (markup in it too). */
const rows: ReplayRow[] = ["p1", "p2"].map((id, p) => ({
  id,
  prompt: `What is ${p + 1} + ${p + 1}?`,
  reference: String(2 * (p + 1)),
  samples: Array.from({ length: 4 }, (_, i) => ({
    text: `So the answer is \\boxed{${2 * (p + 1) + (i % 2)}}.`,
    reasoning: `Sample ${i} of ${id} thinks: is <b>${i}</b> & more needed? ${"Check. ".repeat(i + 1)}`,
    reasoning_tokens: 10 + 2 * i,
    tokens: 20 + 2 * i,
    finish_reason: "eos" as const,
  })),
}));
const upstreamThinking = "First <i>guess</i>: 7. Check again & again.";

let dir: string;
let upstream: OpenAITestServer;
let store: RunStore;
let proxy: RunningProxy;
let browser: Browser;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "reckon-ui-thinking-"));
  const replayPath = join(dir, "thinking.jsonl");
  writeFileSync(replayPath, writeReplayRows(rows));
  store = openStore(join(dir, "runs.sqlite"));
  await startBench(
    {
      name: "thinking",
      dataset: { name: "replay", path: replayPath },
      task: "math",
      strategies: ["self-consistency"],
      n: [4],
      metrics: { bootstrapResamples: 20 },
    },
    { store, backend: createReplayBackend({ path: replayPath }), runId: "think-run" },
  );
  upstream = await startOpenAITestServer({
    respond: () => ({ reasoning: upstreamThinking, text: "The answer is \\boxed{5}." }),
  });
  proxy = await startProxy({ upstreams: [upstream.url], task: "math" }, { runs: store });
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await proxy?.close();
  await upstream?.close();
  store?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function open(path: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  const response = await page.goto(`${proxy.url}${path}`);
  expect(response!.status()).toBe(200);
  expect(errors).toEqual([]);
  return page;
}

const ask = (content: string) =>
  postJson(`${proxy.url}/v1/chat/completions`, {
    model: "single/test-model",
    messages: [{ role: "user", content }],
    seed: 1,
  });

describe("thinking on the dashboard", () => {
  it("shows each candidate's thinking collapsed above its answer, opened by a click", async () => {
    const stored = store.results.list("think-run", { problemId: "p1" }, { reasoning: true })[0]!;
    expect(stored.candidates).toHaveLength(4);
    const page = await open("/ui/runs/think-run/problems/p1");
    const rowsShown = page.locator(
      "details.result[data-config='self-consistency n=4'] table.candidates tbody tr",
    );
    expect(await rowsShown.count()).toBe(4);
    for (const [j, c] of stored.candidates.entries()) {
      const cell = rowsShown.nth(j).locator("td.text");
      const thinking = cell.locator("details.thinking");
      expect(await thinking.locator("summary").textContent()).toBe(`thinking (${c.reasoningTokens} tokens)`);
      expect(await thinking.locator("pre").isVisible()).toBe(false);
      // Above the answer, which shows without a click.
      expect(await cell.locator("> pre").textContent()).toBe(c.text);
      expect(await cell.locator("> pre").isVisible()).toBe(true);
      expect(await cell.locator(":scope > *").evaluateAll((els) => els.map((e) => e.tagName))).toEqual([
        "DETAILS",
        "PRE",
      ]);
    }
    const first = rowsShown.nth(0).locator("details.thinking");
    await first.locator("summary").click();
    expect(await first.locator("pre").isVisible()).toBe(true);
    // The thinking's markup is text, not elements.
    expect(await first.locator("pre").textContent()).toBe(stored.candidates[0]!.reasoning);
    expect(await first.locator("pre b").count()).toBe(0);
    expect(await rowsShown.nth(1).locator("details.thinking pre").isVisible()).toBe(false);
    await page.close();
  });

  it("shows each sample of the trace tree with its own thinking, collapsed", async () => {
    const stored = store.results.list("think-run", { problemId: "p2" }, { reasoning: true })[0]!;
    const page = await open("/ui/runs/think-run/problems/p2");
    const samples = page.locator(".trace li[data-kind='sample']");
    expect(await samples.count()).toBe(4);
    const shown: string[] = [];
    for (let i = 0; i < 4; i++) {
      const thinking = samples.nth(i).locator("> details.thinking");
      expect(await thinking.locator("pre").isVisible()).toBe(false);
      await thinking.locator("summary").click();
      expect(await thinking.locator("pre").isVisible()).toBe(true);
      shown.push((await thinking.locator("pre").textContent())!);
    }
    // Samples with one answer text each show their own draw's thinking, not one another's.
    expect(shown.sort()).toEqual(stored.candidates.map((c) => c.reasoning!).sort());
    expect(new Set(shown).size).toBe(4);
    await page.close();
  });

  it("keeps the run page's problem table free of thinking", async () => {
    const html = await (await fetch(`${proxy.url}/ui/runs/think-run`)).text();
    expect(html).toContain('data-problem="p1"');
    expect(html).not.toContain("thinks:");
    expect(html).not.toContain('class="thinking"');
  });

  it("shows a live request's thinking collapsed above its answer, and keeps it open across refreshes", async () => {
    const answered = await ask("What is 2+3?");
    expect(answered.status).toBe(200);
    const live = (await (await fetch(`${proxy.url}/ui/api/live`)).json()) as { requests: LiveRequest[] };
    const kept = live.requests[0]!;
    expect(kept.thinking).toBe(upstreamThinking);
    expect(kept.reasoningTokens).toBeGreaterThan(0);

    const page = await open("/ui");
    const row = page.locator(`#live tbody tr[data-id='${kept.id}']`);
    const thinking = row.locator("td.answer details.thinking");
    expect(await thinking.locator("summary").textContent()).toBe(`thinking (${kept.reasoningTokens} tokens)`);
    expect(await thinking.locator("pre").isVisible()).toBe(false);
    expect(await row.locator("td.answer").textContent()).toContain("5");
    await thinking.locator("summary").click();
    expect(await thinking.locator("pre").isVisible()).toBe(true);
    expect(await thinking.locator("pre").textContent()).toBe(upstreamThinking);
    expect(await thinking.locator("pre i").count()).toBe(0);

    // A new request arrives with the next refresh; what the reader opened stays open.
    await ask("What is 3+3?");
    await page.waitForFunction('document.querySelectorAll("#live tbody tr").length === 2', undefined, {
      timeout: 10_000,
    });
    expect(await thinking.locator("pre").isVisible()).toBe(true);
    const newest = page.locator("#live tbody tr").nth(0).locator("details.thinking pre");
    expect(await newest.isVisible()).toBe(false);
    await page.close();
  });
});
