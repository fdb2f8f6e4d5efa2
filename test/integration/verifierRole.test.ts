// The verifier role on a real devnet: provider nodes drawn by the AuditCourt fetch the opener's
// evidence of a batch of receipts with a signed request, rebuild its root, check every receipt's
// channel and signature, re-execute every call on their copy of the model, commit and reveal a
// verdict, and their keepers (and the opener's) drive each audit to its money: an honest batch
// passes and the opener's bond pays the verifier; a batch with one receipt signed over a wrong output
// fails, slashes the provider and refunds the buyer; a verifier restarted between commit and reveal
// still reveals; evidence that never comes, or does not match the root, is Unverifiable, never Pass;
// only the channel's payer may open an audit of its receipts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keccak256, toHex, type Address, type Hex, type LocalAccount } from 'viem';
import {
  canOpenAudit,
  commitVerdict,
  createReceiptBatchTree,
  getAudit,
  getAuditCredit,
  getAuditOfRoot,
  getProvider,
  getTokenBalance,
  hashCanonicalJson,
  hashInferenceReceipt,
  openAudit,
  openChannel,
  revealVerdict,
  setAuditor,
  signInferenceReceipt,
  signVoucher,
  verifyReceiptInAudit,
  type AgoraWalletClient,
  type GetAuditReturnType,
  type SignedInferenceReceipt,
} from '@agora/sdk';
import {
  DIGIT_PIXELS,
  callProvider,
  createAuditKeeper,
  createRng,
  exportDigitsOnnx,
  getDevAccount,
  getProviderQuote,
  openVerdictStore,
  readEvidenceRequest,
  startNode,
  toEvidenceBody,
  type AuditEvidenceLeaf,
  type AgoraNode,
  type AuditKeeper,
  type AuditOutcome,
  type NodeConfig,
} from '@agora/node';
import { startTestDevnet, type TestDevnet } from '../support/devnet.ts';
import { providerNodeConfig } from '../support/nodes.ts';
import { makeProvider } from '../support/market.ts';

const ROLES = ['provider1', 'provider2', 'provider3'] as const;
type Role = (typeof ROLES)[number];
const PRICE = 1_000n;
const WINDOWS = { drawDelayBlocks: 1n, commitWindow: 120n, revealWindow: 120n, escalationWindow: 60n };

let devnet: TestDevnet;
let dir: string;
const configs = new Map<Role, NodeConfig>();
const nodes = new Map<Role, AgoraNode>();
let keeper: AuditKeeper;
const ended: AuditOutcome[] = [];
let evidenceServer: Server;
let evidenceBase: string;
/** What the test's evidence server offers at each path: the audit it belongs to, and the batch's leaves (none: missing). */
const offers = new Map<string, { auditId?: bigint; leaves?: AuditEvidenceLeaf[] }>();
/** Evidence requests that passed the signature and seat checks, by path. */
const served: { path: string; signer: Address }[] = [];

/** The paid call to provider1 that every audit here is about. */
let call: { input: { pixels: number[] }; params: Record<string, unknown>; output: { digit: number; probabilities: number[] }; receipt: SignedInferenceReceipt };
/** One receipt of a batch, and the call offered as its evidence. */
type Leaf = { receipt: SignedInferenceReceipt; input: unknown; params: Record<string, unknown>; output: unknown };

const buyer = () => devnet.as('buyer1') as AgoraWalletClient & { account: LocalAccount };
const court = () => ({ chainId: devnet.deployment.chainId, auditCourt: devnet.deployment.contracts.auditCourt! });
const address = (role: Role | 'buyer1') => getDevAccount(role).account.address;
const balance = (account: Address) => getTokenBalance(buyer(), { account });
const roleOf = (verifier: Address) => ROLES.find((role) => address(role) === verifier)!;

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Anvil mines only on transactions: two blocks put the draw block behind the newest one. */
const mineDrawBlock = async () => {
  await devnet.increaseTime(1);
  await devnet.increaseTime(1);
};

