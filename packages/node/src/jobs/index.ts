// The slow path (JobMarket): the provider's job watcher and the buyer's job runner.
export * from './jobErrors.ts';
export * from './jobStore.ts';
export * from './jobWatcher.ts';
export * from './runJob.ts';
export * from './jobInputFile.ts';
