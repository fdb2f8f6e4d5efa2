import { AgoraError } from '@agora/sdk';
import type { LlamaChatMessage, LlamaContinuationScore, LlamaRuntime } from '../runtimes/gguf/llamaRuntime.ts';
import type { VerificationResult } from './verificationResult.ts';
import { defaultSamplingTopK, verifyTolerance, type ToleranceClaim, type ToleranceDecoding, type ToleranceMetrics, type ToleranceThresholds } from './verifyTolerance.ts';

/** Least cosine similarity between a claimed embedding and the verifier's (hardware changes the last bits only). */
export const defaultMinEmbeddingCosine = 0.99;

/** The numbers an embedding verdict rests on. */
export type EmbeddingMetrics = {
  /** Smallest cosine similarity between a claimed vector and the verifier's (0 when the counts differ). */
  minCosine: number;
  vectors: number;
};

/** Parameters of {@link verifyLlamaOutput}. */
export type VerifyLlamaOutputParameters = {
  /** The verifier's runtime on the same GGUF file (any thread count). */
  runtime: Pick<LlamaRuntime, 'scoreContinuation' | 'embed' | 'tokenize' | 'contextSize'>;
  /** The call's input as `createLlamaServedModel` takes it: `{ messages }`, `{ prompt }` or `{ embed }`. */
  input: unknown;
  params: Record<string, unknown>;
  output: unknown;
  thresholds?: Partial<ToleranceThresholds & { minEmbeddingCosine: number }> | undefined;
  signal?: AbortSignal | undefined;
};

/** What {@link verifyLlamaOutput} returns; `score` is kept for reports and disputes. */
export type VerifyLlamaOutputReturnType =
  | (VerificationResult<ToleranceMetrics> & { kind: 'text'; score?: LlamaContinuationScore | undefined })
  | (VerificationResult<EmbeddingMetrics> & { kind: 'embedding' });

const fail = (reason: string): VerifyLlamaOutputReturnType => ({
  kind: 'text',
  verdict: 'fail',
  metrics: { scoredTokens: 0, agreement: 0, top1: 0, maxRank: 0, meanLogProbability: 0, tokenCountDelta: 0, promptTokenDelta: 0 },
  reasons: [reason],
});

/**
 * Tolerance-mode verification of one call of a GGUF model served by `createLlamaServedModel`:
 * chat and completion outputs are scored in one prefill pass over prompt + claimed text and
 * judged by {@link verifyTolerance}; embeddings are recomputed and compared by cosine similarity.
 * Reads the decoding the call asked for from its params as the served model does
 * (`max_tokens` 256, `temperature` 0, `top_k` node-llama-cpp's 40, `stop`).
 *
 * @example
 * const runtime = await createLlamaRuntime({ path: 'tiny.gguf' })
 * const result = await verifyLlamaOutput({ runtime, input: { messages }, params: {}, output })
 */
