// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AgoraFixture} from "./utils/AgoraFixture.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {PaymentChannels} from "../src/PaymentChannels.sol";
import {Settlement} from "../src/Settlement.sol";

/// @notice Issue 9, findings 7-10, replayed as an attacker would play them. Each test failed on the
/// commit before the defence (86a9872) and passes now.
contract MarketAttacksTest is AgoraFixture {
    uint256 internal constant BUYER_FUNDS = 1e12;
    uint256 internal constant MAX_PRICE = 5_000;
    bytes32 internal constant INPUT_HASH = keccak256("input");
    uint256 internal constant DEPOSIT = 1_000_000;

    address internal buyer;
    uint256 internal buyerKey;
    address internal provider;
    uint256 internal providerKey;
    address internal publisher;

    function setUp() public override {
        super.setUp();
        (buyer, buyerKey) = makeAddrAndKey("buyer");
        (provider, providerKey) = makeAddrAndKey("provider");
        makeProvider(provider);
        fund(buyer, BUYER_FUNDS);
        publisher = address(this); // the fixture registered the model, so this contract publishes it
    }

    function _openJob(uint256 maxPrice, address designated) internal returns (uint256 jobId) {
        vm.prank(buyer);
        jobId = jobs.openJob(
            JobMarket.OpenJobParams({
                modelId: modelId,
                inputHash: INPUT_HASH,
                inputURI: "http://127.0.0.1:9000/in",
                maxPrice: maxPrice,
                provider: designated,
                deadline: uint64(block.timestamp + 1 hours)
            })
        );
    }

    function _deliverAndFinalize(uint256 jobId) internal {
        bytes32 output = keccak256("output");
        bytes memory receipt = signReceipt(providerKey, jobId, output);
        vm.prank(provider);
        jobs.deliverJob(jobId, output, receipt);
        vm.warp(block.timestamp + CHALLENGE_WINDOW);
        jobs.finalizeJob(jobId);
    }

    // ---------------------------------------------------------------- finding 7: offer sandwich

    /// @notice The buyer names the provider whose offer (PRICE) it read and escrows up to MAX_PRICE.
    /// The provider raises its offer to MAX_PRICE, accepts, and lowers it again: the buyer must
    /// still pay PRICE, the offer when it opened the job. (On the old code the accept charged
    /// MAX_PRICE; now an accept with the raised offer reverts, and one at any offer up to the
    /// fixed price is charged the fixed price.)
    function test_Attack7_OfferSandwichAroundAcceptDoesNotRaiseThePrice() public {
        uint256 jobId = _openJob(MAX_PRICE, provider);
        assertEq(jobs.getJob(jobId).price, PRICE, "price fixed at open");

        vm.startPrank(provider);
        registry.setOffer(modelId, MAX_PRICE, "call");
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketPriceTooHigh.selector, jobId, MAX_PRICE, PRICE));
        jobs.acceptJob(jobId, ROYALTY_BPS);
        registry.setOffer(modelId, PRICE / 2, "call");
        jobs.acceptJob(jobId, ROYALTY_BPS);
        registry.setOffer(modelId, MAX_PRICE, "call");
        vm.stopPrank();

        assertEq(jobs.getJob(jobId).price, PRICE, "charged the offer at open, not at accept");
        uint256 buyerBefore = token.balanceOf(buyer) + jobs.withdrawableOf(buyer);
        _deliverAndFinalize(jobId);
        uint256 buyerAfter = token.balanceOf(buyer) + jobs.withdrawableOf(buyer);
        assertEq(buyerAfter - buyerBefore, MAX_PRICE - PRICE, "the buyer gets back all above the bound price");
    }

    /// @notice A named provider that raises its offer above the buyer's bound before the open lands
    /// makes the open revert; nothing is escrowed.
    function test_Attack7_OfferRaisedBeforeOpenAboveTheBoundReverts() public {
        vm.prank(provider);
        registry.setOffer(modelId, PRICE + 1, "call");
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketPriceTooHigh.selector, uint256(1), PRICE + 1, PRICE));
        _openJob(PRICE, provider);
        assertEq(jobs.getTotalEscrowed(), 0);
    }

    /// @notice An open job (any provider) pays the price the buyer named; raising one's offer above
    /// it locks the raiser out instead of charging the buyer more.
    function test_Attack7_OpenJobPaysTheNamedPriceAndNoMore() public {
        uint256 jobId = _openJob(PRICE, address(0));
        vm.prank(provider);
        registry.setOffer(modelId, MAX_PRICE, "call");
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketPriceTooHigh.selector, jobId, MAX_PRICE, PRICE));
        vm.prank(provider);
        jobs.acceptJob(jobId, ROYALTY_BPS);
    }

    // ---------------------------------------------------------------- finding 8: royalty front-run

    /// @notice The publisher raises the royalty right before the provider's accept lands: the
    /// accept reverts instead of binding the provider to a rate it never agreed to.
    function test_Attack8_RoyaltyRaisedBeforeAcceptReverts() public {
        uint256 jobId = _openJob(MAX_PRICE, address(0));
        vm.prank(publisher);
        models.setRoyalty(modelId, royaltyReceiver, 3_000);
        vm.expectRevert(
            abi.encodeWithSelector(Settlement.SettlementRoyaltyAboveMax.selector, modelId, uint16(3_000), ROYALTY_BPS)
        );
        vm.prank(provider);
        jobs.acceptJob(jobId, ROYALTY_BPS);
    }

    /// @notice The publisher raises the royalty right before the buyer's open lands: the open
    /// reverts instead of snapshotting the raised rate.
    function test_Attack8_RoyaltyRaisedBeforeOpenChannelReverts() public {
        vm.prank(publisher);
        models.setRoyalty(modelId, royaltyReceiver, 3_000);
        vm.expectRevert(
            abi.encodeWithSelector(Settlement.SettlementRoyaltyAboveMax.selector, modelId, uint16(3_000), ROYALTY_BPS)
        );
        vm.prank(buyer);
        channels.openChannel(provider, modelId, DEPOSIT, address(0), ROYALTY_BPS);
    }

    /// @notice At or below the cap, both open and snapshot the rate as before.
    function test_Attack8_RoyaltyAtTheCapIsSnapshotted() public {
        vm.prank(buyer);
        bytes32 channelId = channels.openChannel(provider, modelId, DEPOSIT, address(0), ROYALTY_BPS);
        assertEq(channels.getChannel(channelId).royaltyBps, ROYALTY_BPS);
        uint256 jobId = _openJob(MAX_PRICE, address(0));
        vm.prank(provider);
        jobs.acceptJob(jobId, ROYALTY_BPS);
        assertEq(jobs.getJob(jobId).royaltyBps, ROYALTY_BPS);
    }

    // ---------------------------------------------------------------- finding 9: fee rounds to zero

    /// @notice Paying in vouchers of 39 base units (below 10_000 / FEE_BPS = 40) used to skip the
    /// protocol fee entirely. Now every non-zero payment pays a non-zero fee, and the parts still
    /// add up to the amount.
    function test_Attack9_TinyRedeemsStillPayTheFee() public {
        vm.prank(buyer);
        bytes32 channelId = channels.openChannel(provider, modelId, DEPOSIT, address(0), ROYALTY_BPS);
        uint256 treasuryBefore = channels.withdrawableOf(treasury);
        uint256 providerBefore = token.balanceOf(provider);
        for (uint256 i = 1; i <= 10; i++) {
            bytes memory signature = signVoucher(buyerKey, channelId, 39 * i, bytes32(i));
            vm.prank(provider);
            channels.redeem(channelId, 39 * i, bytes32(i), signature);
        }
        uint256 fees = channels.withdrawableOf(treasury) - treasuryBefore;
        uint256 royalties = channels.withdrawableOf(royaltyReceiver);
        assertEq(fees, 10, "one base unit of fee per 39-unit redeem (rounded up)");
        assertEq(token.balanceOf(provider) - providerBefore + fees + royalties, 390, "parts sum to what was paid");
    }

    /// @notice The same for a job paid 39 base units.
    function test_Attack9_TinyJobStillPaysTheFee() public {
        vm.prank(provider);
        registry.setOffer(modelId, 39, "call");
        uint256 jobId = _openJob(39, provider);
        vm.prank(provider);
        jobs.acceptJob(jobId, ROYALTY_BPS);
        _deliverAndFinalize(jobId);
        (uint256 share, uint256 fee, uint256 royalty,) = jobs.quoteSplit(modelId, 39);
        assertEq(fee, 1);
        assertEq(jobs.withdrawableOf(treasury), 1);
        assertEq(jobs.withdrawableOf(provider), share);
        assertEq(share + fee + royalty, 39);
    }

    // ---------------------------------------------------------------- finding 10: deploy parameters

    /// @notice With a challenge period of 0 a buyer could close at once after being served, and the
    /// provider could never redeem: the constructor refuses it.
    function test_Attack10_ZeroChallengePeriodIsRejected() public {
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.PaymentChannelsInvalidChallengePeriod.selector, uint64(0)));
        new PaymentChannels(token, registry, models, treasury, FEE_BPS, 0);
    }

    /// @notice With a challenge window of 0 a delivery is paid out in the same block, before any
    /// audit can dispute it: the constructor refuses it.
    function test_Attack10_ZeroChallengeWindowIsRejected() public {
        vm.expectRevert(abi.encodeWithSelector(JobMarket.JobMarketInvalidChallengeWindow.selector, uint64(0)));
        new JobMarket(token, registry, models, treasury, FEE_BPS, 0);
    }
}
