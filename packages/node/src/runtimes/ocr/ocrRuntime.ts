import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { AgoraError } from '@agora/sdk';
import { readImageSize } from './readImageSize.ts';
import { renderTextPng } from './renderTextPng.ts';

const require = createRequire(import.meta.url);

/**
 * The English model: LSTM-only with integer weights (tessdata_best_int), gzipped as
 * `@tesseract.js-data/eng` ships it; the same file tesseract.js would fetch from its CDN for the
 * LSTM engine. Its `4.0.0/` sibling adds the legacy engine (10.9 MB instead of 2.9 MB) and gives
 * the same LSTM output.
 */
const TRAINEDDATA_PATH = require.resolve('@tesseract.js-data/eng/4.0.0_best_int/eng.traineddata.gz');
const WORKER_SCRIPT = fileURLToPath(new URL('./ocrWorker.cjs', import.meta.url));
const START_TIMEOUT_MS = 30_000;
/** tesseract's OcrEngineMode.OEM_LSTM_ONLY. */
const OEM_LSTM_ONLY = 1;

/** Options for {@link createOcrRuntime}. */
export type OcrRuntimeInit = {
  /**
   * Worker threads, each with its own single-threaded tesseract (default 1; about 80 MB of memory each).
   * Calls beyond that wait in a queue.
   */
  workers?: number;
  /** A call running longer is stopped (its worker restarted) and fails with `OcrTimedOut` (default 60 s). */
  timeoutMs?: number;
  /** Largest image accepted, width × height in pixels (default 50 M: an A4 page at 600 dpi is 35 M). */
  maxPixels?: number;
  /**
   * Receives tesseract's own diagnostics (libpng and leptonica complaints about bad images), line
   * by line. Dropped by default: they would otherwise land on the daemon's stdout among its logs.
   */
  onOutput?: (line: string) => void;
};

/** Options for {@link OcrRuntime.recognize}. */
export type OcrRecognizeParameters = {
  /** Aborting drops a queued call, or stops a running one by restarting its worker. */
  signal?: AbortSignal;
};

/** Pixel rectangle of a word, top-left (x0, y0) inclusive to bottom-right (x1, y1) exclusive. */
export type OcrBoundingBox = { x0: number; y0: number; x1: number; y1: number };

/** One recognized word. */
export type OcrWord = {
  text: string;
  /** tesseract's confidence, 0..100. */
  confidence: number;
  bbox: OcrBoundingBox;
};

/** What {@link OcrRuntime.recognize} returns. */
export type OcrResult = {
  /** The recognized text, lines joined by `\n`, without trailing whitespace; `''` for a blank image. */
  text: string;
  /** Mean word confidence, an integer 0..100 (0 for a blank image). */
  confidence: number;
  words: OcrWord[];
};

/** An OCR engine with its worker threads started; {@link createOcrRuntime} makes one. */
export type OcrRuntime = {
  /**
   * Recognizes the text in a PNG or JPEG. Calls queue and run one at a time per worker; the same
   * image gives the same result, field for field (see `createOcrRuntime`).
   *
   * @throws {AgoraError} `OcrImageUndecodable`, `OcrImageTooLarge`, `OcrAborted`, `OcrTimedOut`,
   * `OcrRuntimeClosed`, `OcrWorkerFailed`, `OcrStartFailed` or `OcrRecognitionFailed`.
   */
  recognize(image: Uint8Array, parameters?: OcrRecognizeParameters): Promise<OcrResult>;
  /** The traineddata file the engine loaded (gzipped), to hash into the model id. */
  readonly modelPath: string;
  /** Stops the workers; queued and running calls fail with `OcrRuntimeClosed`. Safe to call twice. */
  close(): Promise<void>;
};

