/**
 * The language-model runtime on the project's tiny GGUF: what the gateway and the audits rely on
 * (templates, reproducibility, streaming, metering, aborts, concurrency, clean errors).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLlamaRuntime, type LlamaChatMessage, type LlamaRuntime } from './llamaRuntime.ts';
import { writeTinyLlamaGguf } from './writeTinyLlamaGguf.ts';

const messages: LlamaChatMessage[] = [
  { role: 'system', content: 'You are a terse assistant.' },
  { role: 'user', content: 'Say hello to the network.' },
];

let dir: string;
let path: string;
let runtime: LlamaRuntime;
/** A small context, to fill it quickly. */
let small: LlamaRuntime;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agora-llama-'));
  path = await writeTinyLlamaGguf(join(dir, 'tiny.gguf'));
  runtime = await createLlamaRuntime({ path });
  small = await createLlamaRuntime({ path, contextSize: 256 });
});
afterAll(async () => {
  await runtime?.close();
  await small?.close();
  await rm(dir, { recursive: true, force: true });
});

const errorCode = (promise: Promise<unknown>) => promise.then(() => 'resolved', (error: { code?: string }) => error.code ?? String(error));

describe('chat', () => {
  test('answers with text and token counts', async () => {
    expect(runtime.contextSize).toBe(2048);
    const result = await runtime.chat(messages, { maxTokens: 24 });
    expect(result.text.trim().length).toBeGreaterThan(0);
    expect(result.finishReason).toBe('length');
    expect(result.completionTokens).toBe(24);
    // The template adds role markers and BOS around the contents.
    const contentTokens = messages.reduce((sum, message) => sum + runtime.tokenize(message.content).length, 0);
    expect(result.promptTokens).toBeGreaterThan(contentTokens + 4);
    expect(result.promptTokens).toBeLessThan(contentTokens + 30);
  });

  test('the prompt goes through the model template: another history, another answer', async () => {
    const a = await runtime.chat(messages, { maxTokens: 16 });
    const b = await runtime.chat([...messages.slice(0, 1), { role: 'user', content: 'Tell me about the sea.' }], { maxTokens: 16 });
    expect(b.text).not.toBe(a.text);
    expect(b.promptTokens).not.toBe(a.promptTokens);
  });

  test('greedy decoding is deterministic across calls', async () => {
    const first = await runtime.chat(messages, { maxTokens: 32 });
    // Another call in between must leave no trace (the sequence is cleared each call).
    await runtime.complete('Once upon a time', { maxTokens: 20, temperature: 0.9, seed: 5 });
    const second = await runtime.chat(messages, { maxTokens: 32, temperature: 0 });
    expect(second).toEqual(first);
  });

  test('seeded sampling is reproducible, and the seed matters', async () => {
    const options = { maxTokens: 32, temperature: 1, topP: 0.95 };
    const a = await runtime.chat(messages, { ...options, seed: 11 });
    const b = await runtime.chat(messages, { ...options, seed: 11 });
    const c = await runtime.chat(messages, { ...options, seed: 12 });
    const greedy = await runtime.chat(messages, { maxTokens: 32 });
    expect(b.text).toBe(a.text);
    expect(c.text).not.toBe(a.text);
    expect(a.text).not.toBe(greedy.text);
  });

  test('streaming delivers the same text as the non-streaming call', async () => {
    const chunks: string[] = [];
    const streamed = await runtime.chat(messages, { maxTokens: 40, onToken: (text) => chunks.push(text) });
    const plain = await runtime.chat(messages, { maxTokens: 40 });
    expect(chunks.filter((chunk) => chunk.length > 0).length).toBeGreaterThan(10);
    expect(chunks.join('')).toBe(plain.text);
    expect(streamed).toEqual(plain);
  });

  test('a stop string ends the answer before it', async () => {
    const full = await runtime.chat(messages, { maxTokens: 30 });
    const words = full.text.trim().split(' ');
    const stop = ` ${words[3]}`;
    const stopped = await runtime.chat(messages, { maxTokens: 30, stop: [stop] });
    expect(stopped.finishReason).toBe('stop');
    expect(full.text.startsWith(stopped.text)).toBe(true);
    expect(stopped.text).not.toContain(stop);
    expect(stopped.completionTokens).toBeLessThan(30);
  });

  test('concurrent calls queue and match the calls made alone', async () => {
    const alone = await runtime.chat(messages, { maxTokens: 20 });
    const aloneCompletion = await runtime.complete('The price of a token', { maxTokens: 20 });
    const [a, b, c] = await Promise.all([
      runtime.chat(messages, { maxTokens: 20 }),
      runtime.complete('The price of a token', { maxTokens: 20 }),
      runtime.chat(messages, { maxTokens: 20 }),
    ]);
    expect(a).toEqual(alone);
    expect(c).toEqual(alone);
    expect(b).toEqual(aloneCompletion);
  });
});

