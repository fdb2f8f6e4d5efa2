import { AgoraError, hashCanonicalJson, type InferenceReceipt } from '@agora/sdk';
import type { ModelDescriptor } from '../runtimes/modelFile.ts';
import type { ServedModel } from '../provider/servedModel.ts';
import type { VerificationResult } from './verificationResult.ts';
import { verifyExact, type ExactMetrics } from './verifyExact.ts';
import { verifyLlamaOutput, type EmbeddingMetrics, type VerifyLlamaOutputParameters } from './verifyLlamaOutput.ts';
import type { ToleranceMetrics, ToleranceThresholds } from './verifyTolerance.ts';

/**
 * The verifier's copy of the audited model, with what its verification mode needs: `run` (a
 * served model on a deterministic runtime) for `exact`, `runtime` (a llama runtime on the same
 * GGUF) for `tolerance`.
 */
export type VerifierModel = {
  descriptor: ModelDescriptor;
  run?: ServedModel['run'] | undefined;
  runtime?: VerifyLlamaOutputParameters['runtime'] | undefined;
};

/** Parameters of {@link verifyReceipt}. */
export type VerifyReceiptParameters = {
  model: VerifierModel;
  /** The call as the audit submits it; must hash to what the receipt commits to. */
  input: unknown;
  params: Record<string, unknown>;
  output: unknown;
  receipt: InferenceReceipt;
  thresholds?: Partial<ToleranceThresholds & { minEmbeddingCosine: number }> | undefined;
  signal?: AbortSignal | undefined;
};

/** What {@link verifyReceipt} returns: the verdict of the model's verification mode. */
export type VerifyReceiptReturnType = VerificationResult<ExactMetrics | ToleranceMetrics | EmbeddingMetrics> & {
  mode: ModelDescriptor['verificationMode'];
};

/**
 * Audits one receipt: checks that the submitted call is what the receipt commits to, then
 * re-executes by the model's verification mode, `exact` (equal canonical output hashes from a
 * deterministic re-run) or `tolerance` (one scoring pass over the claimed text, see
 * {@link verifyTolerance}).
 *
 * @throws {AgoraError} `AuditModelMismatch` when the verifier's model is not the receipt's;
 *   `AuditEvidenceMismatch` when input, params or output do not hash to the receipt's (the
 *   evidence, not the provider, is wrong: no verdict); `VerifierModelUnsupported` when the model
 *   lacks what its mode needs.
 * @example
 * const result = await verifyReceipt({ model: { descriptor, runtime }, input, params, output, receipt })
 * if (result.verdict === 'fail') console.log(result.reasons)
 */
export async function verifyReceipt({ model, input, params, output, receipt, thresholds, signal }: VerifyReceiptParameters): Promise<VerifyReceiptReturnType> {
  const { descriptor } = model;
  if (receipt.modelId.toLowerCase() !== descriptor.modelId.toLowerCase()) {
    throw new AgoraError('AuditModelMismatch', `The receipt is for model ${receipt.modelId} but the verifier loaded ${descriptor.name} (${descriptor.modelId}).`, {
      fix: 'load the model file whose id the receipt names; an audit must re-execute the same weights, runtime and quantization.',
    });
  }
  const mismatched = (
    [
      ['input', receipt.inputHash, input],
      ['params', receipt.paramsHash, params],
      ['output', receipt.outputHash, output],
    ] as const
  ).filter(([, hash, value]) => hash.toLowerCase() !== hashCanonicalJson(value));
  if (mismatched.length > 0) {
    throw new AgoraError('AuditEvidenceMismatch', `The submitted ${mismatched.map(([name]) => name).join(', ')} do not hash to what the receipt commits to.`, {
      metaMessages: mismatched.map(([name, hash, value]) => `${name}: receipt ${hash}, submitted ${hashCanonicalJson(value)}`),
      fix: 'submit the exact input, params and output of the call (receipts hash their canonical JSON); the provider signed something else.',
    });
  }
  const mode = descriptor.verificationMode;
  if (mode === 'exact') {
    if (!model.run) throw unsupported(descriptor, 'a `run` function (a served model on a deterministic runtime)');
    return { mode, ...(await verifyExact({ model: { descriptor, run: model.run }, input, params, output, signal })) };
  }
  if (!model.runtime) throw unsupported(descriptor, 'a llama `runtime` to score outputs with');
  const { verdict, metrics, reasons } = await verifyLlamaOutput({ runtime: model.runtime, input, params, output, thresholds, signal });
  return { mode, verdict, metrics, reasons };
}

function unsupported(descriptor: ModelDescriptor, needs: string): AgoraError {
  return new AgoraError('VerifierModelUnsupported', `${descriptor.name} is verified in ${descriptor.verificationMode} mode, which needs ${needs}.`, {
    fix: 'pass the verifier model the capability its verification mode uses.',
  });
}
