/**
 * Receipt audits end to end on real served models: exact mode on ONNX (single-thread
 * onnxruntime) and OCR (tesseract), tolerance mode on the tiny GGUF, and the evidence checks
 * that come before any re-execution.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashCanonicalJson, type InferenceReceipt } from '@agora/sdk';
import type { Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLlamaServedModel } from '../provider/models/llamaServedModel.ts';
import { createOcrServedModel } from '../provider/models/ocrServedModel.ts';
import { createOnnxServedModel } from '../provider/models/onnxServedModel.ts';
import { createLlamaRuntime, type LlamaRuntime } from '../runtimes/gguf/llamaRuntime.ts';
import { writeTinyLlamaGguf } from '../runtimes/gguf/writeTinyLlamaGguf.ts';
import { renderTextPng } from '../runtimes/ocr/renderTextPng.ts';
import { exportOnnx } from '../runtimes/onnx/exportOnnx.ts';
import { createRng } from '../runtimes/seededRandom.ts';
import { verifyReceipt } from './verifyReceipt.ts';

type Served = Awaited<ReturnType<typeof createOnnxServedModel>>;
let dir: string;
let onnx: Served;
let llama: Served;
let scorer: LlamaRuntime;
const signal = new AbortController().signal;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agora-audit-'));
  // A user's ONNX model, softmax(relu(x·W1)·W2): float outputs whose last bits depend on the kernels' order.
  const random = createRng(3);
  const weights = (n: number) => Float32Array.from({ length: n }, () => random() * 2 - 1);
  const onnxPath = join(dir, 'mlp.onnx');
  await writeFile(
    onnxPath,
    exportOnnx({
      name: 'mlp',
      nodes: [
        { opType: 'MatMul', inputs: ['x', 'W1'], outputs: ['h'] },
        { opType: 'Relu', inputs: ['h'], outputs: ['r'] },
        { opType: 'MatMul', inputs: ['r', 'W2'], outputs: ['z'] },
        { opType: 'Softmax', inputs: ['z'], outputs: ['y'], attributes: { axis: 1 } },
      ],
      initializers: [
        { name: 'W1', dims: [16, 32], data: weights(16 * 32) },
        { name: 'W2', dims: [32, 8], data: weights(32 * 8) },
      ],
      inputs: [{ name: 'x', dims: ['batch', 16] }],
      outputs: [{ name: 'y', dims: ['batch', 8] }],
    }),
  );
  onnx = await createOnnxServedModel({ path: onnxPath, pricePerCall: 1n, name: 'test/mlp' });
  const ggufPath = await writeTinyLlamaGguf(join(dir, 'tiny.gguf'));
  llama = await createLlamaServedModel({ path: ggufPath, pricePerCall: 1n });
  scorer = await createLlamaRuntime({ path: ggufPath });
});
afterAll(async () => {
  await Promise.all([onnx?.close(), llama?.close(), scorer?.close()]);
  await rm(dir, { recursive: true, force: true });
});

/** Serves a call and returns it with the receipt fields a provider signs over it. */
async function call(model: Served, input: unknown, params: Record<string, unknown>) {
  const output = await model.run(input, params, { signal });
  const receipt: InferenceReceipt = {
    modelId: model.descriptor.modelId,
    inputHash: hashCanonicalJson(input),
    paramsHash: hashCanonicalJson(params),
    outputHash: hashCanonicalJson(output),
    channelId: `0x${'11'.repeat(32)}` as Hex,
    cumulativeAmount: 5n,
  };
  return { input, params, output, receipt };
}

