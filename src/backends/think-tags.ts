/**
 * A reasoning model's thinking told from its answer when both come inline: `<think>…</think>`
 * then the answer (Qwen3, DeepSeek-R1 served without a reasoning parser, or run in-process).
 * Text arrives piece by piece; a tag split across pieces is held back until it is whole.
 */

import { z } from "zod";

/** The tags that open and close the thinking. */
export type ThinkTags = readonly [open: string, close: string];

export const defaultThinkTags: ThinkTags = ["<think>", "</think>"];

/** New text of one piece, split into its thinking and its answer. */
export interface SplitPiece {
  reasoning: string;
  text: string;
}

/**
 * The `thinkTags` option of a backend: the tags between which a reasoning model writes its
 * thinking inline (default `<think>…</think>`), or `false` to take the text as it comes.
 */
export const thinkTagsOptionSchema = z
  .union([z.tuple([z.string().min(1), z.string().min(1)]), z.literal(false)])
  .default([...defaultThinkTags]);

/** Whether `text` (a prompt, or a partial answer) leaves a think block open at its end. */
export function opensThinking(text: string, tags: ThinkTags = defaultThinkTags): boolean {
  const open = text.lastIndexOf(tags[0]);
  return open >= 0 && text.indexOf(tags[1], open + tags[0].length) < 0;
}

/**
 * Splits one sample's text as it arrives. The thinking is what follows an opening tag at the
 * start of the text (after any whitespace), or everything from the start when the sample
 * continues an open think block (`startThinking`), up to the closing tag; whitespace on either
 * side of a tag is dropped. An answer cut off while still thinking has thinking only.
 */
export class ThinkSplitter {
  private state: "start" | "thinking" | "answer";
  /** Text held back: a possible tag prefix, or leading whitespace whose fate is not known yet. */
  private held = "";
  /** Drop whitespace until the next non-space character (just after a tag). */
  private trimming: boolean;

  constructor(
    private readonly tags: ThinkTags = defaultThinkTags,
    startThinking = false,
  ) {
    this.state = startThinking ? "thinking" : "start";
    // A continued think block goes on exactly where it stopped: nothing is dropped.
    this.trimming = false;
  }

  push(piece: string): SplitPiece {
    const out: SplitPiece = { reasoning: "", text: "" };
    let rest = this.held + piece;
    this.held = "";
    while (rest !== "") {
      if (this.trimming) {
        const trimmed = rest.replace(/^\s+/, "");
        if (trimmed === "") return out;
        rest = trimmed;
        this.trimming = false;
      }
      if (this.state === "start") {
        const body = rest.replace(/^\s+/, "");
        const [open] = this.tags;
        if (body.startsWith(open)) {
          rest = body.slice(open.length);
          this.state = "thinking";
          this.trimming = true;
          continue;
        }
        // Whitespace, or a prefix of the opening tag after it: wait for more.
        if (open.startsWith(body)) {
          this.held = rest;
          return out;
        }
        this.state = "answer";
        continue;
      }
      if (this.state === "answer") {
        out.text += rest;
        return out;
      }
      const [, close] = this.tags;
      const at = rest.indexOf(close);
      if (at >= 0) {
        out.reasoning += rest.slice(0, at).trimEnd();
        rest = rest.slice(at + close.length);
        this.state = "answer";
        this.trimming = true;
        continue;
      }
      // Whitespace is held too: before the closing tag it is dropped.
      const tagStart = rest.length - partialSuffix(rest, close);
      const keep = rest.length - rest.slice(0, tagStart).trimEnd().length;
      out.reasoning += rest.slice(0, rest.length - keep);
      this.held = rest.slice(rest.length - keep);
      return out;
    }
    return out;
  }

  /** The sample ended: what was held back is released where it belongs. */
  flush(): SplitPiece {
    const held = this.held;
    this.held = "";
    if (this.state === "thinking") return { reasoning: held, text: "" };
    // Only whitespace or an unfinished opening tag was held at the start: it is answer text.
    return { reasoning: "", text: held };
  }
}

/** The length of the longest suffix of `text` that is a proper prefix of `tag`. */
function partialSuffix(text: string, tag: string): number {
  for (let k = Math.min(tag.length - 1, text.length); k > 0; k--)
    if (text.endsWith(tag.slice(0, k))) return k;
  return 0;
}

/** A whole sample's thinking and answer. */
export function splitThinking(
  text: string,
  tags: ThinkTags = defaultThinkTags,
  startThinking = false,
): SplitPiece {
  const splitter = new ThinkSplitter(tags, startThinking);
  const first = splitter.push(text);
  const last = splitter.flush();
  return { reasoning: first.reasoning + last.reasoning, text: first.text + last.text };
}

/**
 * Where a whole sample's thinking ends in its raw text, as `ThinkSplitter` reads it: `end` is
 * just after the closing tag (`closed`), or the text's length when the thinking never closes.
 * Undefined when the sample does not think. Lets an engine count the thinking's tokens.
 */
export function thinkingSpan(
  text: string,
  tags: ThinkTags = defaultThinkTags,
  startThinking = false,
): { end: number; closed: boolean } | undefined {
  const [open, close] = tags;
  let from = 0;
  if (!startThinking) {
    const body = text.length - text.replace(/^\s+/, "").length;
    if (!text.startsWith(open, body)) return undefined;
    from = body + open.length;
  }
  const at = text.indexOf(close, from);
  return at < 0 ? { end: text.length, closed: false } : { end: at + close.length, closed: true };
}
