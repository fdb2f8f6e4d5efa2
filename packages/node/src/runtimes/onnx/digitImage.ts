import { PNG } from 'pngjs';
import { AgoraError } from '@agora/sdk';
import { DIGIT_PIXELS } from './digits.ts';

const SIDE = 28;

/** True when `bytes` starts with the PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  return bytes.length >= 8 && signature.every((byte, i) => bytes[i] === byte);
}

/**
 * Area-average resampling of a `width × height` single-channel image to `SIDE × SIDE`: each
 * output pixel is the mean of the source area it covers, with fractional edges weighted. This is
 * a box filter when shrinking and a nearest-neighbour blend when enlarging; the same input always
 * gives the same output (plain float64 arithmetic in a fixed order).
 */
function resizeToSide(gray: Float64Array, width: number, height: number): Float32Array {
  const out = new Float32Array(SIDE * SIDE);
  const scaleX = width / SIDE;
  const scaleY = height / SIDE;
  for (let oy = 0; oy < SIDE; oy++) {
    const y0 = oy * scaleY;
    const y1 = y0 + scaleY;
    for (let ox = 0; ox < SIDE; ox++) {
      const x0 = ox * scaleX;
      const x1 = x0 + scaleX;
      let sum = 0;
      for (let y = Math.floor(y0); y < Math.min(Math.ceil(y1), height); y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        for (let x = Math.floor(x0); x < Math.min(Math.ceil(x1), width); x++) {
          const wx = Math.min(x + 1, x1) - Math.max(x, x0);
          sum += gray[y * width + x]! * wx * wy;
        }
      }
      out[oy * SIDE + ox] = Math.min(1, Math.max(0, sum / (scaleX * scaleY)));
    }
  }
  return out;
}

/**
 * Turns a PNG of a handwritten digit into the model's input: 784 floats in 0..1, white digit on
 * black (MNIST polarity).
 *
 * Steps: decode (any PNG colour type or bit depth); grayscale by Rec. 601 luma, with transparent
 * pixels counted as white paper; if the border is mostly light, the image is dark ink on light
 * paper and is inverted; non-square images are padded to a square with the background; the
 * result is area-resampled to 28×28. No cropping or centring is done: the model expects a digit
 * that fills the middle of the frame like MNIST's (about 20×20 of the 28×28).
 *
 * @throws {AgoraError} `DigitImageInvalid` when the bytes are not a readable PNG.
 * @example
 * const input = pngToDigitInput(readFileSync('seven.png')) // Float32Array(784)
 */
export function pngToDigitInput(png: Uint8Array): Float32Array {
  let image: { width: number; height: number; data: Buffer };
  try {
    if (!isPng(png)) throw new Error('missing PNG signature');
    image = PNG.sync.read(Buffer.from(png.buffer, png.byteOffset, png.byteLength));
  } catch (cause) {
    throw new AgoraError('DigitImageInvalid', 'The digit image is not a readable PNG.', {
      cause,
      fix: 'send a PNG file (any size; a dark digit on light paper or a light digit on black), or 784 floats in 0..1.',
    });
  }
  const { width, height, data } = image;
  const gray = new Float64Array(width * height);
  for (let i = 0; i < gray.length; i++) {
    const luma = (0.299 * data[i * 4]! + 0.587 * data[i * 4 + 1]! + 0.114 * data[i * 4 + 2]!) / 255;
    const alpha = data[i * 4 + 3]! / 255;
    gray[i] = luma * alpha + (1 - alpha);
  }

  // Polarity from the border: MNIST is light ink on a black background.
  let border = 0;
  let borderCount = 0;
  for (let x = 0; x < width; x++) {
    border += gray[x]! + gray[(height - 1) * width + x]!;
    borderCount += 2;
  }
  for (let y = 1; y < height - 1; y++) {
    border += gray[y * width]! + gray[y * width + width - 1]!;
    borderCount += 2;
  }
  if (border / borderCount > 0.5) for (let i = 0; i < gray.length; i++) gray[i] = 1 - gray[i]!;

  // Pad to a square with black so the digit keeps its aspect ratio.
  const side = Math.max(width, height);
  let square = gray;
  if (width !== height) {
    square = new Float64Array(side * side);
    const left = Math.floor((side - width) / 2);
    const top = Math.floor((side - height) / 2);
    for (let y = 0; y < height; y++) square.set(gray.subarray(y * width, (y + 1) * width), (top + y) * side + left);
  }
  return resizeToSide(square, side, side);
}

export type RenderDigitPngParameters = {
  /** Each source pixel becomes a `scale × scale` block. Default 1 (a 28×28 PNG). */
  scale?: number;
  /** `'mnist'`: white digit on black, as in the data set. `'ink'`: black digit on white paper, like a scan. Default `'ink'`. */
  style?: 'mnist' | 'ink';
};

/**
 * Renders 784 MNIST pixels (0..1, white on black) as a grayscale PNG, e.g. to send real digit
 * images through the gateway in end-to-end tests. {@link pngToDigitInput} inverts it back, so
 * a rendering at any integer scale classifies like the original up to 8-bit rounding.
 *
 * @example
 * const { test } = loadDigitsDataset({ seed: 1 })
 * const png = renderDigitPng(test.images.subarray(0, 784), { scale: 4 }) // 112×112, label test.labels[0]
 */
export function renderDigitPng(pixels: ArrayLike<number>, parameters: RenderDigitPngParameters = {}): Buffer {
  const scale = parameters.scale ?? 1;
  const ink = (parameters.style ?? 'ink') === 'ink';
  if (pixels.length !== DIGIT_PIXELS) throw new RangeError(`a digit image has ${DIGIT_PIXELS} pixels, got ${pixels.length}`);
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`scale must be a positive integer, got ${scale}`);
  const side = SIDE * scale;
  const png = new PNG({ width: side, height: side, colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
  const gray = Buffer.alloc(side * side);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const value = Math.min(1, Math.max(0, pixels[Math.floor(y / scale) * SIDE + Math.floor(x / scale)]!));
      gray[y * side + x] = Math.round((ink ? 1 - value : value) * 255);
    }
  }
  png.data = gray;
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false, bitDepth: 8 });
}
