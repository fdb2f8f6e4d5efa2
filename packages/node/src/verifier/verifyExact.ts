import type { Hex } from 'viem';
import { AgoraError, hashCanonicalJson } from '@agora/sdk';
import type { ServedModel } from '../provider/servedModel.ts';
import type { VerificationResult } from './verificationResult.ts';

/**
 * A model to re-execute with, loaded the way providers serve exact-mode models: a deterministic
 * runtime (single-thread CPU onnxruntime, tesseract's wasm), e.g. `createDigitsServedModel`,
 * `createOnnxServedModel` or `createOcrServedModel`.
 */
export type ExactVerifierModel = Pick<ServedModel, 'descriptor' | 'run'>;

/** The numbers an exact verdict rests on. */
export type ExactMetrics = {
  /** keccak256 of the canonical JSON of the claimed output (what receipts commit to). */
  claimedOutputHash: Hex;
  /** The same hash of the verifier's own run; undefined when the model refused the input. */
  recomputedOutputHash: Hex | undefined;
};

/** Parameters of {@link verifyExact}. */
export type VerifyExactParameters = {
  model: ExactVerifierModel;
  input: unknown;
  params: Record<string, unknown>;
  /** The output the provider returned. */
  output: unknown;
  signal?: AbortSignal | undefined;
};

/**
 * Re-executes a call on a deterministic runtime and passes it only when the canonical output
 * hashes are equal: single-thread CPU execution gives bit-identical outputs, so any difference is
 * a different computation.
 *
 * @throws {AgoraError} `VerifierRunFailed` when the verifier's own run fails for a reason other
 *   than the input (no verdict can be given).
 * @example
 * const model = await createDigitsServedModel({ path: 'digits.onnx', pricePerCall: 0n })
 * const { verdict } = await verifyExact({ model, input: { pixels }, params: {}, output: claimed })
 */
export async function verifyExact({ model, input, params, output, signal }: VerifyExactParameters): Promise<VerificationResult<ExactMetrics>> {
  const claimedOutputHash = hashCanonicalJson(output);
  let recomputed: unknown;
  try {
    recomputed = await model.run(input, params, { signal: signal ?? new AbortController().signal });
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    // The served model answers such input with a 400 and no charge: no honest output exists.
    if ((error as { statusCode?: unknown }).statusCode === 400) {
      return {
        verdict: 'fail',
        metrics: { claimedOutputHash, recomputedOutputHash: undefined },
        reasons: [`The model refuses this input (${(error as Error).message}), so no honest output exists for it.`],
      };
    }
    throw new AgoraError('VerifierRunFailed', `Re-executing ${model.descriptor.name} (${model.descriptor.modelId}) failed.`, {
      cause: error,
      fix: 'check the verifier machine (model file, memory) and audit again; no verdict was reached.',
    });
  }
  const recomputedOutputHash = hashCanonicalJson(recomputed);
  const equal = recomputedOutputHash === claimedOutputHash;
  return {
    verdict: equal ? 'pass' : 'fail',
    metrics: { claimedOutputHash, recomputedOutputHash },
    reasons: equal ? [] : [`The output hashes ${claimedOutputHash}; re-executing the model on the same input gives ${recomputedOutputHash}.`],
  };
}
