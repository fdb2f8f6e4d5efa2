/**
 * Runs a GGUF language model with node-llama-cpp (llama.cpp on the CPU) behind the small API the
 * provider and the gateway need: chat with the model's own template, raw completion, embeddings,
 * token counting.
 *
 * Why it looks the way it does:
 * - Every call is a pure function of its input and options. The sequence is cleared before each
 *   call, so no KV cache left by an earlier request can shift the numerics: greedy output, and
 *   seeded sampling, are reproducible, which receipts and audits rely on.
 * - Calls are queued on a fixed pool of context sequences (one by default). llama.cpp may batch
 *   concurrent sequences into one evaluation, and batch composition can change the last bits of
 *   the logits, so only `sequences: 1` keeps outputs exactly reproducible under concurrency.
 * - Prompts that do not fit are refused with a clear error instead of being silently truncated
 *   (node-llama-cpp's default), and generation never shifts the context: a paid call computes
 *   exactly what was asked.
 */
import {
  getLlama,
  LlamaChat,
  LlamaCompletion,
  LlamaLogLevel,
  LlamaVocabularyType,
  type ChatHistoryItem,
  type ControlledEvaluateInputItem,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaEmbeddingContext,
  type LlamaModel,
  type Token,
} from 'node-llama-cpp';
import { AgoraError } from '@agora/sdk';

/** One chat turn, in OpenAI's roles. */
export type LlamaChatMessage = { role: 'system' | 'user' | 'assistant'; content: string };

/** Options of {@link LlamaRuntime.chat} and {@link LlamaRuntime.complete}. */
export type LlamaGenerateOptions = {
  /** Most tokens to generate. Defaults to (and is capped at) what is left of the context. */
  maxTokens?: number | undefined;
  /** 0 (default) = greedy, deterministic. Above 0, sampling; pass `seed` to make it reproducible. */
  temperature?: number | undefined;
  /** Sampling seed (uint32); only used when `temperature > 0`. Without it each call differs. */
  seed?: number | undefined;
  /** Nucleus sampling threshold in (0, 1]; only used when `temperature > 0`. */
  topP?: number | undefined;
  /** Sample among the K most likely tokens; only used when `temperature > 0`. */
  topK?: number | undefined;
  /** OpenAI-style frequency penalty (0 = off). */
  frequencyPenalty?: number | undefined;
  /** OpenAI-style presence penalty (0 = off). */
  presencePenalty?: number | undefined;
  /** Stop strings; generation ends before the first one and it is not part of the text. */
  stop?: readonly string[] | undefined;
  /** Aborting rejects the call with `signal.reason` and frees its sequence. */
  signal?: AbortSignal | undefined;
  /** Called with each generated text chunk; the chunks concatenate to the final `text`. */
  onToken?: ((text: string) => void) | undefined;
};

/** What {@link LlamaRuntime.chat} and {@link LlamaRuntime.complete} return. */
export type LlamaGenerateResult = {
  text: string;
  /** Tokens the model evaluated as input (template and BOS included). */
  promptTokens: number;
  /** Tokens the model generated (an end-of-turn or stop-string token included). */
  completionTokens: number;
  /** `stop`: end-of-turn token or a stop string; `length`: `maxTokens` or the context ran out. */
  finishReason: 'stop' | 'length';
};

/** Options of {@link LlamaRuntime.embed}. */
export type LlamaEmbedOptions = { signal?: AbortSignal | undefined };

/** Options of {@link LlamaRuntime.scoreContinuation}. */
export type LlamaScoreOptions = { signal?: AbortSignal | undefined };

/** How likely the model found one token of a continuation, given everything before it. */
export type LlamaTokenScore = {
  /** Token id in the model's vocabulary. */
  token: number;
  /** The token's text (special tokens rendered), for reports. */
  text: string;
  /** softmax(logits) of this token at temperature 1, before any sampler. */
  probability: number;
  /** 1 = the model's most likely token; 1 + how many tokens had a strictly higher logit. */
  rank: number;
};

