// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ProviderRegistry} from "./ProviderRegistry.sol";
import {PaymentChannels} from "./PaymentChannels.sol";

/// @title AuditCourt
/// @notice Audits of the InferenceReceipts providers sign for paid calls, in batches. The payer of
/// a channel (its buyer, its voucher signer, or an address the buyer authorised) opens an audit of
/// a Merkle root over up to `MAX_BATCH` of the channel's receipts, with a bond. Verifiers are drawn
/// from the model's candidate list as it stood when the audit opened, with the hash of a block
/// mined later, so neither side can pick or steer them; they fetch every leaf's evidence off-chain,
/// re-execute it and commit, then reveal, a verdict: Pass, Fail, or Unverifiable (evidence missing
/// or not matching the root). Missing evidence never clears a provider. The losing side may
/// escalate to a panel of three, which decides by majority; panellists and first verifiers in the
/// minority are fined. A confirmed failure slashes the provider (refund to the channel's buyer,
/// bounty to the verifiers who found it, the rest to the treasury); a false accusation forfeits the
/// opener's bond to the verifiers; a verifier who does not answer in time is jailed, fined and
/// replaced. This contract is the ProviderRegistry's `auditCourt`, the only address that can jail
/// and slash, and it keeps the registry's count of open audits so stake cannot leave mid-audit.
contract AuditCourt is ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice A verifier's answer. `None`: not revealed (yet). `Unverifiable`: the batch's evidence
    /// was missing or did not match its root, count, channel or signatures.
    enum Verdict {
        None,
        Pass,
        Fail,
        Unverifiable
    }

    /// @notice Life of an audit. `Drawing`: waiting for the draw block, then `assignVerifiers`.
    /// `Voting`: drawn verifiers commit and reveal. `Decided`: the current stage has its verdict
    /// (stage 0: open to escalation until `escalationDeadline`). `Resolved` and `Cancelled` are final.
    enum AuditStatus {
        None,
        Drawing,
        Voting,
        Decided,
        Resolved,
        Cancelled
    }

    /// @notice Life of a verifier's seat. `Replaced`: it did not reveal in time and was penalised.
    enum SeatStatus {
        None,
        Drawn,
        Committed,
        Revealed,
        Replaced
    }

    /// @notice The receipt a provider signs for each paid call (EIP-712, PaymentChannels domain).
    struct InferenceReceipt {
        bytes32 modelId;
        bytes32 inputHash;
        bytes32 paramsHash;
        bytes32 outputHash;
        bytes32 channelId;
        uint256 cumulativeAmount;
    }

    /// @notice Deploy-time parameters; all immutable.
    /// @param auditBond What opening an audit (of one batch) costs; returned if the provider is found failing.
    /// @param escalationBond What escalating to a panel costs; returned if the escalator wins.
    /// @param slashAmount Stake taken from a provider found failing.
    /// @param verifierPenalty Stake taken from a verifier that did not answer in time or was in a panel's minority.
    /// @param refundBps Share of a slash credited to the channel's buyer.
    /// @param bountyBps Share of a slash split among the verifiers that found the failure.
    /// @param drawDelayBlocks Blocks between the request of a draw and the block whose hash draws.
    /// @param commitWindow Seconds drawn verifiers have to commit.
    /// @param revealWindow Seconds after the commit window to reveal.
    /// @param escalationWindow Seconds after a first verdict in which the losing side may escalate.
    /// @param jailDuration Seconds a provider found failing, or a verifier penalised, is jailed.
    /// @param drawTimeout Seconds after opening by which a first verifier must be drawn; a draw that
    /// finds nobody after it cancels the audit and returns the bond.
    struct Config {
        uint256 auditBond;
        uint256 escalationBond;
        uint256 slashAmount;
        uint256 verifierPenalty;
        uint16 refundBps;
        uint16 bountyBps;
        uint64 drawDelayBlocks;
        uint64 commitWindow;
        uint64 revealWindow;
        uint64 escalationWindow;
        uint64 jailDuration;
        uint64 drawTimeout;
    }

    /// @notice An audit of one batch of one channel's receipts, packed into ten storage slots
    /// (eight written at open). `stage` 0 has one verifier, stage 1 (after escalation) a panel of
    /// three. `verdict`: the first verifier's verdict once stage 0 is decided; the final outcome
    /// once resolved. `candidateCount`: length of the model's candidate list at open (at
    /// escalation for the panel); only those candidates can be drawn. `openedBlock`: where its
    /// `AuditOpened` and `EvidenceOffered` events are. The bonds are the config's: `auditBond` for
    /// every audit, `escalationBond` once `escalator` is set.
    struct Audit {
        // slot 0
        address opener;
        AuditStatus status;
        uint8 stage;
        Verdict verdict;
        uint32 receiptCount;
        uint32 candidateCount;
        // slot 1
        address provider;
        uint64 openedBlock;
        uint32 seatCount;
        // slot 2
        address buyer;
        uint64 openedAt;
        // slot 3
        address signer;
        uint64 drawBlock;
        // slots 4-6
        bytes32 channelId;
        bytes32 modelId;
        bytes32 receiptsRoot;
        // slot 7
        uint64 drawDeadline;
        uint64 commitDeadline;
        uint64 revealDeadline;
        uint64 escalationDeadline;
        // slots 8-9, written only on escalation
        address escalator;
        uint64 escalatedBlock;
        uint64 escalatedAt;
    }

    /// @notice One drawn verifier of an audit. `commitment` = `hashVerdict(auditId, verifier, verdict, salt)`.
    struct Seat {
        address verifier;
        uint8 stage;
        SeatStatus status;
        Verdict verdict;
        bytes32 commitment;
    }

    /// @notice EIP-712 type of the receipt; must equal the sdk's `inferenceReceiptTypes`.
    bytes32 public constant INFERENCE_RECEIPT_TYPEHASH = keccak256(
        "InferenceReceipt(bytes32 modelId,bytes32 inputHash,bytes32 paramsHash,bytes32 outputHash,bytes32 channelId,uint256 cumulativeAmount)"
    );
    /// @notice Verifiers a panel (stage 1) has.
    uint8 public constant PANEL_SIZE = 3;
    /// @notice Most receipts one audit's root may cover.
    uint32 public constant MAX_BATCH = 64;
    /// @notice Candidates a draw tries per open seat before giving up; bounds its gas whatever
    /// the number of providers.
    uint256 public constant MAX_DRAW_ATTEMPTS = 24;
    uint16 private constant BPS = 10_000;
    bytes32 private constant EIP712_DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");

    IERC20 private immutable _token;
    ProviderRegistry private immutable _registry;
    PaymentChannels private immutable _channels;
    address private immutable _treasury;
    bytes32 private immutable _channelsNameHash;
    bytes32 private immutable _channelsVersionHash;
    uint256 private immutable _auditBond;
    uint256 private immutable _escalationBond;
    uint256 private immutable _slashAmount;
    uint256 private immutable _verifierPenalty;
    uint16 private immutable _refundBps;
    uint16 private immutable _bountyBps;
    uint64 private immutable _drawDelayBlocks;
    uint64 private immutable _commitWindow;
    uint64 private immutable _revealWindow;
    uint64 private immutable _escalationWindow;
    uint64 private immutable _jailDuration;
    uint64 private immutable _drawTimeout;

    uint256 private _auditCount;
    mapping(uint256 auditId => Audit) private _audits;
    mapping(uint256 auditId => mapping(uint256 index => Seat)) private _seats;
    /// @dev Keyed by `_batchKey(channelId, receiptsRoot)`: a root is claimed per channel, so a payer
    /// of another channel cannot take (squat) the root of a batch it never paid for.
    mapping(bytes32 batchKey => uint256 auditId) private _auditOfBatch;
    /// @dev Stake taken from a channel's provider for failures found in that channel, at most
    /// `slashAmount` in all: the same bad receipt re-audited under another root (or more of the
    /// same cheating) cannot be farmed into a refund per slash. A slash that found too little stake
    /// takes the rest at the next Fail.
    mapping(bytes32 channelId => uint256 slashed) private _slashedOnChannel;
    mapping(address buyer => mapping(address auditor => bool)) private _auditors;
    mapping(address account => uint256 amount) private _withdrawable;
    uint256 private _totalWithdrawable;
    uint256 private _totalBonded;

    /// @notice Emitted when an audit of a batch is opened; the verifier is drawn with the hash of `drawBlock`.
    event AuditOpened(
        uint256 indexed auditId,
        address indexed opener,
        address indexed provider,
        bytes32 channelId,
        bytes32 modelId,
        bytes32 receiptsRoot,
        uint32 receiptCount,
        uint64 drawBlock
    );
    /// @notice Emitted with `AuditOpened`: where drawn verifiers fetch the batch (every leaf's
    /// receipt, signature, input, params and output). The court keeps only the root, so the
    /// evidence cannot be altered.
    event EvidenceOffered(uint256 indexed auditId, string evidenceURI);
    /// @notice Emitted when a buyer allows or disallows `auditor` to open and escalate audits of its channels.
    event AuditorSet(address indexed buyer, address indexed auditor, bool allowed);
    /// @notice Emitted when a new draw block is set (hash gone, nobody drawn yet, or seats replaced).
    event DrawRescheduled(uint256 indexed auditId, uint64 drawBlock);
    /// @notice Emitted for each verifier drawn into an audit.
    event VerifierAssigned(uint256 indexed auditId, address indexed verifier, uint8 stage, uint64 commitDeadline, uint64 revealDeadline);
    /// @notice Emitted when a verifier commits to a verdict.
    event VerdictCommitted(uint256 indexed auditId, address indexed verifier);
    /// @notice Emitted when a verifier reveals its verdict.
    event VerdictRevealed(uint256 indexed auditId, address indexed verifier, Verdict verdict);
    /// @notice Emitted when a stage has its verdict (stage 0: the first verifier's; stage 1: the panel's).
    event StageDecided(uint256 indexed auditId, uint8 stage, Verdict verdict, uint64 escalationDeadline);
    /// @notice Emitted when a verifier that did not reveal in time is penalised and its seat freed.
    event VerifierReplaced(uint256 indexed auditId, address indexed verifier, uint256 penalty, uint64 jailedUntil);
    /// @notice Emitted when a verifier whose revealed Pass/Fail lost to a panel majority is fined and jailed.
    event VerifierPenalised(uint256 indexed auditId, address indexed verifier, uint256 penalty, uint64 jailedUntil);
    /// @notice Emitted when the losing side of the first verdict escalates to a panel.
    event AuditEscalated(uint256 indexed auditId, address indexed escalator, uint256 bond, uint64 drawBlock);
    /// @notice Emitted when an audit is resolved: `slashed` taken from the provider, split as shown.
    /// Outcome `Unverifiable`: nothing slashed, no pass recorded, the root may be audited again.
    event AuditResolved(
        uint256 indexed auditId, Verdict outcome, uint256 slashed, uint256 refund, uint256 bounty, uint256 toTreasury
    );
    /// @notice Emitted when an audit ends without a verdict because no verifier could be drawn by its draw deadline.
    event AuditCancelled(uint256 indexed auditId);
    /// @notice Emitted when `amount` is credited to `account`, to be taken with `withdraw()`.
    event Credited(address indexed account, uint256 amount);
    /// @notice Emitted when `account` withdraws its credit.
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice The registry does not name this contract as its audit court, or the channels use another registry.
    error AuditCourtMisconfigured(string reason);
    /// @notice A deploy parameter is out of range; `parameter` names it and the rule it breaks.
    error AuditCourtInvalidConfig(string parameter);
    /// @notice No audit with this id.
    error AuditCourtUnknownAudit(uint256 auditId);
    /// @notice The audit is not in a state that allows this call.
    error AuditCourtInvalidStatus(uint256 auditId, AuditStatus status);
    /// @notice No channel with this id.
    error AuditCourtUnknownChannel(bytes32 channelId);
    /// @notice Only the channel's buyer, its voucher signer or an auditor the buyer allowed may do this.
    error AuditCourtNotPayer(bytes32 channelId, address caller);
    /// @notice The root is zero or the count is not in 1..MAX_BATCH.
    error AuditCourtInvalidBatch(bytes32 receiptsRoot, uint32 receiptCount);
    /// @notice This root is being audited or was judged (a cancelled or unverifiable audit frees it).
    error AuditCourtBatchAlreadyAudited(bytes32 receiptsRoot, uint256 auditId);
    /// @notice An auditor must be a non-zero address.
    error AuditCourtInvalidAuditor(address auditor);
    /// @notice The draw block has not been mined yet.
    error AuditCourtDrawTooEarly(uint256 auditId, uint64 drawBlock);
    /// @notice The caller holds no open seat in this audit's current stage.
    error AuditCourtNotVerifier(uint256 auditId, address caller);
    /// @notice The caller already committed; a commitment never changes.
    error AuditCourtAlreadyCommitted(uint256 auditId, address verifier);
    /// @notice The commit window is over.
    error AuditCourtCommitClosed(uint256 auditId, uint64 commitDeadline);
    /// @notice Reveals open when every drawn verifier committed, or when the commit window ends.
    error AuditCourtRevealNotOpen(uint256 auditId, uint64 commitDeadline);
    /// @notice The reveal window is over.
    error AuditCourtRevealClosed(uint256 auditId, uint64 revealDeadline);
    /// @notice The revealed verdict and salt do not match the commitment (or the verdict is None).
    error AuditCourtCommitmentMismatch(uint256 auditId, address verifier);
    /// @notice The reveal window is still running.
    error AuditCourtRevealRunning(uint256 auditId, uint64 revealDeadline);
    /// @notice Only the side that lost the first verdict may escalate, once, within the window.
    error AuditCourtCannotEscalate(uint256 auditId, address caller);
    /// @notice The escalation window is still running.
    error AuditCourtEscalationRunning(uint256 auditId, uint64 escalationDeadline);
    /// @notice The caller has nothing to withdraw.
    error AuditCourtNothingToWithdraw(address account);

    /// @param registry_ The provider registry; must name this contract as its `auditCourt`.
    /// @param channels_ The PaymentChannels whose EIP-712 domain receipts are signed in.
    /// @param treasury_ Receives what a slash leaves after refund and bounty, and verifier penalties.
    /// @param config Bonds, amounts, shares and windows; see `Config`.
    constructor(ProviderRegistry registry_, PaymentChannels channels_, address treasury_, Config memory config) {
        // Checked here so that a court deployed at a wrongly predicted address cannot go live.
        if (registry_.auditCourt() != address(this)) revert AuditCourtMisconfigured("registry.auditCourt");
        if (address(channels_.providerRegistry()) != address(registry_)) revert AuditCourtMisconfigured("channels.providerRegistry");
        if (address(channels_.token()) != address(registry_.token())) revert AuditCourtMisconfigured("channels.token");
        _checkConfig(registry_, treasury_, config);
        (, string memory name, string memory version,,,,) = channels_.eip712Domain();
        _token = registry_.token();
        _registry = registry_;
        _channels = channels_;
        _treasury = treasury_;
        _channelsNameHash = keccak256(bytes(name));
        _channelsVersionHash = keccak256(bytes(version));
        _auditBond = config.auditBond;
        _escalationBond = config.escalationBond;
        _slashAmount = config.slashAmount;
        _verifierPenalty = config.verifierPenalty;
        _refundBps = config.refundBps;
        _bountyBps = config.bountyBps;
        _drawDelayBlocks = config.drawDelayBlocks;
        _commitWindow = config.commitWindow;
        _revealWindow = config.revealWindow;
        _escalationWindow = config.escalationWindow;
        _jailDuration = config.jailDuration;
        _drawTimeout = config.drawTimeout;
    }

    /// @dev Every parameter that would let a cheater off, or lock money, is refused with its name and the rule.
    function _checkConfig(ProviderRegistry registry_, address treasury_, Config memory config) private view {
        if (treasury_ == address(0)) revert AuditCourtInvalidConfig("treasury is the zero address");
        if (config.auditBond == 0) revert AuditCourtInvalidConfig("auditBond is 0");
        if (config.escalationBond == 0) revert AuditCourtInvalidConfig("escalationBond is 0");
        // A zero slash or jail lets a provider found cheating go on at no cost.
        if (config.slashAmount == 0) revert AuditCourtInvalidConfig("slashAmount is 0");
        if (config.jailDuration == 0) revert AuditCourtInvalidConfig("jailDuration is 0");
        if (uint256(config.refundBps) + config.bountyBps > BPS) revert AuditCourtInvalidConfig("refundBps + bountyBps > 10000");
        // blockhash reaches back 256 blocks; the draw must stay inside that after its delay.
        if (config.drawDelayBlocks == 0 || config.drawDelayBlocks > 128) revert AuditCourtInvalidConfig("drawDelayBlocks not in 1..128");
        if (config.commitWindow == 0) revert AuditCourtInvalidConfig("commitWindow is 0");
        if (config.revealWindow == 0) revert AuditCourtInvalidConfig("revealWindow is 0");
        if (config.escalationWindow == 0) revert AuditCourtInvalidConfig("escalationWindow is 0");
        if (config.drawTimeout == 0) revert AuditCourtInvalidConfig("drawTimeout is 0");
        uint256 minStake = registry_.minStake();
        // Offers need the minimum stake so that the candidate list cannot be bloated for free.
        if (minStake == 0) revert AuditCourtInvalidConfig("registry.minStake is 0");
        // A fine above the minimum stake would take more than an eligible verifier must hold.
        if (config.verifierPenalty > minStake) revert AuditCourtInvalidConfig("verifierPenalty > registry.minStake");
        // Stake being unbonded when a payer opens an audit must still be there when the audit is judged.
        uint256 auditSpan = uint256(config.drawTimeout) + 2 * (uint256(config.commitWindow) + config.revealWindow)
            + config.escalationWindow;
        if (registry_.unbondingDelay() < auditSpan) {
            revert AuditCourtInvalidConfig("registry.unbondingDelay < drawTimeout + 2 * (commitWindow + revealWindow) + escalationWindow");
        }
    }

    // ---------------------------------------------------------------- opening

    /// @notice Lets `auditor` open (and escalate) audits of the caller's channels, or stops it.
    /// A gateway's hot wallet, for example.
    function setAuditor(address auditor, bool allowed) external {
        if (auditor == address(0)) revert AuditCourtInvalidAuditor(auditor);
        _auditors[msg.sender][auditor] = allowed;
        emit AuditorSet(msg.sender, auditor, allowed);
    }

    /// @notice Opens an audit of a batch of up to `MAX_BATCH` receipts of one channel and takes the
    /// audit bond (needs approval). Only the channel's payer may: its buyer, its voucher signer, or
    /// an auditor the buyer allowed with `setAuditor`. Each leaf is
    /// `keccak256(bytes.concat(keccak256(abi.encode(hashReceipt(receipt)))))`, pairs hashed sorted
    /// (see `receiptLeaf`, `verifyReceiptInAudit`). The provider is the channel's; a confirmed
    /// failure refunds the channel's buyer. Open within the registry's unbonding delay of the calls.
    /// @param channelId The channel every receipt of the batch names.
    /// @param receiptsRoot Merkle root over the batch's leaves.
    /// @param receiptCount Leaves under the root, 1..MAX_BATCH.
    /// @param evidenceURI Where drawn verifiers fetch the batch (receipts, signatures, inputs,
    /// params, outputs). Evidence that cannot be fetched or does not match the root gets the verdict
    /// Unverifiable: no slash, but no pass either, and the root may be audited again.
    /// @return auditId The new audit's id (ids start at 1).
    function openAudit(bytes32 channelId, bytes32 receiptsRoot, uint32 receiptCount, string calldata evidenceURI)
        external
        nonReentrant
        returns (uint256 auditId)
    {
        PaymentChannels.Channel memory channel = _channels.getChannel(channelId);
        if (channel.provider == address(0)) revert AuditCourtUnknownChannel(channelId);
        if (!_isPayer(channel.buyer, channel.signer, msg.sender)) revert AuditCourtNotPayer(channelId, msg.sender);
        if (receiptsRoot == bytes32(0) || receiptCount == 0 || receiptCount > MAX_BATCH) {
            revert AuditCourtInvalidBatch(receiptsRoot, receiptCount);
        }
        bytes32 batchKey = _batchKey(channelId, receiptsRoot);
        uint256 existing = _auditOfBatch[batchKey];
        if (existing != 0) revert AuditCourtBatchAlreadyAudited(receiptsRoot, existing);

        auditId = ++_auditCount;
        _auditOfBatch[batchKey] = auditId;
        Audit storage audit = _audits[auditId];
        audit.opener = msg.sender;
        audit.status = AuditStatus.Drawing;
        audit.receiptCount = receiptCount;
        // The draw may only pick among the candidates listed now, before the seed's block exists.
        audit.candidateCount = uint32(_registry.getCandidateCount(channel.modelId));
        audit.provider = channel.provider;
        audit.openedBlock = uint64(block.number);
        audit.buyer = channel.buyer;
        audit.openedAt = uint64(block.timestamp);
        audit.signer = channel.signer;
        audit.drawBlock = _nextDrawBlock();
        audit.channelId = channelId;
        audit.modelId = channel.modelId;
        audit.receiptsRoot = receiptsRoot;
        audit.drawDeadline = uint64(block.timestamp) + _drawTimeout;
        _totalBonded += _auditBond;
        _registry.noteAuditOpened(channel.provider);
        _emitOpened(auditId, audit);
        emit EvidenceOffered(auditId, evidenceURI);
        _token.safeTransferFrom(msg.sender, address(this), _auditBond);
    }

    /// @dev Emits `AuditOpened` from storage (in its own frame: `openAudit` has no stack to spare).
    function _emitOpened(uint256 auditId, Audit storage audit) private {
        emit AuditOpened(
            auditId,
            audit.opener,
            audit.provider,
            audit.channelId,
            audit.modelId,
            audit.receiptsRoot,
            audit.receiptCount,
            audit.drawBlock
        );
    }

    // ---------------------------------------------------------------- drawing

    /// @notice Draws verifiers for the open seats of the audit's current stage (one at stage 0,
    /// up to three at stage 1). Seat k's candidates are `keccak256(seed, attempt) % candidateCount`
    /// of the model's candidate list, fixed when the audit opened (escalated); a candidate counts
    /// if `registry.isEligibleVerifier` says so for that snapshot and it is not the provider, the
    /// opener, the buyer, the signer or drawn before. At most `MAX_DRAW_ATTEMPTS` tries per open
    /// seat. Anyone may call it once the draw block is mined. If that block's hash is gone a new
    /// draw block is set. If nobody is found at stage 0 a new draw block is set too, until the
    /// draw deadline: then the audit is cancelled and the bond credited back. At stage 1 the panel
    /// decides with the seats it has.
    function assignVerifiers(uint256 auditId) external nonReentrant {
        Audit storage audit = _existing(auditId);
        if (audit.status != AuditStatus.Drawing) revert AuditCourtInvalidStatus(auditId, audit.status);
        if (block.number <= audit.drawBlock) revert AuditCourtDrawTooEarly(auditId, audit.drawBlock);
        bytes32 entropy = blockhash(audit.drawBlock);
        // The hash is gone (nobody called within 256 blocks): draw again with a new block.
        if (entropy == bytes32(0)) {
            _reschedule(auditId, audit);
        } else if (_draw(auditId, audit, entropy) > 0) {
            return;
        } else if (audit.stage == 1) {
            _decide(auditId, audit);
        } else if (block.timestamp >= audit.drawDeadline) {
            _cancel(auditId, audit);
        } else {
            _reschedule(auditId, audit);
        }
    }

    function _reschedule(uint256 auditId, Audit storage audit) private {
        audit.drawBlock = _nextDrawBlock();
        emit DrawRescheduled(auditId, audit.drawBlock);
    }

    /// @dev What one draw needs, in memory (the stack has no room for it).
    struct DrawContext {
        bytes32 seed;
        bytes32 modelId;
        uint64 snapshotBlock;
        uint64 snapshotTime;
        uint64 commitDeadline;
        uint64 revealDeadline;
        uint256 candidates;
        uint256 open;
        uint8 stage;
    }

    /// @dev Fills up to the stage's open seats from the snapshot; returns how many it filled.
    function _draw(uint256 auditId, Audit storage audit, bytes32 entropy) private returns (uint256 found) {
        DrawContext memory ctx;
        ctx.stage = audit.stage;
        ctx.open = _seatsFor(ctx.stage) - _liveSeats(auditId, audit, ctx.stage);
        ctx.candidates = audit.candidateCount;
        if (ctx.open == 0 || ctx.candidates == 0) return 0;
        (ctx.snapshotBlock, ctx.snapshotTime) =
            ctx.stage == 0 ? (audit.openedBlock, audit.openedAt) : (audit.escalatedBlock, audit.escalatedAt);
        ctx.modelId = audit.modelId;
        ctx.seed = keccak256(abi.encode(entropy, auditId, ctx.stage, audit.seatCount));
        ctx.commitDeadline = uint64(block.timestamp) + _commitWindow;
        ctx.revealDeadline = ctx.commitDeadline + _revealWindow;
        uint256 attempts = MAX_DRAW_ATTEMPTS * ctx.open;
        for (uint256 k; k < attempts && found < ctx.open; ++k) {
            uint256 index = uint256(keccak256(abi.encode(ctx.seed, k))) % ctx.candidates;
            (address candidate, bool eligible) =
                _registry.isEligibleVerifier(ctx.modelId, index, ctx.snapshotBlock, ctx.snapshotTime);
            if (!eligible || _excluded(auditId, audit, candidate)) continue;
            _seat(auditId, audit, candidate, ctx);
            ++found;
        }
        if (found > 0) {
            audit.status = AuditStatus.Voting;
            audit.commitDeadline = ctx.commitDeadline;
            audit.revealDeadline = ctx.revealDeadline;
        }
    }

    function _seat(uint256 auditId, Audit storage audit, address verifier, DrawContext memory ctx) private {
        uint32 seatIndex = audit.seatCount;
        audit.seatCount = seatIndex + 1;
        _seats[auditId][seatIndex] =
            Seat({verifier: verifier, stage: ctx.stage, status: SeatStatus.Drawn, verdict: Verdict.None, commitment: 0});
        emit VerifierAssigned(auditId, verifier, ctx.stage, ctx.commitDeadline, ctx.revealDeadline);
    }

    /// @dev The audited side, the accuser, the payer and everyone drawn before never judge the audit.
    function _excluded(uint256 auditId, Audit storage audit, address candidate) private view returns (bool) {
        if (
            candidate == audit.provider || candidate == audit.opener || candidate == audit.buyer
                || candidate == audit.signer
        ) return true;
        uint256 seatCount = audit.seatCount;
        for (uint256 i; i < seatCount; ++i) {
            if (_seats[auditId][i].verifier == candidate) return true;
        }
        return false;
    }

    // ---------------------------------------------------------------- voting

    /// @notice Commits the caller's verdict as `hashVerdict(auditId, caller, verdict, salt)`, within
    /// the commit window. Once: a commitment never changes, so nobody can copy a verdict revealed
    /// before its own.
    function commitVerdict(uint256 auditId, bytes32 commitment) external {
        Audit storage audit = _voting(auditId);
        if (block.timestamp >= audit.commitDeadline) revert AuditCourtCommitClosed(auditId, audit.commitDeadline);
        Seat storage seat = _seatOf(auditId, audit, msg.sender);
        if (seat.status != SeatStatus.Drawn) {
            if (seat.status == SeatStatus.Replaced) revert AuditCourtNotVerifier(auditId, msg.sender);
            revert AuditCourtAlreadyCommitted(auditId, msg.sender);
        }
        seat.commitment = commitment;
        seat.status = SeatStatus.Committed;
        emit VerdictCommitted(auditId, msg.sender);
    }

    /// @notice Reveals the caller's committed verdict (Pass, Fail or Unverifiable). Reveals open once
    /// every drawn verifier of the stage has committed (or the commit window ended) and close at
    /// the reveal deadline. The last reveal decides the stage.
    function revealVerdict(uint256 auditId, Verdict verdict, bytes32 salt) external {
        Audit storage audit = _voting(auditId);
        if (block.timestamp >= audit.revealDeadline) revert AuditCourtRevealClosed(auditId, audit.revealDeadline);
        if (block.timestamp < audit.commitDeadline && !_allCommitted(auditId, audit)) {
            revert AuditCourtRevealNotOpen(auditId, audit.commitDeadline);
        }
        Seat storage seat = _seatOf(auditId, audit, msg.sender);
        if (seat.status != SeatStatus.Committed) revert AuditCourtNotVerifier(auditId, msg.sender);
        if (verdict == Verdict.None || hashVerdict(auditId, msg.sender, verdict, salt) != seat.commitment) {
            revert AuditCourtCommitmentMismatch(auditId, msg.sender);
        }
        seat.status = SeatStatus.Revealed;
        seat.verdict = verdict;
        emit VerdictRevealed(auditId, msg.sender, verdict);
        if (_allRevealed(auditId, audit)) _decide(auditId, audit);
    }

    /// @notice After the reveal deadline: jails and fines every verifier of the stage that did not
    /// reveal (the fine goes to the treasury), frees their seats and schedules a new draw for them.
    /// Revealed verdicts stand. Anyone may call it.
    function replaceVerifiers(uint256 auditId) external nonReentrant {
        Audit storage audit = _voting(auditId);
        if (block.timestamp < audit.revealDeadline) revert AuditCourtRevealRunning(auditId, audit.revealDeadline);
        // Effects first: the whole stage's no-shows are marked before any registry call.
        uint256 length = audit.seatCount;
        address[] memory absent = new address[](length);
        uint256 absentCount;
        for (uint256 i; i < length; ++i) {
            Seat storage seat = _seats[auditId][i];
            if (seat.stage == audit.stage && (seat.status == SeatStatus.Drawn || seat.status == SeatStatus.Committed)) {
                seat.status = SeatStatus.Replaced;
                absent[absentCount++] = seat.verifier;
            }
        }
        audit.status = AuditStatus.Drawing;
        audit.drawBlock = _nextDrawBlock();
        for (uint256 i; i < absentCount; ++i) {
            (uint256 penalty, uint64 until) = _penalise(absent[i]);
            emit VerifierReplaced(auditId, absent[i], penalty, until);
        }
        emit DrawRescheduled(auditId, audit.drawBlock);
    }

    // ---------------------------------------------------------------- escalation and resolution

    /// @notice Escalates a first verdict to a panel of three, paying the escalation bond (needs
    /// approval), before the escalation deadline: the provider against a Fail; the payer side (the
    /// opener, the channel's buyer or signer, or an auditor the buyer allowed) against a Pass or an
    /// Unverifiable. The panel is drawn from the candidate list as it stands now.
    function escalateAudit(uint256 auditId) external nonReentrant {
        Audit storage audit = _existing(auditId);
        if (audit.status != AuditStatus.Decided || audit.stage != 0) revert AuditCourtInvalidStatus(auditId, audit.status);
        bool allowed = audit.verdict == Verdict.Fail
            ? msg.sender == audit.provider
            : msg.sender == audit.opener || _isPayer(audit.buyer, audit.signer, msg.sender);
        if (!allowed || block.timestamp >= audit.escalationDeadline) revert AuditCourtCannotEscalate(auditId, msg.sender);
        audit.stage = 1;
        audit.status = AuditStatus.Drawing;
        audit.candidateCount = uint32(_registry.getCandidateCount(audit.modelId));
        audit.escalator = msg.sender;
        audit.escalatedBlock = uint64(block.number);
        audit.escalatedAt = uint64(block.timestamp);
        audit.drawBlock = _nextDrawBlock();
        _totalBonded += _escalationBond;
        emit AuditEscalated(auditId, msg.sender, _escalationBond, audit.drawBlock);
        _token.safeTransferFrom(msg.sender, address(this), _escalationBond);
    }

    /// @notice Settles a decided audit: after the escalation window for a first verdict, at once
    /// for a panel's. Fail: the provider is slashed and jailed, the buyer refunded, the finding
    /// verifiers paid a bounty and the opener's bond returned. Failures in one channel cost its
    /// provider at most `slashAmount` in all; once that is taken, a further Fail there takes only a
    /// bond's worth of stake, paid to its verifiers, refunds nothing and jails nobody.
    /// Pass: the opener's bond goes to the verifiers who voted Pass. Unverifiable: nothing is
    /// slashed, no pass recorded, nobody paid: the bonds at stake go to the treasury and the root may
    /// be audited again. A lost escalation forfeits its bond to the winning verifiers. When a panel reaches a Pass or Fail
    /// majority, every verifier (either stage) who revealed the other of the two is fined and
    /// jailed. Everything is credited, taken with `withdraw()`. Anyone may call it.
    function finalizeAudit(uint256 auditId) external nonReentrant {
        Audit storage audit = _existing(auditId);
        if (audit.status != AuditStatus.Decided) revert AuditCourtInvalidStatus(auditId, audit.status);
        if (audit.stage == 0 && block.timestamp < audit.escalationDeadline) {
            revert AuditCourtEscalationRunning(auditId, audit.escalationDeadline);
        }

        Verdict first = audit.verdict;
        (Verdict outcome, bool panelMajority) = _outcome(auditId, audit);
        audit.verdict = outcome;
        audit.status = AuditStatus.Resolved;
        uint256 escalationBond = audit.escalator == address(0) ? 0 : _escalationBond;
        _totalBonded -= _auditBond + escalationBond;
        // An unverifiable batch was never judged: its payer may serve the evidence and try again.
        if (outcome == Verdict.Unverifiable) delete _auditOfBatch[_batchKey(audit.channelId, audit.receiptsRoot)];

        // The pool is split evenly among the verifiers whose verdict is the outcome.
        uint256 pool;
        if (outcome == Verdict.Fail) {
            _credit(audit.opener, _auditBond);
        } else {
            pool += _auditBond;
        }
        if (escalationBond > 0) {
            // The provider escalated against a Fail, the payer side against a Pass or Unverifiable.
            bool escalatorWon = !panelMajority || (first == Verdict.Fail) != (outcome == Verdict.Fail);
            if (escalatorWon) {
                _credit(audit.escalator, escalationBond);
            } else {
                pool += escalationBond;
            }
        }

        uint256 slashed;
        uint256 refund;
        uint256 bounty;
        uint256 toTreasury;
        address provider = audit.provider;
        if (outcome == Verdict.Fail) {
            // Never above slashAmount: only `slashed <= owed` is ever added.
            uint256 owed = _slashAmount - _slashedOnChannel[audit.channelId];
            if (owed > 0) {
                slashed = _registry.slash(provider, owed, address(this));
                _slashedOnChannel[audit.channelId] += slashed;
                _registry.jail(provider, uint64(block.timestamp) + _jailDuration);
                refund = (slashed * _refundBps) / BPS;
                bounty = (slashed * _bountyBps) / BPS;
            } else {
                // The channel's failures were paid for in full: this one takes a bond's worth of
                // stake to pay the verifiers (the cheater pays for the checking), refunds nothing
                // and jails nobody; the opener's bond came back above, so it neither gains nor loses.
                slashed = _registry.slash(provider, _auditBond, address(this));
                bounty = slashed;
            }
            // Cannot underflow: refundBps + bountyBps <= BPS (checked at deploy).
            toTreasury = slashed - refund - bounty;
            _credit(audit.buyer, refund);
            pool += bounty;
        }
        if (outcome == Verdict.Unverifiable) {
            // Nobody is paid for not judging: a verifier that skips the evidence (lazy, or helping the
            // provider) earns nothing, and a payer that served none loses its bond to the treasury.
            toTreasury += pool;
        } else {
            toTreasury += _payWinners(auditId, audit, outcome, pool);
        }
        _credit(_treasury, toTreasury);
        _registry.noteAuditClosed(provider);
        emit AuditResolved(auditId, outcome, slashed, refund, bounty, toTreasury);

        if (panelMajority && outcome != Verdict.Unverifiable) _fineMinority(auditId, audit, outcome);
    }

    /// @notice Sends the caller everything credited to it.
    function withdraw() external nonReentrant returns (uint256 amount) {
        amount = _withdrawable[msg.sender];
        if (amount == 0) revert AuditCourtNothingToWithdraw(msg.sender);
        _withdrawable[msg.sender] = 0;
        _totalWithdrawable -= amount;
        emit Withdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice An audit's record (all zero for an unknown id).
    function getAudit(uint256 auditId) external view returns (Audit memory) {
        return _audits[auditId];
    }

    /// @notice Every verifier drawn into an audit, in draw order, replaced ones included.
    function getSeats(uint256 auditId) external view returns (Seat[] memory seats) {
        uint256 count = _audits[auditId].seatCount;
        seats = new Seat[](count);
        for (uint256 i; i < count; ++i) {
            seats[i] = _seats[auditId][i];
        }
    }

    /// @notice The audit of a channel's receipts root (0 if none; cancelled and unverifiable audits
    /// free their root).
    function getAuditOfRoot(bytes32 channelId, bytes32 receiptsRoot) external view returns (uint256) {
        return _auditOfBatch[_batchKey(channelId, receiptsRoot)];
    }

    /// @notice Whether `channelId`'s failures were paid for in full (`slashAmount` taken from its
    /// provider): a later Fail there refunds nothing and only pays its verifiers a bond's worth of
    /// stake, so a payer stops using the channel and opens a new one.
    function isSlashedOnChannel(bytes32 channelId) external view returns (bool) {
        return _slashedOnChannel[channelId] >= _slashAmount;
    }

    /// @notice Stake taken so far for failures found in `channelId` (at most `slashAmount`).
    function getSlashedOnChannel(bytes32 channelId) external view returns (uint256) {
        return _slashedOnChannel[channelId];
    }

    /// @notice How many audits were opened (the id of the newest).
    function getAuditCount() external view returns (uint256) {
        return _auditCount;
    }

    /// @notice Whether `buyer` allowed `auditor` to open and escalate audits of its channels.
    function isAuditor(address buyer, address auditor) external view returns (bool) {
        return _auditors[buyer][auditor];
    }

    /// @notice Whether `account` may open an audit of `channelId` (its buyer, its signer or an allowed auditor).
    function canOpenAudit(bytes32 channelId, address account) external view returns (bool) {
        PaymentChannels.Channel memory channel = _channels.getChannel(channelId);
        return channel.provider != address(0) && _isPayer(channel.buyer, channel.signer, account);
    }

    /// @notice Whether a receipt is one of an audit's batch: its leaf is under the audit's root with
    /// `proof`, it names the audit's channel, and `signature` is the audit's provider's over it.
    /// Anyone can check a leaf; the court never needs it to judge.
    function verifyReceiptInAudit(
        uint256 auditId,
        InferenceReceipt calldata receipt,
        bytes calldata signature,
        bytes32[] calldata proof
    ) external view returns (bool) {
        Audit storage audit = _audits[auditId];
        if (audit.status == AuditStatus.None || receipt.channelId != audit.channelId) return false;
        bytes32 digest = hashReceipt(receipt);
        if (!MerkleProof.verifyCalldata(proof, audit.receiptsRoot, receiptLeaf(digest))) return false;
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        return err == ECDSA.RecoverError.NoError && recovered == audit.provider;
    }

    /// @notice The Merkle leaf of a receipt digest (`hashReceipt`): hashed twice, as OpenZeppelin's
    /// StandardMerkleTree does, so no inner node can pass for a leaf.
    function receiptLeaf(bytes32 receiptDigest) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(receiptDigest))));
    }

    /// @notice The commitment a verifier submits: binds the verdict to this audit and this verifier,
    /// so nobody can copy another's commitment.
    function hashVerdict(uint256 auditId, address verifier, Verdict verdict, bytes32 salt) public view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), auditId, verifier, verdict, salt));
    }

    /// @notice The EIP-712 digest of a receipt in the PaymentChannels domain (what the provider signed).
    function hashReceipt(InferenceReceipt calldata receipt) public view returns (bytes32) {
        bytes32 domainSeparator = keccak256(
            abi.encode(EIP712_DOMAIN_TYPEHASH, _channelsNameHash, _channelsVersionHash, block.chainid, address(_channels))
        );
        bytes32 structHash = keccak256(
            abi.encode(
                INFERENCE_RECEIPT_TYPEHASH,
                receipt.modelId,
                receipt.inputHash,
                receipt.paramsHash,
                receipt.outputHash,
                receipt.channelId,
                receipt.cumulativeAmount
            )
        );
        return keccak256(abi.encodePacked(hex"1901", domainSeparator, structHash));
    }

    /// @notice What `account` can take with `withdraw()`.
    function withdrawableOf(address account) external view returns (uint256) {
        return _withdrawable[account];
    }

    /// @notice Sum of all credits not yet withdrawn.
    function getTotalWithdrawable() external view returns (uint256) {
        return _totalWithdrawable;
    }

    /// @notice Sum of the bonds of unresolved audits and escalations. The court's balance is
    /// exactly this plus `getTotalWithdrawable()`.
    function getTotalBonded() external view returns (uint256) {
        return _totalBonded;
    }

    /// @notice The token bonds and slashes are paid in (the registry's stake token).
    function token() external view returns (IERC20) {
        return _token;
    }

    /// @notice The provider registry this court jails and slashes in.
    function providerRegistry() external view returns (ProviderRegistry) {
        return _registry;
    }

    /// @notice The PaymentChannels whose domain receipts are signed in.
    function paymentChannels() external view returns (PaymentChannels) {
        return _channels;
    }

    /// @notice Receives the rest of every slash and the verifier penalties.
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @notice The deploy-time parameters.
    function getConfig() external view returns (Config memory) {
        return Config({
            auditBond: _auditBond,
            escalationBond: _escalationBond,
            slashAmount: _slashAmount,
            verifierPenalty: _verifierPenalty,
            refundBps: _refundBps,
            bountyBps: _bountyBps,
            drawDelayBlocks: _drawDelayBlocks,
            commitWindow: _commitWindow,
            revealWindow: _revealWindow,
            escalationWindow: _escalationWindow,
            jailDuration: _jailDuration,
            drawTimeout: _drawTimeout
        });
    }

    // ---------------------------------------------------------------- internals

    function _existing(uint256 auditId) private view returns (Audit storage audit) {
        audit = _audits[auditId];
        if (audit.status == AuditStatus.None) revert AuditCourtUnknownAudit(auditId);
    }

    function _voting(uint256 auditId) private view returns (Audit storage audit) {
        audit = _existing(auditId);
        if (audit.status != AuditStatus.Voting) revert AuditCourtInvalidStatus(auditId, audit.status);
    }

    function _isPayer(address buyer, address signer, address account) private view returns (bool) {
        return account == buyer || account == signer || _auditors[buyer][account];
    }

    function _batchKey(bytes32 channelId, bytes32 receiptsRoot) private pure returns (bytes32) {
        return keccak256(abi.encode(channelId, receiptsRoot));
    }

    function _nextDrawBlock() private view returns (uint64) {
        return uint64(block.number) + _drawDelayBlocks;
    }

    function _seatsFor(uint8 stage) private pure returns (uint256) {
        return stage == 0 ? 1 : PANEL_SIZE;
    }

    function _seatOf(uint256 auditId, Audit storage audit, address verifier) private view returns (Seat storage) {
        uint256 count = audit.seatCount;
        uint8 stage = audit.stage;
        for (uint256 i; i < count; ++i) {
            Seat storage seat = _seats[auditId][i];
            if (seat.verifier == verifier && seat.stage == stage) return seat;
        }
        revert AuditCourtNotVerifier(auditId, verifier);
    }

    function _firstSeat(uint256 auditId, Audit storage audit) private view returns (Seat storage) {
        uint256 count = audit.seatCount;
        for (uint256 i; i < count; ++i) {
            Seat storage seat = _seats[auditId][i];
            if (seat.stage == 0 && seat.status == SeatStatus.Revealed) return seat;
        }
        // Unreachable: stage 0 is decided only after its one seat revealed.
        revert AuditCourtUnknownAudit(auditId);
    }

    function _liveSeats(uint256 auditId, Audit storage audit, uint8 stage) private view returns (uint256 live) {
        uint256 count = audit.seatCount;
        for (uint256 i; i < count; ++i) {
            Seat storage seat = _seats[auditId][i];
            if (seat.stage == stage && seat.status != SeatStatus.Replaced) live++;
        }
    }

    function _allCommitted(uint256 auditId, Audit storage audit) private view returns (bool) {
        uint256 count = audit.seatCount;
        uint8 stage = audit.stage;
        for (uint256 i; i < count; ++i) {
            Seat storage seat = _seats[auditId][i];
            if (seat.stage == stage && seat.status == SeatStatus.Drawn) return false;
        }
        return true;
    }

    function _allRevealed(uint256 auditId, Audit storage audit) private view returns (bool) {
        uint256 count = audit.seatCount;
        uint8 stage = audit.stage;
        for (uint256 i; i < count; ++i) {
            Seat storage seat = _seats[auditId][i];
            if (seat.stage == stage && (seat.status == SeatStatus.Drawn || seat.status == SeatStatus.Committed)) {
                return false;
            }
        }
        return true;
    }

    /// @dev The stage has every verdict it will get: stage 0 opens the escalation window; a panel
    /// can be finalized at once.
    function _decide(uint256 auditId, Audit storage audit) private {
        audit.status = AuditStatus.Decided;
        if (audit.stage == 0) {
            audit.verdict = _firstSeat(auditId, audit).verdict;
            audit.escalationDeadline = uint64(block.timestamp) + _escalationWindow;
        } else {
            audit.escalationDeadline = uint64(block.timestamp);
        }
        emit StageDecided(auditId, audit.stage, audit.verdict, audit.escalationDeadline);
    }

    /// @dev The audit's outcome: the first verdict, unless a majority of the whole panel (2 of its 3
    /// seats) revealed the same verdict (Pass, Fail or Unverifiable). A panel that could not be
    /// filled, revealed too little, or split leaves the first verdict standing: one lone panellist
    /// can neither overturn a verdict nor get the first verifier fined.
    function _outcome(uint256 auditId, Audit storage audit) private view returns (Verdict outcome, bool panelMajority) {
        outcome = audit.verdict;
        if (audit.stage == 0) return (outcome, false);
        uint256[4] memory votes;
        uint256 count = audit.seatCount;
        for (uint256 i; i < count; ++i) {
            Seat storage seat = _seats[auditId][i];
            if (seat.stage != 1 || seat.verdict == Verdict.None) continue;
            votes[uint8(seat.verdict)]++;
        }
        for (uint8 v = uint8(Verdict.Pass); v <= uint8(Verdict.Unverifiable); ++v) {
            if (2 * votes[v] > PANEL_SIZE) return (Verdict(v), true);
        }
        return (outcome, false);
    }

    /// @dev Credits `pool` evenly to the verifiers (any stage) whose verdict is `outcome`; returns
    /// what is left for the treasury (rounding dust, or all of it if nobody won).
    function _payWinners(uint256 auditId, Audit storage audit, Verdict outcome, uint256 pool) private returns (uint256 rest) {
        if (pool == 0) return 0;
        uint256 count = audit.seatCount;
        uint256 winners;
        for (uint256 i; i < count; ++i) {
            if (_seats[auditId][i].verdict == outcome) winners++;
        }
        if (winners == 0) return pool;
        uint256 share = pool / winners;
        for (uint256 i; i < count; ++i) {
            Seat storage seat = _seats[auditId][i];
            if (seat.verdict == outcome) _credit(seat.verifier, share);
        }
        return pool - share * winners;
    }

    /// @dev Fines and jails every verifier (either stage) whose revealed Pass or Fail lost to the
    /// panel's majority `outcome` (Pass or Fail). Unverifiable votes are neither fined nor paid here.
    function _fineMinority(uint256 auditId, Audit storage audit, Verdict outcome) private {
        uint256 count = audit.seatCount;
        for (uint256 i; i < count; ++i) {
            Seat storage seat = _seats[auditId][i];
            Verdict verdict = seat.verdict;
            if ((verdict == Verdict.Pass || verdict == Verdict.Fail) && verdict != outcome) {
                (uint256 penalty, uint64 until) = _penalise(seat.verifier);
                emit VerifierPenalised(auditId, seat.verifier, penalty, until);
            }
        }
    }

    /// @dev Fines a verifier `verifierPenalty` of stake (credited to the treasury) and jails it.
    function _penalise(address verifier) private returns (uint256 penalty, uint64 until) {
        until = uint64(block.timestamp) + _jailDuration;
        if (_verifierPenalty > 0) {
            penalty = _registry.slash(verifier, _verifierPenalty, address(this));
            _credit(_treasury, penalty);
        }
        _registry.jail(verifier, until);
    }

    function _cancel(uint256 auditId, Audit storage audit) private {
        audit.status = AuditStatus.Cancelled;
        _totalBonded -= _auditBond;
        // The batch was never judged: it may be audited again later.
        delete _auditOfBatch[_batchKey(audit.channelId, audit.receiptsRoot)];
        _credit(audit.opener, _auditBond);
        _registry.noteAuditClosed(audit.provider);
        emit AuditCancelled(auditId);
    }

    function _credit(address account, uint256 amount) private {
        if (amount == 0) return;
        _withdrawable[account] += amount;
        _totalWithdrawable += amount;
        emit Credited(account, amount);
    }
}
