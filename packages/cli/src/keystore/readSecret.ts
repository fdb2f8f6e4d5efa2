import { readFileSync } from 'node:fs';
import { AgoraError } from '@agora/sdk';

export type ReadPasswordParameters = {
  /** `--password-file`: the first line of the file is the password. */
  passwordFile?: string | undefined;
  /** What the password is for, shown in the prompt ("key \"alice\""). */
  label: string;
  /** Ask twice on a terminal (new keys), so a typo does not lock the key away. */
  confirm?: boolean;
  env?: NodeJS.ProcessEnv;
};

/**
 * The password for a keystore, from (in order) `--password-file`, `$AGORA_PASSWORD`, or a hidden
 * prompt when stdin is a terminal. Never echoed, printed or logged.
 * @throws {AgoraError} `MissingPassword` when none of them is available.
 */
export async function readPassword({ passwordFile, label, confirm = false, env = process.env }: ReadPasswordParameters): Promise<string> {
  if (passwordFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(passwordFile, 'utf8');
    } catch (cause) {
      throw new AgoraError('MissingPassword', `Cannot read the password file ${passwordFile}.`, { cause, fix: 'check the path and its permissions.' });
    }
    // The first line, as geth reads --password files: an editor's trailing newline is not part of it.
    return nonEmpty(text.split(/\r?\n/)[0] ?? '', `the password file ${passwordFile}`);
  }
  if (env.AGORA_PASSWORD !== undefined && env.AGORA_PASSWORD !== '') return env.AGORA_PASSWORD;
  if (!process.stdin.isTTY) {
    throw new AgoraError('MissingPassword', `No password for ${label}.`, {
      fix: 'set AGORA_PASSWORD, pass --password-file <file>, or run in a terminal to be asked.',
    });
  }
  const password = nonEmpty(await promptHidden(`Password for ${label}: `), 'the prompt');
  if (confirm && (await promptHidden('Repeat the password: ')) !== password) {
    throw new AgoraError('PasswordMismatch', 'The two passwords differ.', { fix: 'run the command again.' });
  }
  return password;
}

/**
 * A private key to import: from `--key-file`, else stdin (a pipe, or a hidden prompt on a
 * terminal). Never from argv, where it would land in shell history and `ps`.
 */
export async function readSecretInput({ file, what }: { file?: string | undefined; what: string }): Promise<string> {
  if (file !== undefined) {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (cause) {
      throw new AgoraError('MissingKey', `Cannot read the key file ${file}.`, { cause, fix: 'check the path and its permissions.' });
    }
  }
  if (process.stdin.isTTY) return (await promptHidden(`${what}: `)).trim();
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

function nonEmpty(password: string, source: string): string {
  if (password === '') throw new AgoraError('MissingPassword', `The password from ${source} is empty.`, { fix: 'use a non-empty password.' });
  return password;
}

/** Reads one line from the terminal without echoing it. The prompt goes to stderr, keeping stdout for results. */
function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n' || char === '\u0004') {
          finish();
          return resolve(value);
        }
        if (char === '\u0003') {
          finish();
          return reject(new AgoraError('Cancelled', 'Cancelled at the password prompt.'));
        }
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    stdin.on('data', onData);
    stdin.resume();
  });
}