/** What {@link LlamaRuntime.scoreContinuation} returns. */
export type LlamaContinuationScore = {
  /** Tokens of the prompt as `chat` / `complete` evaluate them (template and BOS included). */
  promptTokens: number;
  /** One entry per token of the continuation, in order. */
  tokens: LlamaTokenScore[];
  /**
   * After the last continuation token: the best-ranked of the tokens that end a generation
   * (end-of-sequence, end-of-turn, the chat template's single-token stop triggers). Tells whether
   * stopping there was plausible for the model.
   */
  end: LlamaTokenScore | undefined;
};

/** A loaded GGUF model; see {@link createLlamaRuntime}. */
export type LlamaRuntime = {
  /** The GGUF file this runtime serves. */
  readonly path: string;
  /** Tokens one call can hold (prompt + completion). */
  readonly contextSize: number;
  /** Length of the vectors {@link LlamaRuntime.embed} returns. */
  readonly embeddingLength: number;
  /** Chat with the model's own chat template (from its GGUF metadata). */
  chat(messages: readonly LlamaChatMessage[], options?: LlamaGenerateOptions): Promise<LlamaGenerateResult>;
  /** Raw text completion of `prompt` (BOS prepended when the model wants one). */
  complete(prompt: string, options?: LlamaGenerateOptions): Promise<LlamaGenerateResult>;
  /** One unit-length (L2-normalized, as llama.cpp's server does) vector per text. */
  embed(texts: readonly string[], options?: LlamaEmbedOptions): Promise<number[][]>;
  /** Tokens of `text` as plain text (no special tokens, no BOS), as `complete` feeds it. */
  tokenize(text: string): number[];
  /**
   * Scores a claimed continuation of a prompt (chat messages, rendered with the model's template
   * exactly as {@link LlamaRuntime.chat} does, or raw text as {@link LlamaRuntime.complete} feeds
   * it) in ONE prefill pass over prompt + continuation: for each continuation token, its
   * probability and rank under the model given everything before it. Tolerance-mode audits judge
   * a provider's output by these numbers instead of regenerating text, which would differ across
   * hardware. The continuation is tokenized the way generated text detokenizes (a leading
   * SentencePiece space restored), so an honest output gets back the tokens that produced it.
   *
   * @example
   * const score = await runtime.scoreContinuation([{ role: 'user', content: 'Hi' }], claimed.text)
   * const top1 = score.tokens.filter((t) => t.rank === 1).length / score.tokens.length
   */
  scoreContinuation(
    prompt: string | readonly LlamaChatMessage[],
    continuation: string,
    options?: LlamaScoreOptions,
  ): Promise<LlamaContinuationScore>;
  /** Aborts running and queued calls and frees the model. Idempotent. */
  close(): Promise<void>;
};

/** Parameters of {@link createLlamaRuntime}. */
export type CreateLlamaRuntimeParameters = {
  /** Path of a GGUF file. */
  path: string;
  /** CPU threads per evaluation. 1 is fastest on small machines (2 was 2–40× slower on 2 cores). */
  threads?: number | undefined;
  /** Context size in tokens; defaults to the model's trained context, at most 4096. */
  contextSize?: number | undefined;
  /**
   * Calls that may run at once (context sequences); further calls wait in line. Above 1,
   * llama.cpp batches them together and outputs may differ in the last bits from a lone run.
   */
  sequences?: number | undefined;
  /**
   * Tokens llama.cpp evaluates in one batch (default: node-llama-cpp's, at most 512). Changes the
   * last bits of the logits; outputs stay the same model's, which tolerance audits accept.
   */
  batchSize?: number | undefined;
  /** Abort loading. */
  signal?: AbortSignal | undefined;
};

/** Errors this module raises, by `code`. */
export type LlamaRuntimeErrorCode =
  | 'LlamaUnavailable'
  | 'LlamaModelLoadFailed'
  | 'LlamaPromptTooLong'
  | 'LlamaInvalidOptions'
  | 'LlamaEmptyInput'
  | 'LlamaRuntimeClosed';

const defaultMaxContextSize = 4096;

let llamaPromise: Promise<Llama> | undefined;

/**
 * The process-wide CPU llama.cpp binding. `build: 'never'` because otherwise a missing prebuilt
 * binary triggers a multi-minute source build; `gpu: false` because providers here are CPUs and
 * the GPU probes are slow and pointless.
 */
