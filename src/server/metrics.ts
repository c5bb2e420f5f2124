/**
 * Prometheus metrics of one server (its own registry: no global state, several servers per
 * process in tests): requests by route and status, latency, upstream calls, errors, retries
 * and ejections, and tokens by direction.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { PoolEvent, UpstreamStatus } from "../backends/pool.js";
import type { Usage } from "../core/types.js";
import { type Redact, truncate } from "./redact.js";

/**
 * Label values from outside the server's own code (upstream addresses, strategy names) pass
 * through here: redacted, and bounded in number, so that no series set can grow without end
 * (a value beyond the first `max` distinct ones is counted as "other").
 */
class LabelValues {
  private readonly seen = new Map<string, string>();

  constructor(
    private readonly redact: Redact,
    private readonly max = 64,
  ) {}

  of(value: string): string {
    const known = this.seen.get(value);
    if (known !== undefined) return known;
    if (this.seen.size >= this.max) return "other";
    const shown = truncate(this.redact(value), 200);
    this.seen.set(value, shown);
    return shown;
  }
}

/**
 * A counter's increments added up by label values and handed to it when the metrics are read:
 * prom-client hashes the labels of every increment, which each request paid several times over.
 * Keyed by two values without joining them, and the labels object built only the first time a
 * pair is seen: nothing is allocated for a pair counted before.
 */
class Tally<Name extends string> {
  private readonly counts = new Map<
    string,
    Map<string | number, { labels: Record<Name, string>; value: number }>
  >();

  add(
    first: string,
    second: string | number,
    labelsOf: (first: string, second: string | number) => Record<Name, string>,
    value = 1,
  ): void {
    let inner = this.counts.get(first);
    if (!inner) {
      inner = new Map();
      this.counts.set(first, inner);
    }
    const entry = inner.get(second);
    if (entry) entry.value += value;
    else inner.set(second, { labels: labelsOf(first, second), value });
  }

  flushInto(counter: Counter<Name>): void {
    for (const inner of this.counts.values())
      for (const { labels, value } of inner.values()) counter.inc(labels, value);
    this.counts.clear();
  }
}

/** One labels object per value, for a histogram observed with the same few values again and again. */
class LabelObjects<Name extends string> {
  private readonly objects = new Map<string, Record<Name, string>>();

  constructor(private readonly name: Name) {}

  of(value: string): Record<Name, string> {
    let labels = this.objects.get(value);
    if (!labels) {
      labels = { [this.name]: value } as Record<Name, string>;
      this.objects.set(value, labels);
    }
    return labels;
  }
}