const domain = () => ({ chainId: devnet.deployment.chainId, paymentChannels: devnet.deployment.contracts.paymentChannels });
const digestOf = (receipt: SignedInferenceReceipt) => hashInferenceReceipt(domain(), receipt);
const toLeaf = ({ receipt: { provider: _provider, signature, ...receipt }, input, params, output }: Leaf): AuditEvidenceLeaf => ({ receipt, signature, input, params, output });

/**
 * Opens, as the buyer, the audit of a batch of receipts with evidence offered at a fresh path
 * (`served`: what the opener hands out instead of the batch; null: nothing), and tells the keeper.
 */
async function audit(path: string, batch: Leaf[], served: Leaf[] | null = batch) {
  offers.set(path, served ? { leaves: served.map(toLeaf) } : {});
  const tree = createReceiptBatchTree(batch.map((leaf) => digestOf(leaf.receipt)));
  const { auditId } = await openAudit(buyer(), { channelId: call.receipt.channelId, receiptsRoot: tree.root, receiptCount: tree.count, evidenceURI: `${evidenceBase}/evidence/${path}` });
  offers.get(path)!.auditId = auditId;
  keeper.track(auditId);
  return auditId;
}

/** A receipt provider1 signs for the paid call, with other hashes or amount (a new receipt to audit). */
const resign = (changes: Partial<SignedInferenceReceipt>) =>
  signInferenceReceipt(getDevAccount('provider1').account, domain(), { ...call.receipt, ...changes });
/** A receipt of provider1 for the same honest call at another cumulative amount, with its evidence. */
const honest = async (n: number): Promise<Leaf> => ({ ...call, receipt: await resign({ cumulativeAmount: call.receipt.cumulativeAmount + BigInt(n) }) });

const decided = (auditId: bigint) => until(`audit ${auditId} decided`, () => getAudit(buyer(), { auditId }), (a) => a.status === 'Decided');
async function resolved(auditId: bigint): Promise<AuditOutcome> {
  await devnet.increaseTime(WINDOWS.escalationWindow); // no escalation: the opener's keeper finalizes
  return until(`audit ${auditId} ended`, async () => ended.find((o) => o.auditId === auditId), (o) => o !== undefined) as Promise<AuditOutcome>;
}
const creditsWithdrawn = (...accounts: Address[]) =>
  until('the court credit withdrawn', () => Promise.all(accounts.map((account) => getAuditCredit(buyer(), { account }))), (credits) => credits.every((c) => c === 0n));