function getCpuLlama(): Promise<Llama> {
  llamaPromise ??= getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.warn }).catch((error: unknown) => {
    llamaPromise = undefined;
    throw error;
  });
  return llamaPromise;
}

type Slot = { sequence: LlamaContextSequence; chat: LlamaChat; completion: LlamaCompletion };

/** A FIFO pool: calls take a free slot or wait for one; aborting a waiter leaves the line. */
function createSlotPool(slots: Slot[]) {
  const free = [...slots];
  const waiters: { resolve: (slot: Slot) => void; reject: (error: unknown) => void; signal: AbortSignal; onAbort: () => void }[] = [];
  return {
    acquire(signal: AbortSignal): Promise<Slot> {
      if (signal.aborted) return Promise.reject(signal.reason);
      const slot = free.shift();
      if (slot) return Promise.resolve(slot);
      return new Promise<Slot>((resolve, reject) => {
        const waiter = {
          resolve,
          reject,
          signal,
          onAbort: () => {
            const index = waiters.indexOf(waiter);
            if (index >= 0) waiters.splice(index, 1);
            reject(signal.reason);
          },
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
        waiters.push(waiter);
      });
    },
    release(slot: Slot): void {
      const waiter = waiters.shift();
      if (!waiter) {
        free.push(slot);
        return;
      }
      waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.resolve(slot);
    },
  };
}

/**
 * Loads a GGUF model on the CPU and returns a {@link LlamaRuntime} for it.
 *
 * @example
 * const runtime = await createLlamaRuntime({ path: 'models/tiny.gguf' })
 * const { text, finishReason } = await runtime.chat([{ role: 'user', content: 'Hello' }], { maxTokens: 32 })
 * await runtime.close()
 */
export async function createLlamaRuntime(parameters: CreateLlamaRuntimeParameters): Promise<LlamaRuntime> {
  const { path, threads = 1, sequences = 1, batchSize, signal } = parameters;
  if (!Number.isInteger(threads) || threads < 1) invalidOption('threads', threads, 'a positive integer');
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) invalidOption('batchSize', batchSize, 'a positive integer');
  if (!Number.isInteger(sequences) || sequences < 1) invalidOption('sequences', sequences, 'a positive integer');
  if (parameters.contextSize !== undefined && (!Number.isInteger(parameters.contextSize) || parameters.contextSize < 16)) {
    invalidOption('contextSize', parameters.contextSize, 'an integer of at least 16');
  }

  let llama: Llama;
  try {
    llama = await getCpuLlama();
  } catch (error) {
    throw new AgoraError('LlamaUnavailable', 'node-llama-cpp has no working CPU binary on this machine.', {
      cause: error,
      fix: 'Reinstall node-llama-cpp so its prebuilt binary for this platform is present (its @node-llama-cpp/<platform> package); this project never builds llama.cpp from source.',
    });
  }
  let model: LlamaModel;
  try {
    model = await llama.loadModel({ modelPath: path, gpuLayers: 0, loadSignal: signal });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    throw new AgoraError('LlamaModelLoadFailed', `Could not load the GGUF model at ${path}.`, {
      cause: error,
      fix: 'Check that the file exists and is a GGUF language model llama.cpp supports (architecture, quantization).',
    });
  }

  let context: LlamaContext | undefined;
  try {
    const contextSize = parameters.contextSize ?? Math.min(model.trainContextSize, defaultMaxContextSize);
    context = await model.createContext({ contextSize, sequences, threads, createSignal: signal, ...(batchSize !== undefined ? { batchSize } : {}) });
    const slots: Slot[] = [];
    for (let i = 0; i < sequences; i++) {
      const sequence = context.getSequence();
      slots.push({ sequence, chat: new LlamaChat({ contextSequence: sequence }), completion: new LlamaCompletion({ contextSequence: sequence }) });
    }
    return buildRuntime({ path, model, context, slots, threads });
  } catch (error) {
    await context?.dispose();
    await model.dispose();
    if (signal?.aborted) throw signal.reason;
    throw new AgoraError('LlamaModelLoadFailed', `Loaded the GGUF model at ${path} but could not create a context for it.`, {
      cause: error,
      fix: 'Try a smaller contextSize or fewer sequences; the KV cache may not fit in memory.',
    });
  }
}

