// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AgoraFixture} from "./utils/AgoraFixture.sol";
import {JobMarket} from "../src/JobMarket.sol";

/// @notice A model publisher cannot raise the royalty on work already agreed: channels cap it at
/// the rate when they opened, jobs at the rate when they were accepted. Lowering it (or removing
/// the receiver) applies at once and never credits the zero address.
contract RoyaltyCapTest is AgoraFixture {
    address internal provider;
    uint256 internal providerKey;
    address internal buyer;
    uint256 internal buyerKey;
    uint256 internal constant DEPOSIT = 1_000_000;
    uint256 internal constant MAX_ROYALTY = 3_000;

    function setUp() public override {
        super.setUp();
        (provider, providerKey) = makeAddrAndKey("provider");
        (buyer, buyerKey) = makeAddrAndKey("buyer");
        makeProvider(provider);
        fund(buyer, 10 * DEPOSIT);
    }

    function _openChannel() internal returns (bytes32 channelId) {
        vm.prank(buyer);
        channelId = channels.openChannel(provider, modelId, DEPOSIT, address(0), uint16(MAX_ROYALTY));
    }

    function _redeem(bytes32 channelId, uint256 cumulative) internal returns (uint256 paid) {
        bytes memory signature = signVoucher(buyerKey, channelId, cumulative, bytes32(0));
        vm.prank(provider);
        paid = channels.redeem(channelId, cumulative, bytes32(0), signature);
    }

    function test_ChannelKeepsTheRoyaltyRateItOpenedWith() public {
        bytes32 channelId = _openChannel();
        assertEq(channels.getChannel(channelId).royaltyBps, ROYALTY_BPS);
        models.setRoyalty(modelId, royaltyReceiver, uint16(MAX_ROYALTY));

        uint256 providerBefore = token.balanceOf(provider);
        _redeem(channelId, 100_000);
        uint256 royalty = (100_000 * uint256(ROYALTY_BPS)) / 10_000;
        uint256 fee = (100_000 * uint256(FEE_BPS)) / 10_000;
        assertEq(channels.withdrawableOf(royaltyReceiver), royalty, "royalty capped at the opening rate");
        assertEq(token.balanceOf(provider) - providerBefore, 100_000 - fee - royalty);

        // A channel opened after the raise pays the new rate.
        bytes32 later = _openChannel();
        _redeem(later, 100_000);
        assertEq(channels.withdrawableOf(royaltyReceiver), royalty + (100_000 * MAX_ROYALTY) / 10_000);
    }

    function test_ChannelHonoursALoweredOrRemovedRoyaltyAtOnce() public {
        bytes32 channelId = _openChannel();
        models.setRoyalty(modelId, royaltyReceiver, 100);
        _redeem(channelId, 100_000);
        assertEq(channels.withdrawableOf(royaltyReceiver), 1_000);

        models.setRoyalty(modelId, address(0), 0);
        _redeem(channelId, 200_000);
        assertEq(channels.withdrawableOf(royaltyReceiver), 1_000);
        assertEq(channels.withdrawableOf(address(0)), 0, "nothing credited to the zero address");
        assertEq(token.balanceOf(address(channels)), channels.getTotalLocked() + channels.getTotalWithdrawable());
    }

    function test_JobKeepsTheRoyaltyRateItWasAcceptedAt() public {
        vm.prank(buyer);
        uint256 jobId = jobs.openJob(
            JobMarket.OpenJobParams({
                modelId: modelId,
                inputHash: keccak256("input"),
                inputURI: "http://127.0.0.1/input",
                maxPrice: PRICE,
                provider: address(0),
                deadline: uint64(block.timestamp + 1 hours)
            })
        );
        // A raise before acceptance applies: the provider accepts knowing the rate.
        models.setRoyalty(modelId, royaltyReceiver, 1_000);
        vm.prank(provider);
        jobs.acceptJob(jobId, 1_000);
        assertEq(jobs.getJob(jobId).royaltyBps, 1_000);
        // A raise after acceptance does not.
        models.setRoyalty(modelId, royaltyReceiver, uint16(MAX_ROYALTY));

        bytes32 outputHash = keccak256("7");
        bytes memory receipt = signReceipt(providerKey, jobId, outputHash);
        vm.prank(provider);
        jobs.deliverJob(jobId, outputHash, receipt);
        vm.warp(block.timestamp + CHALLENGE_WINDOW);
        jobs.finalizeJob(jobId);

        uint256 royalty = (PRICE * 1_000) / 10_000;
        uint256 fee = (PRICE * FEE_BPS) / 10_000;
        assertEq(jobs.withdrawableOf(royaltyReceiver), royalty);
        assertEq(jobs.withdrawableOf(provider), PRICE - fee - royalty);
    }
}
