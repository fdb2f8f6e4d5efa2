/**
 * mulberry32: a small seeded 32-bit PRNG. `Math.random` cannot be seeded, and model files the
 * project generates (the tiny GGUF, the trained digit classifier) must be byte-identical for the
 * same seed because their hash is their on-chain model id. Integer ops and one division only, so
 * every JS engine produces the same floats for the same seed.
 */
export function createRng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