async function startProvider(role: Role) {
  nodes.set(role, await startNode(configs.get(role)!, { privateKey: getDevAccount(role).privateKey }));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agora-verifier-'));
  devnet = await startTestDevnet({ stateDir: dir, deploy: { audit: WINDOWS } });

  // Random weights are enough: exact verification compares a deterministic re-run, not accuracy.
  const rng = createRng(11);
  const fill = (size: number, scale: number) => Float32Array.from({ length: size }, () => (rng() * 2 - 1) * scale);
  const modelPath = join(dir, 'digits.onnx');
  writeFileSync(modelPath, exportDigitsOnnx({ hidden: 16, w1: fill(DIGIT_PIXELS * 16, 0.1), b1: fill(16, 0.1), w2: fill(160, 0.5), b2: fill(10, 0.1) }));
  for (const role of ROLES) {
    configs.set(
      role,
      providerNodeConfig(devnet, {
        stateDir: join(dir, role),
        provider: {
          redeemThreshold: '1000000000',
          models: [{ kind: 'digits', path: modelPath, name: 'agora/digits-random', price: PRICE.toString() }],
          jobs: { enabled: false },
          verifier: { pollIntervalMs: 100 },
        },
      }),
    );
    await startProvider(role); // one after another: the first registers the model
  }

  // The opener's evidence route, as a gateway runs it: only the audit's drawn verifiers (and its provider) get the call.
  evidenceServer = createServer((request, response) => {
    const refuse = (status: number, code: string) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: code, code } }));
    const path = request.url?.replace('/evidence/', '') ?? '';
    const offer = offers.get(path);
    if (!offer?.auditId) return refuse(404, 'NotFound');
    readEvidenceRequest({ authorization: request.headers.authorization, court: court() })
      .then(async ({ auditId, signer }) => {
        if (auditId !== offer.auditId) return refuse(403, 'OtherAudit');
        const { seats, provider } = await getAudit(buyer(), { auditId });
        // The audited provider may fetch it too: it answered this call, and re-checks it to defend itself.
        if (!seats.some((seat) => seat.verifier === signer && seat.status !== 'Replaced') && signer !== provider) return refuse(403, 'NotDrawnVerifier');
        served.push({ path, signer });
        if (!offer.leaves) return refuse(404, 'EvidenceLost');
        response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(toEvidenceBody(offer.leaves)));
      })
      .catch(() => refuse(401, 'EvidenceAuthInvalid'));
  });
  await new Promise<void>((resolve) => evidenceServer.listen(0, '127.0.0.1', resolve));
  evidenceBase = `http://127.0.0.1:${(evidenceServer.address() as AddressInfo).port}`;

  // The buyer pays provider1 for one call through a channel and keeps the signed receipt.
  const provider1 = nodes.get('provider1')!;
  const modelId = provider1.models[0]!.descriptor.modelId;
  const { channelId } = await openChannel(buyer(), { provider: provider1.address, modelId, deposit: 100n * PRICE });
  const input = { pixels: Array.from({ length: DIGIT_PIXELS }, (_, i) => ((i * 37) % 255) / 255) };
  const quote = await getProviderQuote({ url: provider1.url, modelId, input });
  const voucher = await signVoucher(buyer().account, { chainId: devnet.deployment.chainId, paymentChannels: devnet.deployment.contracts.paymentChannels }, { channelId, cumulativeAmount: quote.price, requestHash: quote.requestHash });
  const { output, receipt } = await callProvider({ url: provider1.url, modelId, input, voucher });
  call = { input, params: {}, output: output as typeof call.output, receipt };

  keeper = createAuditKeeper({ client: buyer(), watch: { opened: true }, pollIntervalMs: 100, onEnded: (outcome) => ended.push(outcome) });
  await keeper.start();
}, 60_000);

afterAll(async () => {
  await keeper?.stop();
  for (const node of nodes.values()) await node.stop().catch(() => {});
  await new Promise<void>((resolve) => (evidenceServer ? evidenceServer.close(() => resolve()) : resolve()));
  await devnet?.stop();
});

/** The one stage-0 verifier of an audit once it is decided. */
const firstSeat = (audit: GetAuditReturnType) => {
  expect(audit.seats).toHaveLength(1);
  return audit.seats[0]!;
};


