/**
 * What the dashboard reads from a reckon database: a structural subset of the store
 * (`openStore(path, {create: false})` satisfies it), so the pages depend on no more of it.
 */
import type { TraceEvent } from "../../core/trace.js";
import type { Usage } from "../../core/types.js";

export interface DashboardRun {
  id: string;
  recipe: unknown;
  seed: number;
  status: string;
  backend?: string;
  error?: string;
  createdAt: string;
  finishedAt?: string;
}

export interface DashboardProblem {
  problemId: string;
  position: number;
  question: string;
  reference: string;
  level?: number;
  subject?: string;
}

export interface DashboardMetric {
  strategy: string;
  series?: string;
  metric: string;
  k: number;
  level?: number;
  value: number;
  ciLow: number;
  ciHigh: number;
  meanTokens: number;
  meanTotalTokens?: number;
  problems: number;
}

export interface DashboardResult {
  problemId: string;
  config: string;
  strategy: string;
  series: string;
  budget: number;
  options: Record<string, unknown>;
  answer?: string;
  correct: boolean;
  stopReason: string;
  usage: Usage;
  candidates: { text: string; answer?: string; score?: number; tokens: number; finishReason: string }[];
  trace: TraceEvent[];
  detail?: Record<string, unknown>;
}

export interface DashboardSource {
  listRuns(): DashboardRun[];
  findRun?(id: string): DashboardRun | undefined;
  getRun(id: string): DashboardRun;
  getProblems(runId: string): DashboardProblem[];
  getMetrics?(runId: string): DashboardMetric[];
  getResults?(runId: string, filter?: { problemId?: string; config?: string }): DashboardResult[];
}
