import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Hex } from 'viem';
import type { VoucherStore } from '../store/voucherStore.ts';

/** File in the node's state folder holding the operator's admin token (mode 0600). */
export const ADMIN_TOKEN_FILE = 'admin-token';

/**
 * Reads a secret kept in a file only its owner can read, creating it with `create()` (folder
 * included, mode 0600) the first time, so it stays the same across restarts.
 */
export function readOrCreateSecretFile(path: string, create: () => string): string {
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  mkdirSync(dirname(path), { recursive: true });
  const secret = create();
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/** Reads the node's admin token, creating a random one on first start. */
export function ensureAdminToken(stateDir: string): string {
  return readOrCreateSecretFile(join(stateDir, ADMIN_TOKEN_FILE), () => randomBytes(32).toString('hex'));
}

/**
 * The operator's routes on the provider API, behind `Authorization: Bearer <admin token>` (the
 * token is in `<stateDir>/admin-token`, readable only by the node's user):
 * - `GET /admin/status`: what the node is owed, per channel.
 * - `POST /admin/redeem`: redeem every channel that owes anything now, instead of waiting for the
 *   threshold; answers once the transactions are mined.
 */
export function registerAdminRoutes(
  app: FastifyInstance,
  init: { token: string; address: Hex; store: VoucherStore; redeemAll: () => Promise<unknown> },
) {
  const expected = Buffer.from(init.token);
  void app.register(async (admin) => {
    admin.addHook('onRequest', async (request, reply) => {
      const header = request.headers.authorization ?? '';
      const given = Buffer.from(header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        return reply.status(401).send({ error: { code: 'Unauthorized', message: 'Admin routes need "Authorization: Bearer <token from <stateDir>/admin-token>".' } });
      }
    });
    const status = () => {
      const owed = init.store.listUnredeemed();
      return {
        provider: init.address,
        unredeemed: owed.reduce((sum, v) => sum + v.cumulativeAmount - v.redeemed, 0n).toString(),
        channels: owed.map((v) => ({ channelId: v.channelId, cumulativeAmount: v.cumulativeAmount.toString(), redeemed: v.redeemed.toString() })),
      };
    };
    admin.get('/admin/status', async () => status());
    admin.post('/admin/redeem', async () => {
      await init.redeemAll();
      return status();
    });
  });
}
