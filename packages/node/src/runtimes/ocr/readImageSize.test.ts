import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { readImageSize } from './readImageSize.ts';
import { renderTextPng } from './renderTextPng.ts';

describe('readImageSize', () => {
  it('reads a PNG header', () => {
    expect(readImageSize(renderTextPng('AB', { scale: 1, margin: 0, blur: 0 }))).toEqual({ format: 'png', width: 12, height: 9 });
  });

  it('reads a JPEG header past its APP segments', async () => {
    const jpeg = await readFile(new URL('./fixtures/scanned-receipt.jpg', import.meta.url));
    expect(readImageSize(jpeg)).toEqual({ format: 'jpeg', width: 700, height: 100 });
  });

  it('refuses anything else as undecodable', async () => {
    const jpeg = await readFile(new URL('./fixtures/scanned-receipt.jpg', import.meta.url));
    for (const bytes of [Buffer.alloc(0), Buffer.from('GIF89a...'), renderTextPng('A').subarray(0, 20), jpeg.subarray(0, 30)]) {
      expect(() => readImageSize(bytes)).toThrow(expect.objectContaining({ code: 'OcrImageUndecodable' }));
    }
    expect(() => readImageSize(Buffer.from('GIF89a...'))).toThrowErrorMatchingInlineSnapshot(`
      [AgoraError: The image could not be decoded: it is neither a PNG nor a JPEG (it starts with 0x4749463839612e2e).

      Fix: send the bytes of a PNG or JPEG file.]
    `);
  });
});
