import { BaseError, ContractFunctionRevertedError, decodeErrorResult, formatUnits } from 'viem';
import { agoraAbi } from '../contracts.ts';
import { AgoraError } from './AgoraError.ts';

/** Name of every custom error an Agora contract (or an OpenZeppelin base it uses) can revert with. */
export type AgoraContractErrorName = Extract<(typeof agoraAbi)[number], { type: 'error' }>['name'];

type Explanation = { message: string; fix?: string };
type Explain = (args: readonly unknown[]) => Explanation;

const STATUS = {
  job: ['None', 'Open', 'Accepted', 'Delivered', 'Failed', 'Finalized', 'Reclaimed', 'Cancelled'],
  channel: ['None', 'Open', 'Closing', 'Closed'],
} as const;

const short = (value: unknown) => {
  const text = String(value);
  return text.length > 14 && text.startsWith('0x') ? `${text.slice(0, 8)}…${text.slice(-4)}` : text;
};
/** Token amounts in errors are shown in whole units; every Agora deployment token has 6 decimals by default. */
const amount = (value: unknown) => (typeof value === 'bigint' ? formatUnits(value, 6) : String(value));
const when = (value: unknown) => {
  // Dates beyond year 275760 cannot be shown (e.g. a "never" deadline of 2^64 - 1): print seconds.
  const ms = typeof value === 'bigint' ? Number(value) * 1000 : Number.NaN;
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${String(value)} (unix seconds)`;
};

/**
 * What each custom error means for a user, and what to do about it. Keyed by error name so a
 * renamed or new Solidity error fails type-checking here until it is explained.
 */
const EXPLAIN: Partial<Record<AgoraContractErrorName, Explain>> & Record<string, Explain | undefined> = {
  // ProviderRegistry
  ProviderRegistryNotRegistered: ([account]) => ({
    message: `${short(account)} is not a registered provider.`,
    fix: 'register the account as a provider first (registerProvider).',
  }),
  ProviderRegistryAlreadyRegistered: ([p]) => ({
    message: `${short(p)} is already registered as a provider.`,
    fix: 'use updateProvider to change the endpoint or key.',
  }),
  ProviderRegistryEmptyEndpoint: () => ({ message: 'The provider endpoint URL is empty.', fix: 'pass the URL where your node answers calls.' }),
  ProviderRegistryZeroAmount: () => ({ message: 'The amount is zero.', fix: 'pass a positive amount.' }),
  ProviderRegistryInsufficientStake: ([p, stake, needed]) => ({
    message: `Provider ${short(p)} has ${amount(stake)} staked, less than the ${amount(needed)} this needs (an offer needs the minimum stake; an unbond at most what is staked).`,
    fix: 'stake more before setting an offer, or unbond at most the staked amount.',
  }),
  ProviderRegistryAuditPending: ([p, open]) => ({
    message: `Provider ${short(p)} has ${open} audit(s) still open; its unbonded stake stays until they are judged.`,
    fix: 'wait until the audits end (they are finalized within the court windows), then withdraw.',
  }),
  ProviderRegistryUnbondingNotReady: ([p, readyAt, amt]) => ({
    message:
      amt === 0n
        ? `Provider ${short(p)} has nothing unbonding.`
        : `The ${amount(amt)} unbonding for ${short(p)} can be withdrawn from ${when(readyAt)}.`,
    fix: amt === 0n ? 'request an unbond first.' : 'wait until the unbonding delay has passed.',
  }),
  ProviderRegistryUnknownModel: ([id]) => ({ message: `Model ${short(id)} is not registered.`, fix: 'register the model in the ModelRegistry first.' }),
  ProviderRegistryNoOffer: ([p, id]) => ({ message: `Provider ${short(p)} has no offer for model ${short(id)}.` }),
  ProviderRegistryZeroPrice: () => ({ message: 'An offer needs a price above zero.' }),
  ProviderRegistryUnauthorized: ([caller]) => ({ message: `${short(caller)} is not the audit court; only it may jail or slash.` }),
  // ModelRegistry
  ModelRegistryModelExists: ([id]) => ({ message: `Model ${short(id)} (same weights, runtime and quantization) is already registered.`, fix: 'use the existing model id.' }),
  ModelRegistryUnknownModel: ([id]) => ({ message: `Model ${short(id)} is not registered.` }),
  ModelRegistryNotPublisher: ([id, caller, publisher]) => ({ message: `${short(caller)} is not the publisher of model ${short(id)} (${short(publisher)} is).` }),
  ModelRegistryInvalidRoyalty: ([receiver, bps, max]) => ({
    message: `Royalty of ${bps} bps to ${short(receiver)} is invalid.`,
    fix: `use at most ${max} bps, and a non-zero receiver when the royalty is above zero.`,
  }),
  ModelRegistryEmptyField: ([field]) => ({ message: `The model's ${field} is empty.`, fix: `pass a ${field}.` }),
  // Settlement (JobMarket + PaymentChannels)
  SettlementInvalidFee: ([fee, max]) => ({ message: `Protocol fee ${fee} bps is invalid.`, fix: `use at most ${max} bps and a treasury address.` }),
  SettlementNothingToWithdraw: ([account]) => ({ message: `${short(account)} has nothing to withdraw.` }),
  SettlementZeroAmount: () => ({ message: 'The amount is zero.', fix: 'pass a positive amount.' }),
  SettlementUnknownModel: ([id]) => ({ message: `Model ${short(id)} is not registered.`, fix: 'check the model id against the ModelRegistry (getModels).' }),
  SettlementRoyaltyAboveMax: ([id, bps, max]) => ({
    message: `Model ${short(id)}'s royalty is ${bps} bps, above the ${max} bps agreed to; its publisher raised it.`,
    fix: 'read the new rate (getModel) and open or accept again only if you agree to it.',
  }),
  // JobMarket
  JobMarketUnknownJob: ([id]) => ({ message: `Job ${id} does not exist.` }),
  JobMarketInvalidStatus: ([id, status]) => ({
    message: `Job ${id} is ${STATUS.job[Number(status)] ?? status}, which does not allow this.`,
  }),
  JobMarketNotBuyer: ([id, caller]) => ({ message: `${short(caller)} is not the buyer of job ${id}.` }),
  JobMarketNotProvider: ([id, caller]) => ({ message: `${short(caller)} is not the provider of job ${id}.` }),
  JobMarketInvalidDeadline: ([deadline]) => ({ message: `The deadline ${when(deadline)} is not in the future.`, fix: 'pass a later deadline.' }),
  JobMarketDeadlinePassed: ([id, deadline]) => ({ message: `Job ${id}'s deadline (${when(deadline)}) has passed.`, fix: 'the buyer can reclaim the escrow.' }),
  JobMarketDeadlineNotPassed: ([id, deadline]) => ({ message: `Job ${id} can be reclaimed only after its deadline, ${when(deadline)}.`, fix: 'wait, or cancel it if no provider accepted it yet.' }),
  JobMarketProviderUnavailable: ([p, id]) => ({ message: `Provider ${short(p)} is not active or does not offer model ${short(id)}.`, fix: 'stake at least the minimum and set an offer for the model.' }),
  JobMarketPriceTooHigh: ([id, price, max]) => ({
    message: `The offer price ${amount(price)} is above what job ${id} pays (${amount(max)}).`,
    fix: 'a job pays the price fixed when it opened: a named provider\'s offer then, else its max price.',
  }),
  JobMarketInvalidChallengeWindow: ([window]) => ({
    message: `challengeWindow ${window} s is invalid: a delivery would be paid before any audit could dispute it.`,
    fix: 'deploy with a challenge window above zero, e.g. 3600 s.',
  }),
  JobMarketInvalidReceipt: ([id, recovered]) => ({ message: `The receipt for job ${id} was signed by ${short(recovered)}, not by the job's provider.` }),
  JobMarketChallengeWindowOpen: ([id, endsAt]) => ({ message: `Job ${id} can be finalized from ${when(endsAt)}, when its challenge window closes.` }),
  JobMarketEmptyOutput: ([id]) => ({ message: `The output hash for job ${id} is zero.` }),
  // PaymentChannels
  PaymentChannelsUnknownChannel: ([id]) => ({ message: `Channel ${short(id)} does not exist.`, fix: 'check the channel id and that the deployment file is for this chain.' }),
  PaymentChannelsInvalidStatus: ([id, status]) => ({ message: `Channel ${short(id)} is ${STATUS.channel[Number(status)] ?? status}, which does not allow this.` }),
  PaymentChannelsNotBuyer: ([id, caller]) => ({ message: `${short(caller)} is not the buyer of channel ${short(id)}.` }),
  PaymentChannelsNotProvider: ([id, caller]) => ({ message: `${short(caller)} is not the provider of channel ${short(id)}.` }),
  PaymentChannelsInvalidChallengePeriod: ([period]) => ({
    message: `challengePeriod ${period} s is invalid: a buyer could close in the block it was served and the provider could never redeem.`,
    fix: 'deploy with a challenge period above zero, e.g. 86400 s.',
  }),
  PaymentChannelsProviderUnavailable: ([p, id]) => ({ message: `Provider ${short(p)} is not active or does not offer model ${short(id)}.`, fix: 'pick a provider with a live offer for the model (getOffersForModel).' }),
  PaymentChannelsInvalidVoucherSignature: ([id, recovered, signer]) => ({
    message: `The voucher for channel ${short(id)} was signed by ${short(recovered)}, not by the channel's signer ${short(signer)}.`,
    fix: 'it is forged, or signed for another chain or contract; sign it with the channel signer for this deployment.',
  }),
  PaymentChannelsVoucherNotNewer: ([id, cumulative, redeemed]) => ({
    message: `The voucher for channel ${short(id)} owes ${amount(cumulative)}, but ${amount(redeemed)} is already redeemed.`,
    fix: 'it is a replay or a stale voucher; redeem the newest one.',
  }),
  PaymentChannelsChallengeOver: ([id, closesAt]) => ({ message: `Channel ${short(id)}'s challenge period ended at ${when(closesAt)}; it can no longer be redeemed.` }),
  PaymentChannelsChallengeRunning: ([id, closesAt]) => ({ message: `Channel ${short(id)} is closing; the buyer can withdraw from ${when(closesAt)}.`, fix: 'wait until the challenge period is over.' }),
  // AuditCourt
  AuditCourtNotPayer: ([channelId, caller]) => ({
    message: `${short(caller)} is not the payer of channel ${short(channelId)}: only its buyer, its voucher signer, or an auditor the buyer allowed may open or escalate audits of its receipts.`,
    fix: 'open the audit from the channel buyer\'s account, or have the buyer call setAuditor for this account.',
  }),
  AuditCourtUnknownChannel: ([channelId]) => ({ message: `Channel ${short(channelId)} does not exist in this deployment's PaymentChannels.`, fix: 'audit the channel the receipts name, on the chain they were signed for.' }),
  AuditCourtInvalidBatch: ([root, count]) => ({
    message: `A batch of ${count} receipt(s) under root ${short(root)} cannot be audited: an audit covers 1 to 64 receipts under a non-zero root.`,
    fix: 'build the batch with createReceiptBatchTree.',
  }),
  AuditCourtBatchAlreadyAudited: ([root, auditId]) => ({ message: `The batch with root ${short(root)} is already audited (audit ${auditId}).`, fix: 'follow that audit (getAudit); a root is freed again only if its audit is cancelled or ends Unverifiable.' }),
  AuditCourtInvalidAuditor: ([auditor]) => ({ message: `${short(auditor)} cannot be an auditor.`, fix: 'name a non-zero address.' }),
  AuditCourtUnknownAudit: ([auditId]) => ({ message: `Audit ${auditId} does not exist.` }),
  AuditCourtInvalidStatus: ([auditId, status]) => ({
    message: `Audit ${auditId} is ${['None', 'Drawing', 'Voting', 'Decided', 'Resolved', 'Cancelled'][Number(status)] ?? status}, which does not allow this.`,
  }),
  AuditCourtDrawTooEarly: ([auditId, drawBlock]) => ({ message: `Audit ${auditId}'s verifiers are drawn with the hash of block ${drawBlock}, which is not mined yet.`, fix: 'call again after that block.' }),
  AuditCourtNotVerifier: ([auditId, caller]) => ({ message: `${short(caller)} holds no open seat in audit ${auditId}'s current stage.` }),
  AuditCourtAlreadyCommitted: ([auditId, verifier]) => ({ message: `${short(verifier)} already committed a verdict on audit ${auditId}; a commitment cannot be changed.`, fix: 'reveal the verdict you committed.' }),
  AuditCourtCommitClosed: ([auditId, deadline]) => ({ message: `Audit ${auditId}'s commit window closed at ${when(deadline)}.` }),
  AuditCourtRevealNotOpen: ([auditId, deadline]) => ({ message: `Reveals of audit ${auditId} open when every verifier has committed, or at ${when(deadline)}.`, fix: 'wait, then reveal.' }),
  AuditCourtRevealClosed: ([auditId, deadline]) => ({ message: `Audit ${auditId}'s reveal window closed at ${when(deadline)}.` }),
  AuditCourtCommitmentMismatch: ([auditId, verifier]) => ({ message: `The verdict and salt ${short(verifier)} revealed on audit ${auditId} are not what it committed.`, fix: 'reveal exactly the verdict and salt of the commitment.' }),
  AuditCourtRevealRunning: ([auditId, deadline]) => ({ message: `Audit ${auditId}'s reveal window runs until ${when(deadline)}.`, fix: 'replace silent verifiers after it.' }),
  AuditCourtCannotEscalate: ([auditId, caller]) => ({
    message: `${short(caller)} cannot escalate audit ${auditId}: only the provider against a Fail, or the channel's payer against a Pass or Unverifiable, once, within the escalation window.`,
  }),
  AuditCourtEscalationRunning: ([auditId, deadline]) => ({ message: `Audit ${auditId} may still be escalated until ${when(deadline)}.`, fix: 'finalize it after that.' }),
  AuditCourtNothingToWithdraw: ([account]) => ({ message: `${short(account)} has no AuditCourt credit to withdraw.` }),
  AuditCourtInvalidConfig: ([parameter]) => ({ message: `The AuditCourt refuses its deploy parameters: ${parameter}.`, fix: 'change that parameter and deploy again.' }),
  // ScoreRoots
  ScoreRootsEpochNotAfterLatest: ([publisher, epoch, latest]) => ({
    message: `Epoch ${epoch} is not after epoch ${latest}, the last one ${short(publisher)} posted: a posted epoch is never rewritten or filled in behind.`,
    fix: `publish epoch ${typeof latest === 'bigint' ? latest + 1n : latest} or later.`,
  }),
  ScoreRootsEmptyEpoch: () => ({ message: 'The epoch has no scores (zero root or zero leaves).', fix: 'skip epochs without scores.' }),
  // DevUSD and OpenZeppelin
  ERC20InsufficientBalance: ([sender, balance, needed]) => ({
    message: `${short(sender)} holds ${amount(balance)} tokens but ${amount(needed)} are needed.`,
    fix: 'fund the account with the deployment token first (on a devnet, the dev accounts printed by `agora up` are funded).',
  }),
  ERC20InsufficientAllowance: ([spender, allowance, needed]) => ({
    message: `${short(spender)} may spend ${amount(allowance)} of your tokens but needs ${amount(needed)}.`,
    fix: 'approve the contract first (the sdk does this unless `approve: false`).',
  }),
  SafeCastOverflowedUintDowncast: ([bits, value]) => ({
    message: `The amount ${amount(value)} is larger than a ${bits}-bit escrow or deposit can hold.`,
    fix: 'use a smaller amount.',
  }),
  OwnableUnauthorizedAccount: ([account]) => ({ message: `${short(account)} is not the owner.` }),
  DevUSDAuthorizationNotYetValid: ([after]) => ({ message: `The authorization is valid only after ${when(after)}.` }),
  DevUSDAuthorizationExpired: ([before]) => ({ message: `The authorization expired at ${when(before)}.`, fix: 'sign a new one.' }),
  DevUSDAuthorizationUsed: ([authorizer, nonce]) => ({ message: `Authorization nonce ${short(nonce)} of ${short(authorizer)} was already used or cancelled.` }),
  DevUSDInvalidSignature: ([expected, recovered]) => ({ message: `The authorization was signed by ${short(recovered)}, not by ${short(expected)}.` }),
  DevUSDCallerMustBePayee: ([caller, payee]) => ({ message: `${short(caller)} is not the payee ${short(payee)}; only the payee may submit receiveWithAuthorization.` }),
  ERC2612ExpiredSignature: ([deadline]) => ({ message: `The permit expired at ${when(deadline)}.` }),
  ERC2612InvalidSigner: ([signer, owner]) => ({ message: `The permit was signed by ${short(signer)}, not by the owner ${short(owner)}.` }),
};

