/** Structured events that a strategy emits; the dashboard draws them and the server streams them. */
export type TraceEvent =
  | { type: "sampled"; count: number; tokens: number }
  | { type: "scored"; scores: number[] }
  | { type: "voted"; tally: { answer: string; count: number; score?: number }[] }
  | { type: "pruned"; kept: number; dropped: number }
  | { type: "expanded"; depth: number; width: number }
  | { type: "stopped-early"; reason: string }
  | { type: "budget-exhausted"; limit: string };

export type TraceSink = (event: TraceEvent & { at: number }) => void;

export const discardTrace: TraceSink = () => {};

/** A sink that keeps every event, for tests and `--json` output. */
export function collectTrace(): { sink: TraceSink; events: (TraceEvent & { at: number })[] } {
  const events: (TraceEvent & { at: number })[] = [];
  return { sink: (e) => events.push(e), events };
}
