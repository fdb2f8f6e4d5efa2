// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AgoraFixture} from "./utils/AgoraFixture.sol";
import {JobMarket} from "../src/JobMarket.sol";
import {PaymentChannels} from "../src/PaymentChannels.sol";
import {Settlement} from "../src/Settlement.sol";

/// @notice What JobMarket and PaymentChannels share through Settlement: the fee bounds checked at
/// deploy, the split of a payment, and pull payments. Every check runs against both contracts.
contract SettlementTest is AgoraFixture {
    uint16 internal constant MAX_FEE = 1_000;

    function _both() internal view returns (Settlement[2] memory) {
        return [Settlement(jobs), Settlement(channels)];
    }

    function _deployBoth(address treasury_, uint16 feeBps) internal returns (Settlement[2] memory) {
        return [
            Settlement(new JobMarket(token, registry, models, treasury_, feeBps, CHALLENGE_WINDOW)),
            Settlement(new PaymentChannels(token, registry, models, treasury_, feeBps, CHALLENGE_PERIOD))
        ];
    }

    // ---------------------------------------------------------------- constructor fee bounds

    function test_Constructor_AcceptsMaxFee() public {
        Settlement[2] memory deployed = _deployBoth(treasury, MAX_FEE);
        for (uint256 i = 0; i < 2; i++) {
            assertEq(deployed[i].protocolFeeBps(), MAX_FEE);
            assertEq(deployed[i].MAX_PROTOCOL_FEE_BPS(), MAX_FEE);
        }
    }

    function test_Constructor_AcceptsZeroFeeWithoutTreasury() public {
        Settlement[2] memory deployed = _deployBoth(address(0), 0);
        for (uint256 i = 0; i < 2; i++) {
            assertEq(deployed[i].protocolFeeBps(), 0);
            assertEq(deployed[i].treasury(), address(0));
        }
    }

    function testFuzz_Constructor_RevertWhen_FeeAboveMax(uint16 feeBps) public {
        feeBps = uint16(bound(feeBps, MAX_FEE + 1, type(uint16).max));
        bytes memory expected = abi.encodeWithSelector(Settlement.SettlementInvalidFee.selector, feeBps, MAX_FEE);
        vm.expectRevert(expected);
        new JobMarket(token, registry, models, treasury, feeBps, CHALLENGE_WINDOW);
        vm.expectRevert(expected);
        new PaymentChannels(token, registry, models, treasury, feeBps, CHALLENGE_PERIOD);
    }

    function testFuzz_Constructor_RevertWhen_FeeWithoutTreasury(uint16 feeBps) public {
        feeBps = uint16(bound(feeBps, 1, MAX_FEE));
        bytes memory expected = abi.encodeWithSelector(Settlement.SettlementInvalidFee.selector, feeBps, MAX_FEE);
        vm.expectRevert(expected);
        new JobMarket(token, registry, models, address(0), feeBps, CHALLENGE_WINDOW);
        vm.expectRevert(expected);
        new PaymentChannels(token, registry, models, address(0), feeBps, CHALLENGE_PERIOD);
    }

    // ---------------------------------------------------------------- split

    /// @dev For any amount, fee and royalty: the fee is the ceiling of its bps (a non-zero fee on a
    /// non-zero amount never rounds to 0, issue 9 finding 9), the royalty the floor of its bps, and
    /// the provider gets the rest, so the parts always add up to the amount.
    function testFuzz_QuoteSplit_PartsSumToAmount(uint256 amount, uint16 feeBps, uint16 royaltyBps) public {
        amount = bound(amount, 0, type(uint256).max / 10_000);
        feeBps = uint16(bound(feeBps, 0, MAX_FEE));
        royaltyBps = uint16(bound(royaltyBps, 0, models.MAX_ROYALTY_BPS()));
        bytes32 fuzzModel = registerModel(keccak256("split.onnx"), royaltyBps);
        Settlement[2] memory deployed = _deployBoth(treasury, feeBps);
        for (uint256 i = 0; i < 2; i++) {
            (uint256 share, uint256 fee, uint256 royalty, address receiver) = deployed[i].quoteSplit(fuzzModel, amount);
            assertEq(fee, (amount * feeBps + 9_999) / 10_000, "fee");
            assertEq(royalty, amount * royaltyBps / 10_000, "royalty");
            assertEq(share + fee + royalty, amount, "parts sum to amount");
            assertGe(share, amount - (amount * 4_000 + 9_999) / 10_000, "provider keeps at least 60%, rounded down");
            if (amount > 0 && feeBps > 0) assertGt(fee, 0, "a fee never rounds to zero");
            assertEq(receiver, royaltyBps == 0 ? address(0) : royaltyReceiver);
        }
    }

    /// @dev A redeem on a channel with any fee and royalty sends the provider exactly its share and
    /// credits exactly the fee and royalty; with a zero fee nothing is credited to anyone else.
    function testFuzz_Redeem_SplitsWithAnyFee(uint256 amount, uint16 feeBps, uint16 royaltyBps) public {
        amount = bound(amount, 1, 1e30);
        feeBps = uint16(bound(feeBps, 0, MAX_FEE));
        royaltyBps = uint16(bound(royaltyBps, 0, models.MAX_ROYALTY_BPS()));
        (PaymentChannels pc, address provider) = _redeemWholeChannel(amount, feeBps, royaltyBps);

        uint256 fee = (amount * feeBps + 9_999) / 10_000; // rounded up
        uint256 royalty = amount * royaltyBps / 10_000;
        assertEq(token.balanceOf(provider), amount - fee - royalty, "provider share");
        assertEq(pc.withdrawableOf(treasury), fee, "fee");
        assertEq(pc.withdrawableOf(royaltyReceiver), royalty, "royalty");
        assertEq(pc.withdrawableOf(address(0)), 0);
        assertEq(pc.getTotalWithdrawable(), fee + royalty);
        assertEq(token.balanceOf(address(pc)), fee + royalty);
    }

    /// @dev Deploys channels with `feeBps`, opens a channel of `amount` for a model with
    /// `royaltyBps` and redeems all of it.
    function _redeemWholeChannel(uint256 amount, uint16 feeBps, uint16 royaltyBps)
        internal
        returns (PaymentChannels pc, address provider)
    {
        bytes32 fuzzModel = registerModel(keccak256("split.onnx"), royaltyBps);
        pc = new PaymentChannels(token, registry, models, treasury, feeBps, CHALLENGE_PERIOD);
        provider = makeAddr("provider");
        makeProvider(provider);
        vm.prank(provider);
        registry.setOffer(fuzzModel, PRICE, "call");
        (address buyer, uint256 buyerKey) = makeAddrAndKey("buyer");
        bytes32 channelId = _openFunded(pc, buyer, provider, fuzzModel, amount);
        bytes memory signature = _sign(buyerKey, pc.hashVoucher(channelId, amount, bytes32(0)));
        vm.prank(provider);
        assertEq(pc.redeem(channelId, amount, bytes32(0), signature), amount);
    }

    function _openFunded(PaymentChannels pc, address buyer, address provider, bytes32 model, uint256 amount)
        internal
        returns (bytes32 channelId)
    {
        token.mint(buyer, amount);
        vm.startPrank(buyer);
        token.approve(address(pc), amount);
        channelId = pc.openChannel(provider, model, amount, address(0), type(uint16).max);
        vm.stopPrank();
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    // ---------------------------------------------------------------- pull payments

    function test_RevertWhen_WithdrawNothing() public {
        address nobody = makeAddr("nobody");
        Settlement[2] memory contracts = _both();
        for (uint256 i = 0; i < 2; i++) {
            assertEq(contracts[i].withdrawableOf(nobody), 0);
            vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementNothingToWithdraw.selector, nobody));
            vm.prank(nobody);
            contracts[i].withdraw();
        }
    }

    function test_RevertWhen_WithdrawTwice() public {
        address buyer = makeAddr("buyer");
        address provider = makeAddr("provider");
        makeProvider(provider);
        fund(buyer, 5_000);
        vm.prank(buyer);
        bytes32 channelId = channels.openChannel(provider, modelId, 5_000, address(0), ROYALTY_BPS);
        vm.prank(provider);
        channels.closeChannel(channelId, 0, bytes32(0), "");

        vm.expectEmit(address(channels));
        emit Settlement.Withdrawn(buyer, 5_000);
        vm.prank(buyer);
        assertEq(channels.withdraw(), 5_000);
        assertEq(channels.withdrawableOf(buyer), 0);
        assertEq(channels.getTotalWithdrawable(), 0);
        assertEq(token.balanceOf(buyer), 5_000);

        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementNothingToWithdraw.selector, buyer));
        vm.prank(buyer);
        channels.withdraw();
    }
}
