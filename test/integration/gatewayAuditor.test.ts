// The gateway's auditor against a real court, played as an attacker would (issue 9, review of the
// redesign): a sybil that claims the gateway's root on a channel of its own neither blocks the
// gateway's audit nor gets its evidence; an audit that judged nothing (Unverifiable) is reopened,
// and an Unverifiable from a verifier the gateway handed the evidence goes to a panel; a channel
// whose provider was already slashed in full is not audited again and is retired (another Fail
// would refund nothing). Verifiers are played by hand here, so each move is the test's own.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keccak256, toHex, type Hex, type LocalAccount } from 'viem';
import { getBlockNumber } from 'viem/actions';
import {
  assignVerifiers,
  commitVerdict,
  createReceiptBatchTree,
  finalizeAudit,
  getAudit,
  getAuditOfRoot,
  hashInferenceReceipt,
  isSlashedOnChannel,
  openAudit,
  openChannel,
  revealVerdict,
  signInferenceReceipt,
  type AgoraWalletClient,
  type CommittableVerdict,
} from '@agora/sdk';
import {
  createAuditPolicy,
  createChannelPool,
  createGatewayAuditor,
  openGatewayStore,
  getDevAccount,
  openEvidenceStore,
  signEvidenceRequest,
  type DevRole,
  type EvidenceStore,
  type ServedCall,
} from '@agora/node';
import { startTestDevnet, type TestDevnet } from '../support/devnet.ts';
import { PRICE, setUpMarket, type Market } from '../support/market.ts';

const WINDOWS = { drawDelayBlocks: 1n, commitWindow: 120n, revealWindow: 120n, escalationWindow: 60n };

let devnet: TestDevnet;
let market: Market;
let evidence: EvidenceStore;
let auditor: ReturnType<typeof createGatewayAuditor>;
/** The gateway's channel to provider1, and one it audits after provider1 was slashed on it. */
let gatewayChannel: Hex;
let slashedChannel: Hex;
/** A sybil's own channel (buyer2 → provider2): it is that channel's payer, so it may open audits there. */
let sybilChannel: Hex;
const logged: { event: string; fields: Record<string, unknown> }[] = [];
/** Channels the auditor told the gateway to stop paying on. */
const retired: Hex[] = [];

const gateway = () => devnet.as('buyer1') as AgoraWalletClient & { account: LocalAccount };
const address = (role: DevRole) => getDevAccount(role).account.address;
const court = () => ({ chainId: devnet.deployment.chainId, auditCourt: devnet.deployment.contracts.auditCourt! });
const domain = () => ({ chainId: devnet.deployment.chainId, paymentChannels: devnet.deployment.contracts.paymentChannels });
const rootOf = (call: ServedCall) => createReceiptBatchTree([hashInferenceReceipt(domain(), call.receipt)]).root;

