/** Code out of a model's answer: fenced blocks in the right language, or the text itself. */

export type CodeLanguage = "python" | "javascript";

const languageTags: Record<CodeLanguage, readonly string[]> = {
  python: ["python", "python3", "py", "py3"],
  javascript: ["javascript", "js", "node", "nodejs", "mjs", "cjs"],
};

export interface CodeBlock {
  /** The info string after the opening fence, lower-cased (`python`), empty when absent. */
  tag: string;
  code: string;
  /** The answer ended before the closing fence (a cut-off generation). */
  unclosed: boolean;
}

/** Every fenced block (``` or ~~~), in order; a final block left open runs to the end of the text. */
export function fencedBlocks(text: string): CodeBlock[] {
  const blocks: CodeBlock[] = [];
  const lines = text.split("\n");
  const fenceLines = lines.flatMap((line, i) => (/^\s*(`{3,}|~{3,})/.test(line) ? [i] : []));
  let start = 0;
  // An answer that continues a block opened in the prompt: code first, then a lone closing fence.
  const first = fenceLines[0];
  if (
    first !== undefined &&
    fenceLines.length % 2 === 1 &&
    /^\s*(`{3,}|~{3,})\s*$/.test(lines[first]!) &&
    lines.slice(0, first).join("").trim() !== ""
  ) {
    blocks.push({ tag: "", code: lines.slice(0, first).join("\n"), unclosed: false });
    start = first + 1;
  }
  for (let i = start; i < lines.length; i++) {
    const open = /^\s*(`{3,}|~{3,})\s*([\w+#.-]*)[^\n]*$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[1]!;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const line = lines[j]!;
      if (line.trim().startsWith(fence[0]!.repeat(fence.length)) && line.trim().replace(/[`~]/g, "") === "")
        break;
      body.push(line);
    }
    blocks.push({ tag: open[2]!.toLowerCase(), code: body.join("\n"), unclosed: j >= lines.length });
    i = j;
  }
  return blocks;
}

/** Whether `code` defines function `name` at top level (a whole-function answer). */
export function definesFunction(code: string, name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^(?:async\\s+)?(?:def|function)\\s+${escaped}\\s*\\(`, "m").test(code);
}

/**
 * The code of an answer in `language`. Fenced blocks tagged with the language come first,
 * then untagged ones; among them, the last that defines `entryPoint` when one is given,
 * else the longest (a short block after the solution is usually a usage example). Text
 * without fences is taken as code as it is: completion-style models answer with the code alone.
 */
export function extractCode(text: string, language: CodeLanguage, entryPoint?: string): string {
  const blocks = fencedBlocks(text);
  if (blocks.length === 0) return text;
  const tagged = blocks.filter((block) => languageTags[language].includes(block.tag));
  const untagged = blocks.filter((block) => block.tag === "");
  const pool = tagged.length > 0 ? tagged : untagged.length > 0 ? untagged : blocks;
  if (entryPoint) {
    const defining = pool.filter((block) => definesFunction(block.code, entryPoint));
    if (defining.length > 0) return defining[defining.length - 1]!.code;
  }
  return pool.reduce((best, block) => (block.code.trim().length > best.code.trim().length ? block : best))
    .code;
}

/** Code compared for voting: comments, trailing spaces and blank lines do not matter. */
export function normalizeCode(code: string): string {
  return code
    .split("\n")
    .map((line) => line.replace(/\s+$/, ""))
    .filter((line) => line.trim() !== "" && !/^\s*(#|\/\/)/.test(line))
    .join("\n");
}
