import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDigitsModel, type BuildDigitsModelReturnType } from './buildDigitsModel.ts';
import { renderDigitPng } from './digitImage.ts';
import { argMax, DIGIT_CLASSES, DIGIT_PIXELS } from './digits.ts';
import { decodeOnnx } from './exportOnnx.ts';
import { canonicalOutputHash, createOnnxRuntime } from './onnxRuntime.ts';
import { loadDigitsDataset } from './trainDigits.ts';

// One real build (the devnet's recipe) shared by the tests below; training is the slow part.
let dir: string;
let built: BuildDigitsModelReturnType;
const lines: string[] = [];
const { test: heldOut } = loadDigitsDataset({ seed: 1 });
const image = (i: number) => heldOut.images.slice(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'agora-digits-'));
  built = await buildDigitsModel(join(dir, 'digits.onnx'), { seed: 1, log: (line) => lines.push(line) });
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('buildDigitsModel', () => {
  it('trains a classifier that gets at least 90% of held-out images right, and says so', async () => {
    expect(built.cached).toBe(false);
    expect(built.sidecar.heldOutImages).toBe(2000);
    expect(built.sidecar.testAccuracy).toBeGreaterThanOrEqual(0.9);
    expect(lines.at(-1)).toMatch(/^digits-mlp: test accuracy \d+\.\d% on 2,000 held-out images \(trained in [\d.]+ s; ONNX matches tfjs within /);

    // Recount independently with a fresh session over the same held-out split.
    const runtime = await createOnnxRuntime({ path: built.path });
    try {
      const { data, dims } = await runtime.run(heldOut.images, [heldOut.count, DIGIT_PIXELS]);
      expect(dims).toEqual([heldOut.count, DIGIT_CLASSES]);
      let correct = 0;
      for (let i = 0; i < heldOut.count; i++) if (argMax(data.subarray(i * 10, i * 10 + 10)) === heldOut.labels[i]) correct++;
      expect(correct / heldOut.count).toBe(built.sidecar.testAccuracy);
    } finally {
      await runtime.close();
    }
  });

  it('writes an ONNX model that computes what tfjs trained', async () => {
    // buildDigitsModel refuses to write a model that differs from tfjs by more than 1e-4.
    expect(built.sidecar.maxDifferenceFromTfjs).toBeLessThan(1e-5);
    const model = decodeOnnx(await readFile(built.path));
    expect(model.graph.node.map((node: { op_type: string }) => node.op_type)).toEqual(['Gemm', 'Relu', 'Gemm', 'Softmax']);
    expect(model.graph.input[0].name).toBe('image');
    expect(model.graph.output[0].name).toBe('probabilities');
    expect(model.metadata_props).toContainEqual({ key: 'agora.recipe', value: 'agora-digits-mlp/1' });
  });

  it('gives byte-identical files for the same seed', async () => {
    const again = await buildDigitsModel(join(dir, 'again', 'digits.onnx'), { seed: 1, log: () => {} });
    expect(again.cached).toBe(false);
    expect(await readFile(again.path)).toEqual(await readFile(built.path));
    expect(again.sidecar).toEqual({ ...built.sidecar, trainMs: again.sidecar.trainMs });
  });

  it('reuses a model whose sidecar matches, and rebuilds one that was changed or asked for another seed', async () => {
    const log: string[] = [];
    const cached = await buildDigitsModel(built.path, { seed: 1, log: (line) => log.push(line) });
    expect(cached).toEqual({ ...built, cached: true });
    expect(log).toEqual([`digits-mlp: test accuracy ${(built.sidecar.testAccuracy * 100).toFixed(1)}% on 2,000 held-out images (cached ${built.path})`]);

    // A short recipe keeps this test cheap: tamper with its file, and the build starts over.
    const path = join(dir, 'short.onnx');
    const short = await buildDigitsModel(path, { seed: 1, training: { epochs: 1 }, log: () => {} });
    const original = await readFile(path);
    await writeFile(path, Buffer.concat([original.subarray(0, 100), Buffer.from('tampered')]));
    const rebuilt = await buildDigitsModel(path, { seed: 1, training: { epochs: 1 }, log: () => {} });
    expect(rebuilt.cached).toBe(false);
    expect(await readFile(path)).toEqual(original);
    expect(rebuilt.sidecar.sha256).toBe(short.sidecar.sha256);

    const otherSeed = await buildDigitsModel(path, { seed: 2, training: { epochs: 1 }, log: () => {} });
    expect(otherSeed.cached).toBe(false);
    expect(otherSeed.sidecar.sha256).not.toBe(short.sidecar.sha256);
  });
});

describe('the built model behind createOnnxRuntime', () => {
  it('classifies PNG renderings of held-out digits as labelled', async () => {
    const runtime = await createOnnxRuntime({ path: built.path });
    try {
      let correct = 0;
      let sameAsFloats = 0;
      const samples = 200;
      for (let i = 0; i < samples; i++) {
        const fromPng = await runtime.classifyDigit(renderDigitPng(image(i), { scale: 4, style: 'ink' }));
        const fromFloats = await runtime.classifyDigit(image(i));
        if (fromPng.digit === heldOut.labels[i]) correct++;
        if (fromPng.digit === fromFloats.digit) sameAsFloats++;
      }
      expect(correct / samples).toBeGreaterThanOrEqual(0.85);
      // A 4× black-on-white rendering decodes back to the original pixels up to 8-bit rounding.
      expect(sameAsFloats / samples).toBeGreaterThanOrEqual(0.99);
    } finally {
      await runtime.close();
    }
  });

  it('gives the same output hashes in two separate sessions', async () => {
    const hashes = async () => {
      const runtime = await createOnnxRuntime({ path: built.path });
      try {
        const out: string[] = [];
        for (let i = 0; i < 50; i++) out.push(canonicalOutputHash((await runtime.classifyDigit(image(i))).probabilities));
        return out;
      } finally {
        await runtime.close();
      }
    };
    const first = await hashes();
    expect(new Set(first).size).toBe(50);
    expect(await hashes()).toEqual(first);
  });
});
