import { setTimeout as sleep } from 'node:timers/promises';
import { isAddressEqual, type Address, type Hex, type LocalAccount } from 'viem';
import { getBlock, getBlockNumber, getContractEvents } from 'viem/actions';
import {
  AgoraError,
  assignVerifiers,
  auditCourtAbi,
  auditVerdicts,
  escalateAudit,
  finalizeAudit,
  getAudit,
  getAuditCredit,
  replaceVerifiers,
  requireAuditCourt,
  withdrawAuditCredit,
  type AgoraWalletClient,
  type AuditVerdict,
  type GetAuditReturnType,
} from '@agora/sdk';
import { errorCode, errorMessage } from '../errorText.ts';

/**
 * How an audit of ours ended: the court's outcome (`unverifiable`: the batch's evidence was missing
 * or did not match, so nothing is known about the provider), or `cancelled` when no verifier could
 * be drawn by the draw deadline.
 */
export type AuditOutcome = { auditId: bigint; provider: Address; modelId: Hex; opener: Address; outcome: 'pass' | 'fail' | 'unverifiable' | 'cancelled' };

/** The keeper's name for a court outcome. */
const outcomeOf = (verdict: AuditVerdict): AuditOutcome['outcome'] => (verdict === 'Fail' ? 'fail' : verdict === 'Unverifiable' ? 'unverifiable' : 'pass');

/** The newest block when a pass began: what the chain's next steps are judged against. */
export type AuditChainHead = { blockNumber: bigint; timestamp: bigint };

/** What {@link createAuditKeeper} takes. */
export type AuditKeeperInit = {
  client: AgoraWalletClient & { account: LocalAccount };
  /**
   * Which audits to drive: those this wallet opened (gateway), was drawn into (verifier), and/or
   * whose receipt it signed (a provider defending its answers; see `shouldEscalate`).
   */
  watch: { opened?: boolean; drawn?: boolean; audited?: boolean };
  /** How often to look at the chain, ms (default 2,000). */
  pollIntervalMs?: number;
  /** Called once per audit of ours that ends (resolved or cancelled). */
  onEnded?: (outcome: AuditOutcome) => void;
  /** Asked once when a stage-0 verdict is one this wallet may escalate; true → escalateAudit. Default never. */
  shouldEscalate?: (audit: GetAuditReturnType) => boolean | Promise<boolean>;
  log?: (level: 'info' | 'warn', event: string, fields: Record<string, unknown>) => void;
  /**
   * Called in every pass with each unfinished audit of ours as just read, before the keeper acts on
   * it (the verifier role commits and reveals from here). It should return quickly; what it throws
   * is logged and does not stop the pass.
   */
  onAudit?: (audit: GetAuditReturnType, head: AuditChainHead) => void | Promise<void>;
  /**
   * Runs the escalation (approve the bond, then `escalateAudit`) exclusively with this wallet's
   * other court payments (the gateway opening audits): an approval replaces the allowance, so two
   * approve-then-pull sequences that interleave would leave one of them short. Default: run at once.
   */
  exclusive?: <T>(task: () => Promise<T>) => Promise<T>;
  /** Blocks per event query (default 5,000, within what public RPCs allow). */
  blockRange?: bigint;
};

/** What {@link createAuditKeeper} returns. */
export type AuditKeeper = {
  /** Starts polling every `pollIntervalMs`; the first pass starts at once. */
  start(): Promise<void>;
  /** Stops polling and waits for a pass in progress to end. */
  stop(): Promise<void>;
  /** Drives this audit too (e.g. one just opened, before its event is read). */
  track(auditId: bigint): void;
  /** Runs one pass now (after any pass in progress); never rejects. */
  pollOnce(): Promise<void>;
};

/**
 * Reverts that mean another party took the step first or the chain moved on between our read and
 * our transaction: expected in a court anyone may drive, so they are logged at info and the audit
 * is read again next pass.
 */
const RACES = new Set([
  'AuditCourtInvalidStatus',
  'AuditCourtDrawTooEarly',
  'AuditCourtRevealRunning',
  'AuditCourtEscalationRunning',
  'AuditCourtCannotEscalate',
  'AuditCourtNothingToWithdraw',
  'TransactionReverted',
]);

type Tracked = {
  auditId: bigint;
  /** From `AuditOpened` (audits we opened) or the first read. */
  parties?: { opener: Address; provider: Address; modelId: Hex };
  /** Seen ended in the events (an audit that ended before this keeper ran needs no read). */
  ended?: AuditOutcome['outcome'];
  escalationAsked: boolean;
};

