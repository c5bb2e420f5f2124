import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import { computeMetrics, type MetricRow, type ProblemSamples } from "../../src/bench/metrics.js";
import { seededRandom } from "../../src/core/random.js";
import { accuracyChartSpec, renderAccuracyChart } from "../../src/report/charts.js";
import { metricsToCsv, type ReportFiles, renderReport } from "../../src/report/html.js";

/** Problems whose difficulty grows with level; rewards are informative but noisy. */
function syntheticProblems(): ProblemSamples[] {
  const random = seededRandom(2024);
  return Array.from({ length: 90 }, (_, i) => {
    const level = 1 + (i % 3);
    const pCorrect = 0.75 - 0.2 * level + random() * 0.3;
    return {
      problemId: `p${i}`,
      level,
      samples: Array.from({ length: 16 }, () => {
        const correct = random() < pCorrect;
        const wrong = random() < 0.6 ? "w1" : random() < 0.5 ? "w2" : undefined;
        return {
          correct,
          answerKey: correct ? "right" : wrong,
          reward: Math.min(1, Math.max(0, (correct ? 0.7 : 0.45) + (random() - 0.5) * 0.5)),
          tokens: 150 + Math.floor(random() * 300),
        };
      }),
    };
  });
}

const budgets = [1, 2, 4, 8, 16];
let metrics: MetricRow[];
let files: ReportFiles;
const outDir = mkdtempSync(join(tmpdir(), "reckon-report-"));

beforeAll(async () => {
  metrics = computeMetrics(syntheticProblems(), { budgets, seed: 5, bootstrapResamples: 400 });
  files = await renderReport(
    {
      title: "MATH-like synthetic run",
      run: {
        id: "run-42",
        recipe: "self-consistency, best-of-n, weighted-majority · n ≤ 16 · seed 5",
        model: "replay:synthetic",
        dataset: "synthetic (3 levels, 90 problems)",
        createdAt: "2025-01-01T00:00:00Z",
        seed: 5,
      },
      metrics,
    },
    outDir,
  );
});

describe("renderReport files", () => {
  it("writes the HTML, the overall and per-level SVGs, CSV and JSON", () => {
    expect(files.levelSvgs.map((p) => p.slice(outDir.length + 1))).toEqual([
      "accuracy-level-1.svg",
      "accuracy-level-2.svg",
      "accuracy-level-3.svg",
    ]);
    for (const path of [files.html, files.accuracySvg, files.csv, files.json, ...files.levelSvgs]) {
      expect(existsSync(path)).toBe(true);
    }
    expect(JSON.parse(readFileSync(files.json, "utf8"))).toEqual(metrics);
    const csv = readFileSync(files.csv, "utf8").trim().split("\n");
    expect(csv[0]).toBe("metric,method,level,k,value,ci_low,ci_high,mean_tokens,problems");
    expect(csv).toHaveLength(metrics.length + 1);
    expect(csv[1]).toMatch(/^pass@k,pass@k \(oracle\),,1,/);
  });

  it("draws axes, bands, lines and one point per metric and budget at the right height", () => {
    const svg = readFileSync(files.accuracySvg, "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("role-axis");
    expect(svg).toContain("mean generated tokens per problem (log scale)");
    expect(svg).toContain("accuracy (95% CI band)");
    expect(svg).toContain("mark-area");
    expect(svg).toContain("mark-line");
    for (const label of ["self-consistency", "best-of-n", "weighted-majority", "pass@k (oracle)"]) {
      expect(svg).toContain(label);
    }
    // Points: the symbol group of the plot holds one translated path per row; y = (1 - accuracy) × height.
    const overall = metrics.filter((m) => m.level === undefined);
    const symbols = svg.match(/<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/g) ?? [];
    const plotted = symbols
      .flatMap((group) => [...group.matchAll(/translate\(([\d.]+),([\d.]+)\)/g)])
      .map((m) => Number(m[2]));
    expect(plotted).toHaveLength(overall.length);
    const expected = overall.map((m) => (1 - m.value) * 320).sort((a, b) => a - b);
    const actual = [...plotted].sort((a, b) => a - b);
    for (const [i, y] of actual.entries()) expect(y).toBeCloseTo(expected[i]!, 0);
  });

  it("is self-contained: no scripts, no external resources", () => {
    const html = readFileSync(files.html, "utf8");
    expect(html).not.toMatch(/<script|<link|src=|url\(/i);
    expect(html).not.toMatch(/href="(?!metrics\.(csv|json)")/);
    expect((html.match(/<svg/g) ?? []).length).toBe(4);
    expect(html).toContain("run-42");
    expect(html).toContain("<td>best-of-n</td>");
  });

  it("plots against k when token counts are missing", () => {
    const spec = accuracyChartSpec(metrics.map((m) => ({ ...m, meanTokens: 0 })));
    expect(JSON.stringify(spec)).toContain("samples per problem k (log scale)");
  });

  it("renders deterministically", async () => {
    const overall = metrics.filter((m) => m.level === undefined);
    expect(await renderAccuracyChart(overall, { title: "Accuracy against compute" })).toBe(
      readFileSync(files.accuracySvg, "utf8"),
    );
  });

  it("quotes CSV fields that need it", () => {
    expect(metricsToCsv([])).toBe("metric,method,level,k,value,ci_low,ci_high,mean_tokens,problems\n");
  });
});

describe("the report in headless Chromium", () => {
  it("shows every chart with no console errors and no network requests", async () => {
    const browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const problems: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") problems.push(message.text());
      });
      page.on("pageerror", (error) => problems.push(error.message));
      page.on("request", (request) => {
        if (!request.url().startsWith("file:")) problems.push(`request: ${request.url()}`);
      });
      await page.goto(pathToFileURL(files.html).href, { waitUntil: "load" });
      await page.screenshot({ path: "/tmp/reckon-report.png", fullPage: true });

      const main = page.locator("#accuracy-chart svg");
      await expect(main.isVisible()).resolves.toBe(true);
      const box = await main.boundingBox();
      expect(box!.width).toBeGreaterThan(400);
      expect(box!.height).toBeGreaterThan(250);
      expect(await page.locator(".level-chart svg").count()).toBe(3);
      for (const chart of await page.locator(".level-chart svg").all())
        expect(await chart.isVisible()).toBe(true);
      expect(await page.locator("#accuracy-chart .mark-line path").count()).toBe(4);
      expect(await page.locator("table.metrics tbody tr").count()).toBe(metrics.length);
      expect(await page.title()).toBe("MATH-like synthetic run");
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
