import { toHex, type Address, type Hex, type LocalAccount } from 'viem';

const authorizationFields = [
  { name: 'from', type: 'address' },
  { name: 'to', type: 'address' },
  { name: 'value', type: 'uint256' },
  { name: 'validAfter', type: 'uint256' },
  { name: 'validBefore', type: 'uint256' },
  { name: 'nonce', type: 'bytes32' },
] as const;

/**
 * EIP-712 types of EIP-3009 authorizations (DevUSD and USDC-style tokens). `Transfer…` may be
 * submitted by anyone (x402 facilitators); `Receive…` only by the payee, inside its own call.
 */
export const transferAuthorizationTypes = {
  TransferWithAuthorization: authorizationFields,
  ReceiveWithAuthorization: authorizationFields,
} as const;

export type SignTransferAuthorizationParameters = {
  /** The token's EIP-712 domain (DevUSD: name "Agora Dev USD", version "1"). */
  token: { address: Address; chainId: number; name: string; version: string };
  to: Address;
  value: bigint;
  /** Unix seconds; default 0 (valid at once). */
  validAfter?: bigint;
  /** Unix seconds after which it is void. */
  validBefore: bigint;
  /** 32 random bytes; default: fresh random. */
  nonce?: Hex;
  /** Which function will consume it (default `TransferWithAuthorization`). */
  primaryType?: keyof typeof transferAuthorizationTypes;
};
export type SignTransferAuthorizationReturnType = {
  from: Address;
  to: Address;
  value: bigint;
  validAfter: bigint;
  validBefore: bigint;
  nonce: Hex;
  signature: Hex;
};

/**
 * Signs an EIP-3009 transfer authorization off-chain: the x402 way to pay without sending a
 * transaction. Anyone can submit it with the token's `transferWithAuthorization`.
 *
 * @example
 * const auth = await signTransferAuthorization(account, { token, to: seller, value: 1_000n, validBefore })
 */
export async function signTransferAuthorization(
  signer: LocalAccount,
  params: SignTransferAuthorizationParameters,
): Promise<SignTransferAuthorizationReturnType> {
  const message = {
    from: signer.address,
    to: params.to,
    value: params.value,
    validAfter: params.validAfter ?? 0n,
    validBefore: params.validBefore,
    nonce: params.nonce ?? toHex(crypto.getRandomValues(new Uint8Array(32))),
  };
  const signature = await signer.signTypedData({
    domain: { name: params.token.name, version: params.token.version, chainId: params.token.chainId, verifyingContract: params.token.address },
    types: { [params.primaryType ?? 'TransferWithAuthorization']: authorizationFields },
    primaryType: params.primaryType ?? 'TransferWithAuthorization',
    message,
  });
  return { ...message, signature };
}
