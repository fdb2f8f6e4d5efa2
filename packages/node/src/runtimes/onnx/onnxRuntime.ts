import { createHash } from 'node:crypto';
import * as ort from 'onnxruntime-node';
import type { Hex } from 'viem';
import { AgoraError } from '@agora/sdk';
import { pngToDigitInput } from './digitImage.ts';
import { argMax, DIGIT_CLASSES, DIGIT_PIXELS } from './digits.ts';

export type OnnxRuntimeInit = {
  /** The `.onnx` file. */
  path: string;
  /**
   * Threads for one inference. Default 1: a single thread runs the kernels in one fixed order,
   * so the same input gives bit-identical outputs on a machine (audits compare output hashes),
   * and on small models extra threads cost more than they save.
   */
  threads?: number;
};

/** One output tensor. */
export type OnnxOutput = { name: string; data: Float32Array; dims: number[] };

export type DigitClassification = {
  /** The most probable digit (the lowest on ties). */
  digit: number;
  /** Probability of each digit 0–9, float32 values. */
  probabilities: number[];
};

export type OnnxRuntime = {
  readonly path: string;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /**
   * Runs the model on one float32 tensor (fed to its first input) and returns its first output.
   *
   * @throws {AgoraError} `OnnxInputShapeMismatch` when `input.length` is not the product of `dims`;
   *   `OnnxRunFailed` when onnxruntime rejects the input (wrong rank or size for the model).
   */
  run(input: Float32Array, dims: readonly number[]): Promise<OnnxOutput>;
  /**
   * Classifies one handwritten digit with a digits model (input `[N,784]`, output `[N,10]`).
   * Takes 784 floats in 0..1 (white digit on black) or a PNG (see `pngToDigitInput`). Always runs
   * a batch of one, so the probabilities, and their {@link canonicalOutputHash}, do not depend
   * on what else was being classified.
   *
   * @throws {AgoraError} `DigitImageInvalid` (not a PNG) or `OnnxInputShapeMismatch` (not 784 floats).
   */
  classifyDigit(image: Float32Array | Uint8Array): Promise<DigitClassification>;
  /** Releases the native session; later calls fail. */
  close(): Promise<void>;
};

/**
 * Loads an ONNX model into a CPU onnxruntime session configured for reproducible outputs:
 * `threads` intra-op threads (default 1), one inter-op thread, sequential execution.
 *
 * @throws {AgoraError} `OnnxModelLoadFailed` when the file is missing or not a valid ONNX model.
 * @example
 * const runtime = await createOnnxRuntime({ path: 'models/digits.onnx' })
 * const { digit, probabilities } = await runtime.classifyDigit(readFileSync('seven.png'))
 * await runtime.close()
 */
export async function createOnnxRuntime(init: OnnxRuntimeInit): Promise<OnnxRuntime> {
  const threads = init.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive integer, got ${threads}`);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(init.path, {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
  } catch (cause) {
    throw new AgoraError('OnnxModelLoadFailed', `onnxruntime could not load the model ${init.path}.`, {
      cause,
      fix: 'check that the path points to a valid .onnx file (build the devnet digit model with `tsx packages/node/src/runtimes/onnx/buildDigitsModel.ts <out>`).',
    });
  }
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  if (inputName === undefined || outputName === undefined) {
    await session.release();
    throw new AgoraError('OnnxModelLoadFailed', `The model ${init.path} has no inputs or no outputs.`);
  }
  let closed = false;

  const run = async (input: Float32Array, dims: readonly number[]): Promise<OnnxOutput> => {
    if (closed) throw new AgoraError('OnnxRuntimeClosed', `The onnxruntime session for ${init.path} is closed.`);
    const size = dims.reduce((product, dim) => product * dim, 1);
    if (!dims.every((dim) => Number.isInteger(dim) && dim >= 0) || size !== input.length) {
      throw new AgoraError('OnnxInputShapeMismatch', `The input has ${input.length} values but the shape [${dims.join(', ')}] needs ${size}.`, {
        fix: 'pass dims whose product is the input length, e.g. [1, 784] for one digit image.',
      });
    }
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await session.run({ [inputName]: new ort.Tensor('float32', input, [...dims]) });
    } catch (cause) {
      throw new AgoraError('OnnxRunFailed', `onnxruntime rejected an input of shape [${dims.join(', ')}] for ${init.path}.`, { cause });
    }
    const output = results[outputName]!;
    if (output.type !== 'float32') {
      throw new AgoraError('OnnxOutputUnsupported', `The model's output ${outputName} is ${output.type}; only float32 outputs are supported.`);
    }
    // Copy out of onnxruntime's buffer: callers may keep outputs after the next run.
    const result = { name: outputName, data: (output.data as Float32Array).slice(), dims: [...output.dims] };
    output.dispose();
    return result;
  };

  const classifyDigit = async (image: Float32Array | Uint8Array): Promise<DigitClassification> => {
    const input = image instanceof Float32Array ? image : pngToDigitInput(image);
    if (input.length !== DIGIT_PIXELS) {
      throw new AgoraError('OnnxInputShapeMismatch', `A digit image is ${DIGIT_PIXELS} floats (28×28), got ${input.length}.`, {
        fix: 'send 784 floats in 0..1 (white digit on black, row-major) or a PNG image.',
      });
    }
    const { data } = await run(input, [1, DIGIT_PIXELS]);
    if (data.length !== DIGIT_CLASSES) {
      throw new AgoraError('OnnxOutputUnsupported', `The model gives ${data.length} outputs per image, not ${DIGIT_CLASSES}: it is not a digit classifier.`);
    }
    return { digit: argMax(data), probabilities: Array.from(data) };
  };

  return {
    path: init.path,
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    run,
    classifyDigit,
    async close() {
      if (closed) return;
      closed = true;
      await session.release();
    },
  };
}

/**
 * sha-256 of a model output in canonical form: each value as a float32, little-endian, in order.
 * Two runs agree exactly iff their hashes match, which is what exact-mode verification compares.
 * Plain numbers are rounded to float32 first, so `probabilities` from {@link OnnxRuntime.classifyDigit}
 * hash the same as the Float32Array they came from.
 *
 * @example
 * const { probabilities } = await runtime.classifyDigit(png)
 * const hash = canonicalOutputHash(probabilities) // '0x…' (32 bytes)
 */
export function canonicalOutputHash(values: Float32Array | readonly number[]): Hex {
  const view = new DataView(new ArrayBuffer(values.length * 4));
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return `0x${createHash('sha256').update(new Uint8Array(view.buffer)).digest('hex')}`;
}
