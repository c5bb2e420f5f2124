export type {
  Backend,
  BackendCapabilities,
  GenerateRequest,
  GenerateResponse,
  SamplingOptions,
} from "./backends/backend.js";
export {
  createDefaultBackend,
  createLlamaCppBackend,
  defaultModelPath,
  type LlamaCppOptions,
} from "./backends/llamacpp.js";
export { createOpenAIBackend } from "./backends/openai.js";
export { createReplayBackend } from "./backends/replay.js";
export { type BackendSpec, resolveBackend } from "./backends/resolve.js";
export { Budget, type BudgetLimits } from "./core/budget.js";
export * from "./core/errors.js";
export { Meter, meteredBackend } from "./core/meter.js";
export { collectTrace, type TraceEvent, type TraceSink } from "./core/trace.js";
export * from "./core/types.js";
export { type RunOptions, run } from "./run.js";
export { getStrategy, listStrategies } from "./strategies/registry.js";
export type { Strategy, StrategyContext } from "./strategies/strategy.js";
export { tallyAnswers } from "./strategies/vote.js";
export {
  arithmeticTask,
  formatArithmeticPrompt,
  generateArithmeticProblems,
  toProblem,
} from "./tasks/arithmetic.js";
export { extractMathAnswer, gsm8kTask, mathAnswersEquivalent, mathTask } from "./tasks/math.js";
export { getTask, renderPrompt } from "./tasks/registry.js";
export { resolveScorer } from "./verifiers/registry.js";
export { functionScorer, type Scorer } from "./verifiers/scorer.js";
export { checkArithmeticSolution, stepCheckerScorer } from "./verifiers/step-checker.js";