export async function verifyLlamaOutput({ runtime, input, params, output, thresholds, signal }: VerifyLlamaOutputParameters): Promise<VerifyLlamaOutputReturnType> {
  const { messages, prompt, embed } = (input ?? {}) as { messages?: unknown; prompt?: unknown; embed?: unknown };
  if (Array.isArray(embed)) return verifyEmbeddings({ runtime, texts: embed, output, minCosine: thresholds?.minEmbeddingCosine ?? defaultMinEmbeddingCosine, signal });
  const source = Array.isArray(messages) ? (messages as LlamaChatMessage[]) : typeof prompt === 'string' ? prompt : undefined;
  if (source === undefined) return fail('The input is neither { messages } nor { prompt }: the served model refuses it, so no honest output exists.');

  const claimed = output as { text?: unknown; finishReason?: unknown; usage?: { promptTokens?: unknown; completionTokens?: unknown } } | null;
  const usage = claimed?.usage;
  if (
    typeof claimed?.text !== 'string' ||
    (claimed.finishReason !== 'stop' && claimed.finishReason !== 'length') ||
    !Number.isInteger(usage?.promptTokens) ||
    !Number.isInteger(usage?.completionTokens)
  ) {
    return fail('The output is not { text, finishReason: "stop" | "length", usage: { promptTokens, completionTokens } } as the served model answers.');
  }
  const claim: ToleranceClaim = {
    finishReason: claimed.finishReason,
    usage: { promptTokens: usage!.promptTokens as number, completionTokens: usage!.completionTokens as number },
  };

  const number = (key: string) => (typeof params[key] === 'number' ? (params[key] as number) : undefined);
  const stop = typeof params.stop === 'string' ? [params.stop] : Array.isArray(params.stop) ? params.stop.filter((s): s is string => typeof s === 'string') : [];
  const topK = number('top_k');
  const decoding: ToleranceDecoding = {
    greedy: (number('temperature') ?? 0) === 0,
    // top_k 0 means no limit in llama.cpp: only the rank cap then bounds a sampled token.
    topK: topK === undefined ? defaultSamplingTopK : topK === 0 ? Number.POSITIVE_INFINITY : topK,
    maxTokens: number('max_tokens') ?? 256,
    // + 1: a stop string may end inside a token.
    stopTokens: stop.length === 0 ? 0 : Math.max(...stop.map((s) => runtime.tokenize(s).length)) + 1,
    contextSize: runtime.contextSize,
  };

  let score: LlamaContinuationScore;
  try {
    score = await runtime.scoreContinuation(source, claimed.text, { signal });
  } catch (error) {
    if (error instanceof AgoraError && error.code === 'LlamaPromptTooLong') return fail(`The prompt and the claimed text do not fit in the model's context: ${error.shortMessage}`);
    if (error instanceof AgoraError && (error.code === 'LlamaInvalidOptions' || error.code === 'LlamaEmptyInput')) {
      return fail(`The served model refuses this input (${error.shortMessage}), so no honest output exists.`);
    }
    throw error;
  }
  return { kind: 'text', ...verifyTolerance({ score, claim, decoding, thresholds }), score };
}

async function verifyEmbeddings({
  runtime,
  texts,
  output,
  minCosine,
  signal,
}: {
  runtime: VerifyLlamaOutputParameters['runtime'];
  texts: unknown[];
  output: unknown;
  minCosine: number;
  signal: AbortSignal | undefined;
}): Promise<VerifyLlamaOutputReturnType> {
  const claimed = (output as { embeddings?: unknown } | null)?.embeddings;
  const failed = (reason: string): VerifyLlamaOutputReturnType => ({ kind: 'embedding', verdict: 'fail', metrics: { minCosine: 0, vectors: 0 }, reasons: [reason] });
  if (texts.length === 0 || !texts.every((text) => typeof text === 'string' && text.length > 0)) {
    return failed('The input is not a list of non-empty strings to embed: the served model refuses it.');
  }
  if (!Array.isArray(claimed) || !claimed.every((vector) => Array.isArray(vector) && vector.every((value) => typeof value === 'number'))) {
    return failed('The output is not { embeddings: number[][] }.');
  }
  const recomputed = await runtime.embed(texts as string[], { signal });
  if (claimed.length !== recomputed.length) return failed(`The output has ${claimed.length} vectors for ${recomputed.length} texts.`);
  let min = 1;
  recomputed.forEach((vector, index) => {
    const other = claimed[index] as number[];
    min = Math.min(min, other.length === vector.length ? cosine(vector, other) : 0);
  });
  const reasons = min < minCosine ? [`A claimed embedding has cosine similarity ${min.toFixed(4)} to the model's; at least ${minCosine} is required.`] : [];
  return { kind: 'embedding', verdict: reasons.length === 0 ? 'pass' : 'fail', metrics: { minCosine: min, vectors: recomputed.length }, reasons };
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