const requestLabels = (route: string, status: string | number) => ({ route, status: String(status) });
const strategyLabels = (strategy: string, stopReason: string | number) => ({
  strategy,
  stop_reason: String(stopReason),
});
const directionLabels = (direction: string) => ({ direction });
const outcomeLabels = (upstream: string, outcome: string | number) => ({
  upstream,
  outcome: String(outcome),
});

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requestCounts = new Tally<"route" | "status">();
  private readonly requests: Counter<"route" | "status"> = new Counter({
    name: "reckon_http_requests_total",
    help: "HTTP requests answered, by route and status",
    labelNames: ["route", "status"] as const,
    registers: [this.registry],
    collect: () => this.requestCounts.flushInto(this.requests),
  });
  private readonly duration = new Histogram({
    name: "reckon_http_request_duration_seconds",
    help: "Time from request to the end of the response, by route",
    labelNames: ["route"] as const,
    buckets: latencyBuckets,
    registers: [this.registry],
  });
  private readonly strategyRunCounts = new Tally<"strategy" | "stop_reason">();
  private readonly strategyRuns: Counter<"strategy" | "stop_reason"> = new Counter({
    name: "reckon_strategy_runs_total",
    help: "Strategy runs, by strategy and stop reason",
    labelNames: ["strategy", "stop_reason"] as const,
    registers: [this.registry],
    collect: () => this.strategyRunCounts.flushInto(this.strategyRuns),
  });
  private readonly tokenCounts = new Tally<"direction">();
  private readonly tokens: Counter<"direction"> = new Counter({
    name: "reckon_tokens_total",
    help: "Tokens spent upstream, by direction (prompt, completion, cached prompt, verifier)",
    labelNames: ["direction"] as const,
    collect: () => this.tokenCounts.flushInto(this.tokens),
    registers: [this.registry],
  });
  private readonly upstreamCallCounts = new Tally<"upstream" | "outcome">();
  private readonly upstreamCalls: Counter<"upstream" | "outcome"> = new Counter({
    name: "reckon_upstream_calls_total",
    help: "Calls to upstream servers, by upstream and outcome",
    labelNames: ["upstream", "outcome"] as const,
    registers: [this.registry],
    collect: () => this.upstreamCallCounts.flushInto(this.upstreamCalls),
  });
  private readonly upstreamLatency = new Histogram({
    name: "reckon_upstream_call_duration_seconds",
    help: "Latency of successful upstream calls",
    labelNames: ["upstream"] as const,
    buckets: latencyBuckets,
    registers: [this.registry],
  });
  private readonly upstreamErrors = new Counter({
    name: "reckon_upstream_errors_total",
    help: "Failed upstream calls, by upstream and HTTP status (none: network error or timeout)",
    labelNames: ["upstream", "status"] as const,
    registers: [this.registry],
  });
  private readonly upstreamRetries = new Counter({
    name: "reckon_upstream_retries_total",
    help: "Requests retried on another upstream, by the upstream that failed",
    labelNames: ["upstream"] as const,
    registers: [this.registry],
  });
  private readonly ejections = new Counter({
    name: "reckon_upstream_ejections_total",
    help: "Times an upstream was ejected by the circuit breaker",
    labelNames: ["upstream"] as const,
    registers: [this.registry],
  });

  private readonly routeLabels = new LabelObjects("route");
  private readonly upstreamLabels = new LabelObjects("upstream");
  private readonly upstreamLabel: LabelValues;
  private readonly strategyLabel: LabelValues;

  constructor(
    upstreams?: () => UpstreamStatus[],
    redact: Redact = (text) => text,
    /** Requests being answered, read when the metrics are scraped (not counted per request). */
    inFlight: () => number = () => 0,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: "reckon_" });
    new Gauge({
      name: "reckon_http_requests_in_flight",
      help: "Requests being answered",
      registers: [this.registry],
      collect() {
        this.set(inFlight());
      },
    });
    const upstreamLabel = new LabelValues(redact);
    this.upstreamLabel = upstreamLabel;
    this.strategyLabel = new LabelValues(redact);
    if (upstreams) {
      const registry = this.registry;
      new Gauge({
        name: "reckon_upstream_healthy",
        help: "1 when an upstream takes requests, 0 while ejected",
        labelNames: ["upstream"] as const,
        registers: [registry],
        collect() {
          for (const u of upstreams())
            this.set({ upstream: upstreamLabel.of(u.id) }, u.state === "ejected" ? 0 : 1);
        },
      });
      new Gauge({
        name: "reckon_upstream_outstanding",
        help: "Requests in flight to an upstream",
        labelNames: ["upstream"] as const,
        registers: [registry],
        collect() {
          for (const u of upstreams()) this.set({ upstream: upstreamLabel.of(u.id) }, u.outstanding);
        },
      });
    }
  }

  request(route: string, status: number, seconds: number): void {
    this.requestCounts.add(route, status, requestLabels);
    this.duration.observe(this.routeLabels.of(route), seconds);
  }

  strategyRun(strategy: string, stopReason: string, usage: Usage): void {
    const shown = this.strategyLabel.of(strategy);
    this.strategyRunCounts.add(shown, stopReason, strategyLabels);
    this.tokenCounts.add("prompt", "", directionLabels, usage.promptTokens);
    this.tokenCounts.add("completion", "", directionLabels, usage.completionTokens);
    this.tokenCounts.add("cached_prompt", "", directionLabels, usage.cachedPromptTokens ?? 0);
    this.tokenCounts.add("verifier", "", directionLabels, usage.verifierTokens ?? 0);
  }

  /** Feeds the pool's events (`createOpenAIPool({policy: {onEvent}})`). */
  readonly poolEvent = (event: PoolEvent): void => {
    const upstream = this.upstreamLabel.of("upstream" in event ? event.upstream : event.from);
    switch (event.kind) {
      case "success":
        this.upstreamCallCounts.add(upstream, "success", outcomeLabels);
        this.upstreamLatency.observe(this.upstreamLabels.of(upstream), event.latencyMs / 1000);
        break;
      case "failure":
        this.upstreamCallCounts.add(upstream, "failure", outcomeLabels);
        this.upstreamErrors.inc({ upstream, status: String(event.status ?? "none") });
        break;
      case "retry":
        this.upstreamRetries.inc({ upstream });
        break;
      case "ejected":
        this.ejections.inc({ upstream });
        break;
      case "restored":
        break;
    }
  };

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
