import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { AgoraError } from '@agora/sdk';
import { isPng } from '../runtimes/onnx/digitImage.ts';

/**
 * Reads what a user hands `agora job run --input`: a PNG image becomes `{ image: <base64> }` (what
 * the digit classifier and OCR take); a JSON file is either the whole job input
 * `{ "input": …, "params": { … } }` or, without an `input` field, the model input itself.
 * @throws {AgoraError} `InvalidJobInput` for a file that is neither.
 *
 * @example
 * const { input, params } = readJobInputFile('seven.png') // { input: { image: 'iVBOR…' }, params: {} }
 */
export function readJobInputFile(path: string): { input: unknown; params: Record<string, unknown> } {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (cause) {
    throw new AgoraError('InvalidJobInput', `Cannot read the input file ${path}.`, { cause, fix: 'check the path.' });
  }
  if (isPng(bytes)) return { input: { image: bytes.toString('base64') }, params: {} };
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch (cause) {
    throw new AgoraError('InvalidJobInput', `The input file ${path} is neither a PNG image nor JSON${extname(path) ? ` (${extname(path)})` : ''}.`, {
      cause,
      fix: 'pass a .png image or a JSON file holding the model input (see docs/jobs.md).',
    });
  }
  if (value && typeof value === 'object' && !Array.isArray(value) && 'input' in value) {
    const { input, params } = value as { input: unknown; params?: unknown };
    if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
      throw new AgoraError('InvalidJobInput', `"params" in ${path} is not an object.`, { fix: 'make "params" a JSON object, or leave it out.' });
    }
    return { input, params: (params as Record<string, unknown> | undefined) ?? {} };
  }
  return { input: value, params: {} };
}
