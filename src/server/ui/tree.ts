/**
 * A trace as a tree: every event hangs under its `parent` (a strategy scope, a backend call,
 * a search node), so tree searches show their expansions and prunings as nested lists.
 */
import type { TraceEvent } from "../../core/trace.js";
import { type Html, html, thinkingDetails } from "./html.js";

const shorten = (text: string, max = 160) => (text.length > max ? `${text.slice(0, max)}…` : text);
/** A sample's thinking in the tree is cut here; the candidates table shows it whole. */
const thinkingChars = 2000;

export function traceTree(events: readonly TraceEvent[]): Html {
  const ids = new Set(events.map((e) => e.id));
  const children = new Map<number | undefined, TraceEvent[]>();
  for (const event of events) {
    // An event whose parent was not kept is shown at the top rather than lost.
    const parent = event.parent !== undefined && ids.has(event.parent) ? event.parent : undefined;
    const list = children.get(parent) ?? [];
    list.push(event);
    children.set(parent, list);
  }
  const render = (parent: number | undefined, depth: number): Html => {
    const list = children.get(parent) ?? [];
    if (list.length === 0 || depth > 64) return html``;
    return html`<ul class="tree">${list.map(
      (e) =>
        html`<li data-kind="${e.kind}" data-id="${e.id}"><span class="kind">${e.kind}</span>${thinkingDetails(
          e.reasoning,
          e.reasoningTokens,
          thinkingChars,
        )}${
          e.text ? html` <code>${shorten(e.text)}</code>` : ""
        }${e.score !== undefined ? html` <span class="muted">score ${e.score.toFixed(3)}</span>` : ""}${
          e.tokens !== undefined ? html` <span class="muted">${e.tokens} tokens</span>` : ""
        }${render(e.id, depth + 1)}</li>`,
    )}</ul>`;
  };
  return render(undefined, 0);
}
