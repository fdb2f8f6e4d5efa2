import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { DIGIT_CLASSES, DIGIT_PIXELS } from './digits.ts';
import { decodeOnnx, exportDigitsOnnx, exportOnnx, float32LittleEndian, ONNX_IR_VERSION, ONNX_OPSET } from './exportOnnx.ts';
import { createRng, type DigitsWeights } from './trainDigits.ts';

function randomWeights(hidden: number, seed: number): DigitsWeights {
  const rng = createRng(seed);
  const fill = (size: number, scale: number) => Float32Array.from({ length: size }, () => (rng() * 2 - 1) * scale);
  return { hidden, w1: fill(DIGIT_PIXELS * hidden, 0.1), b1: fill(hidden, 0.1), w2: fill(hidden * DIGIT_CLASSES, 0.5), b2: fill(DIGIT_CLASSES, 0.1) };
}

/** The MLP in float64, written independently of both tfjs and onnxruntime. */
function reference(weights: DigitsWeights, image: Float32Array): number[] {
  const { hidden, w1, b1, w2, b2 } = weights;
  const h = Array.from({ length: hidden }, (_, j) => {
    let sum = b1[j]!;
    for (let p = 0; p < DIGIT_PIXELS; p++) sum += image[p]! * w1[p * hidden + j]!;
    return Math.max(0, sum);
  });
  const logits = Array.from({ length: DIGIT_CLASSES }, (_, k) => h.reduce((sum, value, j) => sum + value * w2[j * DIGIT_CLASSES + k]!, b2[k]!));
  const max = Math.max(...logits);
  const exp = logits.map((value) => Math.exp(value - max));
  const total = exp.reduce((a, b) => a + b, 0);
  return exp.map((value) => value / total);
}

describe('exportDigitsOnnx', () => {
  const weights = randomWeights(16, 7);

  it('writes a model onnxruntime runs, computing the MLP', async () => {
    const session = await ort.InferenceSession.create(exportDigitsOnnx(weights), { intraOpNumThreads: 1, interOpNumThreads: 1 });
    try {
      expect(session.inputNames).toEqual(['image']);
      expect(session.outputNames).toEqual(['probabilities']);
      const rng = createRng(99);
      const batch = 5;
      const images = Float32Array.from({ length: batch * DIGIT_PIXELS }, () => rng());
      const { probabilities } = await session.run({ image: new ort.Tensor('float32', images, [batch, DIGIT_PIXELS]) });
      expect(probabilities!.dims).toEqual([batch, DIGIT_CLASSES]);
      const data = probabilities!.data as Float32Array;
      for (let n = 0; n < batch; n++) {
        const expected = reference(weights, images.subarray(n * DIGIT_PIXELS, (n + 1) * DIGIT_PIXELS));
        expected.forEach((value, k) => expect(data[n * DIGIT_CLASSES + k]).toBeCloseTo(value, 5));
      }
    } finally {
      await session.release();
    }
  });

  it('depends only on the weights: same weights, same bytes; one changed weight, other bytes', () => {
    const bytes = exportDigitsOnnx(weights);
    expect(exportDigitsOnnx(randomWeights(16, 7))).toEqual(bytes);
    const changed = randomWeights(16, 7);
    changed.w2[3] = changed.w2[3]! + 1e-3;
    expect(exportDigitsOnnx(changed)).not.toEqual(bytes);
    // Pins the encoding itself: if this changes, bump DIGITS_MODEL_RECIPE so cached models rebuild.
    expect(createHash('sha256').update(exportDigitsOnnx(randomWeights(2, 1))).digest('hex')).toMatchInlineSnapshot(`"4af4573bd5c63e7f0736f895aa0b8dd56912b9c74f5051ed8d2041c6a720c55b"`);
  });

  it('stores the ONNX fields a reader expects', () => {
    const model = decodeOnnx(exportDigitsOnnx(weights, { metadata: { b: '2', a: '1' } }));
    expect(model.ir_version).toBe(ONNX_IR_VERSION);
    expect(model.opset_import).toEqual([{ domain: '', version: ONNX_OPSET }]);
    expect(model.metadata_props).toEqual([{ key: 'a', value: '1' }, { key: 'b', value: '2' }]);
    expect(model.graph.input).toMatchObject([
      { name: 'image', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'N' }, { dim_value: 784 }] } } } },
    ]);
    expect(model.graph.output).toMatchObject([
      { name: 'probabilities', type: { tensor_type: { elem_type: 1, shape: { dim: [{ dim_param: 'N' }, { dim_value: 10 }] } } } },
    ]);
    expect(model.graph.node[3]).toMatchObject({ op_type: 'Softmax', input: ['logits'], output: ['probabilities'], attribute: [{ name: 'axis', i: -1, type: 2 }] });
    const w1 = model.graph.initializer.find((tensor: { name: string }) => tensor.name === 'w1');
    expect(w1.dims).toEqual([784, 16]);
    expect(w1.data_type).toBe(1);
    expect(Uint8Array.from(w1.raw_data)).toEqual(float32LittleEndian(weights.w1));
  });

  it('refuses an initializer whose data does not fit its dims', () => {
    expect(() =>
      exportOnnx({
        name: 'bad',
        nodes: [{ opType: 'Add', inputs: ['x', 'c'], outputs: ['y'] }],
        initializers: [{ name: 'c', dims: [2, 2], data: new Float32Array(3) }],
        inputs: [{ name: 'x', dims: [2, 2] }],
        outputs: [{ name: 'y', dims: [2, 2] }],
      }),
    ).toThrowErrorMatchingInlineSnapshot(`[RangeError: ONNX initializer c has 3 values but dims [2, 2] need 4]`);
  });
});
