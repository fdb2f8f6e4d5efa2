import dns from 'node:dns';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import type { AgoraError } from '@agora/sdk';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createOcrRuntime, type OcrRuntime } from './ocrRuntime.ts';
import { renderTextPng } from './renderTextPng.ts';

// A greyscale JPEG of renderTextPng('Scanned receipt 7 of 12', { scale: 4 }), written once with
// libjpeg-turbo's `cjpeg -quality 75 -grayscale` (Node has no JPEG encoder).
const RECEIPT_JPEG = new URL('./fixtures/scanned-receipt.jpg', import.meta.url);

function blankPng(width: number, height: number): Buffer {
  const png = new PNG({ width, height, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  png.data = Buffer.alloc(width * height, 255);
  return PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false });
}

describe('createOcrRuntime', () => {
  let ocr: OcrRuntime;
  beforeAll(async () => {
    ocr = await createOcrRuntime();
  });
  afterAll(async () => {
    await ocr.close();
  });

  it('reads rendered text exactly, and tells near-misses apart', async () => {
    for (const text of ['AGORA 2026', 'The quick brown fox jumps over the lazy dog.', 'Pay 0.50 USDC, then (maybe) redeem!', 'Two lines\nof text here']) {
      expect((await ocr.recognize(renderTextPng(text))).text).toBe(text);
    }
    expect((await ocr.recognize(renderTextPng('AGORA 2025'))).text).toBe('AGORA 2025');
  });

  it('reads a JPEG', async () => {
    expect((await ocr.recognize(await readFile(RECEIPT_JPEG))).text).toBe('Scanned receipt 7 of 12');
  });

  it('reports confidences in 0..100 and a box for every word', async () => {
    const image = renderTextPng('Hello World');
    const { width, height } = PNG.sync.read(image);
    const result = await ocr.recognize(image);
    expect(Number.isInteger(result.confidence)).toBe(true);
    expect(result.confidence).toBeGreaterThan(50);
    expect(result.confidence).toBeLessThanOrEqual(100);
    expect(result.words.map((word) => word.text)).toEqual(['Hello', 'World']);
    for (const { confidence, bbox } of result.words) {
      expect(confidence).toBeGreaterThanOrEqual(0);
      expect(confidence).toBeLessThanOrEqual(100);
      expect(0 <= bbox.x0 && bbox.x0 < bbox.x1 && bbox.x1 <= width && 0 <= bbox.y0 && bbox.y0 < bbox.y1 && bbox.y1 <= height).toBe(true);
    }
    expect(result.words[0]!.bbox.x1).toBeLessThan(result.words[1]!.bbox.x0);
  });

  it('gives identical results for the same image: across calls, after other images, in other workers and runtimes', async () => {
    const image = renderTextPng('Exact audits: 3 runs, 1 answer.');
    const first = await ocr.recognize(image);
    expect(first.text).toBe('Exact audits: 3 runs, 1 answer.');
    await ocr.recognize(renderTextPng('Something else entirely'));
    expect(await ocr.recognize(image)).toEqual(first);

    const other = await createOcrRuntime({ workers: 2 });
    try {
      // Two calls at once: one per worker thread.
      expect(await Promise.all([other.recognize(image), other.recognize(image)])).toEqual([first, first]);
    } finally {
      await other.close();
    }
  });

  it('reads a blank image as empty text with confidence 0', async () => {
    expect(await ocr.recognize(blankPng(320, 120))).toEqual({ text: '', confidence: 0, words: [] });
  });

  it('refuses bytes that are not an image with a clear error, and keeps working', async () => {
    const error = await ocr.recognize(Buffer.from('definitely not a picture')).catch((err: unknown) => err);
    expect(error).toMatchObject({ name: 'AgoraError', code: 'OcrImageUndecodable' });
    expect((error as Error).message).toMatchInlineSnapshot(`
      "The image could not be decoded: it is neither a PNG nor a JPEG (it starts with 0x646566696e697465).

      Fix: send the bytes of a PNG or JPEG file."
    `);
    await expect(ocr.recognize(Buffer.alloc(0))).rejects.toMatchObject({ code: 'OcrImageUndecodable' });
    expect((await ocr.recognize(renderTextPng('Still here'))).text).toBe('Still here');
  });

  it('refuses a PNG or JPEG whose pixel data is cut short, and keeps working', async () => {
    const png = renderTextPng('AGORA 2026');
    const jpeg = await readFile(RECEIPT_JPEG);
    for (const damaged of [png.subarray(0, png.length / 2), jpeg.subarray(0, jpeg.length / 2)]) {
      const error = await ocr.recognize(damaged).catch((err: unknown) => err);
      expect(error).toMatchObject({ code: 'OcrImageUndecodable' });
      expect((error as Error).message).toMatch(/^The image could not be decoded/);
      // What libpng/libjpeg said comes along.
      expect((error as AgoraError).metaMessages.some((line) => line.startsWith('tesseract: '))).toBe(true);
    }
    expect((await ocr.recognize(png)).text).toBe('AGORA 2026');
  });

  it('refuses an image whose header declares more pixels than allowed', async () => {
    const bomb = Buffer.from(renderTextPng('x'));
    bomb.writeUInt32BE(100_000, 16); // IHDR width
    bomb.writeUInt32BE(100_000, 20); // IHDR height
    await expect(ocr.recognize(bomb)).rejects.toMatchObject({
      code: 'OcrImageTooLarge',
      shortMessage: 'The image is 100000×100000 pixels; the OCR runtime takes at most 50000000 pixels.',
    });
  });

  it('honours abort signals: before the call, while queued, and while running', async () => {
    const image = renderTextPng('The quick brown fox jumps over the lazy dog.\nSecond line of text.\nThird line!');
    await expect(ocr.recognize(image, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'OcrAborted' });

    const running = new AbortController();
    const queued = new AbortController();
    // Outcomes are caught at once: a rejection nobody listens to yet would count as unhandled.
    const first = ocr.recognize(image, { signal: running.signal }).catch((err: unknown) => err);
    const second = ocr.recognize(image, { signal: queued.signal }).catch((err: unknown) => err); // one worker: waits behind the first
    const third = ocr.recognize(renderTextPng('After the aborts'));
    queued.abort();
    await new Promise((resolve) => setTimeout(resolve, 10));
    running.abort(new Error('the buyer hung up'));
    expect(await first).toMatchObject({ code: 'OcrAborted', cause: new Error('the buyer hung up') });
    expect(await second).toMatchObject({ code: 'OcrAborted' });
    // The running call was stopped by restarting its worker; the queue goes on on the new one.
    expect((await third).text).toBe('After the aborts');
  });

  it('stops a call that runs past timeoutMs', async () => {
    const slow = await createOcrRuntime({ timeoutMs: 5 });
    try {
      await expect(slow.recognize(renderTextPng('The quick brown fox jumps over the lazy dog.'))).rejects.toMatchObject({
        code: 'OcrTimedOut',
        shortMessage: 'OCR took longer than 5 ms and was stopped.',
      });
    } finally {
      await slow.close();
    }
  });

  it('fails queued and later calls once closed', async () => {
    const closing = await createOcrRuntime();
    const image = renderTextPng('AGORA 2026');
    // Handlers are attached before close() so the rejections it causes are never unhandled.
    const outcomes = [closing.recognize(image), closing.recognize(image)].map((call) =>
      call.then(
        () => 'resolved',
        (err: unknown) => err,
      ),
    );
    await closing.close();
    for (const outcome of outcomes) expect(await outcome).toMatchObject({ code: 'OcrRuntimeClosed' });
    await expect(closing.recognize(image)).rejects.toMatchObject({ code: 'OcrRuntimeClosed' });
    await closing.close(); // closing twice is harmless
  });

  it('names the gzipped traineddata it loaded, inside node_modules', async () => {
    expect(ocr.modelPath).toMatch(/node_modules\/@tesseract\.js-data\/eng\/4\.0\.0_best_int\/eng\.traineddata\.gz$/);
    expect([...(await readFile(ocr.modelPath)).subarray(0, 2)]).toEqual([0x1f, 0x8b]);
  });

  it('rejects invalid options', async () => {
    await expect(createOcrRuntime({ workers: 0 })).rejects.toMatchObject({ code: 'OcrInvalidOption' });
  });
});

