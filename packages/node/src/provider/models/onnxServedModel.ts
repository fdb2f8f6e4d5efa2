import { AgoraError } from '@agora/sdk';
import { describeModelFile } from '../../runtimes/modelFile.ts';
import { createOnnxRuntime } from '../../runtimes/onnx/onnxRuntime.ts';
import type { ServedModel } from '../servedModel.ts';

/** Most values one call may send (16 Mi floats): bounds the memory a request can make the node allocate. */
const MAX_INPUT_VALUES = 16 * 1024 * 1024;

/**
 * Any ONNX model with a float32 input and a float32 output (the user's own file), as a model a
 * provider sells, run on CPU with one thread so outputs are reproducible (exact verification).
 * Input: `{ data: number[], dims: number[] }`, fed to the model's first input; output:
 * `{ name, dims, data }` of its first output.
 *
 * @example
 * const model = await createOnnxServedModel({ path: 'my-model.onnx', pricePerCall: 1_000n, name: 'me/my-model' })
 */
export async function createOnnxServedModel(init: { path: string; pricePerCall: bigint; name?: string }): Promise<ServedModel & { close(): Promise<void> }> {
  const runtime = await createOnnxRuntime({ path: init.path, threads: 1 });
  const descriptor = await describeModelFile({
    name: init.name ?? 'onnx-model',
    path: init.path,
    format: 'onnx',
    runtime: 'onnxruntime',
    quantization: 'f32',
    verificationMode: 'exact',
  }).catch(async (err: unknown) => {
    await runtime.close();
    throw err;
  });
  const invalid = (message: string, cause?: unknown) =>
    Object.assign(new AgoraError('InvalidInput', message, cause === undefined ? {} : { cause }), { statusCode: 400 });
  return {
    descriptor,
    pricePerCall: init.pricePerCall,
    async run(input) {
      const { data, dims } = (input ?? {}) as { data?: unknown; dims?: unknown };
      if (!Array.isArray(dims) || dims.length === 0 || !dims.every((d) => Number.isInteger(d) && d >= 0)) {
        throw invalid(`ONNX input must be { data: number[], dims: number[] } for the model's input "${runtime.inputNames[0]}"; dims must be non-negative integers.`);
      }
      if (!Array.isArray(data) || data.length > MAX_INPUT_VALUES || !data.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        throw invalid(`ONNX input data must be an array of at most ${MAX_INPUT_VALUES} finite numbers.`);
      }
      try {
        const output = await runtime.run(Float32Array.from(data as number[]), dims as number[]);
        return { name: output.name, dims: output.dims, data: Array.from(output.data) };
      } catch (err) {
        // A shape the model does not take is the caller's mistake, not the provider's failure.
        if (err instanceof AgoraError && (err.code === 'OnnxInputShapeMismatch' || err.code === 'OnnxRunFailed')) throw invalid(err.shortMessage, err);
        throw err;
      }
    },
    close: () => runtime.close(),
  };
}