async function until<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A call provider1 answered wrongly on `channelId` (a canary's wrong answer), with its signed receipt. */
let nonce = 0;
async function wrongAnswer(channelId: Hex): Promise<ServedCall> {
  nonce++;
  const input = { pixels: [nonce] };
  const output = { digit: 7 };
  const receipt = await signInferenceReceipt(getDevAccount('provider1').account, domain(), {
    modelId: market.modelId,
    inputHash: keccak256(toHex(JSON.stringify(input))),
    paramsHash: keccak256(toHex('{}')),
    outputHash: keccak256(toHex(JSON.stringify(output))),
    channelId,
    cumulativeAmount: BigInt(nonce) * PRICE,
  });
  return { provider: address('provider1'), modelId: market.modelId, input, params: {}, output, receipt };
}

/** Two new blocks put the draw block behind the newest one (anvil mines on transactions). */
const mine = async () => {
  await devnet.increaseTime(1);
  await devnet.increaseTime(1);
};

/** The one verifier the court drew into stage 0 of `auditId` (the gateway's keeper draws it). */
async function firstVerifier(auditId: bigint): Promise<DevRole> {
  const audit = await until(`a verifier drawn into audit ${auditId}`, async () => (await mine(), getAudit(gateway(), { auditId })), (a) => a.seats.length > 0);
  const verifier = audit.seats[0]!.verifier;
  return (['provider2', 'provider3'] as const).find((role) => address(role) === verifier)!;
}

async function vote(auditId: bigint, role: DevRole, verdict: CommittableVerdict) {
  const salt = keccak256(toHex(`salt ${auditId} ${role}`));
  await commitVerdict(devnet.as(role), { auditId, verdict, salt });
  await revealVerdict(devnet.as(role), { auditId, verdict, salt });
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agora-gateway-auditor-'));
  devnet = await startTestDevnet({ stateDir: dir, deploy: { audit: WINDOWS } });
  market = await setUpMarket(devnet, ['provider1', 'provider2', 'provider3']);
  gatewayChannel = (await openChannel(gateway(), { provider: address('provider1'), modelId: market.modelId, deposit: 100n * PRICE })).channelId;
  slashedChannel = (await openChannel(gateway(), { provider: address('provider1'), modelId: market.modelId, deposit: 100n * PRICE })).channelId;
  sybilChannel = (await openChannel(devnet.as('buyer2'), { provider: address('provider2'), modelId: market.modelId, deposit: 100n * PRICE })).channelId;

  // provider1 is caught failing on `slashedChannel` before the gateway's auditor starts.
  const caught = createReceiptBatchTree([keccak256(toHex('a receipt of slashedChannel'))]);
  const { auditId, drawBlock } = await openAudit(gateway(), { channelId: slashedChannel, receiptsRoot: caught.root, receiptCount: 1, evidenceURI: 'http://127.0.0.1:1/evidence' });
  while ((await getBlockNumber(gateway())) <= drawBlock) await devnet.increaseTime(1);
  const [verifier] = (await assignVerifiers(gateway(), { auditId })).verifiers;
  await vote(auditId, (['provider2', 'provider3'] as const).find((role) => address(role) === verifier)!, 'Fail');
  await devnet.increaseTime(WINDOWS.escalationWindow);
  expect(await finalizeAudit(gateway(), { auditId })).toMatchObject({ outcome: 'Fail' });
  expect(await isSlashedOnChannel(gateway(), { channelId: slashedChannel })).toBe(true);

  evidence = openEvidenceStore({ path: join(dir, 'evidence.sqlite') });
  auditor = createGatewayAuditor({
    client: gateway(),
    evidence,
    policy: createAuditPolicy(),
    getPublicUrl: () => 'http://127.0.0.1:1',
    getScore: () => undefined,
    record: () => {},
    retireChannel: (channelId) => void retired.push(channelId),
    pollIntervalMs: 100,
    log: (_level, event, fields) => logged.push({ event, fields }),
  });
  await auditor.start();
}, 60_000);

afterAll(async () => {
  await auditor?.stop();
  evidence?.close();
  await devnet?.stop();
});

