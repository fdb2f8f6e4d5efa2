import { AgoraError } from '@agora/sdk';
import { describeModelFile } from '../../runtimes/modelFile.ts';
import { createOnnxRuntime } from '../../runtimes/onnx/onnxRuntime.ts';
import type { ServedModel } from '../servedModel.ts';

/**
 * The digit classifier the project trains (ONNX, exact verification) as a model a provider sells.
 * Input: `{ image: <base64 PNG> }` or `{ pixels: number[784] }` (0..1, white on black);
 * output: `{ digit, probabilities }`.
 */
export async function createDigitsServedModel(init: { path: string; pricePerCall: bigint; name?: string }): Promise<ServedModel & { close(): Promise<void> }> {
  const runtime = await createOnnxRuntime({ path: init.path, threads: 1 });
  const descriptor = await describeModelFile({
    name: init.name ?? 'agora/digits-mlp',
    path: init.path,
    format: 'onnx',
    runtime: 'onnxruntime',
    quantization: 'f32',
    verificationMode: 'exact',
  });
  const invalid = (message: string) => Object.assign(new AgoraError('InvalidInput', message), { statusCode: 400 });
  return {
    descriptor,
    pricePerCall: init.pricePerCall,
    async run(input) {
      const { image, pixels } = (input ?? {}) as { image?: unknown; pixels?: unknown };
      let tensor: Float32Array | Uint8Array;
      if (typeof image === 'string') tensor = Buffer.from(image, 'base64');
      else if (Array.isArray(pixels) && pixels.length === 784 && pixels.every((p) => typeof p === 'number' && p >= 0 && p <= 1)) {
        tensor = Float32Array.from(pixels as number[]);
      } else throw invalid('Digit input must be { image: <base64 PNG> } or { pixels: 784 numbers in 0..1 }.');
      try {
        return await runtime.classifyDigit(tensor);
      } catch (err) {
        if (err instanceof AgoraError && err.code === 'DigitImageInvalid') throw Object.assign(err, { statusCode: 400 });
        throw err;
      }
    },
    close: () => runtime.close(),
  };
}