function invalidOption(name: string, value: unknown, expected: string): never {
  throw new AgoraError('LlamaInvalidOptions', `${name} must be ${expected}, got ${String(value)}.`);
}

/** The chat history LlamaChat renders for `messages`, ending with the model's (empty) turn to fill. */
function toChatHistory(messages: readonly LlamaChatMessage[]): ChatHistoryItem[] {
  const history = messages.map((message): ChatHistoryItem => {
    if (message.role === 'assistant') return { type: 'model', response: [message.content] };
    if (message.role === 'system' || message.role === 'user') return { type: message.role, text: message.content };
    return invalidOption('message role', (message as { role: unknown }).role, "'system', 'user' or 'assistant'");
  });
  history.push({ type: 'model', response: [] });
  return history;
}

function validateGenerateOptions(options: LlamaGenerateOptions): void {
  const { maxTokens, temperature = 0, seed, topP, topK } = options;
  if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || maxTokens < 1)) invalidOption('maxTokens', maxTokens, 'a positive integer');
  if (!(Number.isFinite(temperature) && temperature >= 0)) invalidOption('temperature', temperature, 'a number ≥ 0');
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)) invalidOption('seed', seed, 'an integer in [0, 2^32)');
  if (topP !== undefined && !(topP > 0 && topP <= 1)) invalidOption('topP', topP, 'a number in (0, 1]');
  if (topK !== undefined && (!Number.isInteger(topK) || topK < 0)) invalidOption('topK', topK, 'a non-negative integer');
}

