/** Pixels per MNIST image (28 × 28). */
export const DIGIT_PIXELS = 784;
/** Number of classes (digits 0–9). */
export const DIGIT_CLASSES = 10;

/** Index of the largest value (the first one on ties), -1 for an empty array. */
export function argMax(values: ArrayLike<number>): number {
  let best = -1;
  for (let i = 0; i < values.length; i++) if (best < 0 || values[i]! > values[best]!) best = i;
  return best;
}
