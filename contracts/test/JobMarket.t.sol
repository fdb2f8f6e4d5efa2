// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {AgoraFixture} from "./utils/AgoraFixture.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {Settlement} from "../src/Settlement.sol";

/// @notice Unit and fuzz tests of JobMarket: every transition of a job's life, every revert, the
/// exact split of a finalized job, and that the contract always holds what it owes.
contract JobMarketTest is AgoraFixture {
    uint256 internal constant MAX_PRICE = 5_000;
    uint256 internal constant BUYER_FUNDS = 1e12;
    bytes32 internal constant INPUT_HASH = keccak256("input: a handwritten 7");
    bytes32 internal constant OUTPUT_HASH = keccak256("output: 7");
    string internal constant INPUT_URI = "http://127.0.0.1:9000/cid/bafyinput";

    // PRICE split with FEE_BPS = 250 and ROYALTY_BPS = 500.
    uint256 internal constant FEE = 25;
    uint256 internal constant ROYALTY = 50;
    uint256 internal constant PROVIDER_SHARE = PRICE - FEE - ROYALTY;

    address internal buyer = makeAddr("buyer");
    address internal provider;
    uint256 internal providerKey;
    address internal otherProvider;
    uint256 internal otherProviderKey;
    uint64 internal deadline;

    function setUp() public override {
        super.setUp();
        (provider, providerKey) = makeAddrAndKey("provider");
        (otherProvider, otherProviderKey) = makeAddrAndKey("otherProvider");
        makeProvider(provider);
        makeProvider(otherProvider);
        fund(buyer, BUYER_FUNDS);
        deadline = uint64(block.timestamp + 1 hours);
    }

    // ---------------------------------------------------------------- helpers

    function _params(uint256 maxPrice, address designated, uint64 jobDeadline)
        internal
        view
        returns (JobMarket.OpenJobParams memory)
    {
        return JobMarket.OpenJobParams({
            modelId: modelId,
            inputHash: INPUT_HASH,
            inputURI: INPUT_URI,
            maxPrice: maxPrice,
            provider: designated,
            deadline: jobDeadline
        });
    }

    function _open() internal returns (uint256) {
        return _open(MAX_PRICE, address(0));
    }

    function _open(uint256 maxPrice, address designated) internal returns (uint256 jobId) {
        vm.prank(buyer);
        jobId = jobs.openJob(_params(maxPrice, designated, deadline));
    }

    /// @dev A job naming `provider`, so its price is fixed at open to the provider's offer (PRICE)
    /// and MAX_PRICE - PRICE of the escrow comes back at payout.
    function _accepted() internal returns (uint256 jobId) {
        jobId = _open(MAX_PRICE, provider);
        vm.prank(provider);
        jobs.acceptJob(jobId, ROYALTY_BPS);
    }

    function _delivered() internal returns (uint256 jobId) {
        jobId = _accepted();
        bytes memory receipt = signReceipt(providerKey, jobId, OUTPUT_HASH);
        vm.prank(provider);
        jobs.deliverJob(jobId, OUTPUT_HASH, receipt);
    }

    function _finalized() internal returns (uint256 jobId) {
        jobId = _delivered();
        vm.warp(block.timestamp + CHALLENGE_WINDOW);
        jobs.finalizeJob(jobId);
    }

    function _failed() internal returns (uint256 jobId) {
        jobId = _accepted();
        vm.prank(provider);
        jobs.failJob(jobId, 3);
    }

    function _invalidStatus(uint256 jobId, JobMarket.JobStatus status) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(JobMarket.JobMarketInvalidStatus.selector, jobId, status);
    }

    function _assertStatus(uint256 jobId, JobMarket.JobStatus expected) internal view {
        assertEq(uint8(jobs.getJob(jobId).status), uint8(expected), "job status");
    }

    function _assertConserved() internal view {
        assertEq(
            token.balanceOf(address(jobs)),
            jobs.getTotalEscrowed() + jobs.getTotalWithdrawable(),
            "balance == escrowed + withdrawable"
        );
    }

    /// @dev Registers `account` and offers the model without staking: registered but inactive.
    /// @dev A provider whose offer stands but whose stake is gone (an offer needs the minimum
    /// stake when it is made, so it stakes, offers, then unbonds everything).
    function _registerWithoutStake(address account) internal {
        fund(account, MIN_STAKE);
        vm.startPrank(account);
        registry.register("http://127.0.0.1:8002", hex"03");
        registry.stake(MIN_STAKE);
        registry.setOffer(modelId, PRICE, "call");
        registry.requestUnbond(MIN_STAKE);
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- constructor and views

    function test_Constructor_SetsParameters() public view {
        assertEq(address(jobs.token()), address(token));
        assertEq(address(jobs.providerRegistry()), address(registry));
        assertEq(address(jobs.modelRegistry()), address(models));
        assertEq(jobs.treasury(), treasury);
        assertEq(jobs.protocolFeeBps(), FEE_BPS);
        assertEq(jobs.challengeWindow(), CHALLENGE_WINDOW);
        assertEq(jobs.getJobCount(), 0);
        assertEq(jobs.getTotalEscrowed(), 0);
        assertEq(
            jobs.RECEIPT_TYPEHASH(),
            keccak256("JobReceipt(uint256 jobId,bytes32 modelId,bytes32 inputHash,bytes32 outputHash)")
        );
    }

    function test_RevertWhen_ConstructorFeeAboveMax() public {
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementInvalidFee.selector, uint16(1_001), uint16(1_000)));
        new JobMarket(token, registry, models, treasury, 1_001, CHALLENGE_WINDOW);
    }

    function test_RevertWhen_ConstructorFeeWithoutTreasury() public {
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementInvalidFee.selector, uint16(1), uint16(1_000)));
        new JobMarket(token, registry, models, address(0), 1, CHALLENGE_WINDOW);
    }

    function test_HashReceipt_IsEip712Digest() public view {
        bytes32 domainSeparator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Agora JobMarket"),
                keccak256("1"),
                block.chainid,
                address(jobs)
            )
        );
        bytes32 structHash =
            keccak256(abi.encode(jobs.RECEIPT_TYPEHASH(), uint256(7), modelId, INPUT_HASH, OUTPUT_HASH));
        assertEq(
            jobs.hashReceipt(7, modelId, INPUT_HASH, OUTPUT_HASH),
            keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash))
        );
    }

    function test_QuoteSplit_UsesFeeAndModelRoyalty() public view {
        (uint256 share, uint256 fee, uint256 royalty, address receiver) = jobs.quoteSplit(modelId, PRICE);
        assertEq(fee, FEE);
        assertEq(royalty, ROYALTY);
        assertEq(share, PROVIDER_SHARE);
        assertEq(receiver, royaltyReceiver);
    }

    function test_RevertWhen_GetJobUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketUnknownJob.selector, uint256(1)));
        jobs.getJob(1);
    }

    // ---------------------------------------------------------------- openJob

    function test_OpenJob_EscrowsMaxPriceAndRecordsJob() public {
        vm.expectEmit(address(jobs));
        emit JobMarket.JobOpened(1, buyer, modelId, INPUT_HASH, INPUT_URI, MAX_PRICE, PRICE, provider, deadline);
        vm.prank(buyer);
        uint256 jobId = jobs.openJob(_params(MAX_PRICE, provider, deadline));

        assertEq(jobId, 1);
        assertEq(jobs.getJobCount(), 1);
        assertEq(jobs.getTotalEscrowed(), MAX_PRICE);
        assertEq(token.balanceOf(address(jobs)), MAX_PRICE);
        assertEq(token.balanceOf(buyer), BUYER_FUNDS - MAX_PRICE);

        JobMarket.Job memory job = jobs.getJob(jobId);
        assertEq(job.buyer, buyer);
        assertEq(job.provider, provider);
        assertEq(job.modelId, modelId);
        assertEq(job.inputHash, INPUT_HASH);
        assertEq(job.maxPrice, MAX_PRICE);
        assertEq(job.price, PRICE, "fixed at open: the named provider's offer");
        assertEq(job.deadline, deadline);
        assertEq(job.deliveredAt, 0);
        assertEq(uint8(job.status), uint8(JobMarket.JobStatus.Open));
        assertEq(job.errorCode, 0);
        assertEq(job.outputHash, bytes32(0));
    }

    function test_OpenJob_IdsIncrementAndEscrowsAdd() public {
        uint256 first = _open(MAX_PRICE, address(0));
        uint256 second = _open(2 * MAX_PRICE, address(0));
        assertEq(first, 1);
        assertEq(second, 2);
        assertEq(jobs.getJobCount(), 2);
        assertEq(jobs.getTotalEscrowed(), 3 * MAX_PRICE);
        assertEq(token.balanceOf(address(jobs)), 3 * MAX_PRICE);
    }

    function test_RevertWhen_OpenJobZeroPrice() public {
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementZeroAmount.selector));
        vm.prank(buyer);
        jobs.openJob(_params(0, address(0), deadline));
    }

    function test_RevertWhen_OpenJobDeadlineIsNow() public {
        uint64 now_ = uint64(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketInvalidDeadline.selector, now_, block.timestamp));
        vm.prank(buyer);
        jobs.openJob(_params(MAX_PRICE, address(0), now_));
    }

    function test_RevertWhen_OpenJobDeadlinePast() public {
        vm.warp(1_000);
        vm.expectRevert(
            abi.encodeWithSelector(JobMarket.JobMarketInvalidDeadline.selector, uint64(999), uint256(1_000))
        );
        vm.prank(buyer);
        jobs.openJob(_params(MAX_PRICE, address(0), 999));
    }

    function test_RevertWhen_OpenJobMaxPriceAboveUint128() public {
        // Escrows are stored as uint128 to pack the job into fewer slots; no real token supply
        // reaches 2^128, and a larger amount is refused before any token moves.
        uint256 tooMuch = uint256(type(uint128).max) + 1;
        fund(buyer, tooMuch);
        vm.expectRevert(abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, 128, tooMuch));
        vm.prank(buyer);
        jobs.openJob(_params(tooMuch, address(0), deadline));
        assertEq(jobs.getJobCount(), 0);
    }

    function test_RevertWhen_OpenJobUnknownModel() public {
        JobMarket.OpenJobParams memory params = _params(MAX_PRICE, address(0), deadline);
        params.modelId = keccak256("no such model");
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementUnknownModel.selector, params.modelId));
        vm.prank(buyer);
        jobs.openJob(params);
    }

    // ---------------------------------------------------------------- cancelJob

    function test_CancelJob_ReturnsEscrow() public {
        uint256 jobId = _open();
        vm.expectEmit(address(jobs));
        emit JobMarket.JobCancelled(jobId, MAX_PRICE);
        vm.prank(buyer);
        jobs.cancelJob(jobId);

        _assertStatus(jobId, JobMarket.JobStatus.Cancelled);
        assertEq(token.balanceOf(buyer), BUYER_FUNDS);
        assertEq(token.balanceOf(address(jobs)), 0);
        assertEq(jobs.getTotalEscrowed(), 0);
        assertEq(jobs.getTotalWithdrawable(), 0);
    }

    function test_RevertWhen_CancelJobNotBuyer() public {
        uint256 jobId = _open();
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketNotBuyer.selector, jobId, provider));
        vm.prank(provider);
        jobs.cancelJob(jobId);
    }

    function test_RevertWhen_CancelJobAccepted() public {
        uint256 jobId = _accepted();
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Accepted));
        vm.prank(buyer);
        jobs.cancelJob(jobId);
    }

    function test_RevertWhen_CancelJobTwice() public {
        uint256 jobId = _open();
        vm.prank(buyer);
        jobs.cancelJob(jobId);
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Cancelled));
        vm.prank(buyer);
        jobs.cancelJob(jobId);
    }

    function test_RevertWhen_CancelJobUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketUnknownJob.selector, uint256(42)));
        vm.prank(buyer);
        jobs.cancelJob(42);
    }

    // ---------------------------------------------------------------- reclaimJob

    function test_ReclaimJob_OpenAfterDeadline() public {
        uint256 jobId = _open();
        vm.warp(uint256(deadline) + 1);
        vm.expectEmit(address(jobs));
        emit JobMarket.JobReclaimed(jobId, MAX_PRICE);
        vm.prank(buyer);
        jobs.reclaimJob(jobId);

        _assertStatus(jobId, JobMarket.JobStatus.Reclaimed);
        assertEq(token.balanceOf(buyer), BUYER_FUNDS);
        assertEq(token.balanceOf(address(jobs)), 0);
        assertEq(jobs.getTotalEscrowed(), 0);
    }

    function test_ReclaimJob_AcceptedAfterDeadline() public {
        uint256 jobId = _accepted();
        vm.warp(uint256(deadline) + 1);
        vm.expectEmit(address(jobs));
        emit JobMarket.JobReclaimed(jobId, MAX_PRICE);
        vm.prank(buyer);
        jobs.reclaimJob(jobId);

        _assertStatus(jobId, JobMarket.JobStatus.Reclaimed);
        assertEq(token.balanceOf(buyer), BUYER_FUNDS);
        assertEq(jobs.withdrawableOf(provider), 0);
        assertEq(jobs.getTotalEscrowed(), 0);
        assertEq(token.balanceOf(address(jobs)), 0);
    }

    function test_RevertWhen_ReclaimJobOpenAtDeadline() public {
        uint256 jobId = _open();
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketDeadlineNotPassed.selector, jobId, deadline));
        vm.prank(buyer);
        jobs.reclaimJob(jobId);
    }

    function test_RevertWhen_ReclaimJobAcceptedBeforeDeadline() public {
        uint256 jobId = _accepted();
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketDeadlineNotPassed.selector, jobId, deadline));
        vm.prank(buyer);
        jobs.reclaimJob(jobId);
    }

    function test_RevertWhen_ReclaimJobDelivered() public {
        uint256 jobId = _delivered();
        vm.warp(uint256(deadline) + 1);
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Delivered));
        vm.prank(buyer);
        jobs.reclaimJob(jobId);
    }

    function test_RevertWhen_ReclaimJobNotBuyer() public {
        uint256 jobId = _open();
        vm.warp(uint256(deadline) + 1);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketNotBuyer.selector, jobId, provider));
        vm.prank(provider);
        jobs.reclaimJob(jobId);
    }

    function test_RevertWhen_ReclaimJobTwice() public {
        uint256 jobId = _open();
        vm.warp(uint256(deadline) + 1);
        vm.prank(buyer);
        jobs.reclaimJob(jobId);
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Reclaimed));
        vm.prank(buyer);
        jobs.reclaimJob(jobId);
    }

    function test_RevertWhen_ReclaimJobAfterFail() public {
        uint256 jobId = _failed();
        vm.warp(uint256(deadline) + 1);
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Failed));
        vm.prank(buyer);
        jobs.reclaimJob(jobId);
    }

    function test_RevertWhen_ReclaimJobAfterFinalize() public {
        uint256 jobId = _finalized();
        vm.warp(uint256(deadline) + 1);
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Finalized));
        vm.prank(buyer);
        jobs.reclaimJob(jobId);
    }

    function test_RevertWhen_ReclaimJobCancelled() public {
        uint256 jobId = _open();
        vm.prank(buyer);
        jobs.cancelJob(jobId);
        vm.warp(uint256(deadline) + 1);
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Cancelled));
        vm.prank(buyer);
        jobs.reclaimJob(jobId);
    }

    // ---------------------------------------------------------------- acceptJob

    function test_AcceptJob_ByAnyProviderAtThePriceTheBuyerNamed() public {
        uint256 jobId = _open();
        assertEq(jobs.getJob(jobId).price, MAX_PRICE, "a job open to any provider pays maxPrice");
        vm.expectEmit(address(jobs));
        emit JobMarket.JobAccepted(jobId, otherProvider, MAX_PRICE);
        vm.prank(otherProvider);
        jobs.acceptJob(jobId, ROYALTY_BPS);

        JobMarket.Job memory job = jobs.getJob(jobId);
        assertEq(job.provider, otherProvider);
        assertEq(job.price, MAX_PRICE);
        assertEq(uint8(job.status), uint8(JobMarket.JobStatus.Accepted));
        assertEq(jobs.getTotalEscrowed(), MAX_PRICE);
    }

    function test_AcceptJob_ByDesignatedProvider() public {
        uint256 jobId = _open(MAX_PRICE, provider);
        vm.prank(provider);
        jobs.acceptJob(jobId, ROYALTY_BPS);
        assertEq(jobs.getJob(jobId).provider, provider);
        _assertStatus(jobId, JobMarket.JobStatus.Accepted);
    }

    function test_AcceptJob_PriceEqualToMaxPrice() public {
        uint256 jobId = _open(PRICE, address(0));
        vm.prank(provider);
        jobs.acceptJob(jobId, ROYALTY_BPS);
        assertEq(jobs.getJob(jobId).price, PRICE);
    }

    function test_AcceptJob_AtDeadline() public {
        uint256 jobId = _open();
        vm.warp(deadline);
        vm.prank(provider);
        jobs.acceptJob(jobId, ROYALTY_BPS);
        _assertStatus(jobId, JobMarket.JobStatus.Accepted);
    }

    function test_RevertWhen_OpenJobNamedProviderHasNoOffer() public {
        vm.prank(provider);
        registry.removeOffer(modelId);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketProviderUnavailable.selector, provider, modelId));
        _open(MAX_PRICE, provider);
    }

    function test_RevertWhen_OpenJobNamedProviderInactive() public {
        vm.prank(auditCourt);
        registry.jail(provider, uint64(block.timestamp + 1 hours));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketProviderUnavailable.selector, provider, modelId));
        _open(MAX_PRICE, provider);
    }

    function test_AcceptJob_NamedProviderWhoLoweredItsOfferIsPaidThePriceFixedAtOpen() public {
        uint256 jobId = _open(MAX_PRICE, provider);
        vm.startPrank(provider);
        registry.setOffer(modelId, PRICE / 2, "call");
        jobs.acceptJob(jobId, ROYALTY_BPS);
        vm.stopPrank();
        assertEq(jobs.getJob(jobId).price, PRICE);
    }

    function test_RevertWhen_AcceptJobRoyaltyAboveWhatTheProviderAgreedTo() public {
        uint256 jobId = _open();
        vm.expectRevert(
            abi.encodeWithSelector(Settlement.SettlementRoyaltyAboveMax.selector, modelId, ROYALTY_BPS, ROYALTY_BPS - 1)
        );
        vm.prank(provider);
        jobs.acceptJob(jobId, ROYALTY_BPS - 1);
    }

    function test_AcceptJob_PriceIsFixedAtAcceptance() public {
        uint256 jobId = _accepted();
        vm.prank(provider);
        registry.setOffer(modelId, 4 * PRICE, "call");
        assertEq(jobs.getJob(jobId).price, PRICE);
    }

    function test_RevertWhen_AcceptJobNotDesignatedProvider() public {
        uint256 jobId = _open(MAX_PRICE, provider);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketNotProvider.selector, jobId, otherProvider));
        vm.prank(otherProvider);
        jobs.acceptJob(jobId, ROYALTY_BPS);
    }

    function test_RevertWhen_AcceptJobProviderUnstaked() public {
        address unstaked = makeAddr("unstaked");
        _registerWithoutStake(unstaked);
        uint256 jobId = _open();
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketProviderUnavailable.selector, unstaked, modelId));
        vm.prank(unstaked);
        jobs.acceptJob(jobId, ROYALTY_BPS);
    }

    function test_RevertWhen_AcceptJobProviderUnbonding() public {
        vm.prank(provider);
        registry.requestUnbond(1);
        uint256 jobId = _open();
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketProviderUnavailable.selector, provider, modelId));
        vm.prank(provider);
        jobs.acceptJob(jobId, ROYALTY_BPS);
    }

    function test_RevertWhen_AcceptJobProviderJailed() public {
        vm.prank(auditCourt);
        registry.jail(provider, uint64(block.timestamp + 1 days));
        uint256 jobId = _open();
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketProviderUnavailable.selector, provider, modelId));
        vm.prank(provider);
        jobs.acceptJob(jobId, ROYALTY_BPS);
    }

    function test_RevertWhen_AcceptJobProviderNotRegistered() public {
        address stranger = makeAddr("stranger");
        uint256 jobId = _open();
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketProviderUnavailable.selector, stranger, modelId));
        vm.prank(stranger);
        jobs.acceptJob(jobId, ROYALTY_BPS);
    }

    function test_RevertWhen_AcceptJobNoOffer() public {
        vm.prank(provider);
        registry.removeOffer(modelId);
        assertTrue(registry.isActive(provider));
        uint256 jobId = _open();
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketProviderUnavailable.selector, provider, modelId));
        vm.prank(provider);
        jobs.acceptJob(jobId, ROYALTY_BPS);
    }

    function test_RevertWhen_AcceptJobPriceAboveMaxPrice() public {
        uint256 jobId = _open(PRICE - 1, address(0));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketPriceTooHigh.selector, jobId, PRICE, PRICE - 1));
        vm.prank(provider);
        jobs.acceptJob(jobId, ROYALTY_BPS);
    }

    function test_RevertWhen_AcceptJobAfterDeadline() public {
        uint256 jobId = _open();
        vm.warp(uint256(deadline) + 1);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketDeadlinePassed.selector, jobId, deadline));
        vm.prank(provider);
        jobs.acceptJob(jobId, ROYALTY_BPS);
    }

    function test_RevertWhen_AcceptJobTwice() public {
        uint256 jobId = _accepted();
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Accepted));
        vm.prank(otherProvider);
        jobs.acceptJob(jobId, ROYALTY_BPS);
    }

    function test_RevertWhen_AcceptJobCancelled() public {
        uint256 jobId = _open();
        vm.prank(buyer);
        jobs.cancelJob(jobId);
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Cancelled));
        vm.prank(provider);
        jobs.acceptJob(jobId, ROYALTY_BPS);
    }

    function test_RevertWhen_AcceptJobUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketUnknownJob.selector, uint256(1)));
        vm.prank(provider);
        jobs.acceptJob(1, ROYALTY_BPS);
    }

    // ---------------------------------------------------------------- deliverJob

    function test_DeliverJob_RecordsOutputAndStartsWindow() public {
        uint256 jobId = _accepted();
        vm.warp(block.timestamp + 10 minutes);
        bytes memory receipt = signReceipt(providerKey, jobId, OUTPUT_HASH);
        vm.expectEmit(address(jobs));
        emit JobMarket.JobDelivered(jobId, OUTPUT_HASH, receipt);
        vm.prank(provider);
        jobs.deliverJob(jobId, OUTPUT_HASH, receipt);

        JobMarket.Job memory job = jobs.getJob(jobId);
        assertEq(job.outputHash, OUTPUT_HASH);
        assertEq(job.deliveredAt, uint64(block.timestamp));
        assertEq(uint8(job.status), uint8(JobMarket.JobStatus.Delivered));
        // Nothing is paid before finalize.
        assertEq(jobs.getTotalEscrowed(), MAX_PRICE);
        assertEq(jobs.getTotalWithdrawable(), 0);
    }

    function test_DeliverJob_AtDeadline() public {
        uint256 jobId = _accepted();
        vm.warp(deadline);
        bytes memory receipt = signReceipt(providerKey, jobId, OUTPUT_HASH);
        vm.prank(provider);
        jobs.deliverJob(jobId, OUTPUT_HASH, receipt);
        _assertStatus(jobId, JobMarket.JobStatus.Delivered);
    }

    function test_RevertWhen_DeliverJobNotProvider() public {
        uint256 jobId = _accepted();
        bytes memory receipt = signReceipt(otherProviderKey, jobId, OUTPUT_HASH);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketNotProvider.selector, jobId, otherProvider));
        vm.prank(otherProvider);
        jobs.deliverJob(jobId, OUTPUT_HASH, receipt);
    }

    function test_RevertWhen_DeliverJobNotAcceptedOpenToAny() public {
        uint256 jobId = _open();
        bytes memory receipt = signReceipt(providerKey, jobId, OUTPUT_HASH);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketNotProvider.selector, jobId, provider));
        vm.prank(provider);
        jobs.deliverJob(jobId, OUTPUT_HASH, receipt);
    }

    function test_RevertWhen_DeliverJobNotAcceptedDesignated() public {
        uint256 jobId = _open(MAX_PRICE, provider);
        bytes memory receipt = signReceipt(providerKey, jobId, OUTPUT_HASH);
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Open));
        vm.prank(provider);
        jobs.deliverJob(jobId, OUTPUT_HASH, receipt);
    }

    function test_RevertWhen_DeliverJobAfterDeadline() public {
        uint256 jobId = _accepted();
        vm.warp(uint256(deadline) + 1);
        bytes memory receipt = signReceipt(providerKey, jobId, OUTPUT_HASH);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketDeadlinePassed.selector, jobId, deadline));
        vm.prank(provider);
        jobs.deliverJob(jobId, OUTPUT_HASH, receipt);
    }

    function test_RevertWhen_DeliverJobEmptyOutput() public {
        uint256 jobId = _accepted();
        bytes memory receipt = signReceipt(providerKey, jobId, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketEmptyOutput.selector, jobId));
        vm.prank(provider);
        jobs.deliverJob(jobId, bytes32(0), receipt);
    }

    function test_RevertWhen_DeliverJobReceiptSignedBySomeoneElse() public {
        uint256 jobId = _accepted();
        bytes memory receipt = signReceipt(otherProviderKey, jobId, OUTPUT_HASH);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketInvalidReceipt.selector, jobId, otherProvider));
        vm.prank(provider);
        jobs.deliverJob(jobId, OUTPUT_HASH, receipt);
    }

    function test_RevertWhen_DeliverJobGarbageReceipt() public {
        uint256 jobId = _accepted();
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketInvalidReceipt.selector, jobId, address(0)));
        vm.prank(provider);
        jobs.deliverJob(jobId, OUTPUT_HASH, hex"deadbeef");
    }

    function test_RevertWhen_DeliverJobEmptyReceipt() public {
        uint256 jobId = _accepted();
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketInvalidReceipt.selector, jobId, address(0)));
        vm.prank(provider);
        jobs.deliverJob(jobId, OUTPUT_HASH, "");
    }

    function test_RevertWhen_DeliverJobReceiptForOtherOutput() public {
        uint256 jobId = _accepted();
        bytes memory receipt = signReceipt(providerKey, jobId, keccak256("output: 1"));
        address recovered = ECDSA.recover(jobs.hashReceipt(jobId, modelId, INPUT_HASH, OUTPUT_HASH), receipt);
        assertTrue(recovered != provider);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketInvalidReceipt.selector, jobId, recovered));
        vm.prank(provider);
        jobs.deliverJob(jobId, OUTPUT_HASH, receipt);
    }

    function test_RevertWhen_DeliverJobReceiptFromOtherJobMarket() public {
        JobMarket otherMarket = new JobMarket(token, registry, models, treasury, FEE_BPS, CHALLENGE_WINDOW);
        uint256 jobId = _accepted();
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(providerKey, otherMarket.hashReceipt(jobId, modelId, INPUT_HASH, OUTPUT_HASH));
        bytes memory receipt = abi.encodePacked(r, s, v);
        address recovered = ECDSA.recover(jobs.hashReceipt(jobId, modelId, INPUT_HASH, OUTPUT_HASH), receipt);
        assertTrue(recovered != provider);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketInvalidReceipt.selector, jobId, recovered));
        vm.prank(provider);
        jobs.deliverJob(jobId, OUTPUT_HASH, receipt);
    }

    function test_RevertWhen_DeliverJobTwice() public {
        uint256 jobId = _delivered();
        bytes memory receipt = signReceipt(providerKey, jobId, OUTPUT_HASH);
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Delivered));
        vm.prank(provider);
        jobs.deliverJob(jobId, OUTPUT_HASH, receipt);
    }

    function test_RevertWhen_DeliverJobAfterFail() public {
        uint256 jobId = _failed();
        bytes memory receipt = signReceipt(providerKey, jobId, OUTPUT_HASH);
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Failed));
        vm.prank(provider);
        jobs.deliverJob(jobId, OUTPUT_HASH, receipt);
    }

    function test_RevertWhen_DeliverJobUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketUnknownJob.selector, uint256(3)));
        vm.prank(provider);
        jobs.deliverJob(3, OUTPUT_HASH, "");
    }

    // ---------------------------------------------------------------- failJob

    function test_FailJob_RefundsBuyerInFullAndPaysProviderNothing() public {
        uint256 jobId = _accepted();
        vm.expectEmit(address(jobs));
        emit Settlement.Credited(buyer, MAX_PRICE);
        vm.expectEmit(address(jobs));
        emit JobMarket.JobFailed(jobId, 2);
        vm.prank(provider);
        jobs.failJob(jobId, 2);

        JobMarket.Job memory job = jobs.getJob(jobId);
        assertEq(uint8(job.status), uint8(JobMarket.JobStatus.Failed));
        assertEq(job.errorCode, 2);
        assertEq(jobs.withdrawableOf(buyer), MAX_PRICE);
        assertEq(jobs.withdrawableOf(provider), 0);
        assertEq(jobs.withdrawableOf(treasury), 0);
        assertEq(jobs.withdrawableOf(royaltyReceiver), 0);
        assertEq(jobs.getTotalEscrowed(), 0);
        assertEq(jobs.getTotalWithdrawable(), MAX_PRICE);
        _assertConserved();

        vm.prank(buyer);
        assertEq(jobs.withdraw(), MAX_PRICE);
        assertEq(token.balanceOf(buyer), BUYER_FUNDS);
        assertEq(token.balanceOf(address(jobs)), 0);

        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementNothingToWithdraw.selector, provider));
        vm.prank(provider);
        jobs.withdraw();
    }

    function test_FailJob_AfterDeadline() public {
        uint256 jobId = _accepted();
        vm.warp(uint256(deadline) + 1);
        vm.prank(provider);
        jobs.failJob(jobId, 1);
        assertEq(jobs.withdrawableOf(buyer), MAX_PRICE);
    }

    function test_RevertWhen_FailJobNotProvider() public {
        uint256 jobId = _accepted();
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketNotProvider.selector, jobId, buyer));
        vm.prank(buyer);
        jobs.failJob(jobId, 1);
    }

    function test_RevertWhen_FailJobOpen() public {
        uint256 jobId = _open(MAX_PRICE, provider);
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Open));
        vm.prank(provider);
        jobs.failJob(jobId, 1);
    }

    function test_RevertWhen_FailJobDelivered() public {
        uint256 jobId = _delivered();
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Delivered));
        vm.prank(provider);
        jobs.failJob(jobId, 1);
    }

    function test_RevertWhen_FailJobTwice() public {
        uint256 jobId = _failed();
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Failed));
        vm.prank(provider);
        jobs.failJob(jobId, 1);
    }

    function test_RevertWhen_FailJobAfterReclaim() public {
        uint256 jobId = _accepted();
        vm.warp(uint256(deadline) + 1);
        vm.prank(buyer);
        jobs.reclaimJob(jobId);
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Reclaimed));
        vm.prank(provider);
        jobs.failJob(jobId, 1);
    }

    function test_RevertWhen_FailJobUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketUnknownJob.selector, uint256(5)));
        vm.prank(provider);
        jobs.failJob(5, 1);
    }

    // ---------------------------------------------------------------- finalizeJob and withdraw

    function test_FinalizeJob_CreditsExactSplit() public {
        uint256 jobId = _delivered();
        uint256 refund = MAX_PRICE - PRICE;
        vm.warp(block.timestamp + CHALLENGE_WINDOW);

        vm.expectEmit(address(jobs));
        emit Settlement.Credited(treasury, FEE);
        vm.expectEmit(address(jobs));
        emit Settlement.Credited(royaltyReceiver, ROYALTY);
        vm.expectEmit(address(jobs));
        emit Settlement.Credited(provider, PROVIDER_SHARE);
        vm.expectEmit(address(jobs));
        emit Settlement.Credited(buyer, refund);
        vm.expectEmit(address(jobs));
        emit JobMarket.JobFinalized(jobId, PRICE, PROVIDER_SHARE, refund);
        vm.prank(makeAddr("anyone"));
        jobs.finalizeJob(jobId);

        _assertStatus(jobId, JobMarket.JobStatus.Finalized);
        assertEq(PROVIDER_SHARE, 925);
        assertEq(jobs.withdrawableOf(provider), PROVIDER_SHARE);
        assertEq(jobs.withdrawableOf(treasury), FEE);
        assertEq(jobs.withdrawableOf(royaltyReceiver), ROYALTY);
        assertEq(jobs.withdrawableOf(buyer), refund);
        assertEq(jobs.getTotalEscrowed(), 0);
        assertEq(jobs.getTotalWithdrawable(), MAX_PRICE);
        _assertConserved();
    }

    function test_Withdraw_ByEachPartyAfterFinalize() public {
        _finalized();
        uint256 providerBefore = token.balanceOf(provider);

        vm.expectEmit(address(jobs));
        emit Settlement.Withdrawn(provider, PROVIDER_SHARE);
        vm.prank(provider);
        assertEq(jobs.withdraw(), PROVIDER_SHARE);
        vm.prank(treasury);
        assertEq(jobs.withdraw(), FEE);
        vm.prank(royaltyReceiver);
        assertEq(jobs.withdraw(), ROYALTY);
        vm.prank(buyer);
        assertEq(jobs.withdraw(), MAX_PRICE - PRICE);

        assertEq(token.balanceOf(provider), providerBefore + PROVIDER_SHARE);
        assertEq(token.balanceOf(treasury), FEE);
        assertEq(token.balanceOf(royaltyReceiver), ROYALTY);
        assertEq(token.balanceOf(buyer), BUYER_FUNDS - PRICE);
        assertEq(token.balanceOf(address(jobs)), 0);
        assertEq(jobs.getTotalWithdrawable(), 0);
        assertEq(jobs.withdrawableOf(provider), 0);

        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementNothingToWithdraw.selector, provider));
        vm.prank(provider);
        jobs.withdraw();
    }

    function test_FinalizeJob_NoBuyerCreditWhenPriceIsMaxPrice() public {
        uint256 jobId = _open(PRICE, address(0));
        vm.prank(provider);
        jobs.acceptJob(jobId, ROYALTY_BPS);
        bytes memory receipt = signReceipt(providerKey, jobId, OUTPUT_HASH);
        vm.prank(provider);
        jobs.deliverJob(jobId, OUTPUT_HASH, receipt);
        vm.warp(block.timestamp + CHALLENGE_WINDOW);

        vm.expectEmit(address(jobs));
        emit JobMarket.JobFinalized(jobId, PRICE, PROVIDER_SHARE, 0);
        jobs.finalizeJob(jobId);
        assertEq(jobs.withdrawableOf(buyer), 0);
        assertEq(jobs.getTotalWithdrawable(), PRICE);
        _assertConserved();
    }

    function test_FinalizeJob_ModelWithoutRoyalty() public {
        bytes32 freeModel = registerModel(keccak256("free.onnx"), 0);
        vm.prank(provider);
        registry.setOffer(freeModel, PRICE, "call");
        JobMarket.OpenJobParams memory params = _params(MAX_PRICE, provider, deadline);
        params.modelId = freeModel;
        vm.prank(buyer);
        uint256 jobId = jobs.openJob(params);
        vm.prank(provider);
        jobs.acceptJob(jobId, ROYALTY_BPS);
        bytes memory receipt = signReceipt(providerKey, jobId, OUTPUT_HASH);
        vm.prank(provider);
        jobs.deliverJob(jobId, OUTPUT_HASH, receipt);
        vm.warp(block.timestamp + CHALLENGE_WINDOW);
        jobs.finalizeJob(jobId);

        assertEq(jobs.withdrawableOf(provider), PRICE - FEE);
        assertEq(jobs.withdrawableOf(treasury), FEE);
        assertEq(jobs.withdrawableOf(royaltyReceiver), 0);
        assertEq(jobs.withdrawableOf(address(0)), 0);
        assertEq(jobs.withdrawableOf(buyer), MAX_PRICE - PRICE);
        _assertConserved();
    }

    function test_RevertWhen_FinalizeJobChallengeWindowOpen() public {
        uint256 jobId = _delivered();
        uint256 endsAt = uint256(jobs.getJob(jobId).deliveredAt) + CHALLENGE_WINDOW;
        vm.warp(endsAt - 1);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketChallengeWindowOpen.selector, jobId, endsAt));
        jobs.finalizeJob(jobId);
    }

    function test_RevertWhen_FinalizeJobRightAfterDelivery() public {
        uint256 jobId = _delivered();
        uint256 endsAt = block.timestamp + CHALLENGE_WINDOW;
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketChallengeWindowOpen.selector, jobId, endsAt));
        jobs.finalizeJob(jobId);
    }

    function test_RevertWhen_FinalizeJobAccepted() public {
        uint256 jobId = _accepted();
        vm.warp(block.timestamp + CHALLENGE_WINDOW);
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Accepted));
        jobs.finalizeJob(jobId);
    }

    function test_RevertWhen_FinalizeJobOpen() public {
        uint256 jobId = _open();
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Open));
        jobs.finalizeJob(jobId);
    }

    function test_RevertWhen_FinalizeJobTwice() public {
        uint256 jobId = _finalized();
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Finalized));
        jobs.finalizeJob(jobId);
        // The first finalize's credits are untouched.
        assertEq(jobs.withdrawableOf(provider), PROVIDER_SHARE);
        assertEq(jobs.getTotalWithdrawable(), MAX_PRICE);
    }

    function test_RevertWhen_FinalizeJobFailed() public {
        uint256 jobId = _failed();
        vm.warp(block.timestamp + CHALLENGE_WINDOW);
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Failed));
        jobs.finalizeJob(jobId);
    }

    function test_RevertWhen_FailJobAfterFinalize() public {
        uint256 jobId = _finalized();
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Finalized));
        vm.prank(provider);
        jobs.failJob(jobId, 1);
    }

    function test_RevertWhen_CancelJobAfterFinalize() public {
        uint256 jobId = _finalized();
        vm.expectRevert(_invalidStatus(jobId, JobMarket.JobStatus.Finalized));
        vm.prank(buyer);
        jobs.cancelJob(jobId);
    }

    function test_RevertWhen_FinalizeJobUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketUnknownJob.selector, uint256(9)));
        jobs.finalizeJob(9);
    }

    function test_RevertWhen_WithdrawNothing() public {
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementNothingToWithdraw.selector, buyer));
        vm.prank(buyer);
        jobs.withdraw();
    }

    // ---------------------------------------------------------------- fuzz

    /// @dev Any price ≤ maxPrice (the named provider's offer, fixed at open) and any royalty: the
    /// escrow is split exactly into provider share, fee (rounded up), royalty and buyer refund, and
    /// nothing is left behind.
    function testFuzz_FinalizeJob_SplitsPriceAndRefundsRest(uint256 price, uint256 maxPrice, uint16 royaltyBps) public {
        price = bound(price, 1, 1e24);
        maxPrice = bound(maxPrice, price, 1e27);
        royaltyBps = uint16(bound(royaltyBps, 0, models.MAX_ROYALTY_BPS()));
        bytes32 fuzzModel = registerModel(keccak256("fuzz.onnx"), royaltyBps);
        vm.prank(provider);
        registry.setOffer(fuzzModel, price, "call");
        fund(buyer, maxPrice);

        JobMarket.OpenJobParams memory params = _params(maxPrice, provider, deadline);
        params.modelId = fuzzModel;
        vm.prank(buyer);
        uint256 jobId = jobs.openJob(params);
        vm.prank(provider);
        jobs.acceptJob(jobId, royaltyBps);
        bytes memory receipt = signReceipt(providerKey, jobId, OUTPUT_HASH);
        vm.prank(provider);
        jobs.deliverJob(jobId, OUTPUT_HASH, receipt);
        vm.warp(block.timestamp + CHALLENGE_WINDOW);
        jobs.finalizeJob(jobId);

        uint256 fee = (price * FEE_BPS + 9_999) / 10_000; // rounded up
        uint256 royalty = price * royaltyBps / 10_000;
        assertEq(jobs.withdrawableOf(treasury), fee, "fee");
        assertEq(jobs.withdrawableOf(royaltyReceiver), royalty, "royalty");
        assertEq(jobs.withdrawableOf(provider), price - fee - royalty, "provider share");
        assertEq(jobs.withdrawableOf(buyer), maxPrice - price, "buyer refund");
        assertEq(jobs.getTotalWithdrawable(), maxPrice, "all of the escrow is credited");
        assertEq(jobs.getTotalEscrowed(), 0);
        _assertConserved();
    }

    function testFuzz_AcceptJob_RevertWhen_PriceAboveMaxPrice(uint256 price, uint256 maxPrice) public {
        maxPrice = bound(maxPrice, 1, 1e24);
        price = bound(price, maxPrice + 1, 1e27);
        vm.prank(provider);
        registry.setOffer(modelId, price, "call");
        fund(buyer, maxPrice);
        uint256 jobId = _open(maxPrice, address(0));
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketPriceTooHigh.selector, jobId, price, maxPrice));
        vm.prank(provider);
        jobs.acceptJob(jobId, ROYALTY_BPS);
    }

    function testFuzz_OpenJob_RevertWhen_DeadlineNotInFuture(uint64 jobDeadline, uint64 now_) public {
        now_ = uint64(bound(now_, 1, type(uint64).max));
        jobDeadline = uint64(bound(jobDeadline, 0, now_));
        vm.warp(now_);
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketInvalidDeadline.selector, jobDeadline, uint256(now_)));
        vm.prank(buyer);
        jobs.openJob(_params(MAX_PRICE, address(0), jobDeadline));
    }

    /// @dev Many jobs with random outcomes: after every step the contract holds exactly what it
    /// owes, each buyer gets back maxPrice on every unpaid path and maxPrice - price on a paid one,
    /// and once everyone withdraws the contract holds only the escrow of unsettled jobs.
    function testFuzz_JobPaths_ConserveTokens(uint256 seed, uint8 count) public {
        count = uint8(bound(count, 1, 12));
        uint256 paidPrices;
        uint256 unsettled;
        for (uint256 i = 0; i < count; i++) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            uint256 maxPrice = bound(r >> 8, PRICE, 1e10);
            uint256 jobId = _open(maxPrice, provider);
            _assertConserved();
            uint256 path = r % 7;
            if (path == 0) {
                vm.prank(buyer);
                jobs.cancelJob(jobId);
            } else if (path == 1 || path == 2) {
                if (path == 2) {
                    vm.prank(provider);
                    jobs.acceptJob(jobId, ROYALTY_BPS);
                }
                uint256 t = block.timestamp;
                vm.warp(uint256(deadline) + 1);
                vm.prank(buyer);
                jobs.reclaimJob(jobId);
                vm.warp(t);
            } else {
                vm.prank(provider);
                jobs.acceptJob(jobId, ROYALTY_BPS);
                _assertConserved();
                if (path == 3) {
                    vm.prank(provider);
                    jobs.failJob(jobId, uint32(r >> 200));
                } else if (path == 6) {
                    unsettled += maxPrice;
                } else {
                    bytes memory receipt = signReceipt(providerKey, jobId, OUTPUT_HASH);
                    vm.prank(provider);
                    jobs.deliverJob(jobId, OUTPUT_HASH, receipt);
                    _assertConserved();
                    if (path == 5) {
                        unsettled += maxPrice;
                    } else {
                        uint256 t = block.timestamp;
                        vm.warp(t + CHALLENGE_WINDOW);
                        jobs.finalizeJob(jobId);
                        vm.warp(t);
                        paidPrices += PRICE;
                    }
                }
            }
            _assertConserved();
        }
        assertEq(jobs.getTotalEscrowed(), unsettled, "escrow of unsettled jobs");

        address[4] memory parties = [buyer, provider, treasury, royaltyReceiver];
        for (uint256 i = 0; i < parties.length; i++) {
            if (jobs.withdrawableOf(parties[i]) > 0) {
                vm.prank(parties[i]);
                jobs.withdraw();
            }
            _assertConserved();
        }
        assertEq(jobs.getTotalWithdrawable(), 0);
        assertEq(token.balanceOf(address(jobs)), unsettled);
        // The buyer paid exactly the prices of finalized jobs, plus the escrow still held.
        assertEq(token.balanceOf(buyer), BUYER_FUNDS - paidPrices - unsettled, "buyer balance");
        assertEq(
            token.balanceOf(treasury) + token.balanceOf(royaltyReceiver) + token.balanceOf(provider),
            paidPrices,
            "payees got exactly the paid prices"
        );
    }
}
