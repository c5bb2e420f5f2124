/** The dashboard's pages: the overview (live requests, upstreams, runs), a run, a problem. */
import type { UpstreamStatus } from "../../backends/pool.js";
import { benchConfigs, parseRecipe } from "../../bench/recipe.js";
import { computeRunMetrics } from "../../bench/result-metrics.js";
import { renderAccuracyChart } from "../../report/charts.js";
import type { ProblemRecord, ResultRecord, RunRecord, RunStore } from "../../store/sqlite.js";
import type { LiveRequest } from "../live.js";
import { type Html, html, page, percent, raw } from "./html.js";
import { traceTree } from "./tree.js";

const liveColumns = ["started", "model", "strategy", "caller", "status", "stop", "answer", "tokens", "ms"];

export function liveRows(requests: readonly LiveRequest[]): Html {
  return html`${requests.map((r) => {
    const tokens = (r.promptTokens ?? 0) + (r.completionTokens ?? 0) + (r.verifierTokens ?? 0);
    const status = r.status === undefined ? "running" : String(r.status);
    return html`<tr data-id="${r.id}"><td>${r.startedAt.slice(11, 19)}</td><td>${r.model}</td><td>${r.strategy}${
      r.stream ? " (stream)" : ""
    }</td><td>${r.caller}</td><td class="${r.status === 200 ? "ok" : r.status === undefined ? "" : "bad"}" title="${
      r.error ?? ""
    }">${status}</td><td>${r.stopReason ?? ""}</td><td>${r.answer ?? ""}</td><td class="num">${
      r.status === undefined ? "" : tokens
    }</td><td class="num">${r.latencyMs ?? ""}</td></tr>`;
  })}`;
}

/** Refreshes the live table every two seconds from /ui/api/live. */
const liveScript = `
const body = document.querySelector("#live tbody");
async function refresh() {
  try {
    const response = await fetch("/ui/api/live?format=rows");
    if (response.ok) body.innerHTML = await response.text();
  } catch {}
}
setInterval(refresh, 2000);
`;

export function overviewPage(
  live: readonly LiveRequest[] | undefined,
  upstreams: readonly UpstreamStatus[],
  runs: readonly RunRecord[] | undefined,
): string {
  const liveSection =
    live === undefined
      ? html``
      : html`<h2>Live requests</h2>
<table id="live"><thead><tr>${liveColumns.map((c) => html`<th>${c}</th>`)}</tr></thead><tbody>${liveRows(live)}</tbody></table>`;
  const upstreamSection =
    upstreams.length === 0
      ? html``
      : html`<h2>Upstreams</h2><table id="upstreams"><thead><tr><th>upstream</th><th>state</th><th>in flight</th><th>consecutive failures</th></tr></thead><tbody>${upstreams.map(
          (u) =>
            html`<tr><td>${u.id}</td><td class="${u.state === "healthy" ? "ok" : "bad"}">${u.state}</td><td class="num">${u.outstanding}</td><td class="num">${u.consecutiveFailures}</td></tr>`,
        )}</tbody></table>`;
  const runSection =
    runs === undefined
      ? html`<h2 id="runs">Bench runs</h2><p class="muted">No database: start with <code>--db FILE</code> to browse bench runs.</p>`
      : html`<h2 id="runs">Bench runs</h2><table id="run-list"><thead><tr><th>run</th><th>status</th><th>backend</th><th>created</th></tr></thead><tbody>${runs.map(
          (r) =>
            html`<tr><td><a href="/ui/runs/${encodeURIComponent(r.id)}">${r.id}</a></td><td>${r.status}</td><td>${r.backend ?? ""}</td><td>${r.createdAt}</td></tr>`,
        )}</tbody></table>`;
  return page(
    "dashboard",
    html`${liveSection}${upstreamSection}${runSection}`,
    live === undefined ? "" : liveScript,
  );
}

/** Mean of a usage figure over results. */
const mean = (values: number[]) =>
  values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
const tokensOf = (r: ResultRecord) =>
  r.usage.promptTokens + r.usage.completionTokens + (r.usage.verifierTokens ?? 0);

