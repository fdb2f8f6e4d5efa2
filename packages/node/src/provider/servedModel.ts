import type { ModelDescriptor } from '../runtimes/modelFile.ts';

/** Options of {@link ServedModel.run}. */
export type ServedModelRunOptions = {
  /** Aborted when the caller went away or the node shuts down; the model stops working. */
  signal: AbortSignal;
  /**
   * Called with each piece of text as the model produces it (the pieces concatenate to the final
   * text). Only models with `streams: true` call it; the others ignore it.
   */
  onToken?: ((text: string) => void) | undefined;
};

/**
 * A model a provider serves and sells: what it is (descriptor → on-chain model id), what one call
 * costs, and how to run it. Runtimes (ONNX, llama.cpp, OCR) adapt to this shape.
 */
export type ServedModel = {
  descriptor: ModelDescriptor;
  /** Price of one call in token base units (the on-chain offer). */
  pricePerCall: bigint;
  /** Whether `run` reports text as it is produced through `onToken` (language models). */
  streams?: boolean;
  /**
   * Runs the model on a request's `input` and `params` and returns a JSON-serialisable output.
   * Throws an error with a `statusCode` of 400 for input the model cannot take.
   */
  run(input: unknown, params: Record<string, unknown>, options: ServedModelRunOptions): Promise<unknown>;
};
