import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { seededRandom } from "../../src/core/random.js";
import { accuracyChartSpec, chartRows, renderAccuracyChart } from "../../src/report/charts.js";
import { metricsToCsv, type ReportFiles, renderReport } from "../../src/report/html.js";
import type { MetricRecord } from "../../src/store/sqlite.js";
import { launchChromium } from "../support/chromium.js";

const budgets = [1, 2, 4, 8, 16];
const poolMetric: Record<string, string> = {
  "self-consistency": "maj@k",
  "best-of-n": "rm@k",
  "weighted-majority": "wmaj@k",
};

/**
 * Metric rows as a run over 3 levels produces them: each configuration's real accuracy against
 * the tokens it spent (verifier tokens in the total for scored methods), its pool estimate, and
 * the pass@k oracle; accuracy grows with n and falls with level.
 */
function syntheticMetrics(): MetricRecord[] {
  const random = seededRandom(2024);
  const rows: MetricRecord[] = [];
  for (const level of [undefined, 1, 2, 3]) {
    const base = 0.75 - 0.15 * (level ?? 2);
    const at = (
      strategy: string,
      series: string,
      metric: string,
      k: number,
      value: number,
      meanTokens: number,
      meanTotalTokens?: number,
    ) => {
      const spread = 0.04 + 0.04 * random();
      rows.push({
        strategy,
        series,
        metric,
        k,
        ...(level === undefined ? {} : { level }),
        value,
        ciLow: Math.max(0, value - spread),
        ciHigh: Math.min(1, value + spread),
        meanTokens,
        ...(meanTotalTokens === undefined ? {} : { meanTotalTokens }),
        problems: level === undefined ? 90 : 30,
      });
    };
    const perSample = 280 + 40 * (level ?? 2);
    at("single", "single", "accuracy", 1, base, perSample, perSample + 90);
    for (const [i, series] of ["self-consistency", "best-of-n", "weighted-majority"].entries())
      for (const k of budgets) {
        const value = Math.min(0.98, base + (0.05 + 0.02 * i) * Math.log2(k) + 0.01 * random());
        const verifier = series === "self-consistency" ? 0 : 150 * k;
        at(`${series} n=${k}`, series, "accuracy", k, value, perSample * k, perSample * k + 90 + verifier);
        at(`${series} n=${k}`, series, poolMetric[series]!, k, value - 0.01, 0);
      }
    for (const k of budgets)
      at(
        "oracle",
        "oracle",
        "pass@k",
        k,
        Math.min(1, base + 0.1 * Math.log2(k)),
        perSample * k,
        perSample * k + 90,
      );
  }
  return rows;
}

const comparisons = [
  { a: "best-of-n n=16", b: "single", difference: 0.21, ciLow: 0.12, ciHigh: 0.3, problems: 90 },
  { a: "self-consistency n=16", b: "single", difference: -0.05, ciLow: -0.11, ciHigh: 0.01, problems: 90 },
];

let metrics: MetricRecord[];
let files: ReportFiles;
const outDir = mkdtempSync(join(tmpdir(), "reckon-report-"));
const overall = () => metrics.filter((m) => m.level === undefined);
const drawnOverall = () => chartRows(overall());

/** The y of every plotted point; y = (1 - accuracy) × plot height. */
function plottedYs(svg: string): number[] {
  const symbols = svg.match(/<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/g) ?? [];
  return symbols
    .flatMap((group) => [...group.matchAll(/translate\(([\d.]+),([\d.]+)\)/g)])
    .map((m) => Number(m[2]));
}

function plottedXs(svg: string): number[] {
  const symbols = svg.match(/<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/g) ?? [];
  return symbols
    .flatMap((group) => [...group.matchAll(/translate\(([\d.]+),([\d.]+)\)/g)])
    .map((m) => Number(m[1]));
}

const legendLabels = (svg: string) =>
  [...svg.matchAll(/<g class="mark-text role-legend-label"[^>]*><text[^>]*>([^<]*)<\/text>/g)].map(
    (m) => m[1],
  );

beforeAll(async () => {
  metrics = syntheticMetrics();
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
      comparisons,
    },
    outDir,
  );
});

