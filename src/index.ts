export { type ReckonMiddlewareOptions, reckonMiddleware } from "./ai-sdk.js";
export { createDefaultBackend, createLlamaCppBackend, defaultModelPath } from "./backends/embedded.js";
export type { LlamaCppBackend, LlamaCppOptions } from "./backends/llamacpp.js";
export { createOpenAIBackend } from "./backends/openai.js";
export {
  createOpenAIPool,
  createPoolBackend,
  type PoolBackend,
  type PoolEvent,
  type PoolPolicy,
} from "./backends/pool.js";
export { createReplayBackend } from "./backends/replay.js";
export { type BackendSpec, resolveBackend } from "./backends/resolve.js";
export { resumeBench, startBench } from "./bench/runner.js";
export { type Allocation, allocateBatch } from "./control/allocate.js";
export { difficultySignals, estimateDifficulty } from "./control/difficulty.js";
export { fitPolicy, type Policy, type PolicyRow, parsePolicy, readPolicyFile } from "./control/policy.js";
export {
  type Backend,
  type BackendCapabilities,
  type BackendMiddleware,
  forwardBackend,
  type GenerateRequest,
  type GenerateResponse,
  type SamplingOptions,
  wrapBackend,
} from "./core/backend.js";
export { Budget, type BudgetLimits } from "./core/budget.js";
export { drawIndexMiddleware, requestDigest } from "./core/draws.js";
export * from "./core/errors.js";
export { Meter, type Prices } from "./core/meter.js";
export { meteringMiddleware } from "./core/metering.js";
export {
  bestScoredIndex,
  type Selection,
  type SelectionRule,
  selectAnswer,
  type Vote,
  voteAnswer,
} from "./core/selection.js";
export { collectTrace, type TraceEvent, Tracer, type TraceSink } from "./core/trace.js";
export * from "./core/types.js";
export {
  aggregateStepScores,
  functionVerifier,
  type StepAggregation,
  type Verifier,
  type VerifierContext,
} from "./core/verifier.js";
export { type RunOptions, run } from "./run.js";
export { createSandbox } from "./sandbox/linux.js";
export type { Sandbox, SandboxResult } from "./sandbox/sandbox.js";
export { openStore } from "./store/sqlite.js";
export {
  createStrategyRegistry,
  defaultStrategies,
  getStrategy,
  listStrategies,
  registerStrategy,
  StrategyRegistry,
} from "./strategies/registry.js";
export { drawCandidates } from "./strategies/sampling.js";
export {
  defineStrategy,
  type Strategy,
  type StrategyContext,
  type StrategyLookup,
} from "./strategies/strategy.js";
export { tallyAnswers } from "./strategies/vote.js";
export {
  arithmeticTask,
  formatArithmeticPrompt,
  generateArithmeticProblems,
  toProblem,
} from "./tasks/arithmetic.js";
export { extractCode, judgeCode } from "./tasks/code.js";
export { extractMathAnswer, gsm8kTask, mathAnswersEquivalent, mathTask } from "./tasks/math.js";
export { getTask, registerTask, renderPrompt, taskNames } from "./tasks/registry.js";
export { genselectVerifier } from "./verifiers/genselect.js";
export { resolveVerifier } from "./verifiers/registry.js";
export { checkArithmeticSolution, stepCheckerVerifier } from "./verifiers/step-checker.js";
export { tournamentVerifier } from "./verifiers/tournament.js";