/** A contract call reverted with one of Agora's custom errors. `code` is the Solidity error name. */
export class ContractRevertedError extends AgoraError {
  override name = 'ContractRevertedError';
  declare readonly code: AgoraContractErrorName | 'UnknownRevert';
  /** Decoded arguments of the Solidity error. */
  readonly args: readonly unknown[];

  constructor(errorName: AgoraContractErrorName | 'UnknownRevert', args: readonly unknown[], context: string, cause: unknown) {
    const explained = EXPLAIN[errorName]?.(args) ?? {
      message: errorName === 'UnknownRevert' ? 'The transaction reverted without a known reason.' : `The contract rejected the call: ${errorName}.`,
    };
    super(errorName, `${context} failed: ${explained.message}`, { fix: explained.fix, cause });
    this.args = args;
  }
}

/**
 * Turns whatever viem threw for a contract call into an {@link AgoraError}: custom errors are decoded
 * by name into a {@link ContractRevertedError}; anything else is wrapped with context.
 */
export function toAgoraError(err: unknown, context: string): AgoraError {
  if (err instanceof AgoraError) return err;
  if (err instanceof BaseError) {
    const reverted = err.walk((e) => e instanceof ContractFunctionRevertedError);
    if (reverted instanceof ContractFunctionRevertedError) {
      let data: { errorName: string; args?: readonly unknown[] | undefined } | undefined = reverted.data;
      // viem decodes with the called contract's ABI only; errors bubbling up from another contract
      // (the token's ERC20InsufficientBalance inside openChannel, say) need every Agora ABI.
      if (!data && reverted.raw) {
        try {
          data = decodeErrorResult({ abi: agoraAbi, data: reverted.raw });
        } catch {
          // Not one of ours: reported as UnknownRevert below.
        }
      }
      const name = data?.errorName as AgoraContractErrorName | undefined;
      return new ContractRevertedError(name ?? 'UnknownRevert', data?.args ?? [], context, err);
    }
  }
  return new AgoraError('ChainCallFailed', `${context} failed.`, {
    cause: err,
    fix: 'check that the RPC URL is reachable and the deployment file matches the chain.',
  });
}
