// Public entry point of @agora/node: the daemon's parts and the local devnet.
export * from './devnet/anvil.ts';
export * from './devnet/devAccounts.ts';
export * from './devnet/startDevnet.ts';
export * from './runtimes/modelFile.ts';
export * from './runtimes/onnx/index.ts';
export * from './runtimes/gguf/writeTinyLlamaGguf.ts';
export * from './runtimes/gguf/llamaRuntime.ts';
export * from './runtimes/ocr/ocrRuntime.ts';
export * from './runtimes/ocr/renderTextPng.ts';
export * from './store/voucherStore.ts';
export * from './provider/servedModel.ts';
export * from './provider/paymentHeader.ts';
export * from './provider/providerApp.ts';
export * from './provider/redeemer.ts';
export * from './provider/models/ocrServedModel.ts';
export * from './provider/models/digitsServedModel.ts';
export * from './provider/models/llamaServedModel.ts';
