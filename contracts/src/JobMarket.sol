// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Settlement} from "./Settlement.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";

/// @title JobMarket
/// @notice The slow path: one-off jobs paid from escrow. A buyer escrows `maxPrice` and the job's
/// price is fixed when it opens: the named provider's offer then, or, for a job any provider may
/// take, `maxPrice` itself. A staked provider offering the model at or below that price accepts it,
/// then either delivers an output hash with a signed receipt or reports a failure. A failure refunds the buyer in full and pays the
/// provider nothing. A delivery is paid after a challenge window. If nothing is delivered by the
/// deadline, the buyer reclaims the escrow. Each job settles exactly once.
contract JobMarket is Settlement, EIP712 {
    using SafeERC20 for IERC20;

    /// @notice Life of a job. Failed, Finalized, Reclaimed and Cancelled are final.
    enum JobStatus {
        None,
        Open,
        Accepted,
        Delivered,
        Failed,
        Finalized,
        Reclaimed,
        Cancelled
    }

    /// @notice A job. `price` is what the provider is paid, fixed at open and at most `maxPrice`, so a
    /// provider cannot raise its offer around the accept (issue 9, finding 7); `royaltyBps` caps the
    /// model royalty at its rate when the job was accepted, at most the accepting provider's
    /// `maxRoyaltyBps`. Fields are ordered to pack into six
    /// storage slots (opening a job writes five of them).
    struct Job {
        address buyer;
        uint64 deadline;
        JobStatus status;
        uint16 royaltyBps;
        address provider;
        uint64 deliveredAt;
        uint32 errorCode;
        bytes32 modelId;
        bytes32 inputHash;
        uint128 maxPrice;
        uint128 price;
        bytes32 outputHash;
    }

    /// @notice Arguments of `openJob`. `provider` zero lets any eligible provider accept, at
    /// `maxPrice`; a named provider is paid its offer at open, which must be at most `maxPrice`.
    /// `inputURI` says where the provider fetches the input whose hash is `inputHash`.
    struct OpenJobParams {
        bytes32 modelId;
        bytes32 inputHash;
        string inputURI;
        uint256 maxPrice;
        address provider;
        uint64 deadline;
    }

    /// @notice EIP-712 type of a delivery receipt signed by the provider.
    bytes32 public constant RECEIPT_TYPEHASH =
        keccak256("JobReceipt(uint256 jobId,bytes32 modelId,bytes32 inputHash,bytes32 outputHash)");

    uint64 private immutable _challengeWindow;

    mapping(uint256 jobId => Job) private _jobs;
    uint256 private _jobCount;
    uint256 private _totalEscrowed;

    /// @notice Emitted when a buyer opens a job.
    event JobOpened(
        uint256 indexed jobId,
        address indexed buyer,
        bytes32 indexed modelId,
        bytes32 inputHash,
        string inputURI,
        uint256 maxPrice,
        uint256 price,
        address provider,
        uint64 deadline
    );
    /// @notice Emitted when a provider accepts a job at `price` (the price fixed at open).
    event JobAccepted(uint256 indexed jobId, address indexed provider, uint256 price);
    /// @notice Emitted when a provider delivers; the receipt is evidence for audits.
    event JobDelivered(uint256 indexed jobId, bytes32 outputHash, bytes receipt);
    /// @notice Emitted when a provider reports a failure; the buyer is refunded in full.
    event JobFailed(uint256 indexed jobId, uint32 errorCode);
    /// @notice Emitted when a delivered job is paid out.
    event JobFinalized(uint256 indexed jobId, uint256 price, uint256 providerShare, uint256 buyerRefund);
    /// @notice Emitted when a buyer takes back the escrow of an undelivered, expired job.
    event JobReclaimed(uint256 indexed jobId, uint256 amount);
    /// @notice Emitted when a buyer cancels a job nobody accepted.
    event JobCancelled(uint256 indexed jobId, uint256 amount);

    /// @notice No job with this id.
    error JobMarketUnknownJob(uint256 jobId);
    /// @notice The job is not in a state that allows this call.
    error JobMarketInvalidStatus(uint256 jobId, JobStatus status);
    /// @notice Only the job's buyer may do this.
    error JobMarketNotBuyer(uint256 jobId, address caller);
    /// @notice Only the job's provider may do this (or the job names another provider).
    error JobMarketNotProvider(uint256 jobId, address caller);
    /// @notice The deadline is not in the future.
    error JobMarketInvalidDeadline(uint64 deadline, uint256 nowTimestamp);
    /// @notice The job's deadline has passed.
    error JobMarketDeadlinePassed(uint256 jobId, uint64 deadline);
    /// @notice The job's deadline has not passed yet.
    error JobMarketDeadlineNotPassed(uint256 jobId, uint64 deadline);
    /// @notice The provider is not active or has no offer for the job's model.
    error JobMarketProviderUnavailable(address provider, bytes32 modelId);
    /// @notice The provider's offer costs more than the job pays (its `maxPrice` at open, its fixed
    /// price at accept).
    error JobMarketPriceTooHigh(uint256 jobId, uint256 price, uint256 maxPrice);
    /// @notice The receipt was not signed by the job's provider.
    error JobMarketInvalidReceipt(uint256 jobId, address recovered);
    /// @notice The challenge window after delivery is still open.
    error JobMarketChallengeWindowOpen(uint256 jobId, uint256 endsAt);
    /// @notice The output hash is zero.
    error JobMarketEmptyOutput(uint256 jobId);
    /// @notice `challengeWindow` must be above zero: with none, a delivery is paid out in its own
    /// block, before any audit can dispute it.
    error JobMarketInvalidChallengeWindow(uint64 challengeWindow);

    /// @param challengeWindow_ Seconds between delivery and payout, for audits to dispute; must be
    /// above zero.
    constructor(
        IERC20 token_,
        IProviderRegistry providerRegistry_,
        IModelRegistry modelRegistry_,
        address treasury_,
        uint16 protocolFeeBps_,
        uint64 challengeWindow_
    )
        Settlement(token_, providerRegistry_, modelRegistry_, treasury_, protocolFeeBps_)
        EIP712("Agora JobMarket", "1")
    {
        if (challengeWindow_ == 0) revert JobMarketInvalidChallengeWindow(challengeWindow_);
        _challengeWindow = challengeWindow_;
    }

    // ---------------------------------------------------------------- buyer actions

    /// @notice Opens a job and escrows `maxPrice` from the caller (needs approval). The price is
    /// fixed now: a named provider's current offer (reverts if it has none, is inactive, or asks
    /// more than `maxPrice`), else `maxPrice`. Whatever is escrowed above it comes back at payout.
    /// @return jobId The new job's id (ids start at 1).
    function openJob(OpenJobParams calldata params) external nonReentrant returns (uint256 jobId) {
        if (params.maxPrice == 0) revert SettlementZeroAmount();
        if (params.deadline <= block.timestamp) revert JobMarketInvalidDeadline(params.deadline, block.timestamp);
        if (!_modelRegistry.modelExists(params.modelId)) revert SettlementUnknownModel(params.modelId);
        jobId = ++_jobCount;
        uint256 price = params.maxPrice;
        if (params.provider != address(0)) {
            bool offered;
            (price, offered) = _providerRegistry.getOfferPrice(params.provider, params.modelId);
            if (!offered || !_providerRegistry.isActive(params.provider)) {
                revert JobMarketProviderUnavailable(params.provider, params.modelId);
            }
            if (price > params.maxPrice) revert JobMarketPriceTooHigh(jobId, price, params.maxPrice);
        }
        _jobs[jobId] = Job({
            buyer: msg.sender,
            deadline: params.deadline,
            status: JobStatus.Open,
            royaltyBps: 0,
            provider: params.provider,
            deliveredAt: 0,
            errorCode: 0,
            modelId: params.modelId,
            inputHash: params.inputHash,
            maxPrice: SafeCast.toUint128(params.maxPrice),
            // Cannot truncate: price <= maxPrice, which fits a uint128 (checked just above).
            price: uint128(price),
            outputHash: bytes32(0)
        });
        _totalEscrowed += params.maxPrice;
        emit JobOpened(
            jobId,
            msg.sender,
            params.modelId,
            params.inputHash,
            params.inputURI,
            params.maxPrice,
            price,
            params.provider,
            params.deadline
        );
        _token.safeTransferFrom(msg.sender, address(this), params.maxPrice);
    }

    /// @notice Cancels a job no provider has accepted and returns the escrow. Buyer only.
    function cancelJob(uint256 jobId) external nonReentrant {
        Job storage job = _existing(jobId);
        if (msg.sender != job.buyer) revert JobMarketNotBuyer(jobId, msg.sender);
        if (job.status != JobStatus.Open) revert JobMarketInvalidStatus(jobId, job.status);
        job.status = JobStatus.Cancelled;
        uint256 amount = job.maxPrice;
        _totalEscrowed -= amount;
        emit JobCancelled(jobId, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @notice Takes back the escrow of a job that was not delivered by its deadline. Buyer only.
    function reclaimJob(uint256 jobId) external nonReentrant {
        Job storage job = _existing(jobId);
        if (msg.sender != job.buyer) revert JobMarketNotBuyer(jobId, msg.sender);
        if (job.status != JobStatus.Open && job.status != JobStatus.Accepted) {
            revert JobMarketInvalidStatus(jobId, job.status);
        }
        if (block.timestamp <= job.deadline) revert JobMarketDeadlineNotPassed(jobId, job.deadline);
        job.status = JobStatus.Reclaimed;
        uint256 amount = job.maxPrice;
        _totalEscrowed -= amount;
        emit JobReclaimed(jobId, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- provider actions

    /// @notice Accepts an open job at the price fixed when it opened; the caller's offer for the
    /// model must be at most that price. Snapshots the model's royalty rate as the job's cap.
    /// @param maxRoyaltyBps The highest royalty rate the provider agrees to pay from its share;
    /// reverts `SettlementRoyaltyAboveMax` when the model's rate is above it.
    function acceptJob(uint256 jobId, uint16 maxRoyaltyBps) external {
        Job storage job = _existing(jobId);
        if (job.status != JobStatus.Open) revert JobMarketInvalidStatus(jobId, job.status);
        if (job.provider != address(0) && job.provider != msg.sender) revert JobMarketNotProvider(jobId, msg.sender);
        if (block.timestamp > job.deadline) revert JobMarketDeadlinePassed(jobId, job.deadline);
        (uint256 offer, bool offered) = _providerRegistry.getOfferPrice(msg.sender, job.modelId);
        if (!offered || !_providerRegistry.isActive(msg.sender)) {
            revert JobMarketProviderUnavailable(msg.sender, job.modelId);
        }
        // The offer now only says whether the provider takes the job; it never sets the price.
        uint256 price = job.price;
        if (offer > price) revert JobMarketPriceTooHigh(jobId, offer, price);
        job.royaltyBps = _agreedRoyaltyBps(job.modelId, maxRoyaltyBps);
        job.provider = msg.sender;
        job.status = JobStatus.Accepted;
        emit JobAccepted(jobId, msg.sender, price);
    }

    /// @notice Delivers a job's output hash with the provider's EIP-712 receipt over
    /// (jobId, modelId, inputHash, outputHash). Starts the challenge window.
    function deliverJob(uint256 jobId, bytes32 outputHash, bytes calldata receipt) external {
        Job storage job = _existing(jobId);
        if (msg.sender != job.provider) revert JobMarketNotProvider(jobId, msg.sender);
        if (job.status != JobStatus.Accepted) revert JobMarketInvalidStatus(jobId, job.status);
        if (block.timestamp > job.deadline) revert JobMarketDeadlinePassed(jobId, job.deadline);
        if (outputHash == bytes32(0)) revert JobMarketEmptyOutput(jobId);
        (address recovered, ECDSA.RecoverError err, ) =
            ECDSA.tryRecover(hashReceipt(jobId, job.modelId, job.inputHash, outputHash), receipt);
        if (err != ECDSA.RecoverError.NoError || recovered != msg.sender) revert JobMarketInvalidReceipt(jobId, recovered);
        job.outputHash = outputHash;
        job.deliveredAt = uint64(block.timestamp);
        job.status = JobStatus.Delivered;
        emit JobDelivered(jobId, outputHash, receipt);
    }

    /// @notice Reports that the job could not be done. The buyer is refunded in full (credited,
    /// `withdraw()`), the provider is paid nothing.
    /// @param errorCode Structured reason (e.g. 1 input unavailable, 2 input hash mismatch, 3 model error).
    function failJob(uint256 jobId, uint32 errorCode) external {
        Job storage job = _existing(jobId);
        if (msg.sender != job.provider) revert JobMarketNotProvider(jobId, msg.sender);
        if (job.status != JobStatus.Accepted) revert JobMarketInvalidStatus(jobId, job.status);
        job.status = JobStatus.Failed;
        job.errorCode = errorCode;
        uint256 amount = job.maxPrice;
        _totalEscrowed -= amount;
        _credit(job.buyer, amount);
        emit JobFailed(jobId, errorCode);
    }

    // ---------------------------------------------------------------- anyone

    /// @notice Pays out a delivered job once its challenge window has passed: the price is split
    /// into provider share, protocol fee and model royalty (all credited), and whatever the buyer
    /// escrowed above the price is credited back to the buyer.
    function finalizeJob(uint256 jobId) external {
        Job storage job = _existing(jobId);
        if (job.status != JobStatus.Delivered) revert JobMarketInvalidStatus(jobId, job.status);
        uint256 endsAt = uint256(job.deliveredAt) + _challengeWindow;
        if (block.timestamp < endsAt) revert JobMarketChallengeWindowOpen(jobId, endsAt);
        job.status = JobStatus.Finalized;
        uint256 escrow = job.maxPrice;
        uint256 price = job.price;
        _totalEscrowed -= escrow;
        uint256 providerShare = _splitPayment(job.modelId, price, job.royaltyBps);
        _credit(job.provider, providerShare);
        // Cannot underflow: openJob fixed price <= maxPrice.
        uint256 buyerRefund;
        unchecked {
            buyerRefund = escrow - price;
        }
        _credit(job.buyer, buyerRefund);
        emit JobFinalized(jobId, price, providerShare, buyerRefund);
    }

    // ---------------------------------------------------------------- views

    /// @notice A job's record. Reverts for an unknown id.
    function getJob(uint256 jobId) external view returns (Job memory) {
        return _existing(jobId);
    }

    /// @notice How many jobs were ever opened (the id of the newest).
    function getJobCount() external view returns (uint256) {
        return _jobCount;
    }

    /// @notice Tokens held in escrow for jobs that have not settled.
    function getTotalEscrowed() external view returns (uint256) {
        return _totalEscrowed;
    }

    /// @notice Seconds between delivery and payout.
    function challengeWindow() external view returns (uint64) {
        return _challengeWindow;
    }

    /// @notice The EIP-712 digest a provider signs as a job receipt.
    function hashReceipt(uint256 jobId, bytes32 modelId, bytes32 inputHash, bytes32 outputHash)
        public
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(keccak256(abi.encode(RECEIPT_TYPEHASH, jobId, modelId, inputHash, outputHash)));
    }

    function _existing(uint256 jobId) private view returns (Job storage job) {
        job = _jobs[jobId];
        if (job.status == JobStatus.None) revert JobMarketUnknownJob(jobId);
    }
}
