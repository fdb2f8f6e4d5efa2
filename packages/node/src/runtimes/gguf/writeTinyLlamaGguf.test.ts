/**
 * The tiny GGUF must be byte-stable (its hash is a model id) and must be a file llama.cpp really
 * accepts, tokenizer and chat template included.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getLlama, LlamaLogLevel, readGgufFileInfo, type LlamaModel } from 'node-llama-cpp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildTinyLlamaGguf, defaultTinyLlamaConfig, tinyLlamaChatTemplate, writeTinyLlamaGguf } from './writeTinyLlamaGguf.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agora-gguf-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('bytes', () => {
  test('the same seed writes byte-identical files', async () => {
    const a = await writeTinyLlamaGguf(join(dir, 'a.gguf'), { seed: 7 });
    const b = await writeTinyLlamaGguf(join(dir, 'nested', 'b.gguf'), { seed: 7 });
    expect(b).toBe(join(dir, 'nested', 'b.gguf'));
    const [bytesA, bytesB] = await Promise.all([readFile(a), readFile(b)]);
    expect(bytesA.length).toBeGreaterThan(100_000);
    expect(sha256(bytesA)).toBe(sha256(bytesB));
  });

  test('the default model keeps its bytes (its hash is the devnet model id)', () => {
    // Changing this hash changes the devnet's model id; do it only on purpose.
    expect(sha256(buildTinyLlamaGguf())).toMatchInlineSnapshot(`"caae132852dea2c844152a71c173867e7c095fb97a2978eb482a0f87f9798b28"`);
  });

  test('a different seed gives different weights but the same layout', () => {
    const a = buildTinyLlamaGguf({ seed: 1 });
    const b = buildTinyLlamaGguf({ seed: 2 });
    expect(a.length).toBe(b.length);
    expect(sha256(a)).not.toBe(sha256(b));
  });

  test('starts with the GGUF v3 header', () => {
    const bytes = buildTinyLlamaGguf();
    expect(bytes.subarray(0, 4).toString('ascii')).toBe('GGUF');
    expect(bytes.readUInt32LE(4)).toBe(3);
    // 1 embedding + 9 per block + output norm + output.
    expect(bytes.readBigUInt64LE(8)).toBe(BigInt(3 + 9 * defaultTinyLlamaConfig.blockCount));
    expect(bytes.length % 32).toBe(0);
  });

  test('refuses a config llama.cpp could not run', () => {
    expect(() => buildTinyLlamaGguf({ embeddingLength: 60, headCount: 8 })).toThrowErrorMatchingInlineSnapshot(`
      [AgoraError: Tiny GGUF config: headCount 8 must divide embeddingLength 60.

      Fix: Fix the parameters passed to writeTinyLlamaGguf.]
    `);
    expect(() => buildTinyLlamaGguf({ vocab: ['two words'] })).toThrow(/whitespace/);
  });
});

describe('llama.cpp reads it', () => {
  let path: string;
  let model: LlamaModel;
  beforeAll(async () => {
    path = await writeTinyLlamaGguf(join(dir, 'model.gguf'), { seed: 3, embeddingLength: 32, feedForwardLength: 64 });
    const llama = await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.warn });
    model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  });
  afterAll(async () => {
    await model?.dispose();
  });

  test('metadata and tensors parse back', async () => {
    const info = await readGgufFileInfo(path, { readTensorInfo: true });
    expect(info.version).toBe(3);
    expect(info.metadata.general.architecture).toBe('llama');
    const llamaMetadata = (info.metadata as unknown as { llama: Record<string, unknown> }).llama;
    expect(llamaMetadata.embedding_length).toBe(32);
    expect(llamaMetadata.block_count).toBe(defaultTinyLlamaConfig.blockCount);
    expect(info.metadata.tokenizer.chat_template).toBe(tinyLlamaChatTemplate);
    const names = info.fullTensorInfo?.map((tensor) => tensor.name) ?? [];
    expect(names).toContain('blk.1.ffn_down.weight');
    const ffnDown = info.fullTensorInfo?.find((tensor) => tensor.name === 'blk.0.ffn_down.weight');
    expect(ffnDown?.dimensions.map(Number)).toEqual([64, 32]);
  });

  test('the model loads with the declared shape', () => {
    expect(model.embeddingVectorSize).toBe(32);
    expect(model.trainContextSize).toBe(defaultTinyLlamaConfig.contextLength);
    expect(model.tokens.bos).toBe(1);
    expect(model.tokens.eos).toBe(4);
  });

  test('the tokenizer round-trips arbitrary text, byte fallback included', () => {
    for (const text of ['Hello the world, how are you?', 'café 日本語 🙂 tabs\tand\nnewlines', '{"json": [1, 2.5e3]}']) {
      const tokens = model.tokenize(text);
      expect(tokens.length).toBeGreaterThan(0);
      expect(model.detokenize(tokens)).toBe(text);
    }
    // Whole words merge into one token each; unknown characters fall back to bytes.
    expect(model.tokenize(' the people', false, 'trimLeadingSpace')).toHaveLength(2);
    expect(model.tokenize('日', false, 'trimLeadingSpace')).toHaveLength(3);
  });

  test('the chat markers are special tokens', () => {
    expect(model.tokenize('<|im_start|>user', true, 'trimLeadingSpace')[0]).toBe(3);
    expect(model.tokenize('<|im_end|>', true)).toEqual([4]);
    // Parsed as plain text they are not.
    expect(model.tokenize('<|im_end|>', false).length).toBeGreaterThan(1);
  });
});
