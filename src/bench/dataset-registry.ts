/**
 * The named evaluation sets and their public homes: where each file is published, in what
 * format, which of its fields the loader reads, and the sha256 that the published file has.
 */

/** Name of a known dataset. */
export const datasetNames = ["gsm8k", "math500", "aime24", "amc23", "humaneval"] as const;
/** Name of a known dataset. */
export type DatasetName = (typeof datasetNames)[number];

/**
 * The fields the loader reads, whatever a file calls them. Only `prompt` and `answer` (a code
 * set: `prompt`, `test`, `entry_point`) are required; the others are kept when present.
 */
export const loaderFields = [
  "id",
  "prompt",
  "answer",
  "solution",
  "level",
  "subject",
  "url",
  "test",
  "entry_point",
] as const;
/** A field of the loader. */
export type LoaderField = (typeof loaderFields)[number];

/** Loader field → the file's field; a list is tried in order, the first one present is read. */
export type FieldMap = Partial<Record<LoaderField, string | readonly string[]>>;

export interface DatasetHome {
  name: DatasetName;
  /** The published file, in its original repository at a fixed commit (so its bytes never change). */
  url: string;
  format: "jsonl" | "jsonl.gz";
  /** File name in the cache folder (and in the development copy, `../shared/datasets`). */
  file: string;
  problems: number;
  /**
   * sha256 of the published file, pinned here: a fetched or cached file with other bytes is
   * refused. Without it, the hash of the first fetch is recorded beside the file and every later
   * read is checked against that (trust on first use).
   */
  sha256?: string;
  /** Which of the file's fields each loader field reads. */
  fields: FieldMap;
  /** Where the set comes from, and its licence. */
  source: string;
}

/**
 * Every home is the original publication at a commit; every hash is pinned, taken from the
 * published bytes (for MATH-500, the Git LFS object id of the file, which is its sha256).
 */
export const datasetHomes: Record<DatasetName, DatasetHome> = {
  gsm8k: {
    name: "gsm8k",
    url: "https://raw.githubusercontent.com/openai/grade-school-math/3101c7d5072418e28b9008a6636bde82a006892c/grade_school_math/data/test.jsonl",
    format: "jsonl",
    file: "gsm8k-test.jsonl",
    problems: 1319,
    sha256: "3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14",
    fields: { id: "id", prompt: "question", answer: "answer" },
    source: "GSM8K test split, openai/grade-school-math (MIT)",
  },
  math500: {
    name: "math500",
    url: "https://media.githubusercontent.com/media/openai/prm800k/7ecc794703b2877f63226f2477a49b34f9b25163/prm800k/math_splits/test.jsonl",
    format: "jsonl",
    file: "math500-test.jsonl",
    problems: 500,
    sha256: "35dc41080a3680858b27fa7e0533d2d547825316fc5dafe5d316f4ccc5a06132",
    fields: {
      id: "unique_id",
      prompt: "problem",
      answer: "answer",
      solution: "solution",
      level: "level",
      subject: "subject",
    },
    source: "MATH-500 as published with openai/prm800k (MATH by Hendrycks et al., MIT)",
  },
  aime24: {
    name: "aime24",
    url: "https://raw.githubusercontent.com/QwenLM/Qwen2.5-Math/a45202bd16f1ec06f433442dc1152d0074773465/evaluation/data/aime24/test.jsonl",
    format: "jsonl",
    file: "aime24-test.jsonl",
    problems: 30,
    sha256: "af2b8bd2aa911b6333ad0df32f3ca05c7ae8ed10f1731f4372c8ae26990bf7ac",
    fields: { id: "id", prompt: "problem", answer: "answer", solution: "solution", url: "url" },
    source: "AIME 2024, QwenLM/Qwen2.5-Math evaluation data",
  },
  amc23: {
    name: "amc23",
    url: "https://raw.githubusercontent.com/QwenLM/Qwen2.5-Math/a45202bd16f1ec06f433442dc1152d0074773465/evaluation/data/amc23/test.jsonl",
    format: "jsonl",
    file: "amc23-test.jsonl",
    problems: 40,
    sha256: "43707e1ca784602d8479de24ee8ce36609dbebc46dd152b0b12a46611aa898a4",
    fields: { id: "id", prompt: ["question", "problem"], answer: "answer", url: "url" },
    source: "AMC 2023, QwenLM/Qwen2.5-Math evaluation data",
  },
  humaneval: {
    name: "humaneval",
    url: "https://raw.githubusercontent.com/openai/human-eval/6d43fb980f9fee3c892a914eda09951f772ad10d/data/HumanEval.jsonl.gz",
    format: "jsonl.gz",
    file: "HumanEval.jsonl.gz",
    problems: 164,
    sha256: "b796127e635a67f93fb35c04f4cb03cf06f38c8072ee7cee8833d7bee06979ef",
    fields: { id: "task_id", prompt: "prompt", test: "test", entry_point: "entry_point" },
    source: "HumanEval, openai/human-eval (MIT)",
  },
};
