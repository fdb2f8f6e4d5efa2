// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ProviderRegistry} from "./ProviderRegistry.sol";
import {PaymentChannels} from "./PaymentChannels.sol";

/// @title AuditCourt
/// @notice Audits of the InferenceReceipts providers sign for paid calls. Anyone holding a receipt
/// opens an audit with a bond; a verifier is drawn from the other active providers of the same
/// model with the hash of a block mined after the audit was opened (so neither side knows it in
/// advance), re-executes the call off-chain and commits, then reveals, a verdict. The losing side
/// may escalate to a panel of three, which decides by majority. A confirmed failure slashes the
/// provider (refund to the channel's buyer, bounty to the verifiers who found it, the rest to the
/// treasury); a false accusation forfeits the opener's bond to the verifiers; a verifier who does
/// not answer in time is jailed, fined and replaced. This contract is the ProviderRegistry's
/// `auditCourt`, the only address that can jail and slash.
contract AuditCourt is ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice A verifier's answer. `None`: not revealed (yet).
    enum Verdict {
        None,
        Pass,
        Fail
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
    /// @param auditBond What opening an audit costs; returned if the provider is found failing.
    /// @param escalationBond What escalating to a panel costs; returned if the escalator wins.
    /// @param slashAmount Stake taken from a provider found failing.
    /// @param verifierPenalty Stake taken from a verifier that did not answer in time or was overturned.
    /// @param refundBps Share of a slash credited to the channel's buyer.
    /// @param bountyBps Share of a slash split among the verifiers that found the failure.
    /// @param drawDelayBlocks Blocks between the request of a draw and the block whose hash draws.
    /// @param commitWindow Seconds drawn verifiers have to commit.
    /// @param revealWindow Seconds after the commit window to reveal.
    /// @param escalationWindow Seconds after a first verdict in which the losing side may escalate.
    /// @param jailDuration Seconds a provider found failing, or a verifier penalised, is jailed.
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
    }

    /// @notice An audit. `stage` 0 has one verifier, stage 1 (after escalation) a panel of three.
    /// `verdict`: the first verifier's verdict once stage 0 is decided; the final outcome once resolved.
    /// `openedBlock`: where its `AuditOpened` and `EvidenceOffered` events are, to read them with one narrow log query.
    struct Audit {
        address opener;
        AuditStatus status;
        uint8 stage;
        Verdict verdict;
        uint64 openedBlock;
        address provider;
        uint64 drawBlock;
        address buyer;
        uint64 commitDeadline;
        address escalator;
        uint64 revealDeadline;
        uint64 escalationDeadline;
        uint256 bond;
        uint256 escalationBond;
        bytes32 receiptDigest;
        InferenceReceipt receipt;
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

    uint256 private _auditCount;
    mapping(uint256 auditId => Audit) private _audits;
    mapping(uint256 auditId => Seat[]) private _seats;
    mapping(uint256 auditId => mapping(address account => bool)) private _drawn;
    mapping(bytes32 receiptDigest => uint256 auditId) private _auditOfReceipt;
    mapping(address account => uint256 amount) private _withdrawable;
    uint256 private _totalWithdrawable;
    uint256 private _totalBonded;

    /// @notice Emitted when an audit is opened; the verifier is drawn with the hash of `drawBlock`.
    event AuditOpened(
        uint256 indexed auditId,
        address indexed opener,
        address indexed provider,
        bytes32 receiptDigest,
        bytes32 modelId,
        bytes32 channelId,
        uint64 drawBlock
    );
    /// @notice Emitted with `AuditOpened`: where drawn verifiers fetch the call (input, params,
    /// output) the receipt hashes. The court keeps only the hashes, so the evidence cannot be altered.
    event EvidenceOffered(uint256 indexed auditId, string evidenceURI);
    /// @notice Emitted when the draw block's hash is no longer available and a new one is set.
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
    /// @notice Emitted when the losing side of the first verdict escalates to a panel.
    event AuditEscalated(uint256 indexed auditId, address indexed escalator, uint256 bond, uint64 drawBlock);
    /// @notice Emitted when an audit is resolved: `slashed` taken from the provider, split as shown.
    event AuditResolved(
        uint256 indexed auditId, Verdict outcome, uint256 slashed, uint256 refund, uint256 bounty, uint256 toTreasury
    );
    /// @notice Emitted when an audit ends without a verdict because no verifier could be drawn.
    event AuditCancelled(uint256 indexed auditId);
    /// @notice Emitted when `amount` is credited to `account`, to be taken with `withdraw()`.
    event Credited(address indexed account, uint256 amount);
    /// @notice Emitted when `account` withdraws its credit.
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice The registry does not name this contract as its audit court, or the channels use another registry.
    error AuditCourtMisconfigured(string reason);
    /// @notice A deploy parameter is out of range.
    error AuditCourtInvalidConfig(string parameter);
    /// @notice No audit with this id.
    error AuditCourtUnknownAudit(uint256 auditId);
    /// @notice The audit is not in a state that allows this call.
    error AuditCourtInvalidStatus(uint256 auditId, AuditStatus status);
    /// @notice The receipt's signature is malformed or not by the provider of its channel.
    error AuditCourtInvalidReceiptSignature(address recovered, address provider);
    /// @notice The receipt names a channel that does not exist or is for another model.
    error AuditCourtReceiptChannelMismatch(bytes32 channelId, bytes32 modelId);
    /// @notice This receipt is already being audited or was judged.
    error AuditCourtReceiptAlreadyAudited(bytes32 receiptDigest, uint256 auditId);
    /// @notice The draw block has not been mined yet.
    error AuditCourtDrawTooEarly(uint256 auditId, uint64 drawBlock);
    /// @notice The caller holds no open seat in this audit's current stage.
    error AuditCourtNotVerifier(uint256 auditId, address caller);
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
        if (treasury_ == address(0)) revert AuditCourtInvalidConfig("treasury");
        if (config.auditBond == 0) revert AuditCourtInvalidConfig("auditBond");
        if (config.escalationBond == 0) revert AuditCourtInvalidConfig("escalationBond");
        if (uint256(config.refundBps) + config.bountyBps > BPS) revert AuditCourtInvalidConfig("refundBps + bountyBps");
        // blockhash reaches back 256 blocks; the draw must stay inside that after its delay.
        if (config.drawDelayBlocks == 0 || config.drawDelayBlocks > 128) revert AuditCourtInvalidConfig("drawDelayBlocks");
        if (config.commitWindow == 0) revert AuditCourtInvalidConfig("commitWindow");
        if (config.revealWindow == 0) revert AuditCourtInvalidConfig("revealWindow");
        if (config.escalationWindow == 0) revert AuditCourtInvalidConfig("escalationWindow");
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
    }

    // ---------------------------------------------------------------- opening

    /// @notice Opens an audit of a provider-signed InferenceReceipt and takes the audit bond (needs
    /// approval). The provider is the receipt channel's provider; the refund of a confirmed failure
    /// goes to that channel's buyer, whoever opened the audit.
    /// @param receipt The receipt's fields, exactly as signed.
    /// @param signature The provider's 65-byte EIP-712 signature.
    /// @param evidenceURI Where drawn verifiers fetch the call's input, params and output. Evidence
    /// that cannot be fetched, or does not hash to the receipt, leaves the provider's answer unchallenged.
    /// @return auditId The new audit's id (ids start at 1).
    function openAudit(InferenceReceipt calldata receipt, bytes calldata signature, string calldata evidenceURI)
        external
        nonReentrant
        returns (uint256 auditId)
    {
        PaymentChannels.Channel memory channel = _channels.getChannel(receipt.channelId);
        if (channel.provider == address(0) || channel.modelId != receipt.modelId) {
            revert AuditCourtReceiptChannelMismatch(receipt.channelId, receipt.modelId);
        }
        bytes32 digest = hashReceipt(receipt);
        (address recovered, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        if (err != ECDSA.RecoverError.NoError || recovered != channel.provider) {
            revert AuditCourtInvalidReceiptSignature(recovered, channel.provider);
        }
        uint256 existing = _auditOfReceipt[digest];
        if (existing != 0) revert AuditCourtReceiptAlreadyAudited(digest, existing);

        auditId = ++_auditCount;
        _auditOfReceipt[digest] = auditId;
        Audit storage audit = _audits[auditId];
        audit.opener = msg.sender;
        audit.status = AuditStatus.Drawing;
        audit.openedBlock = uint64(block.number);
        audit.provider = channel.provider;
        audit.buyer = channel.buyer;
        audit.drawBlock = _nextDrawBlock();
        audit.bond = _auditBond;
        audit.receiptDigest = digest;
        audit.receipt = receipt;
        // The audited side, the accuser and the payer can never judge this audit.
        _drawn[auditId][channel.provider] = true;
        _drawn[auditId][msg.sender] = true;
        _drawn[auditId][channel.buyer] = true;
        _totalBonded += _auditBond;
        _emitOpened(auditId, audit);
        emit EvidenceOffered(auditId, evidenceURI);
        _token.safeTransferFrom(msg.sender, address(this), _auditBond);
    }

    /// @dev Emits `AuditOpened` from storage (in its own frame: `openAudit` has no stack to spare).
    function _emitOpened(uint256 auditId, Audit storage audit) private {
        emit AuditOpened(
            auditId, audit.opener, audit.provider, audit.receiptDigest, audit.receipt.modelId, audit.receipt.channelId, audit.drawBlock
        );
    }

    // ---------------------------------------------------------------- drawing

    /// @notice Draws verifiers for the open seats of the audit's current stage (one at stage 0,
    /// up to three at stage 1) from the active providers offering the receipt's model, excluding
    /// the provider, the opener, the buyer and everyone drawn before. Anyone may call it once the
    /// draw block is mined. If that block is older than 256 blocks its hash is gone and a new draw
    /// block is set instead. If nobody is eligible at stage 0 the audit is cancelled and the bond
    /// credited back; at stage 1 the panel decides with the votes it has.
    function assignVerifiers(uint256 auditId) external nonReentrant {
        Audit storage audit = _existing(auditId);
        if (audit.status != AuditStatus.Drawing) revert AuditCourtInvalidStatus(auditId, audit.status);
        if (block.number <= audit.drawBlock) revert AuditCourtDrawTooEarly(auditId, audit.drawBlock);
        bytes32 entropy = blockhash(audit.drawBlock);
        if (entropy == bytes32(0)) {
            audit.drawBlock = _nextDrawBlock();
            emit DrawRescheduled(auditId, audit.drawBlock);
            return;
        }

        address[] memory eligible = _eligibleVerifiers(auditId, audit.receipt.modelId);
        uint256 open = _seatsFor(audit.stage) - _liveSeats(auditId, audit.stage);
        uint256 count = eligible.length < open ? eligible.length : open;
        if (count == 0) {
            if (audit.stage == 0) {
                _cancel(auditId, audit);
            } else {
                _decide(auditId, audit);
            }
            return;
        }

        uint64 commitDeadline = uint64(block.timestamp) + _commitWindow;
        uint64 revealDeadline = commitDeadline + _revealWindow;
        audit.status = AuditStatus.Voting;
        audit.commitDeadline = commitDeadline;
        audit.revealDeadline = revealDeadline;
        bytes32 seed = keccak256(abi.encode(entropy, auditId, audit.stage, _seats[auditId].length));
        uint256 remaining = eligible.length;
        for (uint256 i; i < count; ++i) {
            // A partial Fisher-Yates shuffle: each pick is uniform over those not yet picked.
            uint256 j = uint256(keccak256(abi.encode(seed, i))) % remaining;
            address verifier = eligible[j];
            eligible[j] = eligible[--remaining];
            _drawn[auditId][verifier] = true;
            _seats[auditId].push(
                Seat({verifier: verifier, stage: audit.stage, status: SeatStatus.Drawn, verdict: Verdict.None, commitment: 0})
            );
            emit VerifierAssigned(auditId, verifier, audit.stage, commitDeadline, revealDeadline);
        }
    }

    // ---------------------------------------------------------------- voting

    /// @notice Commits the caller's verdict as `hashVerdict(auditId, caller, verdict, salt)`, within
    /// the commit window. A verifier may replace its commitment until it reveals.
    function commitVerdict(uint256 auditId, bytes32 commitment) external {
        Audit storage audit = _voting(auditId);
        if (block.timestamp >= audit.commitDeadline) revert AuditCourtCommitClosed(auditId, audit.commitDeadline);
        Seat storage seat = _seatOf(auditId, audit.stage, msg.sender);
        if (seat.status != SeatStatus.Drawn && seat.status != SeatStatus.Committed) {
            revert AuditCourtNotVerifier(auditId, msg.sender);
        }
        seat.commitment = commitment;
        seat.status = SeatStatus.Committed;
        emit VerdictCommitted(auditId, msg.sender);
    }

    /// @notice Reveals the caller's committed verdict. Reveals open once every drawn verifier of
    /// the stage has committed (or the commit window ended) and close at the reveal deadline. The
    /// last reveal decides the stage.
    function revealVerdict(uint256 auditId, Verdict verdict, bytes32 salt) external {
        Audit storage audit = _voting(auditId);
        if (block.timestamp >= audit.revealDeadline) revert AuditCourtRevealClosed(auditId, audit.revealDeadline);
        if (block.timestamp < audit.commitDeadline && !_allCommitted(auditId, audit.stage)) {
            revert AuditCourtRevealNotOpen(auditId, audit.commitDeadline);
        }
        Seat storage seat = _seatOf(auditId, audit.stage, msg.sender);
        if (seat.status != SeatStatus.Committed) revert AuditCourtNotVerifier(auditId, msg.sender);
        if (verdict == Verdict.None || hashVerdict(auditId, msg.sender, verdict, salt) != seat.commitment) {
            revert AuditCourtCommitmentMismatch(auditId, msg.sender);
        }
        seat.status = SeatStatus.Revealed;
        seat.verdict = verdict;
        emit VerdictRevealed(auditId, msg.sender, verdict);
        if (_allRevealed(auditId, audit.stage)) _decide(auditId, audit);
    }

    /// @notice After the reveal deadline: jails and fines every verifier of the stage that did not
    /// reveal (the fine goes to the treasury), frees their seats and schedules a new draw for them.
    /// Revealed verdicts stand. Anyone may call it.
    function replaceVerifiers(uint256 auditId) external nonReentrant {
        Audit storage audit = _voting(auditId);
        if (block.timestamp < audit.revealDeadline) revert AuditCourtRevealRunning(auditId, audit.revealDeadline);
        // Effects first: the whole stage's no-shows are marked before any registry call.
        Seat[] storage seats = _seats[auditId];
        uint256 length = seats.length;
        address[] memory absent = new address[](length);
        uint256 absentCount;
        for (uint256 i; i < length; ++i) {
            Seat storage seat = seats[i];
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
    /// approval): the provider against a Fail, the opener against a Pass, before the escalation
    /// deadline.
    function escalateAudit(uint256 auditId) external nonReentrant {
        Audit storage audit = _existing(auditId);
        if (audit.status != AuditStatus.Decided || audit.stage != 0) revert AuditCourtInvalidStatus(auditId, audit.status);
        address loser = audit.verdict == Verdict.Fail ? audit.provider : audit.opener;
        if (msg.sender != loser || block.timestamp >= audit.escalationDeadline) {
            revert AuditCourtCannotEscalate(auditId, msg.sender);
        }
        audit.stage = 1;
        audit.status = AuditStatus.Drawing;
        audit.escalator = msg.sender;
        audit.escalationBond = _escalationBond;
        audit.drawBlock = _nextDrawBlock();
        _totalBonded += _escalationBond;
        emit AuditEscalated(auditId, msg.sender, _escalationBond, audit.drawBlock);
        _token.safeTransferFrom(msg.sender, address(this), _escalationBond);
    }

    /// @notice Settles a decided audit: after the escalation window for a first verdict, at once
    /// for a panel's. On Fail the provider is slashed and jailed, the buyer refunded, the finding
    /// verifiers paid a bounty and the opener's bond returned; on Pass the opener's bond goes to
    /// the verifiers. A lost escalation forfeits its bond to the winning verifiers; a first
    /// verifier overturned by a panel majority is fined and jailed. Everything is credited, taken
    /// with `withdraw()`. Anyone may call it.
    function finalizeAudit(uint256 auditId) external nonReentrant {
        Audit storage audit = _existing(auditId);
        if (audit.status != AuditStatus.Decided) revert AuditCourtInvalidStatus(auditId, audit.status);
        if (audit.stage == 0 && block.timestamp < audit.escalationDeadline) {
            revert AuditCourtEscalationRunning(auditId, audit.escalationDeadline);
        }

        (Verdict outcome, bool panelMajority) = _outcome(auditId, audit);
        audit.verdict = outcome;
        audit.status = AuditStatus.Resolved;
        uint256 bond = audit.bond;
        uint256 escalationBond = audit.escalationBond;
        _totalBonded -= bond + escalationBond;

        // The pool is split evenly among the verifiers whose verdict is the outcome.
        uint256 pool;
        if (outcome == Verdict.Fail) {
            _credit(audit.opener, bond);
        } else {
            pool += bond;
        }
        if (escalationBond > 0) {
            bool escalatorWon = !panelMajority || (audit.escalator == audit.opener) == (outcome == Verdict.Fail);
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
        if (outcome == Verdict.Fail) {
            slashed = _registry.slash(audit.provider, _slashAmount, address(this));
            _registry.jail(audit.provider, uint64(block.timestamp) + _jailDuration);
            refund = (slashed * _refundBps) / BPS;
            bounty = (slashed * _bountyBps) / BPS;
            // Cannot underflow: refundBps + bountyBps <= BPS (checked at deploy).
            toTreasury = slashed - refund - bounty;
            _credit(audit.buyer, refund);
            pool += bounty;
        }
        toTreasury += _payWinners(auditId, outcome, pool);
        _credit(_treasury, toTreasury);
        emit AuditResolved(auditId, outcome, slashed, refund, bounty, toTreasury);

        if (panelMajority) {
            Seat storage first = _firstSeat(auditId);
            if (first.verdict != outcome) {
                (uint256 penalty, uint64 until) = _penalise(first.verifier);
                emit VerifierReplaced(auditId, first.verifier, penalty, until);
            }
        }
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
    function getSeats(uint256 auditId) external view returns (Seat[] memory) {
        return _seats[auditId];
    }

    /// @notice The audit of a receipt digest (0 if none; cancelled audits free their receipt).
    function getAuditOfReceipt(bytes32 receiptDigest) external view returns (uint256) {
        return _auditOfReceipt[receiptDigest];
    }

    /// @notice How many audits were opened (the id of the newest).
    function getAuditCount() external view returns (uint256) {
        return _auditCount;
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
            jailDuration: _jailDuration
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

    function _nextDrawBlock() private view returns (uint64) {
        return uint64(block.number) + _drawDelayBlocks;
    }

    function _seatsFor(uint8 stage) private pure returns (uint256) {
        return stage == 0 ? 1 : PANEL_SIZE;
    }

    /// @dev Active providers offering `modelId` that were never drawn into (or excluded from) the audit.
    function _eligibleVerifiers(uint256 auditId, bytes32 modelId) private view returns (address[] memory eligible) {
        address[] memory candidates = _registry.getProvidersForModel(modelId);
        eligible = new address[](candidates.length);
        uint256 count;
        for (uint256 i; i < candidates.length; ++i) {
            address candidate = candidates[i];
            if (!_drawn[auditId][candidate] && _registry.isActive(candidate)) eligible[count++] = candidate;
        }
        // Shrink the array to the eligible ones.
        assembly ("memory-safe") {
            mstore(eligible, count)
        }
    }

    function _seatOf(uint256 auditId, uint8 stage, address verifier) private view returns (Seat storage) {
        Seat[] storage seats = _seats[auditId];
        for (uint256 i; i < seats.length; ++i) {
            if (seats[i].verifier == verifier && seats[i].stage == stage) return seats[i];
        }
        revert AuditCourtNotVerifier(auditId, verifier);
    }

    function _firstSeat(uint256 auditId) private view returns (Seat storage) {
        Seat[] storage seats = _seats[auditId];
        for (uint256 i; i < seats.length; ++i) {
            if (seats[i].stage == 0 && seats[i].status == SeatStatus.Revealed) return seats[i];
        }
        // Unreachable: a stage can only be escalated after its one seat revealed.
        revert AuditCourtUnknownAudit(auditId);
    }

    function _liveSeats(uint256 auditId, uint8 stage) private view returns (uint256 live) {
        Seat[] storage seats = _seats[auditId];
        for (uint256 i; i < seats.length; ++i) {
            if (seats[i].stage == stage && seats[i].status != SeatStatus.Replaced) live++;
        }
    }

    function _allCommitted(uint256 auditId, uint8 stage) private view returns (bool) {
        Seat[] storage seats = _seats[auditId];
        for (uint256 i; i < seats.length; ++i) {
            if (seats[i].stage == stage && seats[i].status == SeatStatus.Drawn) return false;
        }
        return true;
    }

    function _allRevealed(uint256 auditId, uint8 stage) private view returns (bool) {
        Seat[] storage seats = _seats[auditId];
        for (uint256 i; i < seats.length; ++i) {
            SeatStatus status = seats[i].status;
            if (seats[i].stage == stage && (status == SeatStatus.Drawn || status == SeatStatus.Committed)) return false;
        }
        return true;
    }

    /// @dev The stage has every verdict it will get: stage 0 opens the escalation window; a panel
    /// can be finalized at once.
    function _decide(uint256 auditId, Audit storage audit) private {
        audit.status = AuditStatus.Decided;
        if (audit.stage == 0) {
            audit.verdict = _firstSeat(auditId).verdict;
            audit.escalationDeadline = uint64(block.timestamp) + _escalationWindow;
        } else {
            audit.escalationDeadline = uint64(block.timestamp);
        }
        emit StageDecided(auditId, audit.stage, audit.verdict, audit.escalationDeadline);
    }

    /// @dev The audit's outcome: the first verdict, unless a panel reached a majority. A panel
    /// that could not be filled, or split evenly, leaves the first verdict standing.
    function _outcome(uint256 auditId, Audit storage audit) private view returns (Verdict outcome, bool panelMajority) {
        outcome = audit.verdict;
        if (audit.stage == 0) return (outcome, false);
        uint256 passes;
        uint256 fails;
        Seat[] storage seats = _seats[auditId];
        for (uint256 i; i < seats.length; ++i) {
            if (seats[i].stage != 1) continue;
            if (seats[i].verdict == Verdict.Pass) passes++;
            else if (seats[i].verdict == Verdict.Fail) fails++;
        }
        if (passes > fails) return (Verdict.Pass, true);
        if (fails > passes) return (Verdict.Fail, true);
        return (outcome, false);
    }

    /// @dev Credits `pool` evenly to the verifiers (any stage) whose verdict is `outcome`; returns
    /// what is left for the treasury (rounding dust, or all of it if nobody won).
    function _payWinners(uint256 auditId, Verdict outcome, uint256 pool) private returns (uint256 rest) {
        if (pool == 0) return 0;
        Seat[] storage seats = _seats[auditId];
        uint256 winners;
        for (uint256 i; i < seats.length; ++i) {
            if (seats[i].verdict == outcome) winners++;
        }
        if (winners == 0) return pool;
        uint256 share = pool / winners;
        for (uint256 i; i < seats.length; ++i) {
            if (seats[i].verdict == outcome) _credit(seats[i].verifier, share);
        }
        return pool - share * winners;
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
        _totalBonded -= audit.bond;
        // The receipt was never judged: it may be audited again later.
        delete _auditOfReceipt[audit.receiptDigest];
        emit AuditCancelled(auditId);
        _credit(audit.opener, audit.bond);
    }

    function _credit(address account, uint256 amount) private {
        if (amount == 0) return;
        _withdrawable[account] += amount;
        _totalWithdrawable += amount;
        emit Credited(account, amount);
    }
}
