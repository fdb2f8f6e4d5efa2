import { z } from 'zod';
import type { Hex } from 'viem';
import { AgoraError, type SignedVoucher } from '@agora/sdk';

/** Header carrying a voucher on a paid call (JSON, amounts as decimal strings). */
export const PAYMENT_HEADER = 'x-agora-voucher';

const hex32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'is not 32 bytes of hex');

/**
 * The header's JSON: exactly what {@link encodePaymentHeader} writes. Checked whole before any field
 * is used, so `null`, an array or a wrong type is a `MalformedVoucher`, never a crash.
 */
const paymentHeaderSchema = z.object({
  channelId: hex32,
  cumulativeAmount: z.string().regex(/^\d{1,78}$/, 'is not a decimal string'),
  requestHash: hex32,
  signature: z.string().regex(/^0x[0-9a-fA-F]*$/, 'is not hex'),
});

/** Encodes a voucher for {@link PAYMENT_HEADER}. */
export function encodePaymentHeader(voucher: SignedVoucher): string {
  return JSON.stringify({ ...voucher, cumulativeAmount: voucher.cumulativeAmount.toString() });
}

/**
 * Parses {@link PAYMENT_HEADER}.
 * @throws {AgoraError} `MalformedVoucher` naming the bad field.
 */
export function decodePaymentHeader(value: string): SignedVoucher {
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch (cause) {
    throw new AgoraError('MalformedVoucher', `The ${PAYMENT_HEADER} header is not JSON.`, { cause });
  }
  const parsed = paymentHeaderSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.');
    const fix = `send the voucher as encodePaymentHeader writes it: {"channelId", "cumulativeAmount" (decimal string), "requestHash", "signature"}.`;
    // Only the field and a fixed wording go back: zod's own message may quote the input.
    if (!field) throw new AgoraError('MalformedVoucher', `The ${PAYMENT_HEADER} header is not a JSON object.`, { fix });
    const given = (raw as Record<string, unknown>)[field];
    const why = issue.code === 'invalid_format' ? issue.message : given === undefined ? 'is missing' : `is a ${given === null ? 'null' : typeof given}, not a string`;
    throw new AgoraError('MalformedVoucher', `The voucher's ${field} ${why}.`, { fix });
  }
  const { channelId, cumulativeAmount, requestHash, signature } = parsed.data;
  return { channelId: channelId as Hex, cumulativeAmount: BigInt(cumulativeAmount), requestHash: requestHash as Hex, signature: signature as Hex };
}