describe('the gateway auditor against attackers', () => {
  it('opens its own audit of a root a sybil claimed first on its own channel, and never hands the sybil its evidence', async () => {
    const call = await wrongAnswer(gatewayChannel);
    const root = rootOf(call);
    // The sybil knows the root in advance (a single receipt's root is its leaf) and opens it first.
    const squat = await openAudit(devnet.as('buyer2'), { channelId: sybilChannel, receiptsRoot: root, receiptCount: 1, evidenceURI: 'http://127.0.0.1:1/nothing' });
    auditor.auditCanaryFailure(call);
    const ours = await until('the gateway’s own audit of the root', () => getAuditOfRoot(gateway(), { channelId: gatewayChannel, receiptsRoot: root }), (id) => id !== undefined);
    expect(ours).not.toBe(squat.auditId);
    expect(evidence.getByRoot(root)?.auditId).toBe(ours);
    // The squat's provider (provider2) asks for the evidence as the party of the squat: refused.
    const authorization = await signEvidenceRequest({ account: getDevAccount('provider2').account, court: court(), auditId: squat.auditId });
    await expect(auditor.getEvidence(root, authorization)).rejects.toMatchObject({ code: 'NotDrawnVerifier' });
  });

  it('reopens a batch an Unverifiable left unjudged, and escalates an Unverifiable from a verifier it served', async () => {
    const call = await wrongAnswer(gatewayChannel);
    const root = rootOf(call);
    auditor.auditCanaryFailure(call);
    const first = await until('the audit opened', () => getAuditOfRoot(gateway(), { channelId: gatewayChannel, receiptsRoot: root }), (id) => id !== undefined);
    // A lazy verifier never fetches the evidence and votes Unverifiable: the gateway cannot blame it
    // (its own outage looks the same), so it does not escalate; it opens the batch again.
    await vote(first!, await firstVerifier(first!), 'Unverifiable');
    await devnet.increaseTime(WINDOWS.escalationWindow);
    const second = await until('the batch reopened', () => getAuditOfRoot(gateway(), { channelId: gatewayChannel, receiptsRoot: root }), (id) => id !== undefined && id !== first);
    expect((await getAudit(gateway(), { auditId: first! })).verdict).toBe('Unverifiable');
    expect((await getAudit(gateway(), { auditId: first! })).escalator).toBe('0x0000000000000000000000000000000000000000');
    expect(evidence.getByRoot(root)?.reopens).toBe(1); // counted on disk: a restart cannot reset the bound

    // This time the verifier is handed the evidence, and still says Unverifiable: the gateway escalates.
    const verifier = await firstVerifier(second!);
    const authorization = await signEvidenceRequest({ account: getDevAccount(verifier).account, court: court(), auditId: second! });
    expect(await auditor.getEvidence(root, authorization)).toMatchObject({ leaves: [expect.objectContaining({ input: call.input })] });
    await vote(second!, verifier, 'Unverifiable');
    const escalated = await until('the escalation', () => getAudit(gateway(), { auditId: second! }), (a) => a.stage === 1);
    expect(escalated.escalator.toLowerCase()).toBe(address('buyer1').toLowerCase());
  });

  it('does not audit a channel whose provider was already slashed for it, and stops paying on it', async () => {
    const call = await wrongAnswer(slashedChannel);
    auditor.auditCanaryFailure(call);
    await until('the batch dropped', async () => logged.some((l) => l.event.startsWith('not auditing a channel whose provider was already slashed')), (done) => done);
    expect(await getAuditOfRoot(gateway(), { channelId: slashedChannel, receiptsRoot: rootOf(call) })).toBeUndefined();
    expect(evidence.getByRoot(rootOf(call))).toBeUndefined();
    // The court takes one slash per channel: the gateway stops paying on it and opens a new one.
    expect(retired).toContain(slashedChannel);
  });

  it('retires a channel in the pool: at once when idle, after its call when busy, and for good across restarts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agora-gateway-pool-'));
    const store = openGatewayStore({ path: join(dir, 'gateway.db') });
    const pool = createChannelPool({ client: gateway(), store, deposit: 10n * PRICE, maxChannelsPerProvider: 2 });
    const lane = { provider: address('provider2'), modelId: market.modelId, price: PRICE };
    const idle = await pool.acquire(lane);
    idle.release('unserved');
    pool.retire(idle.channel.channelId, 'test');
    const busy = await pool.acquire(lane);
    expect(busy.channel.channelId).not.toBe(idle.channel.channelId); // the retired one is never handed out
    pool.retire(busy.channel.channelId, 'test');
    expect(busy.channel.retired).toBe(false); // its call goes on
    busy.release('served');
    expect(busy.channel.retired).toBe(true);
    store.close();
    const reopened = openGatewayStore({ path: join(dir, 'gateway.db') });
    expect(reopened.listChannels(lane.provider, lane.modelId)).toEqual([]);
    expect(reopened.allChannels().map((c) => c.retired)).toEqual([true, true]);
    reopened.close();
  });
});