describe('verifier role', () => {
  it('passes an honest batch: the drawn verifier re-executes every receipt, commits and reveals Pass, and the opener’s bond pays it', async () => {
    const { auditBond } = devnet.deployment.parameters.audit!;
    const before = new Map(await Promise.all([...ROLES, 'buyer1' as const].map(async (r) => [r, await balance(address(r))] as const)));
    const batch = [{ ...call }, await honest(100), await honest(101)];
    const auditId = await audit('honest', batch);
    await mineDrawBlock(); // the opener's keeper draws at its next poll

    // Each receipt proves against the audit's root on-chain (the sdk's tree is OpenZeppelin's); an outsider does not.
    const tree = createReceiptBatchTree(batch.map((leaf) => digestOf(leaf.receipt)));
    for (const { receipt } of batch) expect(await verifyReceiptInAudit(buyer(), { auditId, receipt, proof: tree.getProof(digestOf(receipt)) })).toBe(true);
    const outsider = (await honest(102)).receipt;
    expect(await verifyReceiptInAudit(buyer(), { auditId, receipt: outsider, proof: tree.getProof(digestOf(batch[0]!.receipt)) })).toBe(false);

    const seat = firstSeat(await decided(auditId));
    const verifier = roleOf(seat.verifier);
    expect(verifier).not.toBe('provider1'); // never the audited provider
    expect(seat).toMatchObject({ status: 'Revealed', verdict: 'Pass' });
    expect(served).toContainEqual({ path: 'honest', signer: seat.verifier });

    expect(await resolved(auditId)).toEqual({ auditId, provider: address('provider1'), modelId: call.receipt.modelId, opener: address('buyer1'), outcome: 'pass' });
    await creditsWithdrawn(seat.verifier); // the verifier's keeper takes its pay
    expect(await balance(seat.verifier)).toBe(before.get(verifier)! + auditBond);
    expect(await balance(address('buyer1'))).toBe(before.get('buyer1')! - auditBond);
    expect((await getProvider(buyer(), { provider: address('provider1') })).stake).toBe(devnet.deployment.parameters.minStake);
  });

  it('fails a batch with one receipt signed over a wrong output: the provider is slashed and the buyer refunded', async () => {
    const { slashAmount, refundBps, bountyBps } = devnet.deployment.parameters.audit!;
    const wrong = { ...call.output, digit: (call.output.digit + 1) % 10 };
    const tampered = { ...call, output: wrong, receipt: await resign({ outputHash: hashCanonicalJson(wrong), cumulativeAmount: call.receipt.cumulativeAmount + 200n }) };
    const stakeBefore = (await getProvider(buyer(), { provider: address('provider1') })).stake;
    const buyerBefore = await balance(address('buyer1'));
    const auditId = await audit('tampered', [await honest(201), tampered, await honest(202)]);
    await mineDrawBlock();

    const seat = firstSeat(await decided(auditId));
    expect(seat).toMatchObject({ status: 'Revealed', verdict: 'Fail' });
    const verifierBefore = await balance(seat.verifier);
    expect((await resolved(auditId)).outcome).toBe('fail');

    expect((await getProvider(buyer(), { provider: address('provider1') })).stake).toBe(stakeBefore - slashAmount);
    await creditsWithdrawn(address('buyer1'), seat.verifier);
    // The buyer paid the bond, gets it back, and gets the refund; the verifier the bounty.
    expect(await balance(address('buyer1'))).toBe(buyerBefore + (slashAmount * BigInt(refundBps)) / 10_000n);
    expect(await balance(seat.verifier)).toBe(verifierBefore + (slashAmount * BigInt(bountyBps)) / 10_000n);
  });

  it('refuses an audit opened by anyone but the channel’s payer, the provider above all, with an error that says who may', async () => {
    const tree = createReceiptBatchTree([digestOf(call.receipt)]);
    const parameters = { channelId: call.receipt.channelId, receiptsRoot: tree.root, receiptCount: 1, evidenceURI: `${evidenceBase}/evidence/squat` };
    // The provider would open the audit of its own receipt with evidence that serves nothing (receipt squatting).
    const err = await openAudit(devnet.as('provider1'), parameters).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'AuditCourtNotPayer' });
    // Addresses and ids shortened the way errors show them: `0x1234ab…cdef`.
    expect((err as Error).message.replaceAll(call.receipt.channelId, '<channel id>').replace(/0x[0-9a-fA-F]{6}…[0-9a-fA-F]{4}/g, '<0x…>')).toMatchInlineSnapshot(`
      "Opening an audit of 1 receipt(s) of channel <channel id> failed: <0x…> is not the payer of channel <0x…>: only its buyer, its voucher signer, or an auditor the buyer allowed may open or escalate audits of its receipts.

      Fix: open the audit from the channel buyer's account, or have the buyer call setAuditor for this account.

      Details: The contract function "openAudit" reverted."
    `);
    await expect(openAudit(devnet.as('buyer2'), parameters)).rejects.toMatchObject({ code: 'AuditCourtNotPayer' });
    expect(await getAuditOfRoot(buyer(), { channelId: call.receipt.channelId, receiptsRoot: tree.root })).toBeUndefined(); // nothing was opened
    // The buyer may name another account (its gateway's wallet, say) as its auditor.
    expect(await canOpenAudit(buyer(), { channelId: call.receipt.channelId, account: address('buyer1') })).toBe(true);
    await setAuditor(buyer(), { auditor: getDevAccount('buyer3').account.address, allowed: true });
    expect(await canOpenAudit(buyer(), { channelId: call.receipt.channelId, account: getDevAccount('buyer3').account.address })).toBe(true);
    await setAuditor(buyer(), { auditor: getDevAccount('buyer3').account.address, allowed: false });
    expect(await canOpenAudit(buyer(), { channelId: call.receipt.channelId, account: getDevAccount('buyer3').account.address })).toBe(false);
  });

  it('reveals after a restart between commit and reveal, with the verdict and salt from its store', async () => {
    // Both possible verifiers are down when the audit is drawn.
    for (const role of ['provider2', 'provider3'] as const) await nodes.get(role)!.stop();
    const auditId = await audit('restart', [await honest(1)]);
    await mineDrawBlock();
    const drawn = await until(`audit ${auditId} drawn`, () => getAudit(buyer(), { auditId }), (a) => a.status === 'Voting');
    const verifier = roleOf(firstSeat(drawn).verifier);

    // What a crash right after the commit leaves behind: the verdict and salt on disk, the commitment on-chain.
    const store = openVerdictStore({ path: join(dir, verifier, 'verdicts.db'), court: court() });
    const salt = keccak256(toHex(`salt of ${verifier}`));
    store.save({ auditId, stage: 0, verdict: 'Pass', salt, reasons: ['decided before the crash'] });
    await commitVerdict(devnet.as(verifier), { auditId, verdict: 'Pass', salt });
    store.markCommitted(auditId, 0);
    store.close();
    // A commitment cannot be replaced once made.
    await expect(commitVerdict(devnet.as(verifier), { auditId, verdict: 'Fail', salt })).rejects.toMatchObject({ code: 'AuditCourtAlreadyCommitted' });

    await startProvider(verifier);
    const seat = firstSeat(await decided(auditId));
    expect(seat).toMatchObject({ status: 'Revealed', verdict: 'Pass' }); // revealed with the stored salt
    expect(served.filter((s) => s.path === 'restart')).toEqual([]); // it did not judge again
    expect((await resolved(auditId)).outcome).toBe('pass');
    await startProvider(verifier === 'provider2' ? 'provider3' : 'provider2');
  });

  it('votes Unverifiable, never Pass, when the evidence does not match the root; the root is freed and a retry with the right evidence passes', async () => {
    const { auditBond } = devnet.deployment.parameters.audit!;
    const batch = [await honest(301), await honest(302), await honest(303)];
    const wrongOutput = { ...call.output, digit: (call.output.digit + 1) % 10 };
    // What the opener hands out: one receipt swapped for another honest one outside the root, and
    // one call that does not hash to its receipt (an output the provider never signed).
    const forged = [batch[0]!, await honest(304), { ...batch[2]!, output: wrongOutput }];
    const stakeBefore = (await getProvider(buyer(), { provider: address('provider1') })).stake;
    const auditId = await audit('forged', batch, forged);
    await mineDrawBlock();
    const seat = firstSeat(await decided(auditId));
    expect(seat).toMatchObject({ status: 'Revealed', verdict: 'Unverifiable' });
    expect(served).toContainEqual({ path: 'forged', signer: seat.verifier });
    const treasuryBefore = await getAuditCredit(buyer(), { account: devnet.deployment.parameters.treasury });
    expect((await resolved(auditId)).outcome).toBe('unverifiable');
    // Nothing slashed and nobody paid for not judging: the opener's bond goes to the treasury.
    expect((await getProvider(buyer(), { provider: address('provider1') })).stake).toBe(stakeBefore);
    expect(await getAuditCredit(buyer(), { account: seat.verifier })).toBe(0n);
    expect(await getAuditCredit(buyer(), { account: devnet.deployment.parameters.treasury })).toBe(treasuryBefore + auditBond);

    // The root was freed: the payer audits the same batch again, this time with its evidence.
    const tree = createReceiptBatchTree(batch.map((leaf) => digestOf(leaf.receipt)));
    expect(await getAuditOfRoot(buyer(), { channelId: batch[0]!.receipt.channelId, receiptsRoot: tree.root })).toBeUndefined();
    const retry = await audit('forged-retry', batch);
    await mineDrawBlock();
    expect(firstSeat(await decided(retry))).toMatchObject({ status: 'Revealed', verdict: 'Pass' });
    expect((await resolved(retry)).outcome).toBe('pass');
  });

  it('votes Unverifiable when the evidence never comes: retried until close to the commit deadline, and the provider is not cleared', async () => {
    const { auditBond } = devnet.deployment.parameters.audit!;
    const treasury = devnet.deployment.parameters.treasury;
    const treasuryBefore = await getAuditCredit(buyer(), { account: treasury });
    const auditId = await audit('missing', [await honest(2)], null);
    await mineDrawBlock();
    const drawn = await until(`audit ${auditId} drawn`, () => getAudit(buyer(), { auditId }), (a) => a.status === 'Voting');
    const { verifier } = firstSeat(drawn);
    // It asks, is refused, and asks again later rather than voting at once.
    await until('the verifier asking twice for the evidence', async () => served.filter((s) => s.path === 'missing').length, (n) => n >= 2);
    expect((await getAudit(buyer(), { auditId })).seats[0]!.status).toBe('Drawn');

    // Past the give-up point (a quarter of the commit window before its end), it votes Unverifiable.
    await devnet.increaseTime(WINDOWS.commitWindow - WINDOWS.commitWindow / 8n);
    const seat = firstSeat(await decided(auditId));
    expect(seat).toMatchObject({ verifier, status: 'Revealed', verdict: 'Unverifiable' });
    expect((await resolved(auditId)).outcome).toBe('unverifiable');
    // Not judging earns the verifier nothing; the opener's bond goes to the treasury.
    expect(await getAuditCredit(buyer(), { account: verifier })).toBe(0n);
    expect(await getAuditCredit(buyer(), { account: treasury })).toBe(treasuryBefore + auditBond);
  });

  it('defends an honest provider against a lying first verifier: it escalates, the panel clears it and fines the liar', async () => {
    const { escalationBond, verifierPenalty } = devnet.deployment.parameters.audit!;
    // A staked provider of the model that runs no verifier: the test votes for it, and lies.
    const liar = 'buyer2' as const;
    await makeProvider(devnet, liar, { modelIds: [call.receipt.modelId], price: PRICE });
    const liarStake = (await getProvider(buyer(), { provider: getDevAccount(liar).account.address })).stake;
    const providerStake = (await getProvider(buyer(), { provider: address('provider1') })).stake;
    const providerBalance = await balance(address('provider1'));

    // Open audits of honest batches until the draw seats the liar first (1 in 3 each time); the others pass.
    let auditId = 0n;
    for (let i = 0; i < 12 && auditId === 0n; i++) {
      const id = await audit(`liar-${i}`, [await honest(400 + 2 * i), await honest(401 + 2 * i)]);
      await mineDrawBlock();
      const drawn = await until(`audit ${id} drawn`, () => getAudit(buyer(), { auditId: id }), (a) => a.status !== 'Drawing');
      if (firstSeat(drawn).verifier === getDevAccount(liar).account.address) auditId = id;
    }
    expect(auditId).not.toBe(0n);
    const salt = keccak256(toHex('a lie'));
    await commitVerdict(devnet.as(liar), { auditId, verdict: 'Fail', salt });
    await revealVerdict(devnet.as(liar), { auditId, verdict: 'Fail', salt });

    // provider1's node re-checks every receipt of the batch, finds them right, and escalates (paying the bond).
    const escalated = await until(`audit ${auditId} escalated`, () => getAudit(buyer(), { auditId }), (a) => a.stage === 1);
    expect(escalated.escalator).toBe(address('provider1'));
    await mineDrawBlock();
    const outcome = await until(`audit ${auditId} ended`, async () => ended.find((o) => o.auditId === auditId), (o) => o !== undefined);
    expect(outcome!.outcome).toBe('pass');
    const panel = (await getAudit(buyer(), { auditId })).seats.filter((seat) => seat.stage === 1);
    expect(panel.map((seat) => seat.verdict)).toEqual(panel.map(() => 'Pass'));
    expect(panel.length).toBeGreaterThan(0);

    // The provider keeps its stake and gets its escalation bond back; the liar is fined.
    expect((await getProvider(buyer(), { provider: address('provider1') })).stake).toBe(providerStake);
    expect((await getProvider(buyer(), { provider: getDevAccount(liar).account.address })).stake).toBe(liarStake - verifierPenalty);
    await creditsWithdrawn(address('provider1'));
    expect(await balance(address('provider1'))).toBe(providerBalance);
    expect(escalationBond).toBeGreaterThan(0n);
  });
});
