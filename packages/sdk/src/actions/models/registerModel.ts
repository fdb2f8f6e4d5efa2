import { zeroAddress, type Address, type Hex } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { modelRegistryAbi, verificationModes, type VerificationMode } from '../../contracts.ts';
import { getEventArgs, sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

export type RegisterModelParameters = {
  weightsHash: Hex;
  runtime: string;
  quantization: string;
  /** File format: `onnx`, `gguf`, `ocr`, ... */
  format: string;
  verificationMode: VerificationMode;
  royaltyReceiver?: Address;
  royaltyBps?: number;
  metadataURI?: string;
};
export type RegisterModelReturnType = TransactionResult & { modelId: Hex };

/**
 * Registers a model; the caller becomes its publisher.
 *
 * @example
 * const { modelId } = await registerModel(client, { weightsHash, runtime: 'onnxruntime', quantization: 'f32', format: 'onnx', verificationMode: 'exact' })
 */
export async function registerModel(client: AgoraWalletClient, params: RegisterModelParameters): Promise<RegisterModelReturnType> {
  const result = await sendContractTransaction(
    client,
    {
      address: client.deployment.contracts.modelRegistry,
      abi: modelRegistryAbi,
      functionName: 'registerModel',
      args: [
        {
          weightsHash: params.weightsHash,
          runtime: params.runtime,
          quantization: params.quantization,
          format: params.format,
          verificationMode: verificationModes.indexOf(params.verificationMode),
          royaltyReceiver: params.royaltyReceiver ?? zeroAddress,
          royaltyBps: params.royaltyBps ?? 0,
          metadataURI: params.metadataURI ?? '',
        },
      ],
    },
    `Registering model (${params.runtime}, ${params.format})`,
  );
  return { ...result, modelId: getEventArgs(result.receipt, 'ModelRegistered').modelId as Hex };
}
