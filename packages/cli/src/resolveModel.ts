import { isHex, type Hex } from 'viem';
import { AgoraError, getModel, getModelName, getModels, type AgoraClient, type GetModelReturnType } from '@agora/sdk';

/**
 * Finds a registered model by its 0x id or its name. Anyone can register a model under any name,
 * so a name two models share is refused: the caller must pick by id.
 * @throws {AgoraError} `UnknownModel`, `AmbiguousModelName`.
 *
 * @example
 * const model = await resolveModel(client, 'digits')
 */
export async function resolveModel(client: AgoraClient, value: string): Promise<GetModelReturnType> {
  if (/^0x[0-9a-fA-F]{64}$/.test(value) && isHex(value)) {
    try {
      return await getModel(client, { modelId: value as Hex });
    } catch (cause) {
      if ((cause as { code?: string }).code !== 'ModelRegistryUnknownModel') throw cause;
      throw new AgoraError('UnknownModel', `No model with id ${value} is registered.`, { cause, details: '', fix: 'list the registered models with `agora models`.' });
    }
  }
  if (value.startsWith('0x')) {
    throw new AgoraError('UnknownModel', `"${value}" is neither a model name nor a 32-byte model id.`, { fix: 'list the registered models with `agora models`.' });
  }
  const matches = (await getModels(client)).filter((model) => getModelName(model) === value);
  if (matches.length === 0) {
    throw new AgoraError('UnknownModel', `No model named "${value}" is registered.`, { fix: 'list the registered models with `agora models`.' });
  }
  if (matches.length > 1) {
    throw new AgoraError('AmbiguousModelName', `${matches.length} models are registered as "${value}".`, {
      fix: 'pass the model id instead of the name.',
      metaMessages: matches.map((m) => `  ${m.modelId}  published by ${m.publisher}`),
    });
  }
  return matches[0]!;
}
