import { AgoraError } from '@agora/sdk';
import { describeModelFile } from '../../runtimes/modelFile.ts';
import { createLlamaRuntime, type LlamaChatMessage, type LlamaRuntime } from '../../runtimes/gguf/llamaRuntime.ts';
import type { ServedModel } from '../servedModel.ts';

const ROLES = new Set(['system', 'user', 'assistant']);
/** Runtime errors caused by the request, answered 400 rather than 500. */
const BAD_INPUT = new Set(['LlamaPromptTooLong', 'LlamaInvalidOptions', 'LlamaEmptyInput']);

function asClientError(err: unknown): unknown {
  if (err instanceof AgoraError && BAD_INPUT.has(err.code)) Object.assign(err, { statusCode: 400 });
  return err;
}

/**
 * A GGUF language model (llama.cpp, tolerance verification) as a model a provider sells.
 * - Chat `{ messages: [{ role, content }] }` (with the model's template) or completion `{ prompt }`;
 *   params: `max_tokens`, `temperature`, `seed`, `top_p`, `stop`; output: `{ text, finishReason, usage }`.
 *   Text streams through `onToken` as it is generated.
 * - Embeddings `{ embed: string[] }` (non-empty strings); output
 *   `{ embeddings: number[][] (unit length), usage: { promptTokens } }`.
 * - `verifierRuntime`: the same runtime, for auditing other providers' calls of this model
 *   (tolerance mode scores claimed text; it queues with the served calls).
 */
export async function createLlamaServedModel(init: {
  path: string;
  pricePerCall: bigint;
  name?: string;
  quantization?: string;
}): Promise<ServedModel & { verifierRuntime: LlamaRuntime; close(): Promise<void> }> {
  const runtime = await createLlamaRuntime({ path: init.path, threads: 1 });
  const descriptor = await describeModelFile({
    name: init.name ?? 'agora/tiny-llama',
    path: init.path,
    format: 'gguf',
    runtime: 'llama.cpp',
    quantization: init.quantization ?? 'f32',
    verificationMode: 'tolerance',
  });
  const invalid = (message: string) => Object.assign(new AgoraError('InvalidInput', message), { statusCode: 400 });
  return {
    descriptor,
    pricePerCall: init.pricePerCall,
    streams: true,
    verifierRuntime: runtime,
    async run(input, params, { signal, onToken }) {
      const { messages, prompt, embed } = (input ?? {}) as { messages?: unknown; prompt?: unknown; embed?: unknown };
      if (embed !== undefined) {
        if (!Array.isArray(embed) || embed.length === 0 || !embed.every((text) => typeof text === 'string')) {
          throw invalid('Embedding input must be { embed: [string, ...] } with at least one string.');
        }
        const texts = embed as string[];
        try {
          const embeddings = await runtime.embed(texts, { signal });
          // Counted as `complete` feeds text (no BOS), the same count OpenAI's usage reports.
          const promptTokens = texts.reduce((sum, text) => sum + runtime.tokenize(text).length, 0);
          return { embeddings, usage: { promptTokens } };
        } catch (err) {
          throw asClientError(err);
        }
      }
      const number = (key: string) => (typeof params[key] === 'number' ? (params[key] as number) : undefined);
      const stop = params.stop;
      const options = {
        maxTokens: number('max_tokens') ?? 256,
        temperature: number('temperature') ?? 0,
        seed: number('seed'),
        topP: number('top_p'),
        stop: typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop.filter((s): s is string => typeof s === 'string') : undefined,
        signal,
        onToken,
      };
      let result;
      try {
        if (Array.isArray(messages)) {
          if (!messages.every((m) => m && ROLES.has((m as LlamaChatMessage).role) && typeof (m as LlamaChatMessage).content === 'string')) {
            throw invalid('Each message must be { role: "system" | "user" | "assistant", content: string }.');
          }
          result = await runtime.chat(messages as LlamaChatMessage[], options);
        } else if (typeof prompt === 'string') {
          result = await runtime.complete(prompt, options);
        } else {
          throw invalid('Language-model input must be { messages: [...] } or { prompt: "..." }.');
        }
      } catch (err) {
        throw asClientError(err);
      }
      return {
        text: result.text,
        finishReason: result.finishReason,
        usage: { promptTokens: result.promptTokens, completionTokens: result.completionTokens },
      };
    },
    close: () => runtime.close(),
  };
}
