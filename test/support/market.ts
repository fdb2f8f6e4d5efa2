import { keccak256, toHex, type Address, type Hex } from 'viem';
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import { registerModel, registerProvider, setOffer, stake } from '@agora/sdk';
import type { TestDevnet } from './devnet.ts';
import type { DevRole } from '@agora/node';

/** Price per call used by market fixtures: 0.001 DevUSD. */
export const PRICE = 1_000n;
/** Royalty of the fixture model, basis points. */
export const ROYALTY_BPS = 500;

/** A model registered with a royalty receiver, and staked providers offering it at {@link PRICE}. */
export type Market = { modelId: Hex; royaltyReceiver: Address };

/** Registers a model (with a royalty) and makes each of `providers` a staked provider offering it. */
export async function setUpMarket(devnet: TestDevnet, providers: DevRole[] = ['provider1']): Promise<Market> {
  const royaltyReceiver = privateKeyToAccount(generatePrivateKey()).address;
  const { modelId } = await registerModel(devnet.as('deployer'), {
    weightsHash: keccak256(toHex('digits.onnx weights')),
    runtime: 'onnxruntime',
    quantization: 'f32',
    format: 'onnx',
    verificationMode: 'exact',
    royaltyReceiver,
    royaltyBps: ROYALTY_BPS,
    metadataURI: 'agora://models/digits',
  });
  for (const [i, role] of providers.entries()) {
    await makeProvider(devnet, role, { endpoint: `http://127.0.0.1:${9100 + i}`, modelIds: [modelId], price: PRICE });
  }
  return { modelId, royaltyReceiver };
}

/** Registers the dev account of `role` as a provider staked at the minimum, offering each model at `price`. */
export async function makeProvider(
  devnet: TestDevnet,
  role: DevRole,
  { endpoint = 'http://127.0.0.1:0', modelIds, price }: { endpoint?: string; modelIds: Hex[]; price: bigint },
) {
  const client = devnet.as(role);
  await registerProvider(client, { endpoint });
  await stake(client, { amount: devnet.deployment.parameters.minStake });
  for (const modelId of modelIds) await setOffer(client, { modelId, pricePerUnit: price });
  return client;
}

/**
 * How a payment of `amount` splits under the devnet's fee and the fixture model's royalty: the fee
 * rounded up (no payment skips it), the royalty rounded down, the provider the rest.
 */
export function expectedSplit(devnet: TestDevnet, amount: bigint) {
  const fee = (amount * BigInt(devnet.deployment.parameters.protocolFeeBps) + 9_999n) / 10_000n;
  const royalty = (amount * BigInt(ROYALTY_BPS)) / 10_000n;
  return { fee, royalty, providerShare: amount - fee - royalty };
}
