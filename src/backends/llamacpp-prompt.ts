import {
  type ChatHistoryItem,
  type ChatWrapper,
  type LlamaModel,
  LlamaText,
  resolveChatWrapper,
  type Token,
} from "node-llama-cpp";
import { InvalidInputError } from "../core/errors.js";
import type { ChatMessage } from "../core/types.js";

export type PromptMode = "completion" | "chat";

/** A prompt as the model sees it: tokens, plus what ends the answer. */
export interface PreparedPrompt {
  tokens: Token[];
  stopTokens: Set<Token>;
  stopStrings: string[];
}

/** The chat template of a model (from its GGUF metadata, else a generic one). */
export function chatTemplateOf(model: LlamaModel): ChatWrapper {
  return resolveChatWrapper(model);
}

/**
 * Raw text prompt. node-llama-cpp's `tokenize()` adds no BOS, so it is prepended here when the
 * model's metadata asks for one (`tokenizer.ggml.add_bos_token`), as llama.cpp itself does.
 */
export function prepareCompletionPrompt(
  model: LlamaModel,
  prompt: string,
  continuation = "",
): PreparedPrompt {
  const bos = model.tokens.bos;
  const tokens = model.tokenize(prompt + continuation, false);
  if (model.tokens.shouldPrependBosToken && bos !== null) tokens.unshift(bos);
  return { tokens, stopTokens: new Set(), stopStrings: [] };
}

function historyOf(messages: readonly ChatMessage[], continuation: string): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((message): ChatHistoryItem => {
    if (message.role === "assistant") return { type: "model", response: [message.content] };
    return { type: message.role, text: message.content };
  });
  // The template leaves the last model turn open: the answer starts there.
  history.push({ type: "model", response: continuation ? [continuation] : [] });
  return history;
}

/** Chat messages rendered with the model's chat template, ending in an open assistant turn. */
export function prepareChatPrompt(
  model: LlamaModel,
  template: ChatWrapper,
  messages: readonly ChatMessage[],
  continuation = "",
): PreparedPrompt {
  if (messages.length === 0) throw new InvalidInputError("prompt", "no messages");
  const state = template.generateContextState({ chatHistory: historyOf(messages, continuation) });
  const tokens = state.contextText.tokenize(model.tokenizer);
  const stopTokens = new Set<Token>();
  const stopStrings: string[] = [];
  for (const trigger of state.stopGenerationTriggers) {
    const text = LlamaText(trigger);
    if (text.values.every((value) => typeof value === "string")) {
      const plain = text.values.join("");
      if (plain) stopStrings.push(plain);
      continue;
    }
    const triggerTokens = text.tokenize(model.tokenizer);
    if (triggerTokens.length === 1) stopTokens.add(triggerTokens[0]!);
  }
  return { tokens, stopTokens, stopStrings };
}

export function preparePrompt(
  model: LlamaModel,
  mode: PromptMode,
  template: ChatWrapper | undefined,
  prompt: string | readonly ChatMessage[],
  continuation?: string,
): PreparedPrompt {
  if (mode === "chat") {
    const messages: readonly ChatMessage[] =
      typeof prompt === "string" ? [{ role: "user", content: prompt }] : prompt;
    return prepareChatPrompt(model, template ?? chatTemplateOf(model), messages, continuation);
  }
  if (typeof prompt !== "string")
    throw new InvalidInputError(
      "prompt",
      "a completion-mode backend takes a text prompt, not chat messages",
      'create the backend with mode: "chat" to use the model\'s chat template',
    );
  return prepareCompletionPrompt(model, prompt, continuation);
}
