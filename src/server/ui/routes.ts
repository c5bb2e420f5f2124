/**
 * The dashboard at /ui: server-rendered pages over a reckon database (bench runs, their
 * charts, every problem's candidates, votes, scores and search tree) and, when serving, the
 * live requests and upstreams. `GET /ui/api/live` gives the live view as JSON (or table rows).
 */
import type { Hono } from "hono";
import type { UpstreamStatus } from "../../backends/pool.js";
import type { RunRecord, RunStore } from "../../store/sqlite.js";
import { HttpError } from "../errors.js";
import type { LiveRequest } from "../live.js";
import { html, page } from "./html.js";
import { liveRows, overviewPage, problemPage, runPage } from "./pages.js";
import { parseProblemQuery, QueryParameterError } from "./problem-table.js";

export interface DashboardParts {
  runs?: RunStore;
  /** Absent for the standalone dashboard (`reckon ui`). */
  live?: () => LiveRequest[];
  upstreams?: () => UpstreamStatus[];
}

const notFound = (what: string) => new HttpError(404, `${what} not found`, "invalid_request_error");

export function dashboardRoutes(app: Hono, parts: DashboardParts): void {
  const findRun = (id: string): RunRecord => {
    const run = parts.runs?.findRun(id);
    if (!run) throw notFound(`run ${id}`);
    return run;
  };
  app.get("/ui", (c) =>
    c.html(overviewPage(parts.live?.(), parts.upstreams?.() ?? [], parts.runs?.listRuns())),
  );
  // Browsers ask for it on every page; an empty answer keeps their consoles clean.
  app.get("/favicon.ico", (c) => c.body(null, 204));
  app.get("/ui/api/live", (c) => {
    const live = parts.live?.() ?? [];
    return c.req.query("format") === "rows" ? c.html(liveRows(live).text) : c.json({ requests: live });
  });
  app.get("/ui/runs/:id", async (c) => {
    const run = findRun(c.req.param("id"));
    try {
      return c.html(await runPage(parts.runs!, run, parseProblemQuery(c.req.query())));
    } catch (error) {
      // A page, not a JSON error: the parameter came from a link or the address bar.
      if (!(error instanceof QueryParameterError)) throw error;
      return c.html(
        page(
          "bad request",
          html`<h1>Bad request</h1><p class="bad" id="error">${error.message}</p><p><a href="/ui/runs/${encodeURIComponent(run.id)}">← run ${run.id}</a></p>`,
        ),
        400,
      );
    }
  });
  app.get("/ui/runs/:id/problems/:problemId", (c) => {
    const run = findRun(c.req.param("id"));
    const problemId = c.req.param("problemId");
    const problem = parts.runs!.getProblems(run.id).find((p) => p.problemId === problemId);
    if (!problem) throw notFound(`problem ${problemId}`);
    // The one page that shows the candidates' thinking, so the one that reads it.
    const results = parts.runs!.results.list(run.id, { problemId }, { reasoning: true });
    return c.html(problemPage(run, problem, results));
  });
}
