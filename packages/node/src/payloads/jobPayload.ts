import { AgoraError, canonicalJson } from '@agora/sdk';

/** What a job's input payload holds: the model input and its parameters, as in a fast-path call. */
export type JobInput = { input: unknown; params: Record<string, unknown> };
/** What a job's output payload holds: the model's JSON output. */
export type JobOutput = { output: unknown };

/**
 * The bytes of a job input payload: canonical JSON (keys sorted, no spaces) of
 * `{ "input": …, "params": { … } }`, so the same request always has the same sha-256.
 *
 * @example
 * const bytes = encodeJobInput({ input: { image: png.toString('base64') }, params: {} })
 */
export function encodeJobInput({ input, params }: { input: unknown; params?: Record<string, unknown> }): Buffer {
  return Buffer.from(canonicalJson({ input, params: params ?? {} }), 'utf8');
}

/**
 * Reads a job input payload.
 * @throws {AgoraError} `InvalidJobInput` when it is not `{ "input": …, "params"?: { … } }` JSON.
 */
export function decodeJobInput(bytes: Uint8Array): JobInput {
  const invalid = (why: string, cause?: unknown) =>
    new AgoraError('InvalidJobInput', `The job input payload ${why}.`, {
      cause,
      fix: 'publish the input as JSON { "input": <model input>, "params": { … } } (see docs/jobs.md).',
    });
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw invalid('is not UTF-8 JSON', cause);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('is not a JSON object');
  const { input, params } = value as Record<string, unknown>;
  if (input === undefined) throw invalid('has no "input" field');
  if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) throw invalid('has "params" that is not an object');
  return { input, params: (params as Record<string, unknown> | undefined) ?? {} };
}

/** The bytes of a job output payload: canonical JSON of `{ "output": <model output> }`. */
export function encodeJobOutput(output: unknown): Buffer {
  return Buffer.from(canonicalJson({ output }), 'utf8');
}

/**
 * Reads a job output payload.
 * @throws {AgoraError} `InvalidJobOutput` when it is not `{ "output": … }` JSON.
 */
export function decodeJobOutput(bytes: Uint8Array): JobOutput {
  try {
    const value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown;
    if (typeof value === 'object' && value !== null && 'output' in value) return { output: (value as JobOutput).output };
  } catch (cause) {
    throw new AgoraError('InvalidJobOutput', 'The job output payload is not UTF-8 JSON.', { cause });
  }
  throw new AgoraError('InvalidJobOutput', 'The job output payload has no "output" field.');
}
