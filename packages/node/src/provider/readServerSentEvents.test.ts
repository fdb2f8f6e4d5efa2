import { describe, expect, it } from 'vitest';
import { readServerSentEvents } from './readServerSentEvents.ts';

/** A body that delivers `text` as UTF-8 cut into the given chunk sizes (bytes). */
function body(text: string, sizes: number[]): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  const chunks: Uint8Array[] = [];
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>) {
  const events = [];
  for await (const event of readServerSentEvents(stream)) events.push(event);
  return events;
}

const STREAM =
  ': keep-alive\n\n' +
  'event: token\ndata: {"text":"héllo 🌍"}\n\n' +
  'event: token\r\ndata:{"text":" world"}\r\n\r\n' +
  'data: first\ndata: second\r\r' +
  'event: empty\n\n' +
  'event: result\ndata: {"ok":true}\n\n' +
  'event: token\ndata: cut off';

const EXPECTED = [
  { event: 'token', data: '{"text":"héllo 🌍"}' },
  { event: 'token', data: '{"text":" world"}' },
  { event: 'message', data: 'first\nsecond' },
  { event: 'result', data: '{"ok":true}' },
];

describe('readServerSentEvents', () => {
  it('parses events, comments, CRLF/CR line ends and multi-line data, and drops an unfinished event', async () => {
    expect(await collect(body(STREAM, [1 << 20]))).toEqual(EXPECTED);
  });

  it('gives the same events however the bytes are chunked (split UTF-8 characters and CRLFs included)', async () => {
    for (const sizes of [[1], [2], [3, 1], [7, 5, 2]]) {
      expect(await collect(body(STREAM, sizes))).toEqual(EXPECTED);
    }
  });

  it('cancels the body when the reader stops early', async () => {
    let cancelled = false;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode('event: token\ndata: x\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    for await (const event of readServerSentEvents(stream)) {
      expect(event).toEqual({ event: 'token', data: 'x' });
      break;
    }
    expect(cancelled).toBe(true);
  });
});
