import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { AgoraError } from '@agora/sdk';
import { pngToDigitInput, renderDigitPng } from './digitImage.ts';
import { loadDigitsDataset } from './trainDigits.ts';

const { test } = loadDigitsDataset({ seed: 1, testCount: 10 });
const digit = test.images.slice(0, 784);
const maxDifference = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
};

function rgbaPng(width: number, height: number, pixel: (x: number, y: number) => [number, number, number, number]): Buffer {
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) png.data.set(pixel(x, y), (y * width + x) * 4);
  }
  return PNG.sync.write(png);
}

describe('renderDigitPng and pngToDigitInput', () => {
  it.each([
    [1, 'mnist'],
    [1, 'ink'],
    [4, 'ink'],
    [3, 'mnist'],
  ] as const)('round-trip a digit at scale %i in %s style up to 8-bit rounding', (scale, style) => {
    const png = renderDigitPng(digit, { scale, style });
    const decoded = PNG.sync.read(png);
    expect([decoded.width, decoded.height]).toEqual([28 * scale, 28 * scale]);
    expect(maxDifference(pngToDigitInput(png), digit)).toBeLessThanOrEqual(0.5 / 255 + 1e-6);
  });

  it('turns dark ink on light paper into MNIST polarity', () => {
    const ink = pngToDigitInput(renderDigitPng(digit, { style: 'ink' }));
    const mnist = pngToDigitInput(renderDigitPng(digit, { style: 'mnist' }));
    expect(maxDifference(ink, mnist)).toBeLessThan(1e-6);
    expect(ink[0]).toBe(0);
  });

  it('counts transparent pixels as paper', () => {
    // A black 14×14 square, opaque, on a fully transparent 28×28 canvas.
    const png = rgbaPng(28, 28, (x, y) => (x >= 7 && x < 21 && y >= 7 && y < 21 ? [0, 0, 0, 255] : [0, 0, 0, 0]));
    const input = pngToDigitInput(png);
    expect(input[14 * 28 + 14]).toBe(1);
    expect(input[0]).toBe(0);
  });

  it('pads a wide image to a square instead of stretching it', () => {
    // 56×28 with a white 28×28 square in the middle. Padded to 56×56 and halved it stays a
    // centred 14×14 square; stretched, it would be 14 wide and 28 tall.
    const png = rgbaPng(56, 28, (x) => (x >= 14 && x < 42 ? [255, 255, 255, 255] : [0, 0, 0, 255]));
    const input = pngToDigitInput(png);
    const lit = [...input.keys()].filter((i) => input[i]! > 0.5);
    const rows = new Set(lit.map((i) => Math.floor(i / 28)));
    const columns = new Set(lit.map((i) => i % 28));
    expect([Math.min(...rows), Math.max(...rows), Math.min(...columns), Math.max(...columns)]).toEqual([7, 20, 7, 20]);
    expect(lit.length).toBe(14 * 14);
  });

  it('says what is wrong with bytes that are not a PNG', () => {
    let error: unknown;
    try {
      pngToDigitInput(Buffer.from('GIF89a not a png'));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AgoraError);
    expect((error as AgoraError).code).toBe('DigitImageInvalid');
    expect((error as AgoraError).message).toMatchInlineSnapshot(`
      "The digit image is not a readable PNG.

      Fix: send a PNG file (any size; a dark digit on light paper or a light digit on black), or 784 floats in 0..1.

      Details: missing PNG signature"
    `);
  });
});
