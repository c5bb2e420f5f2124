/** The dashboard's pages: the overview (live requests, upstreams, runs), a run, a problem. */
import type { UpstreamStatus } from "../../backends/pool.js";
import { benchConfigs, parseRecipe } from "../../bench/recipe.js";
import { computeRunMetrics } from "../../bench/result-metrics.js";
import { renderAccuracyChart } from "../../report/charts.js";
import type { ResultFacts } from "../../store/results.js";
import type { ProblemRecord, ResultRecord, RunRecord, RunStore } from "../../store/sqlite.js";
import { getTask } from "../../tasks/registry.js";
import type { LiveRequest } from "../live.js";
import { type Html, html, page, percent, raw, thinkingDetails } from "./html.js";
import {
  currentOrder,
  nextOrder,
  type ProblemQuery,
  type ProblemRow,
  type ProblemTable,
  problemTable,
  type SortKey,
  tableHref,
} from "./problem-table.js";
import { traceTree } from "./tree.js";

/** The run's name: its recipe's `name`, when it has one. */
const runName = (run: RunRecord) => (run.recipe as { name?: string } | undefined)?.name;

const liveColumns = ["started", "model", "strategy", "caller", "status", "stop", "answer", "tokens", "ms"];

export function liveRows(requests: readonly LiveRequest[]): Html {
  return html`${requests.map((r) => {
    const tokens = (r.promptTokens ?? 0) + (r.completionTokens ?? 0) + (r.verifierTokens ?? 0);
    const status = r.status === undefined ? "running" : String(r.status);
    return html`<tr data-id="${r.id}"><td>${r.startedAt.slice(11, 19)}</td><td>${r.model}</td><td>${r.strategy}${
      r.stream ? " (stream)" : ""
    }</td><td>${r.caller}</td><td class="${r.status === 200 ? "ok" : r.status === undefined ? "" : "bad"}" title="${
      r.error ?? ""
    }">${status}</td><td>${r.stopReason ?? ""}</td><td class="answer">${thinkingDetails(r.thinking, r.reasoningTokens)}${
      r.answer ?? ""
    }</td><td class="num">${
      r.status === undefined ? "" : tokens
    }</td><td class="num">${r.latencyMs ?? ""}</td></tr>`;
  })}`;
}

/**
 * Refreshes the live table every two seconds from /ui/api/live; thinking a reader opened stays
 * open in the new rows.
 */
