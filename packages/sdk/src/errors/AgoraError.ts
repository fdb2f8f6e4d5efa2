/** Options every {@link AgoraError} takes. */
export type AgoraErrorParameters = {
  /** What the user should do about it, printed on its own line. */
  fix?: string | undefined;
  /** Extra facts (ids, amounts) printed under the message. */
  metaMessages?: string[] | undefined;
  /** The underlying error; always set when wrapping at a boundary. */
  cause?: unknown;
  /** Technical detail from the cause, printed last. */
  details?: string | undefined;
};

/**
 * The one error base of Agora (viem's `BaseError` shape). Every error a user can meet says what
 * went wrong (`shortMessage`), why (`metaMessages`, `details`) and what to do (`fix`). Match on
 * `code`, never on message text.
 *
 * @example
 * try { await redeemVoucher(client, params) }
 * catch (err) { if (err instanceof AgoraError && err.code === 'PaymentChannelsVoucherNotNewer') ... }
 */
export class AgoraError extends Error {
  override name = 'AgoraError';
  /** Stable machine-readable code. */
  readonly code: string;
  readonly shortMessage: string;
  readonly fix: string | undefined;
  readonly metaMessages: string[];
  readonly details: string | undefined;

  constructor(code: string, shortMessage: string, parameters: AgoraErrorParameters = {}) {
    const details =
      parameters.details ??
      (parameters.cause instanceof Error ? ((parameters.cause as { shortMessage?: string }).shortMessage ?? parameters.cause.message) : undefined);
    const lines = [
      shortMessage,
      ...(parameters.fix ? ['', `Fix: ${parameters.fix}`] : []),
      ...(parameters.metaMessages?.length ? ['', ...parameters.metaMessages] : []),
      ...(details && details !== shortMessage ? ['', `Details: ${details}`] : []),
    ];
    super(lines.join('\n'), parameters.cause === undefined ? undefined : { cause: parameters.cause });
    this.code = code;
    this.shortMessage = shortMessage;
    this.fix = parameters.fix;
    this.metaMessages = parameters.metaMessages ?? [];
    this.details = details;
  }

  /** Walks the `cause` chain and returns the first error `fn` accepts (or the deepest one). */
  walk(fn?: (err: unknown) => boolean): unknown {
    return walkCause(this, fn);
  }
}

/** Walks an error's `cause` chain; returns the first error `fn` accepts, or the deepest without `fn`. */
export function walkCause(err: unknown, fn?: (err: unknown) => boolean): unknown {
  let current: unknown = err;
  const seen = new Set<unknown>();
  while (current && !seen.has(current)) {
    seen.add(current);
    if (fn?.(current)) return current;
    const next = (current as { cause?: unknown }).cause;
    if (next === undefined || next === null) return fn ? null : current;
    current = next;
  }
  return fn ? null : current;
}