describe("renderReport files", () => {
  it("writes the HTML, both overall charts, the per-level SVGs, CSV and JSON", () => {
    expect(files.levelSvgs.map((p) => p.slice(outDir.length + 1))).toEqual([
      "accuracy-level-1.svg",
      "accuracy-level-2.svg",
      "accuracy-level-3.svg",
    ]);
    expect(files.accuracyTotalSvg.slice(outDir.length + 1)).toBe("accuracy-total.svg");
    for (const path of [
      files.html,
      files.accuracySvg,
      files.accuracyTotalSvg,
      files.csv,
      files.json,
      ...files.levelSvgs,
    ]) {
      expect(existsSync(path)).toBe(true);
    }
    expect(JSON.parse(readFileSync(files.json, "utf8"))).toEqual(metrics);
    const csv = readFileSync(files.csv, "utf8").trim().split("\n");
    expect(csv[0]).toBe(
      "config,series,metric,level,k,value,ci_low,ci_high,mean_generated_tokens,mean_total_tokens,problems",
    );
    expect(csv).toHaveLength(metrics.length + 1);
    const single = metrics[0]!;
    expect(csv[1]).toBe(
      `single,single,accuracy,,1,${single.value},${single.ciLow},${single.ciHigh},${single.meanTokens},${single.meanTotalTokens},90`,
    );
    // A pool estimate has no total of its own: the field is empty.
    expect(csv[3]).toMatch(/^self-consistency n=1,self-consistency,maj@k,,1,[\d.]+,[\d.]+,[\d.]+,0,,90$/);
  });

  it("draws axes, bands, lines and one point per configuration and oracle budget at the right height", () => {
    const svg = readFileSync(files.accuracySvg, "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("role-axis");
    expect(svg).toContain("Accuracy against generated tokens");
    expect(svg).toContain("mean generated tokens per problem (log scale)");
    expect(svg).toContain("accuracy (95% CI band)");
    expect(svg).toContain("mark-area");
    expect(svg).toContain("mark-line");
    // Pool estimates are not points of their own: 1 + 3 × 5 configurations and 5 oracle budgets.
    const drawn = drawnOverall();
    expect(drawn).toHaveLength(21);
    const plotted = plottedYs(svg);
    expect(plotted).toHaveLength(drawn.length);
    const expected = drawn.map((m) => (1 - m.value) * 380).sort((a, b) => a - b);
    const actual = [...plotted].sort((a, b) => a - b);
    for (const [i, y] of actual.entries()) expect(y).toBeCloseTo(expected[i]!, 0);
  });

  it("puts the same points against all tokens spent in the second chart", () => {
    const generated = readFileSync(files.accuracySvg, "utf8");
    const total = readFileSync(files.accuracyTotalSvg, "utf8");
    expect(total).toContain("Accuracy against all tokens spent");
    expect(total).toContain("mean total (prompt + generated + verifier) tokens per problem (log scale)");
    expect([...plottedYs(total)].sort()).toEqual([...plottedYs(generated)].sort());
    // Verifier tokens move the scored methods right of the voting ones at the same n.
    const spec = (tokens: "generated" | "total") =>
      (accuracyChartSpec(overall(), { tokens }) as { data: { values: { config: string; x: number }[] } }).data
        .values;
    const x = (tokens: "generated" | "total", config: string) =>
      spec(tokens).find((p) => p.config === config)!.x;
    expect(x("generated", "best-of-n n=8")).toBe(x("generated", "self-consistency n=8"));
    expect(x("total", "best-of-n n=8")).toBeGreaterThan(x("total", "self-consistency n=8"));
    expect(x("total", "best-of-n n=8")).toBe(
      overall().find((m) => m.strategy === "best-of-n n=8")!.meanTotalTokens,
    );
    expect(new Set(plottedXs(total))).not.toEqual(new Set(plottedXs(generated)));
  });

  it("lists only the series present in the legend, draws pass@k dashed, and gives every point its configuration as a tooltip", async () => {
    const svg = readFileSync(files.accuracySvg, "utf8");
    expect(legendLabels(svg)).toEqual([
      "single",
      "self-consistency",
      "best-of-n",
      "weighted-majority",
      "pass@k",
    ]);
    expect(svg).toMatch(/<path[^>]*stroke="#555555"[^>]*stroke-dasharray="6,4"/);
    // A browser shows each point's <title> on hover: configuration, accuracy, tokens, problems.
    const titles = [...svg.matchAll(/<title>([^<]*)<\/title>/g)].map((m) => m[1]!);
    const drawn = overall().filter((m) => m.metric === "accuracy" || m.strategy === "oracle");
    expect(titles).toHaveLength(drawn.length);
    expect(
      titles.some((t) =>
        /^self-consistency n=\d+: \d+\.\d% \[[\d.]+, [\d.]+\], [\d,]+ tokens per problem, \d+ problems$/.test(
          t,
        ),
      ),
    ).toBe(true);
    expect(titles.some((t) => t.startsWith("pass@"))).toBe(true);

    const some = overall().filter((m) => m.series === "self-consistency" || m.series === "oracle");
    const partial = await renderAccuracyChart(some);
    expect(legendLabels(partial)).toEqual(["self-consistency", "pass@k"]);
    expect(partial).not.toContain("best-of-n");
    expect(partial).not.toContain("weighted-majority");
    expect(partial.match(/stroke-dasharray="6,4"/g)).toHaveLength(1);
    const noOracle = await renderAccuracyChart(some.filter((m) => m.series !== "oracle"));
    expect(legendLabels(noOracle)).toEqual(["self-consistency"]);
    expect(noOracle).not.toContain('stroke-dasharray="6,4"');
  });

  it("is self-contained: no scripts, no external resources", () => {
    const html = readFileSync(files.html, "utf8");
    expect(html).not.toMatch(/<script|<link|src=|url\(/i);
    expect(html).not.toMatch(/href="(?!metrics\.(csv|json)")/);
    expect((html.match(/<svg/g) ?? []).length).toBe(5);
    expect(html).toContain("run-42");
    expect(html).toContain("<td>best-of-n n=8</td>");
    expect(html).toContain("<code>rm@k</code>");
  });

  it("names the most accurate configuration and shows the paired comparisons", async () => {
    const html = readFileSync(files.html, "utf8");
    const best = [...drawnOverall()]
      .filter((m) => m.strategy !== "oracle")
      .sort((a, b) => b.value - a.value || a.meanTokens - b.meanTokens)[0]!;
    expect(html).toContain(`Most accurate: ${best.strategy} at ${(best.value * 100).toFixed(1)}%`);
    expect(html).toContain("(single sample: ");
    expect(html).toContain("Paired differences");
    expect(html).toContain("<td>best-of-n n=16 − single</td>");
    expect(html).toContain('<td class="num">+21.0 pts</td>');
    expect(html).toContain('<td class="num">-5.0 pts</td>');
    expect(html).toContain('<td class="num">-11.0 pts – +1.0 pts</td>');

    const without = join(outDir, "without-comparisons");
    const plain = await renderReport({ title: "t", run: { id: "r" }, metrics: overall() }, without);
    expect(readFileSync(plain.html, "utf8")).not.toContain("Paired differences");
  });

  it("plots against the budget when token counts are missing", () => {
    const spec = accuracyChartSpec(metrics.map((m) => ({ ...m, meanTokens: 0 })));
    expect(JSON.stringify(spec)).toContain("budget (log scale)");
    expect(JSON.stringify(accuracyChartSpec(metrics))).not.toContain("budget (log scale)");
  });

  it("renders deterministically", async () => {
    expect(await renderAccuracyChart(overall(), { title: "Accuracy against generated tokens" })).toBe(
      readFileSync(files.accuracySvg, "utf8"),
    );
  });

  it("refuses a malformed metric row, naming it", async () => {
    await expect(
      renderReport(
        { title: "t", run: { id: "r" }, metrics: [{ ...metrics[0]!, k: 0 }] },
        join(outDir, "bad"),
      ),
    ).rejects.toThrow(/report\.metrics\[0\]\.k/);
  });

  it("quotes CSV fields that need it", () => {
    expect(metricsToCsv([])).toBe(
      "config,series,metric,level,k,value,ci_low,ci_high,mean_generated_tokens,mean_total_tokens,problems\n",
    );
    expect(metricsToCsv([{ ...metrics[0]!, strategy: 'say "hi", twice' }]).split("\n")[1]).toMatch(
      /^"say ""hi"", twice",single,/,
    );
  });
});

describe("the report in headless Chromium", () => {
  it("shows every chart with no console errors and no network requests", async () => {
    const browser = await launchChromium();
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
      const total = page.locator("#accuracy-total-chart svg");
      await expect(main.isVisible()).resolves.toBe(true);
      await expect(total.isVisible()).resolves.toBe(false);
      const box = await main.boundingBox();
      expect(box!.width).toBeGreaterThan(400);
      expect(box!.height).toBeGreaterThan(250);
      expect(await page.locator(".level-chart svg").count()).toBe(3);
      for (const chart of await page.locator(".level-chart svg").all())
        expect(await chart.isVisible()).toBe(true);
      // A line per series: single, the three methods and the oracle.
      expect(await page.locator("#accuracy-chart .mark-line path").count()).toBe(5);
      // The overall table, the per-level one (folded) and the comparisons.
      expect(await page.locator("table.metrics tbody tr").count()).toBe(metrics.length + comparisons.length);
      expect(await page.locator("table.comparisons tbody tr").count()).toBe(comparisons.length);
      await expect(page.locator("table.comparisons").isVisible()).resolves.toBe(true);

      // The axis choice swaps the charts without a script.
      await page.locator('label[for="axis-total"]').click();
      await expect(total.isVisible()).resolves.toBe(true);
      await expect(main.isVisible()).resolves.toBe(false);
      expect((await total.boundingBox())!.width).toBeGreaterThan(400);
      expect(await page.locator("#accuracy-total-chart .mark-line path").count()).toBe(5);
      expect(await page.title()).toBe("MATH-like synthetic run");
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
