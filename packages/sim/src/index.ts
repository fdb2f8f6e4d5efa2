// Public entry point of @agora/sim: the market simulator.
export * from './rng.ts';
export * from './eventQueue.ts';
export * from './simulate.ts';
export * from './report.ts';
