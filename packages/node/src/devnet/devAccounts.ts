import { bytesToHex, type Hex } from 'viem';
import { mnemonicToAccount, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';

/** anvil's well-known development mnemonic: its accounts are funded with ETH at start. Devnet only. */
export const DEV_MNEMONIC = 'test test test test test test test test test test test junk';

/** What each devnet account is for; fixed so logs and docs can name them. */
export const DEV_ROLES = ['deployer', 'auditCourt', 'treasury', 'provider1', 'provider2', 'provider3', 'buyer1', 'buyer2', 'buyer3', 'buyer4'] as const;
export type DevRole = (typeof DEV_ROLES)[number];

/** A devnet account with its private key (never use these keys on a real chain). */
export type DevAccount = { role: DevRole; privateKey: Hex; account: PrivateKeyAccount };

/** The devnet's accounts, derived from {@link DEV_MNEMONIC} as anvil does. */
export function getDevAccounts(): DevAccount[] {
  return DEV_ROLES.map((role, addressIndex) => {
    const hdKey = mnemonicToAccount(DEV_MNEMONIC, { addressIndex }).getHdKey();
    const privateKey = bytesToHex(hdKey.privateKey!);
    return { role, privateKey, account: privateKeyToAccount(privateKey) };
  });
}

/** The devnet account playing `role`. */
export function getDevAccount(role: DevRole): DevAccount {
  const found = getDevAccounts().find((a) => a.role === role);
  if (!found) throw new Error(`no devnet account for role ${role}`);
  return found;
}
