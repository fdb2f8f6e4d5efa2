import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx } from '../../runtimes/onnx/exportOnnx.ts';
import { createOnnxServedModel } from './onnxServedModel.ts';

// A user's own ONNX file: y = x · W + b, written here so the test needs nothing downloaded.
const W = Float32Array.from([1, 2, 3, 4, 5, 6]); // 3×2
const B = Float32Array.from([0.5, -0.5]);
let model: Awaited<ReturnType<typeof createOnnxServedModel>>;

beforeAll(async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'agora-onnx-')), 'linear.onnx');
  writeFileSync(
    path,
    exportOnnx({
      name: 'linear',
      nodes: [
        { opType: 'MatMul', inputs: ['x', 'W'], outputs: ['xw'] },
        { opType: 'Add', inputs: ['xw', 'b'], outputs: ['y'] },
      ],
      initializers: [
        { name: 'W', dims: [3, 2], data: W },
        { name: 'b', dims: [2], data: B },
      ],
      inputs: [{ name: 'x', dims: ['batch', 3] }],
      outputs: [{ name: 'y', dims: ['batch', 2] }],
    }),
  );
  model = await createOnnxServedModel({ path, pricePerCall: 10n, name: 'me/linear' });
});
afterAll(() => model?.close());

const run = (input: unknown) => model.run(input, {}, { signal: new AbortController().signal });

describe('createOnnxServedModel (any ONNX file)', () => {
  it('runs the model on a tensor given as data + dims and describes it for the registry', async () => {
    expect(await run({ data: [1, 0, 0, 0, 1, 1], dims: [2, 3] })).toEqual({ name: 'y', dims: [2, 2], data: [1.5, 1.5, 8.5, 9.5] });
    expect(model.descriptor).toMatchObject({ name: 'me/linear', format: 'onnx', runtime: 'onnxruntime', verificationMode: 'exact' });
  });

  it('answers input the model cannot take as a 400, with the reason', async () => {
    await expect(run({ data: [1, 2], dims: [1, 3] })).rejects.toMatchObject({ statusCode: 400, code: 'InvalidInput', message: expect.stringContaining('needs 3') });
    await expect(run({ data: [1, 2, 3, 4], dims: [1, 4] })).rejects.toMatchObject({ statusCode: 400, code: 'InvalidInput' });
    await expect(run({ data: ['1', 2, 3], dims: [1, 3] })).rejects.toMatchObject({ statusCode: 400 });
    await expect(run({ pixels: [] })).rejects.toMatchObject({ statusCode: 400, message: expect.stringContaining('"x"') });
  });
});