const liveScript = `
const body = document.querySelector("#live tbody");
async function refresh() {
  try {
    const response = await fetch("/ui/api/live?format=rows");
    if (!response.ok) return;
    const opened = [...body.querySelectorAll("tr[data-id] details[open]")].map((d) => d.closest("tr").dataset.id);
    body.innerHTML = await response.text();
    for (const id of opened)
      body.querySelector('tr[data-id="' + CSS.escape(id) + '"] details')?.setAttribute("open", "");
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
      : html`<h2 id="runs">Bench runs</h2><table id="run-list"><thead><tr><th>run</th><th>name</th><th>status</th><th>backend</th><th>created</th></tr></thead><tbody>${runs.map(
          (r) =>
            html`<tr><td><a href="/ui/runs/${encodeURIComponent(r.id)}">${r.id}</a></td><td>${runName(r) ?? ""}</td><td>${r.status}</td><td>${r.backend ?? ""}</td><td>${r.createdAt}</td></tr>`,
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
const tokensOf = (r: Pick<ResultRecord, "usage">) =>
  r.usage.promptTokens + r.usage.completionTokens + (r.usage.verifierTokens ?? 0);

/**
 * A run: its name and id, the accuracy chart, a table per configuration, and the problems,
 * filtered, sorted and paged as `query` asks (a bad parameter throws a QueryParameterError).
 */
export async function runPage(store: RunStore, run: RunRecord, query: ProblemQuery): Promise<string> {
  const problems = store.getProblems(run.id);
  // Without texts or traces: the candidates' answers are read per problem, where needed.
  const results = store.results.facts(run.id);
  const recipe = parseRecipe(run.recipe, `run ${run.id} recipe`);
  // In recipe order, whatever order the runner stored them in.
  const ran = new Set(results.map((r) => r.config));
  const configs = benchConfigs(recipe)
    .map((c) => c.config)
    .filter((c) => ran.has(c));
  // First, so that a bad parameter is answered before any figure is computed.
  const table = problemTable(
    problems,
    results,
    configs,
    (problemId) => store.results.candidateAnswersOfProblem(run.id, problemId),
    getTask(recipe.task),
    query,
  );
  // A run still going (or interrupted) has no stored metrics yet: compute them from its results.
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

  const byConfig = configs.map((config) => {
    const rows = results.filter((r) => r.config === config);
    return { config, rows, accuracy: mean(rows.map((r) => (r.correct ? 1 : 0))) };
  });
  const summary = html`<table id="configs"><thead><tr><th>configuration</th><th>accuracy</th><th>mean tokens</th><th>problems</th></tr></thead><tbody>${byConfig.map(
    (c) =>
      html`<tr><td>${c.config}</td><td class="num">${percent(c.accuracy)}</td><td class="num">${Math.round(
        mean(c.rows.map(tokensOf)),
      )}</td><td class="num">${c.rows.length}</td></tr>`,
  )}</tbody></table>`;
  const name = runName(run);
  return page(
    name ? `${name} · ${run.id}` : run.id,
    html`<h1 id="run-title">${name ?? html`Run ${run.id}`}</h1>
<p>run <code id="run-id">${run.id}</code> · ${run.status} · backend ${run.backend ?? "?"} · seed ${run.seed} · created ${run.createdAt}${run.error ? html` · <span class="bad">${run.error}</span>` : ""}</p>
<div class="chart">${chart}</div>
<h2>Configurations</h2>${summary}
<h2 id="problems-heading">Problems</h2>${problemsSection(run, configs, table, query, problems.length)}
<details><summary>recipe</summary><pre>${JSON.stringify(run.recipe, null, 2)}</pre></details>`,
  );
}

const answersLabel = { all: "all answers", correct: "correct", wrong: "wrong" } as const;
const disagreeLabel = { all: "all", yes: "candidates disagree", no: "candidates agree" } as const;

/** The filter form, the table with sortable headers, and the page links. */
function problemsSection(
  run: RunRecord,
  allConfigs: readonly string[],
  table: ProblemTable,
  query: ProblemQuery,
  total: number,
): Html {
  const base = `/ui/runs/${encodeURIComponent(run.id)}`;
  const option = (value: string, label: string, current: string | undefined) =>
    html`<option value="${value}"${value === (current ?? "") ? raw(" selected") : ""}>${label}</option>`;
  const form = html`<form id="problem-filters" method="get" action="${base}">
<label>configuration <select name="config">${option("", "all", query.config)}${allConfigs.map((c) => option(c, c, query.config))}</select></label>
<label>answers <select name="answers">${Object.entries(answersLabel).map(([v, l]) => option(v, l, query.answers))}</select></label>
${table.levels.length === 0 ? "" : html`<label>level <select name="level">${option("", "all", undefined)}${table.levels.map((l) => option(String(l), String(l), query.level === undefined ? "" : String(query.level)))}</select></label>`}
<label>candidates <select name="disagree">${Object.entries(disagreeLabel).map(([v, l]) => option(v, l, query.disagree))}</select></label>
<label>per page <input name="per" type="number" min="1" max="500" value="${query.per}"></label>
${query.sort === "position" ? "" : html`<input type="hidden" name="sort" value="${query.sort}">`}${query.order === undefined ? "" : html`<input type="hidden" name="order" value="${query.order}">`}
<button type="submit">apply</button> <a href="${base}">reset</a>
</form>`;
  const header = (sort: SortKey, label: string) => {
    const current = query.sort === sort;
    const arrow = current ? (currentOrder(query) === "asc" ? " ▲" : " ▼") : "";
    return html`<th data-sort="${sort}"${current ? raw(' class="sorted"') : ""}><a href="${tableHref(base, query, { sort, order: nextOrder(query, sort), page: 1 })}">${label}${arrow}</a></th>`;
  };
  const first = (query.page - 1) * query.per + 1;
  const count =
    table.rows.length === 0
      ? html`No problems${query.page > table.pages ? html` on page ${query.page}` : ""} (${table.matching} match, of ${total}).`
      : html`Problems ${first}–${first + table.rows.length - 1} of ${table.matching}${table.matching < total ? ` (filtered from ${total})` : ""}.`;
  const nav = html`<nav id="problem-pages" class="pages">${
    query.page > 1
      ? html`<a rel="prev" href="${tableHref(base, query, { page: Math.min(query.page - 1, table.pages) })}">← previous</a>`
      : ""
  } page ${query.page} of ${table.pages} ${
    query.page < table.pages
      ? html`<a rel="next" href="${tableHref(base, query, { page: query.page + 1 })}">next →</a>`
      : ""
  }</nav>`;
  return html`${form}<p id="problem-count">${count}</p>
<table id="problems"><thead><tr>${header("problem", "problem")}${header("level", "level")}<th>reference</th>${table.configs.map(
    (c) => html`<th>${c}</th>`,
  )}${header("correct", "correct")}${header("disagreement", "candidate answers")}${header("tokens", "tokens")}</tr></thead><tbody>${table.rows.map(
    (row) => problemRowHtml(run, table.configs, row),
  )}</tbody></table>${nav}`;
}

function problemRowHtml(run: RunRecord, configs: readonly string[], row: ProblemRow): Html {
  const p = row.problem;
  const stored = [...row.results.values()];
  const right = stored.filter((r) => r.correct).length;
  return html`<tr data-problem="${p.problemId}"><td><a href="/ui/runs/${encodeURIComponent(run.id)}/problems/${encodeURIComponent(p.problemId)}">${p.problemId}</a></td><td>${
    p.level ?? ""
  }</td><td>${p.reference}</td>${configs.map((c) => resultCell(row.results.get(c)))}<td class="num correct" data-value="${row.correct ?? ""}">${
    stored.length === 0 ? "–" : `${right}/${stored.length}`
  }</td><td class="num answers" data-value="${row.agreement}" title="distinct answers among the candidates; share of the most common">${
    row.answers === 0 ? "–" : `${row.answers} (${percent(row.agreement)})`
  }</td><td class="num tokens" data-value="${row.tokens ?? ""}">${row.tokens === undefined ? "–" : Math.round(row.tokens)}</td></tr>`;
}

function resultCell(r: ResultFacts | undefined): Html {
  if (!r) return html`<td class="muted">–</td>`;
  return html`<td class="${r.correct ? "ok" : "bad"}">${r.correct ? "✓" : "✗"} ${r.answer ?? "(none)"}</td>`;
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
        }</td><td class="num">${c.tokens}</td><td>${c.finishReason}</td><td class="text">${thinkingDetails(
          c.reasoning,
          c.reasoningTokens,
        )}<pre>${c.text}</pre></td></tr>`,
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
