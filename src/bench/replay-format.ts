/** The replay file format lives with the replay backend (`backends/replay-format.ts`), below the bench. */
export * from "../backends/replay-format.js";
