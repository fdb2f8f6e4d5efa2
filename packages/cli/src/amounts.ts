import { formatUnits } from 'viem';
import { readContract } from 'viem/actions';
import { AgoraError, devUsdAbi, getTokenBalance, type AgoraClient, type AgoraWalletClient } from '@agora/sdk';

/** The deployment token's display facts. DevUSD has 6 decimals, like USDC. */
export type TokenUnits = { decimals: number; symbol: string };

/** Reads the deployment token's decimals and symbol (any ERC-20 works, not only DevUSD). */
export async function getTokenUnits(client: AgoraClient): Promise<TokenUnits> {
  const address = client.deployment.contracts.token;
  const [decimals, symbol] = await Promise.all([
    readContract(client, { address, abi: devUsdAbi, functionName: 'decimals' }),
    readContract(client, { address, abi: devUsdAbi, functionName: 'symbol' }).catch(() => 'tokens'),
  ]);
  return { decimals: Number(decimals), symbol };
}

/**
 * Parses an amount flag. The one convention of the CLI: amounts are in whole tokens with up to the
 * token's decimals (`12.5` = 12.5 DevUSD = 12 500 000 base units); with `--units` they are integer
 * base units. More decimals than the token has are refused rather than silently rounded.
 *
 * @example
 * parseAmount('12.5', { flag: '--amount', decimals: 6 }) // 12_500_000n
 */
export function parseAmount(value: string, { flag, decimals, units = false, allowZero = false }: { flag: string; decimals: number; units?: boolean; allowZero?: boolean }): bigint {
  const text = value.trim();
  let amount: bigint;
  if (units) {
    if (!/^\d+$/.test(text)) {
      throw new AgoraError('InvalidAmount', `${flag} must be a whole number of base units with --units, got "${value}".`, {
        fix: `drop --units to give the amount in tokens (e.g. ${flag} 12.5).`,
      });
    }
    amount = BigInt(text);
  } else {
    const match = /^(\d+)(?:\.(\d*))?$/.exec(text) ?? /^()\.(\d+)$/.exec(text);
    if (!match) {
      throw new AgoraError('InvalidAmount', `${flag} must be a non-negative decimal number of tokens, got "${value}".`, {
        fix: `write it like ${flag} 12.5 (tokens) or ${flag} 12500000 --units (base units).`,
      });
    }
    const [, whole = '', fraction = ''] = match;
    if (fraction.replace(/0+$/, '').length > decimals) {
      throw new AgoraError('InvalidAmount', `${flag} ${value} has more than the token's ${decimals} decimals.`, {
        fix: `round it to ${decimals} decimals, or give base units with --units.`,
      });
    }
    amount = BigInt(whole || '0') * 10n ** BigInt(decimals) + BigInt(fraction.slice(0, decimals).padEnd(decimals, '0') || '0');
  }
  if (amount === 0n && !allowZero) throw new AgoraError('InvalidAmount', `${flag} must be above zero.`);
  return amount;
}

/** Formats base units as tokens: `12.5 DevUSD`. */
export function formatAmount(amount: bigint, { decimals, symbol }: TokenUnits): string {
  return `${formatUnits(amount, decimals)} ${symbol}`;
}

/**
 * Refuses before any transaction when the account holds less than `amount`: the SDK approves
 * before it pulls tokens, and an approval for a transfer that then fails would change state for nothing.
 */
export async function checkBalance(client: AgoraWalletClient, amount: bigint, units: TokenUnits, flag: string): Promise<void> {
  const balance = await getTokenBalance(client, { account: client.account.address });
  if (balance < amount) {
    throw new AgoraError('InsufficientBalance', `${client.account.address} holds ${formatAmount(balance, units)} but ${flag} is ${formatAmount(amount, units)}.`, {
      fix: 'fund the account with the deployment token first (on a devnet, `agora up` prints funded dev accounts).',
    });
  }
}
