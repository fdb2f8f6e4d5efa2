import { AgoraError } from '@agora/sdk';
import { describeModelFile } from '../../runtimes/modelFile.ts';
import { createOcrRuntime } from '../../runtimes/ocr/ocrRuntime.ts';
import type { ServedModel } from '../servedModel.ts';

/** Largest base64 image accepted by the OCR model (the HTTP body limit also applies). */
const MAX_IMAGE_BASE64 = 4 * 1024 * 1024;

/**
 * The pretrained English OCR model (tesseract LSTM, shipped in `@tesseract.js-data/eng`) as a
 * model a provider sells. Input: `{ image: <base64 PNG or JPEG> }`; output: `{ text, confidence }`.
 */
export async function createOcrServedModel(init: { pricePerCall: bigint; name?: string }): Promise<ServedModel & { close(): Promise<void> }> {
  const runtime = await createOcrRuntime();
  const descriptor = await describeModelFile({
    name: init.name ?? 'agora/ocr-eng',
    path: runtime.modelPath,
    format: 'ocr',
    runtime: 'tesseract',
    quantization: 'best_int',
    verificationMode: 'exact',
  });
  return {
    descriptor,
    pricePerCall: init.pricePerCall,
    async run(input, _params, { signal }) {
      const image = (input as { image?: unknown } | null)?.image;
      if (typeof image !== 'string' || image.length === 0 || image.length > MAX_IMAGE_BASE64) {
        throw Object.assign(new AgoraError('InvalidInput', 'OCR input must be { image: <base64 PNG or JPEG> } of at most 4 MiB.'), { statusCode: 400 });
      }
      try {
        const { text, confidence } = await runtime.recognize(Buffer.from(image, 'base64'), { signal });
        return { text, confidence };
      } catch (err) {
        if (err instanceof AgoraError && (err.code === 'OcrImageUndecodable' || err.code === 'OcrImageTooLarge')) {
          throw Object.assign(err, { statusCode: 400 });
        }
        throw err;
      }
    },
    close: () => runtime.close(),
  };
}