describe('exact mode', () => {
  test('an ONNX output re-executes to the same hash; one changed float fails', async () => {
    const served = await call(onnx, { data: Array.from({ length: 32 }, (_, i) => Math.sin(i)), dims: [2, 16] }, {});
    const honest = await verifyReceipt({ model: onnx, ...served });
    expect(honest).toMatchObject({ mode: 'exact', verdict: 'pass', reasons: [] });
    const output = served.output as { data: number[] };
    // The next float32 up from the first probability: a different computation, however small.
    const bumped = new Float32Array([output.data[0]!]);
    new Uint32Array(bumped.buffer)[0]! += 1;
    const tampered = { ...output, data: [bumped[0]!, ...output.data.slice(1)] };
    const result = await verifyReceipt({ model: onnx, ...served, output: tampered, receipt: { ...served.receipt, outputHash: hashCanonicalJson(tampered) } });
    expect(result.verdict).toBe('fail');
    expect(result.reasons[0]).toContain('re-executing the model on the same input gives');
  });

  test('an input the model refuses has no honest output', async () => {
    const input = { data: [1, 2, 3], dims: [1, 3] };
    const output = { name: 'y', dims: [1, 8], data: [1, 0, 0, 0, 0, 0, 0, 0] };
    const receipt = { ...(await call(onnx, { data: new Array(16).fill(0), dims: [1, 16] }, {})).receipt, inputHash: hashCanonicalJson(input), outputHash: hashCanonicalJson(output) };
    const result = await verifyReceipt({ model: onnx, input, params: {}, output, receipt });
    expect(result).toMatchObject({ verdict: 'fail', metrics: { recomputedOutputHash: undefined } });
  });

  test('OCR (tesseract) re-reads the same text; an edited transcript fails', async () => {
    const ocr = await createOcrServedModel({ pricePerCall: 1n });
    try {
      const served = await call(ocr as Served, { image: renderTextPng('Pay 0.50 USDC to node 7').toString('base64') }, {});
      expect((await verifyReceipt({ model: ocr, ...served })).verdict).toBe('pass');
      const edited = { ...(served.output as object), text: 'Pay 0.05 USDC to node 7' };
      const result = await verifyReceipt({ model: ocr, ...served, output: edited, receipt: { ...served.receipt, outputHash: hashCanonicalJson(edited) } });
      expect(result.verdict).toBe('fail');
    } finally {
      await ocr.close();
    }
  });
});

describe('tolerance mode', () => {
  test('a served sampled chat answer passes; claimed as greedy it fails', async () => {
    const served = await call(llama, { messages: [{ role: 'user', content: 'Say hello to the network.' }] }, { max_tokens: 32, temperature: 0.7, seed: 8 });
    const model = { descriptor: llama.descriptor, runtime: scorer };
    expect(await verifyReceipt({ model, ...served })).toMatchObject({ mode: 'tolerance', verdict: 'pass' });
    // A greedy answer to a sampled call is still one the sampler could draw: it passes.
    const greedyOutput = await llama.run(served.input, { max_tokens: 32 }, { signal });
    const substituted = await verifyReceipt({ model, ...served, output: greedyOutput, receipt: { ...served.receipt, outputHash: hashCanonicalJson(greedyOutput) } });
    expect(substituted.verdict).toBe('pass');
    // A sampled answer claimed as greedy is not: most of its tokens are not the model's top-1.
    const greedyParams = { max_tokens: 32, temperature: 0, seed: 8 };
    const claimGreedy = await verifyReceipt({ model, ...served, params: greedyParams, receipt: { ...served.receipt, paramsHash: hashCanonicalJson(greedyParams) } });
    expect(claimGreedy.verdict).toBe('fail');
    expect(claimGreedy.reasons[0]).toMatch(/greedy decoding could pick/);
  });
});

describe('evidence', () => {
  test('a submitted call that is not what the receipt commits to gets no verdict', async () => {
    const served = await call(onnx, { data: new Array(16).fill(0.5), dims: [1, 16] }, {});
    const error = await verifyReceipt({ model: onnx, ...served, params: { temperature: 1 } }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'AgoraError', code: 'AuditEvidenceMismatch' });
    expect((error as Error).message.split('\n')[0]).toMatchInlineSnapshot(`"The submitted params do not hash to what the receipt commits to."`);
    await expect(verifyReceipt({ model: llama, ...served })).rejects.toMatchObject({ code: 'AuditModelMismatch' });
    await expect(verifyReceipt({ model: { descriptor: onnx.descriptor }, ...served })).rejects.toMatchObject({ code: 'VerifierModelUnsupported' });
  });
});
