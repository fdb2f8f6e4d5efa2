/** One server-sent event: its `event:` name (`message` when absent) and its `data:` lines joined by `\n`. */
export type ServerSentEvent = { event: string; data: string };

/**
 * Reads a `text/event-stream` body into events, as the WHATWG spec parses them: lines end in
 * `\n`, `\r\n` or `\r`; a blank line ends an event; `:` lines are comments; one leading space after
 * the colon is dropped; an event without data is skipped; an unfinished event at the end of the
 * stream is dropped. Chunks may split anywhere, even inside a UTF-8 character or a `\r\n`.
 *
 * Why our own: the provider's streams are read by the gateway and the SDK with plain `fetch`, and
 * the browser's `EventSource` cannot POST or set headers (a voucher travels in one).
 *
 * @example
 * for await (const { event, data } of readServerSentEvents(response.body!)) console.log(event, JSON.parse(data))
 */
export async function* readServerSentEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = '';
  let data: string[] = [];
  /** Handles one complete line; returns the event it finished, if any. */
  const line = (text: string): ServerSentEvent | undefined => {
    if (text === '') {
      const done = data.length > 0 ? { event: event || 'message', data: data.join('\n') } : undefined;
      event = '';
      data = [];
      return done;
    }
    if (text.startsWith(':')) return undefined;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
    return undefined;
  };
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      for (;;) {
        const end = buffer.search(/\r\n|\r|\n/);
        // A trailing '\r' may be the first half of '\r\n': wait for the next chunk unless done.
        if (end < 0 || (end === buffer.length - 1 && buffer[end] === '\r' && !done)) break;
        const separator = buffer.startsWith('\r\n', end) ? 2 : 1;
        const finished = line(buffer.slice(0, end));
        buffer = buffer.slice(end + separator);
        if (finished) yield finished;
      }
      if (done) return;
    }
  } finally {
    // Stops the download when the consumer stops early (break, throw).
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
