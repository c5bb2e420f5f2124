/** The vote and best-score helpers, from the one module of selection rules (`core/selection.ts`). */
export { bestScoredIndex, tallyAnswers } from "../core/selection.js";
