/**
 * The trace of one request as a tree: every event has an id and the id of its parent (a
 * strategy scope, a backend call, a search node), so the dashboard can draw a search tree and
 * the store keeps it with each result.
 */
export type TraceKind =
  | "scope"
  | "call"
  | "sample"
  | "step"
  | "scored"
  | "voted"
  | "pruned"
  | "expanded"
  | "revised"
  | "stopped-early"
  | "budget-exhausted"
  | "answer";

export interface TraceEvent {
  id: number;
  parent?: number;
  kind: TraceKind;
  text?: string;
  tokens?: number;
  /**
   * A drawn sample's thinking (a reasoning model's), apart from its answer in `text`: put back
   * from the stored draw when a bench result is read with its thinking.
   */
  reasoning?: string;
  /** Of `tokens`, those spent thinking, when counted apart. */
  reasoningTokens?: number;
  score?: number;
  at: number;
  /** Kind-specific fields (a tally, the scores of a batch, why a search stopped). */
  data?: Record<string, unknown>;
}

export type TraceSink = (event: TraceEvent) => void;

export const discardTrace: TraceSink = () => {};

export type TraceInput = Omit<TraceEvent, "id" | "at" | "parent"> & { parent?: number };

/** Emits events under a parent; `scope` opens a nested tracer, e.g. for a child strategy. */
export class Tracer {
  constructor(
    private readonly sink: TraceSink = discardTrace,
    readonly parent?: number,
    private readonly ids: { next: number } = { next: 0 },
  ) {}

  /** Records an event (under this tracer's parent unless it names one) and returns its id. */
  emit(event: TraceInput): number {
    const id = this.ids.next++;
    // Nobody reads a discarded event: it is not built (a served request makes several).
    if (this.sink !== discardTrace)
      this.sink({ ...event, id, parent: event.parent ?? this.parent, at: Date.now() });
    return id;
  }

  /** A tracer whose events hang under a new `scope` event. */
  scope(text: string, data?: Record<string, unknown>): Tracer {
    const id = this.emit({ kind: "scope", text, ...(data ? { data } : {}) });
    return new Tracer(this.sink, id, this.ids);
  }

  /** A tracer whose events hang under an existing event (a search node). */
  under(parent: number): Tracer {
    return new Tracer(this.sink, parent, this.ids);
  }
}

/** A sink that keeps every event, for tests and `--json` output. */
export function collectTrace(): { sink: TraceSink; events: TraceEvent[] } {
  const events: TraceEvent[] = [];
  return { sink: (e) => events.push(e), events };
}
