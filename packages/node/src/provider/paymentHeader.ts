import { isHex, type Hex } from 'viem';
import { AgoraError, type SignedVoucher } from '@agora/sdk';

/** Header carrying a voucher on a paid call (JSON, amounts as decimal strings). */
export const PAYMENT_HEADER = 'x-agora-voucher';

/** Encodes a voucher for {@link PAYMENT_HEADER}. */
export function encodePaymentHeader(voucher: SignedVoucher): string {
  return JSON.stringify({ ...voucher, cumulativeAmount: voucher.cumulativeAmount.toString() });
}

/**
 * Parses {@link PAYMENT_HEADER}.
 * @throws {AgoraError} `MalformedVoucher` naming the bad field.
 */
export function decodePaymentHeader(value: string): SignedVoucher {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(value) as Record<string, unknown>;
  } catch (cause) {
    throw new AgoraError('MalformedVoucher', `The ${PAYMENT_HEADER} header is not JSON.`, { cause });
  }
  const hex = (field: string, bytes?: number): Hex => {
    const v = raw[field];
    if (typeof v !== 'string' || !isHex(v) || (bytes !== undefined && v.length !== 2 + 2 * bytes)) {
      throw new AgoraError('MalformedVoucher', `The voucher's ${field} is not ${bytes ? `${bytes} bytes of ` : ''}hex.`);
    }
    return v;
  };
  const amount = raw.cumulativeAmount;
  if (typeof amount !== 'string' || !/^\d{1,78}$/.test(amount)) {
    throw new AgoraError('MalformedVoucher', "The voucher's cumulativeAmount is not a decimal string.");
  }
  return { channelId: hex('channelId', 32), cumulativeAmount: BigInt(amount), requestHash: hex('requestHash', 32), signature: hex('signature') };
}
