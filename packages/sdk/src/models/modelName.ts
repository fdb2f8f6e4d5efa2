import type { GetModelReturnType } from '../actions/models/getModel.ts';

/** The metadata URI prefix under which a model's name is registered: `agora://models/<name>`. */
const NAME_PREFIX = 'agora://models/';

/**
 * The metadata URI that registers a model under `name` (what `agora node` registers).
 *
 * @example
 * modelNameURI('agora/digits-mlp') // 'agora://models/agora/digits-mlp'
 */
export function modelNameURI(name: string): string {
  return `${NAME_PREFIX}${name}`;
}

/**
 * A model's registered name, read from its metadata URI (`agora://models/digits` → `digits`);
 * undefined when it has none.
 *
 * @example
 * getModelName({ metadataURI: 'agora://models/digits' }) // 'digits'
 */
export function getModelName(model: Pick<GetModelReturnType, 'metadataURI'>): string | undefined {
  return model.metadataURI.startsWith(NAME_PREFIX) && model.metadataURI.length > NAME_PREFIX.length
    ? model.metadataURI.slice(NAME_PREFIX.length)
    : undefined;
}