function buildRuntime({
  path,
  model,
  context,
  slots,
  threads,
}: {
  path: string;
  model: LlamaModel;
  context: LlamaContext;
  slots: Slot[];
  threads: number;
}): LlamaRuntime {
  const contextSize = context.contextSize;
  const pool = createSlotPool(slots);
  /** Aborted by close(): every call listens to it besides its own signal. */
  const shutdown = new AbortController();
  const running = new Set<Promise<unknown>>();
  let embeddingContext: Promise<LlamaEmbeddingContext> | undefined;
  let embedQueue: Promise<unknown> = Promise.resolve();

  const ensureOpen = () => {
    if (shutdown.signal.aborted) {
      throw new AgoraError('LlamaRuntimeClosed', `The runtime for ${path} is closed.`, { fix: 'Create a new runtime with createLlamaRuntime().' });
    }
  };
  const track = <T>(promise: Promise<T>): Promise<T> => {
    running.add(promise);
    const forget = () => running.delete(promise);
    promise.then(forget, forget);
    return promise;
  };
  const combinedSignal = (signal: AbortSignal | undefined) => (signal ? AbortSignal.any([signal, shutdown.signal]) : shutdown.signal);
  const closedReason = () =>
    new AgoraError('LlamaRuntimeClosed', `The runtime for ${path} was closed while the call ran.`, { fix: 'Retry on a runtime that is open.' });

  const tooLong = (what: string, tokens: number) =>
    new AgoraError('LlamaPromptTooLong', `The ${what} is ${tokens} tokens but the model's context holds ${contextSize} (prompt and completion together).`, {
      fix: 'Shorten the input, or serve the model with a larger contextSize.',
    });

  /**
   * How many tokens LlamaCompletion evaluates for `prompt`: the text tokens plus a BOS it prepends
   * exactly when node-llama-cpp's (unexported) resolveBeginningTokenToPrepend says so.
   */
  const completionInputLength = (textTokens: readonly Token[]): number => {
    const type = model.vocabularyType;
    const prependsBos =
      model.tokens.bos !== null &&
      type !== LlamaVocabularyType.rwkv &&
      type !== LlamaVocabularyType.ugm &&
      (type === LlamaVocabularyType.wpm || model.tokens.shouldPrependBosToken);
    return textTokens.length + (prependsBos ? 1 : 0);
  };

  const samplingOptions = (options: LlamaGenerateOptions, remaining: number) => {
    const { temperature = 0, frequencyPenalty = 0, presencePenalty = 0 } = options;
    return {
      maxTokens: Math.min(options.maxTokens ?? remaining, remaining),
      temperature,
      ...(temperature > 0 && options.seed !== undefined ? { seed: options.seed } : {}),
      ...(temperature > 0 && options.topP !== undefined ? { topP: options.topP } : {}),
      ...(temperature > 0 && options.topK !== undefined ? { topK: options.topK } : {}),
      // node-llama-cpp applies a repeat penalty by default; the default here is the model's own
      // distribution, like OpenAI's API.
      repeatPenalty: frequencyPenalty === 0 && presencePenalty === 0 ? (false as const) : { penalty: 1, frequencyPenalty, presencePenalty },
      ...(options.stop?.length ? { customStopTriggers: options.stop } : {}),
    };
  };

  /**
   * Takes a slot, clears its state, runs `fn`, always gives the slot back. The sequence's meter
   * counts as "output" each evaluation whose logits were sampled, i.e. one per generated token
   * (stop and end-of-turn tokens included): that is the completion's size.
   */
  const withSlot = async <T>(signal: AbortSignal, fn: (slot: Slot) => Promise<T>): Promise<{ value: T; generatedTokens: number }> => {
    const slot = await pool.acquire(signal);
    try {
      await slot.sequence.clearHistory();
      const before = slot.sequence.tokenMeter.usedOutputTokens;
      const value = await fn(slot);
      return { value, generatedTokens: slot.sequence.tokenMeter.usedOutputTokens - before };
    } finally {
      pool.release(slot);
    }
  };

  const finishReasonOf = (stopReason: string): 'stop' | 'length' => (stopReason === 'maxTokens' ? 'length' : 'stop');

  const rethrow = (error: unknown, signal: AbortSignal | undefined): never => {
    if (signal?.aborted) throw signal.reason;
    if (shutdown.signal.aborted) throw closedReason();
    throw error;
  };

  const chat: LlamaRuntime['chat'] = (messages, options = {}) =>
    track(
      (async () => {
        ensureOpen();
        validateGenerateOptions(options);
        const signal = combinedSignal(options.signal);
        const history = toChatHistory(messages);
        try {
          const { value, generatedTokens } = await withSlot(signal, async ({ chat }) => {
            // The same rendering LlamaChat does, to know the prompt's size before evaluating it.
            const promptTokens = chat.chatWrapper.generateContextState({ chatHistory: history }).contextText.tokenize(model.tokenizer).length;
            // LlamaChat shifts the context (drops messages) rather than overflow; leaving one free
            // token after the prompt and capping the completion keeps it from ever doing so.
            const remaining = contextSize - promptTokens - 1;
            if (remaining < 1) throw tooLong('chat prompt', promptTokens);
            const response = await chat.generateResponse(history, {
              ...samplingOptions(options, remaining),
              signal,
              ...(options.onToken ? { onTextChunk: options.onToken } : {}),
            });
            return { response, promptTokens };
          });
          return {
            text: value.response.response,
            promptTokens: value.promptTokens,
            completionTokens: generatedTokens,
            finishReason: finishReasonOf(value.response.metadata.stopReason),
          };
        } catch (error) {
          return rethrow(error, options.signal);
        }
      })(),
    );

  const complete: LlamaRuntime['complete'] = (prompt, options = {}) =>
    track(
      (async () => {
        ensureOpen();
        validateGenerateOptions(options);
        // node-llama-cpp 3.22.1's LlamaCompletion ignores `customStopTriggers` (chat honours
        // them), so stop strings are watched here: generation is aborted at the first one and the
        // text cut before it. Streamed text holds back what could still become a stop string, so
        // the pieces always join to the final text.
        const stops = (options.stop ?? []).filter((stop) => stop.length > 0);
        const stopAt = new AbortController();
        const signal = AbortSignal.any([combinedSignal(options.signal), stopAt.signal]);
        const watcher = watchStopStrings(stops, options.onToken, () => stopAt.abort());
        const tokens = model.tokenize(prompt, false, 'trimLeadingSpace');
        const inputLength = completionInputLength(tokens);
        const remaining = contextSize - inputLength;
        if (remaining < 1) throw tooLong('prompt', inputLength);
        try {
          const { value, generatedTokens } = await withSlot(signal, ({ completion }) =>
            completion.generateCompletionWithMeta(tokens, {
              ...samplingOptions({ ...options, stop: undefined }, remaining),
              signal,
              stopOnAbortSignal: true,
              // Without both, LlamaCompletion silently drops the start of a prompt longer than
              // 90% of the context, and shifts the context once generation fills it.
              disableContextShift: true,
              contextShiftSize: 1,
              onTextChunk: watcher.push,
            }),
          );
          // An abort that was not a stop string is the caller's (or a shutdown): it throws.
          if (!watcher.stopped && signal.aborted) rethrow(signal.reason, options.signal);
          if (!watcher.stopped) watcher.flush();
          return {
            text: watcher.stopped ? watcher.text() : value.response,
            promptTokens: inputLength,
            completionTokens: generatedTokens,
            finishReason: watcher.stopped ? 'stop' : finishReasonOf(value.metadata.stopReason),
          };
        } catch (error) {
          return rethrow(error, options.signal);
        }
      })(),
    );

  const getEmbeddingContext = () => {
    embeddingContext ??= model.createEmbeddingContext({ contextSize, threads }).catch((error: unknown) => {
      embeddingContext = undefined;
      throw error;
    });
    return embeddingContext;
  };

  const embed: LlamaRuntime['embed'] = (texts, options = {}) =>
    track(
      (async () => {
        ensureOpen();
        texts.forEach((text, index) => {
          if (text.length === 0) {
            throw new AgoraError('LlamaEmptyInput', `Input ${index} to embed is an empty string.`, { fix: 'Embed non-empty texts only.' });
          }
        });
        const signal = combinedSignal(options.signal);
        // One embedding evaluation at a time: LlamaEmbeddingContext has a single sequence.
        const run = embedQueue.then(async () => {
          const embedder = await getEmbeddingContext();
          const vectors: number[][] = [];
          for (const [index, text] of texts.entries()) {
            signal.throwIfAborted();
            const length = embedder.calculateInputLength(text);
            if (length >= contextSize) throw tooLong(`text ${index} to embed`, length);
            const { vector } = await embedder.getEmbeddingFor(text);
            vectors.push(normalize(vector));
          }
          return vectors;
        });
        embedQueue = run.catch(() => undefined);
        try {
          return await run;
        } catch (error) {
          return rethrow(error, options.signal);
        }
      })(),
    );

  /** Probability and rank of `token` among raw logits (a Map sorted from the highest logit down). */
  const scoreToken = (logits: ReadonlyMap<Token, number>, token: Token): LlamaTokenScore => {
    const own = logits.get(token);
    let max = -Infinity;
    let sum = 0;
    let higher = 0;
    for (const logit of logits.values()) if (logit > max) max = logit;
    for (const logit of logits.values()) {
      sum += Math.exp(logit - max);
      if (own !== undefined && logit > own) higher++;
    }
    if (own === undefined) return { token, text: model.detokenize([token], true), probability: 0, rank: logits.size + 1 };
    return { token, text: model.detokenize([token], true), probability: Math.exp(own - max) / sum, rank: higher + 1 };
  };

  const scoreContinuation: LlamaRuntime['scoreContinuation'] = (prompt, continuation, options = {}) =>
    track(
      (async () => {
        ensureOpen();
        const signal = combinedSignal(options.signal);
        try {
          return await withSlot(signal, async ({ sequence, chat }) => {
            let promptTokens: Token[];
            const endTokens = new Set<Token>([model.tokens.eos, model.tokens.eot].filter((token): token is Token => token !== null));
            if (typeof prompt === 'string') {
              const text = model.tokenize(prompt, false, 'trimLeadingSpace');
              const bos = model.tokens.bos;
              promptTokens = bos !== null && completionInputLength(text) > text.length ? [bos, ...text] : text;
            } else {
              const state = chat.chatWrapper.generateContextState({ chatHistory: toChatHistory(prompt) });
              promptTokens = state.contextText.tokenize(model.tokenizer);
              for (const trigger of state.stopGenerationTriggers) {
                const tokens = trigger.tokenize(model.tokenizer);
                if (tokens.length === 1) endTokens.add(tokens[0]!);
              }
            }
            if (promptTokens.length === 0) {
              throw new AgoraError('LlamaEmptyInput', 'The prompt to score a continuation of is empty.', { fix: 'Pass a non-empty prompt or messages.' });
            }
            // Generated text is detokenized without the SentencePiece space its first token carries;
            // tokenizing with the space prefix gives back the generated tokens.
            const claimed = continuation.length === 0 ? [] : model.tokenize(continuation, false);
            const total = promptTokens.length + claimed.length;
            if (total > contextSize) throw tooLong('prompt and continuation to score', total);
            const wantLogits = { generateNext: { logits: true } } as const;
            const input: ControlledEvaluateInputItem[] = [
              ...promptTokens.slice(0, -1),
              [promptTokens.at(-1)!, wantLogits],
              ...claimed.map((token): ControlledEvaluateInputItem => [token, wantLogits]),
            ];
            signal.throwIfAborted();
            const outputs = await sequence.controlledEvaluate(input);
            signal.throwIfAborted();
            const logitsAt = (index: number) => {
              const logits = outputs[index]?.next.logits;
              if (!logits) throw new Error(`node-llama-cpp returned no logits for input position ${index}.`);
              return logits;
            };
            const tokens = claimed.map((token, i) => scoreToken(logitsAt(promptTokens.length - 1 + i), token));
            const last = logitsAt(total - 1);
            let end: LlamaTokenScore | undefined;
            for (const token of endTokens) {
              const score = scoreToken(last, token);
              if (!end || score.rank < end.rank) end = score;
            }
            return { promptTokens: promptTokens.length, tokens, end };
          }).then(({ value }) => value);
        } catch (error) {
          return rethrow(error, options.signal);
        }
      })(),
    );

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      shutdown.abort(closedReason());
      await Promise.allSettled([...running]);
      const embedder = embeddingContext ? await embeddingContext.catch(() => undefined) : undefined;
      await embedder?.dispose();
      await context.dispose();
      await model.dispose();
    })();
    return closing;
  };

  return {
    path,
    contextSize,
    embeddingLength: model.embeddingVectorSize,
    chat,
    complete,
    embed,
    scoreContinuation,
    tokenize: (text) => {
      ensureOpen();
      return model.tokenize(text, false, 'trimLeadingSpace');
    },
    close,
  };
}

