import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Hex } from 'viem';
import { computeModelId, type VerificationMode } from '@agora/sdk';

/** Which engine executes a model; part of its on-chain id. */
export type RuntimeName = 'onnxruntime' | 'llama.cpp' | 'tesseract';

/**
 * Everything that identifies a model file for the ModelRegistry: the id commits to the exact
 * weights bytes, the runtime and the quantization, so a provider's offer and an audit's
 * re-execution mean the same thing.
 */
export type ModelDescriptor = {
  /** Human name shown in `/v1/models`, e.g. `agora/digits-mlp`. */
  name: string;
  /** Weights file on disk (for OCR: the traineddata file). */
  path: string;
  format: 'onnx' | 'gguf' | 'ocr';
  runtime: RuntimeName;
  quantization: string;
  verificationMode: VerificationMode;
  /** sha-256 of the weights file. */
  weightsHash: Hex;
  /** keccak256(abi.encode(weightsHash, runtime, quantization)). */
  modelId: Hex;
};

/** sha-256 of a file, streamed (GGUF files can be gigabytes). */
export async function hashFile(path: string): Promise<Hex> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return `0x${hash.digest('hex')}`;
}

/**
 * Hashes a model file and derives its model id.
 *
 * @example
 * const descriptor = await describeModelFile({ name: 'agora/digits-mlp', path, format: 'onnx', runtime: 'onnxruntime', quantization: 'f32', verificationMode: 'exact' })
 */
export async function describeModelFile(
  model: Omit<ModelDescriptor, 'weightsHash' | 'modelId'>,
): Promise<ModelDescriptor> {
  const weightsHash = await hashFile(model.path);
  return { ...model, weightsHash, modelId: computeModelId({ weightsHash, runtime: model.runtime, quantization: model.quantization }) };
}