describe('OCR offline', () => {
  it('starts and recognizes without any network call from this thread', async () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    const connectSpy = vi.spyOn(net.Socket.prototype, 'connect');
    const lookupSpy = vi.spyOn(dns, 'lookup');
    try {
      const ocr = await createOcrRuntime();
      expect((await ocr.recognize(renderTextPng('Offline'))).text).toBe('Offline');
      await ocr.close();
      expect(fetchSpy).not.toHaveBeenCalled();
      expect(connectSpy).not.toHaveBeenCalled();
      expect(lookupSpy).not.toHaveBeenCalled();
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('has a worker thread that refuses to download model data (tesseract.js defaults to a CDN)', async () => {
    const worker = new Worker(new URL('./ocrWorker.cjs', import.meta.url));
    try {
      const reply = new Promise<{ status: string; data: unknown }>((resolve) => worker.on('message', (message) => message.status !== 'progress' && resolve(message)));
      // What tesseract.js sends when no langPath is given: the engine then fetches from jsDelivr.
      worker.postMessage({ workerId: 'test', jobId: 'lang-1', action: 'loadLanguage', payload: { langs: 'eng', options: { cacheMethod: 'none', gzip: true, lstmOnly: true } } });
      expect(await reply).toMatchObject({
        status: 'reject',
        data: expect.stringContaining("Agora's OCR worker runs offline and refused to fetch https://cdn.jsdelivr.net/npm/@tesseract.js-data/eng/4.0.0_best_int/eng.traineddata.gz"),
      });
    } finally {
      await worker.terminate();
    }
  });
});