/**
 * Drives the audits that concern this wallet to their end, so that no bond, bounty or refund
 * waits on someone else: draws verifiers once the draw block is mined (again after each
 * reschedule, until a verifier is found or the draw deadline cancels the audit), replaces verifiers that
 * did not reveal, finalizes a decided audit once it may be, escalates when `shouldEscalate` says
 * so, and withdraws the court's credit after each audit of ours ends.
 *
 * It keeps no store: each run reads the court's events from the deployment's first block
 * (`AuditOpened` by this wallet, `VerifierAssigned` to it), so a restart finds every unfinished
 * audit again. Audits that had already ended are reported to `onEnded` once per run as they are
 * found, so after a restart an ending may be reported again: keep `onEnded` idempotent.
 * Deadlines are judged by the newest block's timestamp, not the wall clock. Steps another party
 * took first are logged at info; a failing step is logged at warn and retried next pass; nothing
 * is thrown out of the loop.
 *
 * @example
 * const keeper = createAuditKeeper({ client, watch: { opened: true }, onEnded: (o) => console.log(o.outcome) })
 * await keeper.start()
 * keeper.track(auditId) // right after openAudit
 */
export function createAuditKeeper(init: AuditKeeperInit): AuditKeeper {
  const { client, watch } = init;
  const me = client.account.address;
  const court = requireAuditCourt(client.deployment);
  const log = init.log ?? (() => {});
  const exclusive = init.exclusive ?? (<T,>(task: () => Promise<T>) => task());
  const pollIntervalMs = init.pollIntervalMs ?? 2_000;
  const blockRange = init.blockRange ?? 5_000n;
  const tracked = new Map<bigint, Tracked>();
  /** Next block whose events are unread; the scan restarts from the deployment on each new keeper. */
  let cursor = client.deployment.startBlock;
  /** Credit may be waiting: at start (a previous run may have left some) and after each ending. */
  let creditDue = true;

  let controller = new AbortController();
  let loop: Promise<void> | undefined;
  let running: Promise<void> = Promise.resolve();

  const track = (auditId: bigint): Tracked => {
    let entry = tracked.get(auditId);
    if (!entry) tracked.set(auditId, (entry = { auditId, escalationAsked: false }));
    return entry;
  };

  /** Reads the court's events since the cursor: our audits, and which audits ended. */
  async function readEvents(signal: AbortSignal) {
    const head = await getBlockNumber(client, { cacheTime: 0 });
    while (cursor <= head && !signal.aborted) {
      const range = { address: court, abi: auditCourtAbi, fromBlock: cursor, toBlock: cursor + blockRange - 1n < head ? cursor + blockRange - 1n : head, strict: true } as const;
      const [opened, audited, drawn, resolved, cancelled] = await Promise.all([
        watch.opened ? getContractEvents(client, { ...range, eventName: 'AuditOpened', args: { opener: me } }) : [],
        watch.audited ? getContractEvents(client, { ...range, eventName: 'AuditOpened', args: { provider: me } }) : [],
        watch.drawn ? getContractEvents(client, { ...range, eventName: 'VerifierAssigned', args: { verifier: me } }) : [],
        getContractEvents(client, { ...range, eventName: 'AuditResolved' }),
        getContractEvents(client, { ...range, eventName: 'AuditCancelled' }),
      ]);
      for (const { args } of [...opened, ...audited]) track(args.auditId).parties = { opener: args.opener, provider: args.provider, modelId: args.modelId };
      for (const { args } of drawn) track(args.auditId);
      for (const { args } of resolved) {
        const entry = tracked.get(args.auditId);
        if (entry) entry.ended = outcomeOf(auditVerdicts[args.outcome] ?? 'None');
      }
      for (const { args } of cancelled) {
        const entry = tracked.get(args.auditId);
        if (entry) entry.ended = 'cancelled';
      }
      cursor = range.toBlock + 1n;
    }
  }

  /**
   * Sends one step; its result if it went through. A race (someone else was first) is logged at info,
   * anything else at warn; either way the audit is read again next pass.
   */
  async function attempt<T>(step: string, auditId: bigint, send: () => Promise<T>): Promise<T | undefined> {
    try {
      const result = await send();
      log('info', `audit ${step}`, { auditId: auditId.toString() });
      return result;
    } catch (err) {
      const code = errorCode(err);
      const race = code !== undefined && RACES.has(code);
      log(race ? 'info' : 'warn', race ? `audit ${step}: already done or not yet possible` : `audit ${step} failed, will retry`, {
        auditId: auditId.toString(),
        code,
        error: errorMessage(err),
      });
      return undefined;
    }
  }

  /** Takes the one step the audit's state calls for; returns how it ended, if it did. */
  async function step(entry: Tracked, audit: GetAuditReturnType, head: AuditChainHead): Promise<AuditOutcome['outcome'] | undefined> {
    const { auditId } = audit;
    switch (audit.status) {
      case 'Drawing': {
        // Nobody found yet is rescheduled to a later draw block, until the draw deadline cancels it.
        if (head.blockNumber <= audit.drawBlock) return undefined;
        const drawn = await attempt('verifiers drawn', auditId, () => assignVerifiers(client, { auditId }));
        return drawn?.cancelled ? 'cancelled' : undefined;
      }
      case 'Voting':
        if (head.timestamp >= audit.revealDeadline) await attempt('silent verifiers replaced', auditId, () => replaceVerifiers(client, { auditId }));
        return undefined;
      case 'Decided': {
        if (audit.stage === 0 && head.timestamp < audit.escalationDeadline) {
          // The provider may escalate a Fail; the channel's payer a Pass or an Unverifiable.
          const mayEscalate = audit.verdict === 'Fail' ? isAddressEqual(audit.provider, me) : [audit.opener, audit.buyer, audit.signer].some((payer) => isAddressEqual(payer, me));
          if (!entry.escalationAsked && mayEscalate && init.shouldEscalate) {
            const escalate = await Promise.resolve(init.shouldEscalate(audit)).catch((err: unknown) => {
              log('warn', 'shouldEscalate threw; not escalating', { auditId: auditId.toString(), error: errorMessage(err) });
              return false;
            });
            // A refusal is final; a failed escalation is tried again next pass, until the deadline.
            const done = escalate ? await attempt('escalated', auditId, () => exclusive(() => escalateAudit(client, { auditId }))) : true;
            if (done) entry.escalationAsked = true;
          }
          return undefined;
        }
        const resolved = await attempt('finalized', auditId, () => finalizeAudit(client, { auditId }));
        return resolved ? outcomeOf(resolved.outcome) : undefined;
      }
      case 'Resolved':
        return outcomeOf(audit.verdict);
      case 'Cancelled':
        return 'cancelled';
      default:
        // `None`: an RPC node behind the one that showed us the event; read again next pass.
        return undefined;
    }
  }

  /** One pass: new events, then every audit of ours one step further. */
  async function pass(signal: AbortSignal) {
    try {
      await readEvents(signal);
    } catch (err) {
      log('warn', 'cannot read audit events, will retry', { error: errorMessage(err) });
    }
    if (signal.aborted) return;
    if (tracked.size > 0 && (await advance(signal)) > 0) creditDue = true;
    if (creditDue && !signal.aborted) await withdraw();
  }

  /** Moves every audit of ours one step further; returns how many ended. */
  async function advance(signal: AbortSignal): Promise<number> {
    let head: AuditChainHead;
    try {
      const block = await getBlock(client, { blockTag: 'latest' });
      head = { blockNumber: block.number, timestamp: block.timestamp };
    } catch (err) {
      log('warn', 'cannot read the newest block, will retry', { error: errorMessage(err) });
      return 0;
    }
    let endedCount = 0;
    for (const entry of [...tracked.values()]) {
      if (signal.aborted) break;
      const id = entry.auditId.toString();
      try {
        let outcome = entry.parties ? entry.ended : undefined;
        if (!outcome) {
          const audit = await getAudit(client, { auditId: entry.auditId });
          entry.parties ??= audit.status === 'None' ? undefined : { opener: audit.opener, provider: audit.provider, modelId: audit.modelId };
          if (audit.status !== 'Resolved' && audit.status !== 'Cancelled' && init.onAudit) {
            await Promise.resolve(init.onAudit(audit, head)).catch((err: unknown) => log('warn', 'audit handler failed, will retry', { auditId: id, error: errorMessage(err) }));
          }
          outcome = await step(entry, audit, head);
        }
        if (!outcome || !entry.parties) continue;
        tracked.delete(entry.auditId);
        endedCount++;
        log('info', 'audit ended', { auditId: id, outcome });
        try {
          init.onEnded?.({ auditId: entry.auditId, ...entry.parties, outcome });
        } catch (err) {
          log('warn', 'onEnded threw', { auditId: id, error: errorMessage(err) });
        }
      } catch (err) {
        log('warn', 'audit step failed, will retry', { auditId: id, error: errorMessage(err) });
      }
    }
    return endedCount;
  }

  /** Takes what the court credited us (bonds, bounties, refunds, verifier pay), if anything. */
  async function withdraw() {
    try {
      const credit = await getAuditCredit(client, { account: me });
      if (credit > 0n) {
        const { amount } = await withdrawAuditCredit(client);
        log('info', 'audit credit withdrawn', { amount: amount.toString() });
      }
      creditDue = false;
    } catch (err) {
      const race = RACES.has(errorCode(err) ?? '');
      if (race) creditDue = false;
      log(race ? 'info' : 'warn', race ? 'audit credit already withdrawn' : 'cannot withdraw audit credit, will retry', { error: errorMessage(err) });
    }
  }

  /** Passes run one at a time, so two never send the same step. */
  const pollOnce = () => (running = running.then(() => pass(controller.signal)).catch((err: unknown) => log('warn', 'audit pass failed, will retry', { error: errorMessage(err) })));

  return {
    pollOnce,
    track(auditId) {
      track(auditId);
    },
    async start() {
      if (loop) return;
      if (controller.signal.aborted) controller = new AbortController();
      const signal = controller.signal;
      loop = (async () => {
        while (!signal.aborted) {
          await pollOnce();
          await sleep(pollIntervalMs, undefined, { signal }).catch(() => {});
        }
      })();
    },
    async stop() {
      controller.abort(new AgoraError('Stopped', 'The audit keeper is stopping.'));
      await loop;
      await running;
      loop = undefined;
    },
  };
}