describe('complete', () => {
  test('continues raw text and counts BOS + prompt tokens', async () => {
    const prompt = 'Once upon a time';
    const result = await runtime.complete(prompt, { maxTokens: 12 });
    expect(result.text.length).toBeGreaterThan(0);
    expect(result.promptTokens).toBe(runtime.tokenize(prompt).length + 1);
    expect(result.completionTokens).toBe(12);
    expect(await runtime.complete(prompt, { maxTokens: 12 })).toEqual(result);
  });

  test('a stop string ends the completion before it, streamed or not', async () => {
    const full = await runtime.complete('Once upon a time', { maxTokens: 30 });
    const words = full.text.trim().split(' ');
    const stop = ` ${words[3]}`;
    const pieces: string[] = [];
    const stopped = await runtime.complete('Once upon a time', { maxTokens: 30, stop: [stop], onToken: (t) => pieces.push(t) });
    expect(stopped.finishReason).toBe('stop');
    expect(stopped.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    expect(pieces.join('')).toBe(stopped.text);
    expect(stopped.completionTokens).toBeLessThan(30);
  });

  test('without maxTokens it stops when the context is full, never shifting it', async () => {
    expect(small.contextSize).toBe(256);
    const completion = await small.complete('Once', { temperature: 0 });
    expect(completion.finishReason).toBe('length');
    // The last sampled token needs no room in the context; any miscounted prompt token shows here.
    expect(completion.promptTokens + completion.completionTokens).toBe(256);
    const chat = await small.chat(messages, { maxTokens: 1000 });
    expect(chat.finishReason).toBe('length');
    // LlamaChat wants one free slot to never shift the context.
    expect(chat.promptTokens + chat.completionTokens).toBe(256 - 1);
  });

  test('a prompt that nearly fills the context is evaluated whole', async () => {
    // node-llama-cpp's default silently drops the head of a prompt longer than 90% of the context;
    // then these three prompts, which differ only in their first words, would answer alike.
    const filler = 'the sea at night and the people who live in the house '.repeat(19);
    const answers = new Set<string>();
    for (const head of ['water', 'number', 'house']) {
      const prompt = `${head} `.repeat(3) + filler;
      const result = await small.complete(prompt, { maxTokens: 8 });
      expect(result.promptTokens).toBeGreaterThan(0.9 * small.contextSize);
      answers.add(result.text);
    }
    expect(answers.size).toBe(3);
  });

  test('frequency and presence penalties change the output', async () => {
    const plain = await runtime.complete('Once upon a time', { maxTokens: 30 });
    const penalized = await runtime.complete('Once upon a time', { maxTokens: 30, frequencyPenalty: 1.5, presencePenalty: 1 });
    expect(penalized.text).not.toBe(plain.text);
    const distinct = (text: string) => new Set(text.split(' ')).size;
    expect(distinct(penalized.text)).toBeGreaterThan(distinct(plain.text));
  });

  test('a prompt longer than the context is refused, not truncated', async () => {
    const prompt = 'the '.repeat(300);
    await expect(small.complete(prompt, { maxTokens: 4 })).rejects.toThrowErrorMatchingInlineSnapshot(`
      [AgoraError: The prompt is 304 tokens but the model's context holds 256 (prompt and completion together).

      Fix: Shorten the input, or serve the model with a larger contextSize.]
    `);
    await expect(small.chat([{ role: 'user', content: prompt }], { maxTokens: 4 })).rejects.toMatchObject({ code: 'LlamaPromptTooLong' });
    await expect(small.embed(['ok', prompt])).rejects.toMatchObject({ code: 'LlamaPromptTooLong' });
  });

  test('bad options are refused with a clear error', async () => {
    await expect(runtime.complete('x', { maxTokens: 0 })).rejects.toThrowErrorMatchingInlineSnapshot(`[AgoraError: maxTokens must be a positive integer, got 0.]`);
    expect(await errorCode(runtime.complete('x', { temperature: -1 }))).toBe('LlamaInvalidOptions');
    expect(await errorCode(runtime.chat(messages, { topP: 0 }))).toBe('LlamaInvalidOptions');
  });
});

describe('abort', () => {
  test('aborting stops generation and frees the sequence', async () => {
    const controller = new AbortController();
    let chunks = 0;
    const reason = new Error('client went away');
    const call = runtime.complete('Once', {
      maxTokens: 2000,
      signal: controller.signal,
      onToken: () => {
        if (++chunks === 5) controller.abort(reason);
      },
    });
    await expect(call).rejects.toBe(reason);
    expect(chunks).toBeLessThan(10);
    // The runtime is still usable and still deterministic.
    const after = await runtime.complete('Once upon a time', { maxTokens: 12 });
    expect(after.completionTokens).toBe(12);
  });

  test('a call aborted while waiting in line never runs', async () => {
    const controller = new AbortController();
    const first = runtime.chat(messages, { maxTokens: 100 });
    let ran = false;
    const queued = runtime.chat(messages, { maxTokens: 100, signal: controller.signal, onToken: () => (ran = true) });
    controller.abort();
    await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    expect((await first).completionTokens).toBe(100);
    expect(ran).toBe(false);
  });
});

describe('embed', () => {
  test('vectors have the embedding length, unit norm, and are deterministic', async () => {
    const texts = ['hello world', 'the sea at night', 'hello world'];
    const vectors = await runtime.embed(texts);
    expect(vectors).toHaveLength(3);
    for (const vector of vectors) {
      expect(vector).toHaveLength(runtime.embeddingLength);
      expect(runtime.embeddingLength).toBe(64);
      expect(Math.hypot(...vector)).toBeCloseTo(1, 6);
    }
    expect(vectors[2]).toEqual(vectors[0]);
    expect(vectors[1]).not.toEqual(vectors[0]);
    expect(await runtime.embed(['the sea at night'])).toEqual([vectors[1]]);
  });

  test('empty input is refused', async () => {
    expect(await errorCode(runtime.embed(['ok', '']))).toBe('LlamaEmptyInput');
  });
});

describe('scoreContinuation', () => {
  test('a greedy answer scores as the top-1 token at every step, with the same token counts', async () => {
    const answer = await runtime.chat(messages, { maxTokens: 24 });
    const score = await runtime.scoreContinuation(messages, answer.text);
    expect(score.promptTokens).toBe(answer.promptTokens);
    expect(score.tokens).toHaveLength(answer.completionTokens);
    expect(score.tokens.map((token) => token.rank)).toEqual(new Array(24).fill(1));
    for (const token of score.tokens) expect(token.probability).toBeGreaterThan(0);
    expect(score.tokens.map((token) => token.text).join(' ')).toBe(answer.text);
    expect(score.end?.rank).toBeGreaterThan(1);

    const completion = await runtime.complete('Once upon a time', { maxTokens: 16 });
    const completionScore = await runtime.scoreContinuation('Once upon a time', completion.text);
    expect(completionScore.promptTokens).toBe(completion.promptTokens);
    expect(completionScore.tokens.map((token) => token.rank)).toEqual(new Array(16).fill(1));
  });

  test('another continuation ranks lower and is less likely', async () => {
    const answer = await runtime.chat(messages, { maxTokens: 24 });
    const reversed = answer.text.split(' ').reverse().join(' ');
    const score = await runtime.scoreContinuation(messages, reversed);
    expect(score.tokens.filter((token) => token.rank === 1).length).toBeLessThan(12);
    const logProbability = (tokens: { probability: number }[]) => tokens.reduce((sum, token) => sum + Math.log(token.probability), 0);
    expect(logProbability(score.tokens)).toBeLessThan(logProbability((await runtime.scoreContinuation(messages, answer.text)).tokens));
  });

  test('refuses what does not fit, and stops when aborted', async () => {
    expect(await errorCode(small.scoreContinuation('Once', 'the '.repeat(300)))).toBe('LlamaPromptTooLong');
    const reason = new Error('audit cancelled');
    await expect(runtime.scoreContinuation(messages, 'hello', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect((await runtime.scoreContinuation(messages, '')).tokens).toEqual([]);
  });
});

describe('lifecycle', () => {
  test('a second runtime on the same file answers identically; close aborts and refuses calls', async () => {
    const other = await createLlamaRuntime({ path, contextSize: 512, sequences: 2 });
    expect(await other.chat(messages, { maxTokens: 24 })).toEqual(await runtime.chat(messages, { maxTokens: 24 }));
    // Two sequences run two calls at once (batched together, so only their shape is checked).
    const both = await Promise.all([other.chat(messages, { maxTokens: 300 }), other.complete('Once', { maxTokens: 300 })]);
    expect(both.map((result) => result.completionTokens)).toEqual([300, 300]);
    const inFlight = other.complete('Once', { maxTokens: 200, onToken: () => void other.close() });
    expect(await errorCode(inFlight)).toBe('LlamaRuntimeClosed');
    await other.close();
    expect(await errorCode(other.chat(messages))).toBe('LlamaRuntimeClosed');
    expect(await errorCode(other.embed(['x']))).toBe('LlamaRuntimeClosed');
  });

  test('a file that is not a GGUF model fails with a clear error', async () => {
    const bogus = join(dir, 'bogus.gguf');
    await writeFile(bogus, 'not a model at all');
    const error = await createLlamaRuntime({ path: bogus }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'AgoraError', code: 'LlamaModelLoadFailed' });
    expect((error as Error).message).toContain(bogus);
  });
});