/**
 * Starts an OCR runtime: tesseract.js with the pretrained English LSTM model, fully offline. The
 * wasm core comes from `tesseract.js-core` in node_modules, the model from `@tesseract.js-data/eng`,
 * nothing is cached to disk, and the worker threads refuse any network access.
 *
 * Recognition is deterministic: the same image bytes give the same text, confidences and boxes on
 * every call, in any worker, after any other images, and in a fresh process. Across machines the
 * wasm build is pinned (see `ocrWorker.cjs`), so results only change with the tesseract.js-core or
 * model version.
 *
 * @throws {AgoraError} `OcrStartFailed` when tesseract cannot start (workers started so far are stopped).
 * @example
 * const ocr = await createOcrRuntime()
 * const { text, confidence } = await ocr.recognize(await readFile('scan.png'))
 * await ocr.close()
 */
export async function createOcrRuntime(init: OcrRuntimeInit = {}): Promise<OcrRuntime> {
  const workers = init.workers ?? 1;
  const timeoutMs = init.timeoutMs ?? 60_000;
  const maxPixels = init.maxPixels ?? 50_000_000;
  for (const [name, value] of [['workers', workers], ['timeoutMs', timeoutMs], ['maxPixels', maxPixels]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new AgoraError('OcrInvalidOption', `The OCR runtime's ${name} must be a positive integer, not ${value}.`);
    }
  }

  const slots: Slot[] = Array.from({ length: workers }, () => ({ thread: undefined, job: undefined }));
  const queue: Job[] = [];
  let closed = false;

  const ensureThread = (slot: Slot): Promise<TesseractThread> => {
    if (!slot.thread) {
      // A thread that fails or dies is dropped, so the next call starts a fresh one.
      const drop = () => {
        if (slot.thread === starting) slot.thread = undefined;
      };
      const starting = startTesseractThread(init.onOutput, drop);
      slot.thread = starting;
      starting.catch(drop);
    }
    return slot.thread;
  };
  // A running tesseract call cannot be interrupted: stop its thread; the slot starts a new one on demand.
  const recycle = (slot: Slot) => {
    const thread = slot.thread;
    slot.thread = undefined;
    return thread?.then((t) => t.terminate(), () => {});
  };

  const pump = () => {
    for (const slot of slots) {
      if (closed || slot.job) continue;
      const job = queue.shift();
      if (!job) return;
      slot.job = job;
      job.slot = slot;
      void run(slot, job).finally(() => {
        slot.job = undefined;
        pump();
      });
    }
  };

  const run = async (slot: Slot, job: Job) => {
    try {
      const thread = await ensureThread(slot);
      if (job.settled) return;
      const page = (await thread.call('recognize', { image: job.image, options: {}, output: { text: true, blocks: true } }, [job.image.buffer])) as TesseractPage;
      job.settle({ result: toOcrResult(page) });
    } catch (err) {
      if (job.settled) return;
      const error = toRecognitionError(err);
      // A clean decode failure leaves tesseract usable; anything else may have broken its state.
      if (error.code !== 'OcrImageUndecodable') void recycle(slot);
      job.settle({ error });
    }
  };

  // Start every worker now, so a broken install fails here and not on the first paid call.
  const started = await Promise.allSettled(slots.map(ensureThread));
  const failed = started.find((outcome) => outcome.status === 'rejected');
  if (failed) {
    await Promise.all(slots.map(recycle));
    throw failed.reason;
  }

  return {
    modelPath: TRAINEDDATA_PATH,

    recognize(image, parameters = {}) {
      const { signal } = parameters;
      try {
        if (closed) throw runtimeClosed();
        if (signal?.aborted) throw aborted(signal.reason);
        const { width, height } = readImageSize(image);
        if (width * height > maxPixels) {
          throw new AgoraError('OcrImageTooLarge', `The image is ${width}×${height} pixels; the OCR runtime takes at most ${maxPixels} pixels.`, {
            fix: 'scale the image down or split it, or raise maxPixels.',
          });
        }
      } catch (err) {
        return Promise.reject(err);
      }

      return new Promise<OcrResult>((resolve, reject) => {
        const onAbort = () => job.stop(aborted(signal?.reason));
        // The deadline counts from the call, queue time included, as a caller's own timeout would.
        const timer = setTimeout(() => job.stop(timedOut(timeoutMs)), timeoutMs);
        const job: Job = {
          // A copy: the caller may reuse its buffer while the call waits; the copy moves to the worker.
          image: new Uint8Array(image),
          settled: false,
          slot: undefined,
          settle(outcome) {
            if (job.settled) return;
            job.settled = true;
            clearTimeout(timer);
            signal?.removeEventListener('abort', onAbort);
            if ('error' in outcome) reject(outcome.error);
            else resolve(outcome.result);
          },
          stop(error) {
            if (job.settled) return;
            if (job.slot) void recycle(job.slot);
            else queue.splice(queue.indexOf(job), 1);
            job.settle({ error });
          },
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        queue.push(job);
        pump();
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      const stopping = slots.map(recycle);
      for (const job of [...queue, ...slots.map((slot) => slot.job)]) job?.stop(runtimeClosed());
      await Promise.all(stopping);
    },
  };
}

type Slot = { thread: Promise<TesseractThread> | undefined; job: Job | undefined };

type Job = {
  image: Uint8Array<ArrayBuffer>;
  settled: boolean;
  /** The slot running it; undefined while queued. */
  slot: Slot | undefined;
  settle(outcome: { result: OcrResult } | { error: AgoraError }): void;
  /** Fails the call now: drops it from the queue, or stops the worker running it. */
  stop(error: AgoraError): void;
};

/** tesseract.js's worker protocol, spoken directly (see `startTesseractThread`). */
type TesseractThread = {
  call(action: string, payload: unknown, transfer?: ArrayBuffer[]): Promise<unknown>;
  terminate(): Promise<void>;
};

/** tesseract.js's page result, as far as we read it. */
type TesseractPage = {
  text: string | null;
  confidence: number | null;
  blocks: { paragraphs: { lines: { words: { text: string; confidence: number; bbox: OcrBoundingBox }[] }[] }[] }[] | null;
};

/** A job tesseract itself rejected (tesseract.js sends a string), with what it printed meanwhile. */
class TesseractRejection extends Error {
  override name = 'TesseractRejection';
  constructor(
    message: string,
    readonly output: string[],
  ) {
    super(message);
  }
}

/**
 * Starts one worker thread and loads the engine and model into it. We drive tesseract.js's worker
 * protocol ourselves instead of calling its `createWorker`, which hangs forever when the model
 * fails to load, throws from a message handler when a job fails without an `errorHandler`, and
 * leaves a crashing worker thread's `error` event unhandled (a crash of the whole process).
 */
async function startTesseractThread(onOutput: ((line: string) => void) | undefined, onDied: () => void): Promise<TesseractThread> {
  const worker = new Worker(WORKER_SCRIPT);
  const pending = new Map<string, { resolve(data: unknown): void; reject(err: Error): void }>();
  let failure: Error | undefined;
  let jobs = 0;
  /** What tesseract printed during the current call (the thread runs one at a time). */
  let output: string[] = [];
  const fail = (err: Error) => {
    if (!failure) onDied();
    failure ??= err;
    for (const job of pending.values()) job.reject(failure);
    pending.clear();
  };
  // An idle worker must not keep the process alive (a script that forgets close() still exits);
  // a busy one must, or a script awaiting a result could exit with the call unanswered.
  const settled = (jobId: string) => {
    pending.delete(jobId);
    if (pending.size === 0) worker.unref();
  };
  worker.on('message', (message: { jobId: string; status: 'resolve' | 'reject' | 'progress'; data: unknown } | { output: string }) => {
    if ('output' in message) {
      for (const line of message.output.split('\n')) {
        onOutput?.(line);
        if (output.length < 20) output.push(line);
      }
      return;
    }
    const job = pending.get(message.jobId);
    if (!job || message.status === 'progress') return;
    settled(message.jobId);
    if (message.status === 'resolve') job.resolve(message.data);
    else job.reject(new TesseractRejection(String(message.data).replace(/^Error: /, ''), output));
  });
  worker.on('error', (err) => fail(new AgoraError('OcrWorkerFailed', 'The OCR worker thread crashed.', { cause: err })));
  worker.on('exit', (code) => fail(new AgoraError('OcrWorkerFailed', `The OCR worker thread exited (code ${code}).`)));

  const thread: TesseractThread = {
    call(action, payload, transfer = []) {
      if (failure) return Promise.reject(failure);
      const jobId = `${action}-${jobs++}`;
      output = [];
      return new Promise((resolve, reject) => {
        pending.set(jobId, { resolve, reject });
        worker.ref();
        worker.postMessage({ workerId: 'agora-ocr', jobId, action, payload }, transfer);
      });
    },
    async terminate() {
      failure ??= runtimeClosed(); // not a death: onDied stays quiet
      await worker.terminate();
    },
  };

  // Loading takes about a second; a worker that hangs instead is stopped rather than waited on forever.
  const startTimer = setTimeout(() => fail(new Error(`tesseract did not load within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
  try {
    await thread.call('load', { options: { lstmOnly: true, logging: false } });
    await thread.call('loadLanguage', {
      langs: 'eng',
      // A local folder: tesseract.js reads `${langPath}/eng.traineddata.gz` from disk (a URL would be
      // fetched), gunzips it in memory, and with cacheMethod 'none' writes no copy anywhere.
      options: { langPath: dirname(TRAINEDDATA_PATH), cacheMethod: 'none', gzip: true, lstmOnly: true },
    });
    await thread.call('initialize', { langs: 'eng', oem: OEM_LSTM_ONLY });
    // The first recognition in a fresh thread is ~5× slower (wasm compiling); pay it now, not on a paid call.
    await thread.call('recognize', { image: warmUpImage(), options: {}, output: { text: true } });
    return thread;
  } catch (err) {
    await thread.terminate();
    throw new AgoraError('OcrStartFailed', 'The OCR engine (tesseract) did not start.', {
      cause: err,
      fix: 'check that `npm ci` installed tesseract.js, tesseract.js-core and @tesseract.js-data/eng.',
    });
  } finally {
    clearTimeout(startTimer);
  }
}

let warmUp: Buffer | undefined;
function warmUpImage(): Buffer {
  return (warmUp ??= renderTextPng('Agora OCR 2026', { scale: 4 }));
}

function toOcrResult(page: TesseractPage): OcrResult {
  const words = (page.blocks ?? []).flatMap((block) =>
    block.paragraphs.flatMap((paragraph) =>
      paragraph.lines.flatMap((line) =>
        line.words.map((word) => ({ text: word.text, confidence: word.confidence, bbox: { x0: word.bbox.x0, y0: word.bbox.y0, x1: word.bbox.x1, y1: word.bbox.y1 } })),
      ),
    ),
  );
  return { text: (page.text ?? '').trimEnd(), confidence: page.confidence ?? 0, words };
}

function toRecognitionError(err: unknown): AgoraError {
  if (err instanceof AgoraError) return err;
  // Leptonica could not read the pixels although the header looked right (e.g. a truncated file).
  if (err instanceof TesseractRejection && /attempting to read image/i.test(err.message)) {
    return new AgoraError('OcrImageUndecodable', 'The image could not be decoded: its pixel data is damaged or cut short.', {
      cause: err,
      fix: 'send the bytes of a complete PNG or JPEG file.',
      metaMessages: err.output.map((line) => `tesseract: ${line}`),
    });
  }
  return new AgoraError('OcrRecognitionFailed', 'OCR failed inside tesseract.', {
    cause: err,
    metaMessages: err instanceof TesseractRejection ? err.output.map((line) => `tesseract: ${line}`) : [],
  });
}

function timedOut(timeoutMs: number): AgoraError {
  return new AgoraError('OcrTimedOut', `OCR took longer than ${timeoutMs} ms and was stopped.`, {
    fix: 'send a smaller image, add workers, or raise timeoutMs.',
  });
}

function aborted(reason: unknown): AgoraError {
  return new AgoraError('OcrAborted', 'The OCR call was cancelled.', { cause: reason });
}

function runtimeClosed(): AgoraError {
  return new AgoraError('OcrRuntimeClosed', 'The OCR runtime was closed.', { fix: 'create a new one with createOcrRuntime().' });
}
