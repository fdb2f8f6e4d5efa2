import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgoraError } from '@agora/sdk';
import { renderDigitPng } from './digitImage.ts';
import { DIGIT_CLASSES, DIGIT_PIXELS } from './digits.ts';
import { exportDigitsOnnx } from './exportOnnx.ts';
import { canonicalOutputHash, createOnnxRuntime, type OnnxRuntime } from './onnxRuntime.ts';
import { createRng } from './trainDigits.ts';

// Random weights are enough to test the runtime; the trained model is tested in buildDigitsModel.test.ts.
let dir: string;
let path: string;
let runtime: OnnxRuntime;
const rng = createRng(5);
const fill = (size: number, scale: number) => Float32Array.from({ length: size }, () => (rng() * 2 - 1) * scale);
const images = Array.from({ length: 20 }, () => fill(DIGIT_PIXELS, 1).map(Math.abs));

async function caught(promise: Promise<unknown>): Promise<AgoraError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AgoraError) return err;
    throw err;
  }
  throw new Error('expected an AgoraError');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agora-onnx-'));
  path = join(dir, 'random.onnx');
  await writeFile(path, exportDigitsOnnx({ hidden: 32, w1: fill(DIGIT_PIXELS * 32, 0.1), b1: fill(32, 0.1), w2: fill(320, 0.5), b2: fill(10, 0.1) }));
  runtime = await createOnnxRuntime({ path });
});
afterAll(async () => {
  await runtime?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('createOnnxRuntime', () => {
  it('runs a batch and returns the first output with its shape', async () => {
    expect(runtime.inputNames).toEqual(['image']);
    expect(runtime.outputNames).toEqual(['probabilities']);
    const batch = new Float32Array(3 * DIGIT_PIXELS);
    images.slice(0, 3).forEach((image, i) => batch.set(image, i * DIGIT_PIXELS));
    const output = await runtime.run(batch, [3, DIGIT_PIXELS]);
    expect(output.name).toBe('probabilities');
    expect(output.dims).toEqual([3, DIGIT_CLASSES]);
    for (let n = 0; n < 3; n++) expect(output.data.subarray(n * 10, n * 10 + 10).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  it('classifies floats and PNGs alike', async () => {
    const image = images[0]!.map((value) => Math.round(value * 255) / 255);
    const fromFloats = await runtime.classifyDigit(image);
    const fromPng = await runtime.classifyDigit(renderDigitPng(image, { scale: 2 }));
    expect(fromFloats.probabilities).toHaveLength(10);
    expect(fromFloats.digit).toBe(fromFloats.probabilities.indexOf(Math.max(...fromFloats.probabilities)));
    expect(fromPng.digit).toBe(fromFloats.digit);
    for (let k = 0; k < 10; k++) expect(fromPng.probabilities[k]).toBeCloseTo(fromFloats.probabilities[k]!, 4);
  });

  it('gives bit-identical outputs in another session, and the same hash for numbers and float32', async () => {
    const other = await createOnnxRuntime({ path });
    try {
      for (const image of images) {
        const a = await runtime.classifyDigit(image);
        const b = await other.classifyDigit(image);
        expect(canonicalOutputHash(b.probabilities)).toBe(canonicalOutputHash(a.probabilities));
        expect(canonicalOutputHash(Float32Array.from(a.probabilities))).toBe(canonicalOutputHash(a.probabilities));
      }
    } finally {
      await other.close();
    }
  });

  it('hashes the float32 little-endian bytes', () => {
    // sha-256 of 00 00 80 3f 00 00 00 00 (1.0f, 0.0f).
    expect(canonicalOutputHash([1, 0])).toMatchInlineSnapshot(`"0x434b26042aff3fb844a4c4c6be0d81a079b0ce84cfb8190679024404e5dc4822"`);
    expect(canonicalOutputHash([1, 0])).not.toBe(canonicalOutputHash([0, 1]));
    expect(canonicalOutputHash([0.1])).toBe(canonicalOutputHash(new Float32Array([0.1])));
  });

  it('explains bad inputs', async () => {
    expect((await caught(runtime.run(new Float32Array(10), [1, DIGIT_PIXELS]))).message).toMatchInlineSnapshot(`
      "The input has 10 values but the shape [1, 784] needs 784.

      Fix: pass dims whose product is the input length, e.g. [1, 784] for one digit image."
    `);
    expect((await caught(runtime.classifyDigit(new Float32Array(100)))).code).toBe('OnnxInputShapeMismatch');
    expect((await caught(runtime.classifyDigit(Buffer.from('not an image')))).code).toBe('DigitImageInvalid');
    expect((await caught(runtime.run(new Float32Array(10), [1, 10]))).code).toBe('OnnxRunFailed');
  });

  it('explains a model it cannot load, and refuses calls after close', async () => {
    const missing = await caught(createOnnxRuntime({ path: join(dir, 'missing.onnx') }));
    expect(missing.code).toBe('OnnxModelLoadFailed');
    expect(missing.shortMessage).toBe(`onnxruntime could not load the model ${join(dir, 'missing.onnx')}.`);
    await writeFile(join(dir, 'garbage.onnx'), 'not a model');
    expect((await caught(createOnnxRuntime({ path: join(dir, 'garbage.onnx') }))).code).toBe('OnnxModelLoadFailed');

    const closing = await createOnnxRuntime({ path });
    await closing.close();
    expect((await caught(closing.classifyDigit(images[0]!))).code).toBe('OnnxRuntimeClosed');
  });
});
