import type { ModelDescriptor } from '../runtimes/modelFile.ts';

/**
 * A model a provider serves and sells: what it is (descriptor → on-chain model id), what one call
 * costs, and how to run it. Runtimes (ONNX, llama.cpp, OCR) adapt to this shape.
 */
export type ServedModel = {
  descriptor: ModelDescriptor;
  /** Price of one call in token base units (the on-chain offer). */
  pricePerCall: bigint;
  /**
   * Runs the model on a request's `input` and `params` and returns a JSON-serialisable output.
   * Throws an error with a `statusCode` of 400 for input the model cannot take.
   */
  run(input: unknown, params: Record<string, unknown>, options: { signal: AbortSignal }): Promise<unknown>;
};
