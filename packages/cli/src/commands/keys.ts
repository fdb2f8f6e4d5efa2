import { Command } from 'commander';
import { getAddress } from 'viem';
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts';
import { reportAndExit } from '../program.ts';
import { parsePrivateKey } from '../keys.ts';
import { printResult } from '../connect.ts';
import { checkNewKeyName, getKeystoreDir, listKeystores, readKeystore, saveKeystore } from '../keystore/keystoreDir.ts';
import { readPassword, readSecretInput } from '../keystore/readSecret.ts';
import { decryptKeystore, encryptKeystore, LIGHT_SCRYPT, STANDARD_SCRYPT } from '../keystore/secretStorage.ts';

type NewOptions = { passwordFile?: string; light?: boolean; json?: boolean };
type ImportOptions = NewOptions & { keyFile?: string };

/** `agora keys`: encrypted keys (Web3 Secret Storage v3) in ~/.agora/keystore, usable with `--keystore <name>`. */
export function keysCommand(): Command {
  const keys = new Command('keys').description(`manage encrypted keys (v3 keystores, as geth/ethers/cast) in $AGORA_KEYSTORE_DIR or ~/.agora/keystore`);

  const newOptions = (command: Command) =>
    command
      .option('--password-file <file>', 'file whose first line is the password (default: $AGORA_PASSWORD, else a prompt)')
      .option('--light', 'scrypt n=2^12 instead of 2^18: fast to unlock and weak; for throwaway and test keys only')
      .option('--json', 'print one JSON object for scripts instead of text');

  keys.addCommand(
    newOptions(new Command('new').description('create a new random key, encrypted with a password').argument('<name>', 'name to use it by: --keystore <name>')).action(
      async (name: string, options: NewOptions) => {
        try {
          checkNewKeyName(name); // a bad or taken name fails before the password is asked for
          const privateKey = generatePrivateKey();
          const path = await store(name, privateKey, options);
          const address = privateKeyToAddress(privateKey);
          printResult(options, { name, address, path }, () => [`created key "${name}" ${address}`, `  stored in ${path} (mode 0600); back this file up: losing it or its password loses the key.`]);
        } catch (err) {
          reportAndExit(err);
        }
      },
    ),
  );

  keys.addCommand(
    newOptions(
      new Command('import')
        .description('encrypt an existing private key, read from --key-file or stdin (never from the command line)')
        .argument('<name>', 'name to use it by: --keystore <name>')
        .option('--key-file <file>', 'file holding the 0x-prefixed private key (default: stdin)'),
    ).action(async (name: string, options: ImportOptions) => {
      try {
        checkNewKeyName(name);
        const raw = await readSecretInput({ file: options.keyFile, what: 'Private key (hex)' });
        const privateKey = parsePrivateKey(raw, 'The key to import', options.keyFile ? 'check the key file.' : 'pipe a 0x-prefixed 32-byte hex key into stdin.');
        const path = await store(name, privateKey, options);
        const address = privateKeyToAddress(privateKey);
        printResult(options, { name, address, path }, () => [`imported key "${name}" ${address}`, `  stored in ${path} (mode 0600)`]);
      } catch (err) {
        reportAndExit(err);
      }
    }),
  );

  keys.addCommand(
    new Command('list')
      .description('list the keys in the keystore folder with their addresses (no password needed)')
      .option('--json', 'print one JSON object for scripts instead of text')
      .action((options: { json?: boolean }) => {
        try {
          const dir = getKeystoreDir();
          const entries = listKeystores(dir);
          printResult(options, { dir, keys: entries }, () =>
            entries.length === 0
              ? [`no keys in ${dir}; create one with \`agora keys new <name>\`.`]
              : entries.map((e) => `${e.name.padEnd(Math.max(...entries.map((x) => x.name.length)) + 2)}${e.address ?? '(no address: not a v3 keystore?)'}`),
          );
        } catch (err) {
          reportAndExit(err);
        }
      }),
  );

  keys.addCommand(
    new Command('address')
      .description('print the address of a key; with --verify, also check the password opens it')
      .argument('<name|file>', 'key name or keystore file')
      .option('--verify', 'decrypt the key to prove the password (from --password-file, $AGORA_PASSWORD or a prompt) is right')
      .option('--password-file <file>', 'file whose first line is the password (with --verify)')
      .option('--json', 'print one JSON object for scripts instead of text')
      .action(async (nameOrFile: string, options: { verify?: boolean; passwordFile?: string; json?: boolean }) => {
        try {
          const { keystore, label } = readKeystore(nameOrFile);
          let address = keystore.address ? getAddress(`0x${keystore.address.replace(/^0x/, '')}`) : undefined;
          if (options.verify || !address) {
            const password = await readPassword({ passwordFile: options.passwordFile, label });
            address = (await decryptKeystore({ keystore, password, source: label })).address;
          }
          printResult(options, { name: nameOrFile, address, verified: options.verify === true }, () => [address!]);
        } catch (err) {
          reportAndExit(err);
        }
      }),
  );
  return keys;
}

async function store(name: string, privateKey: `0x${string}`, options: NewOptions): Promise<string> {
  const password = await readPassword({ passwordFile: options.passwordFile, label: `new key "${name}"`, confirm: true });
  const keystore = await encryptKeystore({ privateKey, password, scrypt: options.light ? LIGHT_SCRYPT : STANDARD_SCRYPT });
  return saveKeystore(name, keystore);
}
