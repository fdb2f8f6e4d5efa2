import { isAddressEqual, toHex, type LocalAccount } from 'viem';
import { getBlock } from 'viem/actions';
import {
  AgoraError,
  commitVerdict,
  getAudit,
  getAuditEvidenceURI,
  requireAuditCourt,
  revealVerdict,
  type AgoraWalletClient,
  type AuditSeat,
  type GetAuditReturnType,
} from '@agora/sdk';
import type { ServedModel } from '../provider/servedModel.ts';
import type { VerifierModel } from '../verifier/verifyReceipt.ts';
import { createAuditKeeper, type AuditChainHead } from './auditKeeper.ts';
import { signEvidenceRequest } from './evidenceAuth.ts';
import { DEFAULT_MAX_EVIDENCE_BYTES, fetchEvidence } from './fetchEvidence.ts';
import { judgeAuditBatch } from './judgeAuditBatch.ts';
import { openVerdictStore, type StoredVerdict, type VerdictStore } from './verdictStore.ts';
import { errorCode, errorMessage } from '../errorText.ts';

/** A served model as the verifier re-executes it: `run` for exact mode, `verifierRuntime` (a llama runtime) for tolerance mode. */
export type VerifierServedModel = ServedModel & { verifierRuntime?: VerifierModel['runtime'] };

/** What {@link createVerifierRole} takes. */
export type VerifierRoleInit = {
  client: AgoraWalletClient & { account: LocalAccount };
  /** The models this provider serves: it is drawn only into audits of models it offers. */
  models: VerifierServedModel[];
  /** The verdict database, or where to open it (closed again by `stop()`). */
  store: VerdictStore | { path: string };
  /** How often to look at the court, ms (default 2,000). */
  pollIntervalMs?: number;
  /** Largest evidence body read, bytes (default 8 MiB). */
  maxEvidenceBytes?: number;
  /** Give up one evidence download after this long, ms (default 30 s); it is tried again later. */
  evidenceTimeoutMs?: number;
  /**
   * Stop waiting for evidence this many seconds before the commit deadline and commit Unverifiable
   * (default: a quarter of the court's commit window, at most 120 s), leaving time to commit and reveal.
   */
  commitMarginSeconds?: number;
  /**
   * Escalate a Fail verdict on a batch of this provider's own receipts when its own re-check of
   * every receipt passes (default true). Costs the escalation bond, returned if the panel agrees.
   */
  defendOwnReceipts?: boolean;
  log?: (level: 'info' | 'warn' | 'error', event: string, fields: Record<string, unknown>) => void;
};

/** What {@link createVerifierRole} returns. */
export type VerifierRole = {
  /** The verdict database (read it to see what the verifier decided). */
  store: VerdictStore;
  /** Starts watching the court; the first pass starts at once. */
  start(): Promise<void>;
  /** Stops polling, aborts work in progress (a decided verdict stays in the store) and closes a store it opened. */
  stop(): Promise<void>;
  /** Runs one pass now; the verification work it starts goes on in the background. */
  pollOnce(): Promise<void>;
};

/** Longest wait between two evidence downloads of one audit, ms. */
const MAX_EVIDENCE_BACKOFF_MS = 60_000;

/**
 * The verifier role of a provider: judges the audits the court draws it into. For each seat of
 * ours it fetches the audited batch's evidence from the opener (signed request: every receipt with
 * its signature and call), judges it with `judgeAuditBatch` on our copy of the model (root, count,
 * channel and signatures checked, every receipt re-executed), saves verdict and salt (before
 * anything is sent), commits once, and reveals as soon as reveals open. An
 * {@link createAuditKeeper} with `watch.drawn` finds the seats (from the court's events, so a
 * restart finds them again) and drives the audit on (draws, replacements, finalization) and
 * withdraws what the court pays us.
 *
 * Decisions where no re-execution is possible:
 * - Evidence that cannot be fetched until `commitMarginSeconds` before the commit deadline, or
 *   that does not match the audit's root: **Unverifiable**. Nothing is shown against the provider,
 *   but nothing clears it either; the opener's bond pays the verifiers for the work.
 * - A model we do not serve (our offer outlived the model), or our own re-execution failing: **no
 *   commitment**, logged at error. A guessed verdict would be a false vote; the court fines and
 *   replaces a silent verifier, which is the honest cost of being unable to judge.
 *
 * @example
 * const verifier = createVerifierRole({ client, models, store: { path: join(stateDir, 'verdicts.db') } })
 * await verifier.start(); …; await verifier.stop()
 */