export async function runPage(store: RunStore, run: RunRecord): Promise<string> {
  const problems = store.getProblems(run.id);
  const results = store.getResults(run.id);
  // A run still going (or interrupted) has no stored metrics yet: compute them from its results.
  const recipe = parseRecipe(run.recipe, `run ${run.id} recipe`);
  const metrics =
    run.status === "completed" ? store.getMetrics(run.id) : await computeRunMetrics(store, run.id, recipe);
  const overall = metrics.filter((m) => m.level === undefined);
  const chart =
    results.length > 0
      ? raw(
          await renderAccuracyChart(overall, {
            title: `${run.id}: accuracy against compute`,
            tokens: "total",
          }),
        )
      : html``;

  // In recipe order, whatever order the runner stored them in.
  const ran = new Set(results.map((r) => r.config));
  const configs = benchConfigs(recipe)
    .map((c) => c.config)
    .filter((c) => ran.has(c));
  const byConfig = configs.map((config) => {
    const rows = results.filter((r) => r.config === config);
    return { config, rows, accuracy: mean(rows.map((r) => (r.correct ? 1 : 0))) };
  });
  const cell = new Map(results.map((r) => [`${r.problemId}\u0000${r.config}`, r]));
  const summary = html`<table id="configs"><thead><tr><th>configuration</th><th>accuracy</th><th>mean tokens</th><th>problems</th></tr></thead><tbody>${byConfig.map(
    (c) =>
      html`<tr><td>${c.config}</td><td class="num">${percent(c.accuracy)}</td><td class="num">${Math.round(
        mean(c.rows.map(tokensOf)),
      )}</td><td class="num">${c.rows.length}</td></tr>`,
  )}</tbody></table>`;
  const problemTable = html`<table id="problems"><thead><tr><th>problem</th><th>level</th><th>reference</th>${configs.map(
    (c) => html`<th>${c}</th>`,
  )}</tr></thead><tbody>${problems.map(
    (p) =>
      html`<tr><td><a href="/ui/runs/${encodeURIComponent(run.id)}/problems/${encodeURIComponent(p.problemId)}">${p.problemId}</a></td><td>${
        p.level ?? ""
      }</td><td>${p.reference}</td>${configs.map((c) => {
        const r = cell.get(`${p.problemId}\u0000${c}`);
        if (!r) return html`<td class="muted">–</td>`;
        return html`<td class="${r.correct ? "ok" : "bad"}">${r.correct ? "✓" : "✗"} ${r.answer ?? "(none)"}</td>`;
      })}</tr>`,
  )}</tbody></table>`;
  return page(
    run.id,
    html`<h1>Run ${run.id}</h1>
<p>${run.status} · backend ${run.backend ?? "?"} · seed ${run.seed} · created ${run.createdAt}${run.error ? html` · <span class="bad">${run.error}</span>` : ""}</p>
<div class="chart">${chart}</div>
<h2>Configurations</h2>${summary}
<h2>Problems</h2>${problemTable}
<details><summary>recipe</summary><pre>${JSON.stringify(run.recipe, null, 2)}</pre></details>`,
  );
}

export function problemPage(
  run: RunRecord,
  problem: ProblemRecord,
  results: readonly ResultRecord[],
): string {
  const sections = results.map((r, i) => {
    const chosen = r.candidates.findIndex((c) => c.answer !== undefined && c.answer === r.answer);
    const tally = new Map<string, { votes: number; best?: number }>();
    for (const c of r.candidates) {
      const key = c.answer ?? "(none)";
      const entry = tally.get(key) ?? { votes: 0 };
      entry.votes += 1;
      if (c.score !== undefined) entry.best = Math.max(entry.best ?? -Infinity, c.score);
      tally.set(key, entry);
    }
    const votes = [...tally.entries()].sort((a, b) => b[1].votes - a[1].votes);
    return html`<details class="result" data-config="${r.config}" ${i === 0 ? raw("open") : ""}>
<summary><strong>${r.config}</strong>: <span class="${r.correct ? "ok" : "bad"}">${r.correct ? "correct" : "wrong"}</span>, answer ${
      r.answer ?? "(none)"
    } · ${r.stopReason} · ${tokensOf(r)} tokens in ${r.usage.calls} calls</summary>
<h3>Votes</h3><table class="tally"><thead><tr><th>answer</th><th>votes</th><th>best score</th></tr></thead><tbody>${votes.map(
      ([answer, v]) =>
        html`<tr><td>${answer}</td><td class="num">${v.votes}</td><td class="num">${v.best === undefined ? "" : v.best.toFixed(3)}</td></tr>`,
    )}</tbody></table>
<h3>Candidates</h3><table class="candidates"><thead><tr><th>#</th><th>answer</th><th>score</th><th>tokens</th><th>finish</th><th>text</th></tr></thead><tbody>${r.candidates.map(
      (c, j) =>
        html`<tr class="${j === chosen ? "chosen" : ""}"><td class="num">${j}</td><td>${c.answer ?? "(none)"}</td><td class="num">${
          c.score === undefined ? "" : c.score.toFixed(3)
        }</td><td class="num">${c.tokens}</td><td>${c.finishReason}</td><td><pre>${c.text}</pre></td></tr>`,
    )}</tbody></table>
<h3>Trace</h3><div class="trace">${r.trace.length === 0 ? html`<p class="muted">no trace kept</p>` : traceTree(r.trace)}</div>
</details>`;
  });
  return page(
    `${run.id} · ${problem.problemId}`,
    html`<p><a href="/ui/runs/${encodeURIComponent(run.id)}">← run ${run.id}</a></p>
<h1>Problem ${problem.problemId}</h1>
<pre class="question">${problem.question}</pre>
<p>reference: <strong>${problem.reference}</strong>${problem.level !== undefined ? html` · level ${problem.level}` : ""}</p>
${results.length === 0 ? html`<p class="muted">No results stored for this problem.</p>` : sections}`,
  );
}