/** L2-normalizes so a dot product is the cosine similarity (OpenAI's and llama-server's convention). */
function normalize(vector: readonly number[]): number[] {
  let sum = 0;
  for (const value of vector) sum += value * value;
  const norm = Math.sqrt(sum);
  return norm === 0 ? [...vector] : vector.map((value) => value / norm);
}

/**
 * Watches generated text for stop strings: forwards the text to `onText` as it comes, except a
 * tail that could still be the start of a stop string, and calls `onStop` at the first full one.
 */
function watchStopStrings(stops: readonly string[], onText: ((text: string) => void) | undefined, onStop: () => void) {
  let produced = '';
  let emitted = 0;
  let stopIndex = -1;
  const emitUpTo = (end: number) => {
    if (end > emitted) {
      onText?.(produced.slice(emitted, end));
      emitted = end;
    }
  };
  /** Length of the longest tail of `produced` that is a proper prefix of some stop string. */
  const pendingTail = () => {
    let longest = 0;
    for (const stop of stops) {
      for (let k = Math.min(stop.length - 1, produced.length); k > longest; k--) {
        if (produced.endsWith(stop.slice(0, k))) {
          longest = k;
          break;
        }
      }
    }
    return longest;
  };
  return {
    get stopped() {
      return stopIndex >= 0;
    },
    push: (chunk: string) => {
      if (stopIndex >= 0) return;
      const searchFrom = Math.max(0, produced.length - Math.max(0, ...stops.map((s) => s.length - 1)));
      produced += chunk;
      for (const stop of stops) {
        const at = produced.indexOf(stop, searchFrom);
        if (at >= 0 && (stopIndex < 0 || at < stopIndex)) stopIndex = at;
      }
      if (stopIndex >= 0) {
        emitUpTo(stopIndex);
        onStop();
      } else {
        emitUpTo(produced.length - pendingTail());
      }
    },
    /** Sends what was held back (generation ended without a stop string). */
    flush: () => emitUpTo(produced.length),
    /** The text up to the stop string. */
    text: () => produced.slice(0, stopIndex >= 0 ? stopIndex : produced.length),
  };
}