export function createVerifierRole(init: VerifierRoleInit): VerifierRole {
  const { client } = init;
  const me = client.account.address;
  const court = { chainId: client.deployment.chainId, auditCourt: requireAuditCourt(client.deployment) };
  const domain = { chainId: client.deployment.chainId, paymentChannels: client.deployment.contracts.paymentChannels };
  const log = init.log ?? (() => {});
  const store = 'path' in init.store ? openVerdictStore({ path: init.store.path, court }) : init.store;
  const ownsStore = 'path' in init.store;
  const models = new Map<string, VerifierModel>(
    init.models.map((m) => [m.descriptor.modelId.toLowerCase(), { descriptor: m.descriptor, run: m.run.bind(m), runtime: m.verifierRuntime }]),
  );
  const maxEvidenceBytes = init.maxEvidenceBytes ?? DEFAULT_MAX_EVIDENCE_BYTES;
  const evidenceTimeoutMs = init.evidenceTimeoutMs ?? 30_000;
  const commitWindow = client.deployment.parameters.audit?.commitWindow ?? 3_600n;
  const commitMargin = BigInt(init.commitMarginSeconds ?? Math.min(120, Number(commitWindow / 4n)));

  let controller = new AbortController();
  /** One piece of work per audit at a time, so a seat is never committed twice at once. */
  const inFlight = new Map<bigint, Promise<void>>();
  const evidenceURIs = new Map<bigint, string>();
  const evidenceTries = new Map<bigint, { failures: number; nextAt: number; lastError: string }>();
  /** Audits already reported as impossible to judge, so the error is logged once. */
  const unjudgeable = new Set<bigint>();

  /**
   * Chain time the next block will have at least: devnets mine on demand, so the newest block can
   * lag the wall clock, and the next block is as late as both.
   */
  const nextBlockTime = (head: AuditChainHead) => {
    const wall = BigInt(Math.floor(Date.now() / 1000));
    return head.timestamp > wall ? head.timestamp : wall;
  };
  const ourSeat = (audit: GetAuditReturnType): AuditSeat | undefined =>
    audit.seats.find((seat) => seat.stage === audit.stage && isAddressEqual(seat.verifier, me));

  /** Called by the keeper with each audit of ours: starts work on a seat that needs it. */
  function onAudit(audit: GetAuditReturnType, head: AuditChainHead) {
    if (audit.status !== 'Voting' || controller.signal.aborted) return;
    const seat = ourSeat(audit);
    if (!seat || inFlight.has(audit.auditId)) return;
    if (seat.status === 'Revealed' || seat.status === 'Replaced') {
      const stored = store.get(audit.auditId, seat.stage);
      if (stored && !stored.finished) {
        if (seat.status === 'Revealed') store.markRevealed(audit.auditId, seat.stage); // revealed before a crash
        else store.markFinished(audit.auditId);
      }
      return;
    }
    const work = judge(audit, head, controller.signal)
      .catch((err: unknown) => {
        if (!controller.signal.aborted) log('warn', 'verifier step failed, will retry', { auditId: audit.auditId.toString(), error: errorMessage(err) });
      })
      .finally(() => inFlight.delete(audit.auditId));
    inFlight.set(audit.auditId, work);
  }

  /** Commits (deciding first if needed), then reveals once reveals open; each step resumes where the chain stands. */
  async function judge(audit: GetAuditReturnType, head: AuditChainHead, signal: AbortSignal) {
    const { auditId } = audit;
    const seat = ourSeat(audit)!;
    let stored = store.get(auditId, seat.stage);
    const now = nextBlockTime(head);
    if (seat.status === 'Committed' && !stored) {
      // Committed on-chain, but the salt is gone (the store was lost): a commitment cannot be
      // replaced, so this seat cannot reveal; the court will fine and replace it.
      if (!unjudgeable.has(auditId)) log('error', 'committed on this audit but its verdict and salt are not in the store: cannot reveal', { auditId: auditId.toString() });
      unjudgeable.add(auditId);
      return;
    }
    if (seat.status === 'Drawn') {
      if (now >= audit.commitDeadline) {
        if (!unjudgeable.has(auditId)) log('error', 'commit window closed before this verifier committed', { auditId: auditId.toString(), commitDeadline: audit.commitDeadline.toString() });
        unjudgeable.add(auditId);
        return;
      }
      stored ??= await decide(audit, now, signal);
      if (!stored || signal.aborted) return;
      if (!(await send('committed', stored, () => commitVerdict(client, { auditId, verdict: stored!.verdict, salt: stored!.salt })))) return;
      store.markCommitted(auditId, stored.stage);
      // Often the reveal is open at once (a single seat): read again instead of waiting a pass.
      audit = await getAudit(client, { auditId });
      const block = await getBlock(client, { blockTag: 'latest' });
      head = { blockNumber: block.number, timestamp: block.timestamp };
    }
    if (!stored || signal.aborted || audit.status !== 'Voting') return;
    if (ourSeat(audit)?.status !== 'Committed') return;
    if (!stored.committed) store.markCommitted(auditId, stored.stage); // committed before a crash
    const revealAt = nextBlockTime(head);
    const allCommitted = audit.seats.every((s) => s.stage !== audit.stage || s.status !== 'Drawn');
    if (!allCommitted && revealAt < audit.commitDeadline) return; // others are still deciding
    if (revealAt >= audit.revealDeadline) {
      if (!unjudgeable.has(auditId)) log('error', 'reveal window closed before this verifier revealed', { auditId: auditId.toString(), revealDeadline: audit.revealDeadline.toString() });
      unjudgeable.add(auditId);
      return;
    }
    if (await send('revealed', stored, () => revealVerdict(client, { auditId, verdict: stored!.verdict, salt: stored!.salt }))) {
      store.markRevealed(auditId, stored.stage);
    }
  }

  /** Sends a commit or reveal; true if mined. Expected reverts are logged at info, fatal ones at error. */
  async function send(step: 'committed' | 'revealed', verdict: StoredVerdict, tx: () => Promise<unknown>): Promise<boolean> {
    const fields = { auditId: verdict.auditId.toString(), stage: verdict.stage, verdict: verdict.verdict };
    try {
      await tx();
      log('info', `verdict ${step}`, { ...fields, reasons: verdict.reasons });
      return true;
    } catch (err) {
      const code = errorCode(err);
      // Too late, or a commitment that is not ours to open: retrying cannot help.
      const fatal =
        code === 'AuditCourtCommitClosed' || code === 'AuditCourtRevealClosed' || code === 'AuditCourtCommitmentMismatch' || code === 'AuditCourtNotVerifier' || code === 'AuditCourtAlreadyCommitted';
      // Reveals not open yet, or the audit moved on: read again next pass.
      const expected = code === 'AuditCourtRevealNotOpen' || code === 'AuditCourtInvalidStatus' || code === 'TransactionReverted';
      log(fatal ? 'error' : expected ? 'info' : 'warn', `verdict not ${step}${fatal ? '' : ', will retry'}`, { ...fields, code, error: errorMessage(err) });
      return false;
    }
  }

  /** Fetches an audit's batch evidence as `me` (a drawn verifier, or the audited provider). */
  async function fetchBatch(auditId: bigint, signal: AbortSignal) {
    let url = evidenceURIs.get(auditId);
    if (!url) evidenceURIs.set(auditId, (url = await getAuditEvidenceURI(client, { auditId })));
    const authorization = await signEvidenceRequest({ account: client.account, court, auditId });
    return fetchEvidence({ url, authorization, maxBytes: maxEvidenceBytes, signal: AbortSignal.any([signal, AbortSignal.timeout(evidenceTimeoutMs)]) });
  }

  /**
   * Reaches a verdict and saves it with a fresh salt; undefined while it cannot be reached yet
   * (evidence not fetched and time left, our own run failed) or never (a model we do not serve).
   */
  async function decide(audit: GetAuditReturnType, now: bigint, signal: AbortSignal): Promise<StoredVerdict | undefined> {
    const { auditId } = audit;
    const id = auditId.toString();
    const model = models.get(audit.modelId.toLowerCase());
    if (!model) {
      if (!unjudgeable.has(auditId)) {
        log('error', 'drawn into an audit of a model this node does not serve; not committing (the court will fine and replace this seat): withdraw the offer of models you no longer load', { auditId: id, modelId: audit.modelId });
      }
      unjudgeable.add(auditId);
      return undefined;
    }
    const giveUpAt = audit.commitDeadline - commitMargin;
    const save = (verdict: StoredVerdict['verdict'], reasons: string[]) =>
      store.save({ auditId, stage: audit.stage, verdict, salt: toHex(crypto.getRandomValues(new Uint8Array(32))), reasons });

    const tries = evidenceTries.get(auditId);
    if (tries && Date.now() < tries.nextAt && now < giveUpAt) return undefined;
    let leaves;
    try {
      leaves = (await fetchBatch(auditId, signal)).leaves;
    } catch (err) {
      if (signal.aborted) return undefined;
      const failures = (tries?.failures ?? 0) + 1;
      const error = errorMessage(err);
      if (now < giveUpAt) {
        const backoff = Math.min(MAX_EVIDENCE_BACKOFF_MS, 1_000 * 2 ** failures);
        evidenceTries.set(auditId, { failures, nextAt: Date.now() + backoff, lastError: error });
        log('info', 'evidence not available yet, will retry', { auditId: id, failures, retryInMs: backoff, giveUpAt: giveUpAt.toString(), error });
        return undefined;
      }
      log('info', 'evidence unavailable until the commit deadline drew near: voting Unverifiable', { auditId: id, failures, error });
      return save('Unverifiable', [`The opener's evidence could not be fetched (${failures} tries; last: ${error}); without it nothing can be checked, and nothing is cleared.`]);
    }
    evidenceTries.delete(auditId);

    try {
      const { verdict, reasons } = await judgeAuditBatch({ audit, domain, leaves, model, signal });
      log('info', 'audit judged', { auditId: id, verdict, receipts: leaves.length, reasons });
      return save(verdict, reasons);
    } catch (err) {
      if (signal.aborted) return undefined;
      // Our own machine could not judge (model file, memory): no verdict rather than a guess.
      log(now >= giveUpAt ? 'error' : 'warn', 'cannot re-execute the audited calls; no verdict yet', { auditId: id, code: errorCode(err), error: errorMessage(err) });
      return undefined;
    }
  }

  /**
   * A provider's defence: when the first verdict on a batch of its own receipts is Fail, it fetches
   * the batch (the opener hands the audited provider its evidence too), re-checks every receipt
   * with its own copy of the model, and takes the audit to a panel of three only if its own check
   * passes. A false Fail (a careless or colluding verifier, a tolerance check at its edge) is then
   * overturned and the verifier fined; a provider that really answered wrongly does not escalate,
   * since it would lose the escalation bond too.
   */
  async function shouldDefend(audit: GetAuditReturnType): Promise<boolean> {
    if (!isAddressEqual(audit.provider, me) || audit.verdict !== 'Fail') return false;
    const id = audit.auditId.toString();
    const model = models.get(audit.modelId.toLowerCase());
    if (!model) return false;
    try {
      const { leaves } = await fetchBatch(audit.auditId, controller.signal);
      const { verdict, reasons } = await judgeAuditBatch({ audit, domain, leaves, model, signal: controller.signal });
      const defend = verdict === 'Pass';
      log(defend ? 'warn' : 'info', defend ? 'our batch was judged Fail but our own check of every receipt passes: escalating to a panel' : `our batch was judged Fail and our own check says ${verdict}: not escalating`, { auditId: id, reasons });
      return defend;
    } catch (err) {
      log('warn', 'our batch was judged Fail and we cannot re-check it; not escalating', { auditId: id, code: errorCode(err), error: errorMessage(err) });
      return false;
    }
  }

  const keeper = createAuditKeeper({
    client,
    watch: { drawn: true, audited: init.defendOwnReceipts ?? true },
    shouldEscalate: shouldDefend,
    ...(init.pollIntervalMs !== undefined ? { pollIntervalMs: init.pollIntervalMs } : {}),
    log,
    onAudit,
    onEnded: ({ auditId }) => {
      store.markFinished(auditId);
      evidenceURIs.delete(auditId);
      evidenceTries.delete(auditId);
      unjudgeable.delete(auditId);
    },
  });

  return {
    store,
    pollOnce: () => keeper.pollOnce(),
    async start() {
      if (controller.signal.aborted) controller = new AbortController();
      // Verdicts a previous run committed but did not reveal: look at them first, events or not.
      for (const verdict of store.listUnfinished()) keeper.track(verdict.auditId);
      await keeper.start();
    },
    async stop() {
      await keeper.stop();
      controller.abort(new AgoraError('Stopped', 'The verifier role is stopping.'));
      await Promise.allSettled([...inFlight.values()]);
      if (ownsStore) store.close();
    },
  };
}
