import { encodeAbiParameters, keccak256, type Hex } from 'viem';

export type ComputeModelIdParameters = {
  /** 32-byte hash of the weights file (sha-256 of its bytes). */
  weightsHash: Hex;
  /** Runtime that executes it, e.g. `onnxruntime`, `llama.cpp`, `tesseract`. */
  runtime: string;
  /** Quantization label, e.g. `f32`, `q4_k_m`; empty when not applicable. */
  quantization: string;
};

/**
 * The model id the ModelRegistry assigns: keccak256(abi.encode(weightsHash, runtime, quantization)).
 * Pure; matches the contract's `computeModelId`.
 *
 * @example
 * const id = computeModelId({ weightsHash: sha256(bytes), runtime: 'onnxruntime', quantization: 'f32' })
 */
export function computeModelId({ weightsHash, runtime, quantization }: ComputeModelIdParameters): Hex {
  return keccak256(
    encodeAbiParameters([{ type: 'bytes32' }, { type: 'string' }, { type: 'string' }], [weightsHash, runtime, quantization]),
  );
}
