/** Small helpers for server-rendered pages: escaping, the layout, tables. */

export function escapeHtml(value: unknown): string {
  return String(value ?? "")
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** Marks text as already safe HTML. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** A template tag that escapes every interpolated value except Html (and arrays of it). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    const items = Array.isArray(value) ? value : [value];
    out += items.map((v) => (v instanceof Html ? v.text : escapeHtml(v))).join("");
    out += strings[i + 1]!;
  });
  return new Html(out);
}

export const raw = (text: string) => new Html(text);

const styles = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{background:#1d2a3a;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:baseline}
header a{color:#cfe3ff;text-decoration:none} header strong{font-size:16px}
main{padding:16px 24px;max-width:1200px}
table{border-collapse:collapse;background:#fff;margin:8px 0 16px}
th,td{border:1px solid #e2e2e2;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f2f5} td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#1a7f37}.bad{color:#c62828}.muted{color:#777}
pre{white-space:pre-wrap;margin:0;font:12px/1.4 ui-monospace,monospace}
details{margin:4px 0} summary{cursor:pointer}
details.thinking>summary{color:#777;font-style:italic} details.thinking pre{background:#f4f4f6;padding:4px 6px;color:#444}
ul.tree{list-style:none;padding-left:18px;border-left:1px dashed #ccc;margin:2px 0}
ul.tree li{margin:2px 0} .kind{display:inline-block;min-width:70px;font-weight:600}
.chosen{background:#e8f5e9} .chart svg{background:#fff;border:1px solid #e2e2e2}
`;

export function page(title: string, body: Html, script = ""): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · reckon</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${styles}</style></head>
<body><header><strong>reckon</strong><a href="/ui">dashboard</a><a href="/ui#runs">bench runs</a><a href="/metrics">metrics</a></header>
<main>${body.text}</main>${script ? `<script>${script}</script>` : ""}</body></html>`;
}

export const percent = (value: number) => `${(100 * value).toFixed(1)}%`;

/**
 * A reasoning model's thinking, collapsed under a summary of its length, to go above the
 * answer it led to; a click opens it. Nothing when there was no thinking. `maxChars` cuts it
 * where a view shows texts shortened.
 */
export function thinkingDetails(reasoning: string | undefined, tokens?: number, maxChars?: number): Html {
  if (!reasoning) return html``;
  const size = tokens === undefined ? `${reasoning.length} characters` : `${tokens} tokens`;
  const shown =
    maxChars !== undefined && reasoning.length > maxChars ? `${reasoning.slice(0, maxChars)}…` : reasoning;
  return html`<details class="thinking"><summary>thinking (${size})</summary><pre>${shown}</pre></details>`;
}
