// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {AgoraFixture} from "./utils/AgoraFixture.sol";
import {PaymentChannels} from "../src/PaymentChannels.sol";
import {Settlement} from "../src/Settlement.sol";

/// @notice Unit and fuzz tests of PaymentChannels: opening and topping up, cumulative vouchers and
/// their replay and domain protection, the split of every redeem, cooperative and unilateral
/// closes, and that the contract always holds what it owes.
contract PaymentChannelsTest is AgoraFixture {
    uint256 internal constant DEPOSIT = 10_000;
    uint256 internal constant BUYER_FUNDS = 1e12;
    bytes32 internal constant REQUEST_HASH = keccak256("request 1");

    address internal buyer;
    uint256 internal buyerKey;
    address internal hotSigner;
    uint256 internal hotSignerKey;
    address internal provider = makeAddr("provider");
    address internal otherProvider = makeAddr("otherProvider");

    function setUp() public override {
        super.setUp();
        (buyer, buyerKey) = makeAddrAndKey("buyer");
        (hotSigner, hotSignerKey) = makeAddrAndKey("hotSigner");
        makeProvider(provider);
        makeProvider(otherProvider);
        fund(buyer, BUYER_FUNDS);
    }

    // ---------------------------------------------------------------- helpers

    function _open() internal returns (bytes32) {
        return _open(DEPOSIT, address(0));
    }

    function _open(uint256 deposit, address signer) internal returns (bytes32 channelId) {
        vm.prank(buyer);
        channelId = channels.openChannel(provider, modelId, deposit, signer, ROYALTY_BPS);
    }

    function _redeem(bytes32 channelId, uint256 cumulative) internal returns (uint256 paid) {
        bytes memory signature = signVoucher(buyerKey, channelId, cumulative, REQUEST_HASH);
        vm.prank(provider);
        paid = channels.redeem(channelId, cumulative, REQUEST_HASH, signature);
    }

    function _requestClose(bytes32 channelId) internal returns (uint64 closesAt) {
        vm.prank(buyer);
        channels.requestClose(channelId);
        closesAt = channels.getChannel(channelId).closesAt;
    }

    function _expectedId(address channelBuyer, uint256 nonce) internal view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(channels), channelBuyer, nonce));
    }

    function _split(uint256 amount) internal pure returns (uint256 share, uint256 fee, uint256 royalty) {
        fee = (amount * FEE_BPS + 9_999) / 10_000; // rounded up
        royalty = amount * ROYALTY_BPS / 10_000;
        share = amount - fee - royalty;
    }

    function _invalidStatus(bytes32 channelId, PaymentChannels.ChannelStatus status)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeWithSelector(PaymentChannels.PaymentChannelsInvalidStatus.selector, channelId, status);
    }

    function _badSignature(bytes32 channelId, address recovered, address signer) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(
            PaymentChannels.PaymentChannelsInvalidVoucherSignature.selector, channelId, recovered, signer
        );
    }

    function _assertStatus(bytes32 channelId, PaymentChannels.ChannelStatus expected) internal view {
        assertEq(uint8(channels.getChannel(channelId).status), uint8(expected), "channel status");
    }

    function _assertConserved() internal view {
        assertEq(
            token.balanceOf(address(channels)),
            channels.getTotalLocked() + channels.getTotalWithdrawable(),
            "balance == locked + withdrawable"
        );
    }

    // ---------------------------------------------------------------- constructor and views

    function test_Constructor_SetsParameters() public view {
        assertEq(address(channels.token()), address(token));
        assertEq(address(channels.providerRegistry()), address(registry));
        assertEq(address(channels.modelRegistry()), address(models));
        assertEq(channels.treasury(), treasury);
        assertEq(channels.protocolFeeBps(), FEE_BPS);
        assertEq(channels.challengePeriod(), CHALLENGE_PERIOD);
        assertEq(channels.getTotalLocked(), 0);
        assertEq(
            channels.VOUCHER_TYPEHASH(),
            keccak256("Voucher(bytes32 channelId,uint256 cumulativeAmount,bytes32 requestHash)")
        );
    }

    function test_RevertWhen_ConstructorFeeAboveMax() public {
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementInvalidFee.selector, uint16(1_001), uint16(1_000)));
        new PaymentChannels(token, registry, models, treasury, 1_001, CHALLENGE_PERIOD);
    }

    function test_RevertWhen_ConstructorFeeWithoutTreasury() public {
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementInvalidFee.selector, uint16(250), uint16(1_000)));
        new PaymentChannels(token, registry, models, address(0), 250, CHALLENGE_PERIOD);
    }

    function test_HashVoucher_IsEip712Digest() public view {
        bytes32 domainSeparator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Agora PaymentChannels"),
                keccak256("1"),
                block.chainid,
                address(channels)
            )
        );
        bytes32 channelId = keccak256("some channel");
        bytes32 structHash = keccak256(abi.encode(channels.VOUCHER_TYPEHASH(), channelId, uint256(1234), REQUEST_HASH));
        assertEq(
            channels.hashVoucher(channelId, 1234, REQUEST_HASH),
            keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash))
        );
    }

    function test_GetChannel_UnknownIsZero() public view {
        PaymentChannels.Channel memory channel = channels.getChannel(keccak256("nothing"));
        assertEq(channel.buyer, address(0));
        assertEq(channel.deposit, 0);
        assertEq(uint8(channel.status), uint8(PaymentChannels.ChannelStatus.None));
    }

    // ---------------------------------------------------------------- openChannel

    function test_OpenChannel_LocksDepositAndSignerDefaultsToBuyer() public {
        bytes32 expectedId = _expectedId(buyer, 0);
        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelOpened(expectedId, buyer, provider, modelId, buyer, DEPOSIT);
        vm.prank(buyer);
        bytes32 channelId = channels.openChannel(provider, modelId, DEPOSIT, address(0), ROYALTY_BPS);

        assertEq(channelId, expectedId);
        PaymentChannels.Channel memory channel = channels.getChannel(channelId);
        assertEq(channel.buyer, buyer);
        assertEq(channel.provider, provider);
        assertEq(channel.signer, buyer);
        assertEq(channel.modelId, modelId);
        assertEq(channel.deposit, DEPOSIT);
        assertEq(channel.redeemed, 0);
        assertEq(channel.closesAt, 0);
        assertEq(uint8(channel.status), uint8(PaymentChannels.ChannelStatus.Open));
        assertEq(channels.getChannelNonce(buyer), 1);
        assertEq(channels.getTotalLocked(), DEPOSIT);
        assertEq(token.balanceOf(address(channels)), DEPOSIT);
        assertEq(token.balanceOf(buyer), BUYER_FUNDS - DEPOSIT);
    }

    function test_OpenChannel_WithDelegatedSigner() public {
        bytes32 expectedId = _expectedId(buyer, 0);
        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelOpened(expectedId, buyer, provider, modelId, hotSigner, DEPOSIT);
        bytes32 channelId = _open(DEPOSIT, hotSigner);
        assertEq(channels.getChannel(channelId).signer, hotSigner);
    }

    function test_OpenChannel_EachChannelGetsANewId() public {
        bytes32 first = _open();
        bytes32 second = _open();
        assertTrue(first != second);
        assertEq(second, _expectedId(buyer, 1));
        assertEq(channels.getChannelNonce(buyer), 2);
        assertEq(channels.getTotalLocked(), 2 * DEPOSIT);
    }

    function test_RevertWhen_OpenChannelZeroDeposit() public {
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementZeroAmount.selector));
        vm.prank(buyer);
        channels.openChannel(provider, modelId, 0, address(0), ROYALTY_BPS);
    }

    function test_RevertWhen_OpenChannelUnknownModel() public {
        bytes32 unknown = keccak256("no such model");
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementUnknownModel.selector, unknown));
        vm.prank(buyer);
        channels.openChannel(provider, unknown, DEPOSIT, address(0), ROYALTY_BPS);
    }

    function test_RevertWhen_OpenChannelProviderWithoutOffer() public {
        vm.prank(provider);
        registry.removeOffer(modelId);
        assertTrue(registry.isActive(provider));
        vm.expectRevert(
            abi.encodeWithSelector(PaymentChannels.PaymentChannelsProviderUnavailable.selector, provider, modelId)
        );
        vm.prank(buyer);
        channels.openChannel(provider, modelId, DEPOSIT, address(0), ROYALTY_BPS);
    }

    function test_RevertWhen_OpenChannelProviderUnstaked() public {
        // Its offer stands but its stake is gone (offers need the minimum stake when made).
        address unstaked = makeAddr("unstaked");
        fund(unstaked, MIN_STAKE);
        vm.startPrank(unstaked);
        registry.register("http://127.0.0.1:8002", hex"03");
        registry.stake(MIN_STAKE);
        registry.setOffer(modelId, PRICE, "call");
        registry.requestUnbond(MIN_STAKE);
        vm.stopPrank();
        vm.expectRevert(
            abi.encodeWithSelector(PaymentChannels.PaymentChannelsProviderUnavailable.selector, unstaked, modelId)
        );
        vm.prank(buyer);
        channels.openChannel(unstaked, modelId, DEPOSIT, address(0), ROYALTY_BPS);
    }

    function test_RevertWhen_OpenChannelProviderJailed() public {
        vm.prank(auditCourt);
        registry.jail(provider, uint64(block.timestamp + 1 days));
        vm.expectRevert(
            abi.encodeWithSelector(PaymentChannels.PaymentChannelsProviderUnavailable.selector, provider, modelId)
        );
        vm.prank(buyer);
        channels.openChannel(provider, modelId, DEPOSIT, address(0), ROYALTY_BPS);
    }

    function test_RevertWhen_OpenChannelProviderNotRegistered() public {
        address stranger = makeAddr("stranger");
        vm.expectRevert(
            abi.encodeWithSelector(PaymentChannels.PaymentChannelsProviderUnavailable.selector, stranger, modelId)
        );
        vm.prank(buyer);
        channels.openChannel(stranger, modelId, DEPOSIT, address(0), ROYALTY_BPS);
    }

    function test_RevertWhen_OpenChannelDepositAboveUint128() public {
        // Deposits are stored as uint128 to pack the channel into fewer slots.
        uint256 tooMuch = uint256(type(uint128).max) + 1;
        fund(buyer, tooMuch);
        vm.expectRevert(abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, 128, tooMuch));
        _open(tooMuch, address(0));
    }

    function test_RevertWhen_TopUpPushesDepositAboveUint128() public {
        bytes32 channelId = _open();
        uint256 amount = uint256(type(uint128).max);
        fund(buyer, amount);
        vm.expectRevert(
            abi.encodeWithSelector(SafeCast.SafeCastOverflowedUintDowncast.selector, 128, amount + DEPOSIT)
        );
        vm.prank(buyer);
        channels.topUp(channelId, amount);
        assertEq(channels.getChannel(channelId).deposit, DEPOSIT);
    }

    // ---------------------------------------------------------------- topUp

    function test_TopUp_AddsToDeposit() public {
        bytes32 channelId = _open();
        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelToppedUp(channelId, 2_500, DEPOSIT + 2_500);
        vm.prank(buyer);
        channels.topUp(channelId, 2_500);

        assertEq(channels.getChannel(channelId).deposit, DEPOSIT + 2_500);
        assertEq(channels.getTotalLocked(), DEPOSIT + 2_500);
        assertEq(token.balanceOf(address(channels)), DEPOSIT + 2_500);
        assertEq(token.balanceOf(buyer), BUYER_FUNDS - DEPOSIT - 2_500);
    }

    function test_RevertWhen_TopUpNotBuyer() public {
        bytes32 channelId = _open();
        fund(provider, 1_000);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.PaymentChannelsNotBuyer.selector, channelId, provider));
        vm.prank(provider);
        channels.topUp(channelId, 1_000);
    }

    function test_RevertWhen_TopUpZero() public {
        bytes32 channelId = _open();
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementZeroAmount.selector));
        vm.prank(buyer);
        channels.topUp(channelId, 0);
    }

    function test_RevertWhen_TopUpClosing() public {
        bytes32 channelId = _open();
        _requestClose(channelId);
        vm.expectRevert(_invalidStatus(channelId, PaymentChannels.ChannelStatus.Closing));
        vm.prank(buyer);
        channels.topUp(channelId, 1_000);
    }

    function test_RevertWhen_TopUpClosed() public {
        bytes32 channelId = _open();
        vm.prank(provider);
        channels.closeChannel(channelId, 0, bytes32(0), "");
        vm.expectRevert(_invalidStatus(channelId, PaymentChannels.ChannelStatus.Closed));
        vm.prank(buyer);
        channels.topUp(channelId, 1_000);
    }

    function test_RevertWhen_TopUpUnknownChannel() public {
        bytes32 unknown = keccak256("unknown");
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.PaymentChannelsUnknownChannel.selector, unknown));
        vm.prank(buyer);
        channels.topUp(unknown, 1_000);
    }

    // ---------------------------------------------------------------- redeem

    function test_Redeem_PaysProviderShareAndCreditsFeeAndRoyalty() public {
        bytes32 channelId = _open();
        uint256 amount = 3 * PRICE;
        (uint256 share, uint256 fee, uint256 royalty) = _split(amount);
        assertEq(share, 2_775);
        bytes memory signature = signVoucher(buyerKey, channelId, amount, REQUEST_HASH);

        vm.expectEmit(address(channels));
        emit Settlement.Credited(treasury, fee);
        vm.expectEmit(address(channels));
        emit Settlement.Credited(royaltyReceiver, royalty);
        vm.expectEmit(address(channels));
        emit PaymentChannels.VoucherRedeemed(channelId, amount, amount, share, REQUEST_HASH);
        vm.prank(provider);
        uint256 paid = channels.redeem(channelId, amount, REQUEST_HASH, signature);

        assertEq(paid, amount);
        assertEq(token.balanceOf(provider), share, "provider share goes to its wallet");
        assertEq(channels.withdrawableOf(provider), 0);
        assertEq(channels.withdrawableOf(treasury), fee);
        assertEq(channels.withdrawableOf(royaltyReceiver), royalty);
        assertEq(channels.getChannel(channelId).redeemed, amount);
        assertEq(channels.getTotalLocked(), DEPOSIT - amount);
        assertEq(channels.getTotalWithdrawable(), fee + royalty);
        _assertConserved();

        vm.prank(treasury);
        assertEq(channels.withdraw(), fee);
        vm.prank(royaltyReceiver);
        assertEq(channels.withdraw(), royalty);
        assertEq(token.balanceOf(treasury), fee);
        assertEq(token.balanceOf(royaltyReceiver), royalty);
        _assertConserved();
    }

    function test_Redeem_PaysOnlyTheIncrement() public {
        bytes32 channelId = _open();
        assertEq(_redeem(channelId, 1_000), 1_000);
        assertEq(_redeem(channelId, 4_000), 3_000);
        (uint256 share1,,) = _split(1_000);
        (uint256 share2,,) = _split(3_000);
        assertEq(token.balanceOf(provider), share1 + share2);
        assertEq(channels.getChannel(channelId).redeemed, 4_000);
        assertEq(channels.getTotalLocked(), DEPOSIT - 4_000);
        _assertConserved();
    }

    function test_Redeem_WithDelegatedSigner() public {
        bytes32 channelId = _open(DEPOSIT, hotSigner);
        bytes memory signature = signVoucher(hotSignerKey, channelId, 2_000, REQUEST_HASH);
        vm.prank(provider);
        assertEq(channels.redeem(channelId, 2_000, REQUEST_HASH, signature), 2_000);
        assertEq(channels.getChannel(channelId).redeemed, 2_000);
    }

    function test_Redeem_WorksAfterProviderLeavesTheMarket() public {
        bytes32 channelId = _open();
        vm.startPrank(provider);
        registry.removeOffer(modelId);
        registry.requestUnbond(MIN_STAKE);
        vm.stopPrank();
        assertFalse(registry.isActive(provider));
        assertEq(_redeem(channelId, 1_000), 1_000);
    }

    function test_Redeem_CapsAtDepositThenTopUpPaysTheRest() public {
        bytes32 channelId = _open();
        uint256 owed = DEPOSIT + 5_000;
        bytes memory signature = signVoucher(buyerKey, channelId, owed, REQUEST_HASH);

        vm.expectEmit(address(channels));
        emit PaymentChannels.VoucherRedeemed(channelId, owed, DEPOSIT, _share(DEPOSIT), REQUEST_HASH);
        vm.prank(provider);
        assertEq(channels.redeem(channelId, owed, REQUEST_HASH, signature), DEPOSIT);
        assertEq(channels.getChannel(channelId).redeemed, DEPOSIT);
        assertEq(channels.getTotalLocked(), 0);

        vm.expectRevert(
            abi.encodeWithSelector(PaymentChannels.PaymentChannelsVoucherNotNewer.selector, channelId, owed, DEPOSIT)
        );
        vm.prank(provider);
        channels.redeem(channelId, owed, REQUEST_HASH, signature);

        vm.prank(buyer);
        channels.topUp(channelId, 8_000);
        vm.prank(provider);
        assertEq(channels.redeem(channelId, owed, REQUEST_HASH, signature), 5_000);
        assertEq(channels.getChannel(channelId).redeemed, owed);
        assertEq(channels.getTotalLocked(), 3_000);
        assertEq(token.balanceOf(provider), _share(DEPOSIT) + _share(5_000));
        _assertConserved();
    }

    function _share(uint256 amount) internal pure returns (uint256 share) {
        (share,,) = _split(amount);
    }

    function test_RevertWhen_RedeemNotProvider() public {
        bytes32 channelId = _open();
        bytes memory signature = signVoucher(buyerKey, channelId, 1_000, REQUEST_HASH);
        vm.expectRevert(
            abi.encodeWithSelector(PaymentChannels.PaymentChannelsNotProvider.selector, channelId, otherProvider)
        );
        vm.prank(otherProvider);
        channels.redeem(channelId, 1_000, REQUEST_HASH, signature);
    }

    function test_RevertWhen_RedeemByBuyer() public {
        bytes32 channelId = _open();
        bytes memory signature = signVoucher(buyerKey, channelId, 1_000, REQUEST_HASH);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.PaymentChannelsNotProvider.selector, channelId, buyer));
        vm.prank(buyer);
        channels.redeem(channelId, 1_000, REQUEST_HASH, signature);
    }

    function test_RevertWhen_RedeemGarbageSignature() public {
        bytes32 channelId = _open();
        vm.expectRevert(_badSignature(channelId, address(0), buyer));
        vm.prank(provider);
        channels.redeem(channelId, 1_000, REQUEST_HASH, hex"0badc0de");
    }

    function test_RevertWhen_RedeemSignatureWithHighS() public {
        bytes32 channelId = _open();
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(buyerKey, channels.hashVoucher(channelId, 1_000, REQUEST_HASH));
        // The malleable twin (n - s, flipped v) recovers the same key; ECDSA rejects it.
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        bytes memory twin = abi.encodePacked(r, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        vm.expectRevert(_badSignature(channelId, address(0), buyer));
        vm.prank(provider);
        channels.redeem(channelId, 1_000, REQUEST_HASH, twin);
    }

    function test_RevertWhen_RedeemSignedByStranger() public {
        bytes32 channelId = _open();
        (address stranger, uint256 strangerKey) = makeAddrAndKey("stranger");
        bytes memory signature = signVoucher(strangerKey, channelId, 1_000, REQUEST_HASH);
        vm.expectRevert(_badSignature(channelId, stranger, buyer));
        vm.prank(provider);
        channels.redeem(channelId, 1_000, REQUEST_HASH, signature);
    }

    function test_RevertWhen_RedeemSignedByBuyerWhenSignerDelegated() public {
        bytes32 channelId = _open(DEPOSIT, hotSigner);
        bytes memory signature = signVoucher(buyerKey, channelId, 1_000, REQUEST_HASH);
        vm.expectRevert(_badSignature(channelId, buyer, hotSigner));
        vm.prank(provider);
        channels.redeem(channelId, 1_000, REQUEST_HASH, signature);
    }

    function test_RevertWhen_RedeemAmountRaisedAboveSigned() public {
        bytes32 channelId = _open();
        bytes memory signature = signVoucher(buyerKey, channelId, 1_000, REQUEST_HASH);
        address recovered = ECDSA.recover(channels.hashVoucher(channelId, 9_000, REQUEST_HASH), signature);
        assertTrue(recovered != buyer);
        vm.expectRevert(_badSignature(channelId, recovered, buyer));
        vm.prank(provider);
        channels.redeem(channelId, 9_000, REQUEST_HASH, signature);
    }

    function test_RevertWhen_RedeemReplay() public {
        bytes32 channelId = _open();
        _redeem(channelId, 1_000);
        bytes memory signature = signVoucher(buyerKey, channelId, 1_000, REQUEST_HASH);
        vm.expectRevert(
            abi.encodeWithSelector(PaymentChannels.PaymentChannelsVoucherNotNewer.selector, channelId, 1_000, 1_000)
        );
        vm.prank(provider);
        channels.redeem(channelId, 1_000, REQUEST_HASH, signature);
        assertEq(token.balanceOf(provider), _share(1_000), "paid once");
    }

    function test_RevertWhen_RedeemOlderVoucher() public {
        bytes32 channelId = _open();
        _redeem(channelId, 2_000);
        bytes memory older = signVoucher(buyerKey, channelId, 1_500, keccak256("request 0"));
        vm.expectRevert(
            abi.encodeWithSelector(PaymentChannels.PaymentChannelsVoucherNotNewer.selector, channelId, 1_500, 2_000)
        );
        vm.prank(provider);
        channels.redeem(channelId, 1_500, keccak256("request 0"), older);
    }

    function test_RevertWhen_RedeemZeroVoucher() public {
        bytes32 channelId = _open();
        bytes memory signature = signVoucher(buyerKey, channelId, 0, REQUEST_HASH);
        vm.expectRevert(
            abi.encodeWithSelector(PaymentChannels.PaymentChannelsVoucherNotNewer.selector, channelId, 0, 0)
        );
        vm.prank(provider);
        channels.redeem(channelId, 0, REQUEST_HASH, signature);
    }

    function test_RevertWhen_RedeemVoucherForOtherChannel() public {
        bytes32 channelA = _open();
        bytes32 channelB = _open();
        bytes memory signatureForA = signVoucher(buyerKey, channelA, 1_000, REQUEST_HASH);
        address recovered = ECDSA.recover(channels.hashVoucher(channelB, 1_000, REQUEST_HASH), signatureForA);
        assertTrue(recovered != buyer);
        vm.expectRevert(_badSignature(channelB, recovered, buyer));
        vm.prank(provider);
        channels.redeem(channelB, 1_000, REQUEST_HASH, signatureForA);
        // The voucher is good where it belongs.
        vm.prank(provider);
        assertEq(channels.redeem(channelA, 1_000, REQUEST_HASH, signatureForA), 1_000);
    }

    function test_RevertWhen_RedeemVoucherForOtherContract() public {
        PaymentChannels otherChannels =
            new PaymentChannels(token, registry, models, treasury, FEE_BPS, CHALLENGE_PERIOD);
        bytes32 channelId = _open();
        bytes32 foreignDigest = otherChannels.hashVoucher(channelId, 1_000, REQUEST_HASH);
        assertTrue(foreignDigest != channels.hashVoucher(channelId, 1_000, REQUEST_HASH));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(buyerKey, foreignDigest);
        bytes memory signature = abi.encodePacked(r, s, v);
        address recovered = ECDSA.recover(channels.hashVoucher(channelId, 1_000, REQUEST_HASH), signature);
        assertTrue(recovered != buyer);
        vm.expectRevert(_badSignature(channelId, recovered, buyer));
        vm.prank(provider);
        channels.redeem(channelId, 1_000, REQUEST_HASH, signature);
    }

    function test_RevertWhen_RedeemVoucherForOtherChain() public {
        bytes32 channelId = _open();
        uint256 chainId = block.chainid;
        vm.chainId(chainId + 1);
        bytes32 foreignDigest = channels.hashVoucher(channelId, 1_000, REQUEST_HASH);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(buyerKey, foreignDigest);
        bytes memory signature = abi.encodePacked(r, s, v);
        vm.chainId(chainId);
        assertTrue(foreignDigest != channels.hashVoucher(channelId, 1_000, REQUEST_HASH));
        address recovered = ECDSA.recover(channels.hashVoucher(channelId, 1_000, REQUEST_HASH), signature);
        assertTrue(recovered != buyer);
        vm.expectRevert(_badSignature(channelId, recovered, buyer));
        vm.prank(provider);
        channels.redeem(channelId, 1_000, REQUEST_HASH, signature);
    }

    function test_RevertWhen_RedeemClosed() public {
        bytes32 channelId = _open();
        vm.prank(provider);
        channels.closeChannel(channelId, 0, bytes32(0), "");
        bytes memory signature = signVoucher(buyerKey, channelId, 1_000, REQUEST_HASH);
        vm.expectRevert(_invalidStatus(channelId, PaymentChannels.ChannelStatus.Closed));
        vm.prank(provider);
        channels.redeem(channelId, 1_000, REQUEST_HASH, signature);
    }

    function test_RevertWhen_RedeemUnknownChannel() public {
        bytes32 unknown = keccak256("unknown");
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.PaymentChannelsUnknownChannel.selector, unknown));
        vm.prank(provider);
        channels.redeem(unknown, 1_000, REQUEST_HASH, "");
    }

    // ---------------------------------------------------------------- unilateral close

    function test_RequestClose_StartsChallengePeriod() public {
        bytes32 channelId = _open();
        vm.warp(500);
        uint64 expectedClosesAt = uint64(500 + CHALLENGE_PERIOD);
        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelCloseRequested(channelId, expectedClosesAt);
        vm.prank(buyer);
        channels.requestClose(channelId);

        PaymentChannels.Channel memory channel = channels.getChannel(channelId);
        assertEq(channel.closesAt, expectedClosesAt);
        assertEq(uint8(channel.status), uint8(PaymentChannels.ChannelStatus.Closing));
        assertEq(channels.getTotalLocked(), DEPOSIT, "nothing moves until withdrawChannel");
    }

    function test_RevertWhen_RequestCloseNotBuyer() public {
        bytes32 channelId = _open();
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.PaymentChannelsNotBuyer.selector, channelId, provider));
        vm.prank(provider);
        channels.requestClose(channelId);
    }

    function test_RevertWhen_RequestCloseTwice() public {
        bytes32 channelId = _open();
        _requestClose(channelId);
        vm.expectRevert(_invalidStatus(channelId, PaymentChannels.ChannelStatus.Closing));
        vm.prank(buyer);
        channels.requestClose(channelId);
    }

    function test_RevertWhen_RequestCloseClosed() public {
        bytes32 channelId = _open();
        vm.prank(provider);
        channels.closeChannel(channelId, 0, bytes32(0), "");
        vm.expectRevert(_invalidStatus(channelId, PaymentChannels.ChannelStatus.Closed));
        vm.prank(buyer);
        channels.requestClose(channelId);
    }

    function test_RevertWhen_RequestCloseUnknownChannel() public {
        bytes32 unknown = keccak256("unknown");
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.PaymentChannelsUnknownChannel.selector, unknown));
        vm.prank(buyer);
        channels.requestClose(unknown);
    }

    function test_Redeem_DuringChallengePeriod() public {
        bytes32 channelId = _open();
        uint64 closesAt = _requestClose(channelId);
        vm.warp(uint256(closesAt) - 1);
        assertEq(_redeem(channelId, 2_000), 2_000);
        assertEq(channels.getChannel(channelId).redeemed, 2_000);
        _assertStatus(channelId, PaymentChannels.ChannelStatus.Closing);
    }

    function test_RevertWhen_RedeemAfterChallengeOver() public {
        bytes32 channelId = _open();
        uint64 closesAt = _requestClose(channelId);
        vm.warp(closesAt);
        bytes memory signature = signVoucher(buyerKey, channelId, 2_000, REQUEST_HASH);
        vm.expectRevert(
            abi.encodeWithSelector(PaymentChannels.PaymentChannelsChallengeOver.selector, channelId, closesAt)
        );
        vm.prank(provider);
        channels.redeem(channelId, 2_000, REQUEST_HASH, signature);
    }

    function test_RevertWhen_WithdrawChannelDuringChallengePeriod() public {
        bytes32 channelId = _open();
        uint64 closesAt = _requestClose(channelId);
        vm.warp(uint256(closesAt) - 1);
        vm.expectRevert(
            abi.encodeWithSelector(PaymentChannels.PaymentChannelsChallengeRunning.selector, channelId, closesAt)
        );
        vm.prank(buyer);
        channels.withdrawChannel(channelId);
    }

    function test_WithdrawChannel_RefundsWhatWasNotRedeemed() public {
        bytes32 channelId = _open();
        uint64 closesAt = _requestClose(channelId);
        _redeem(channelId, 3_000);
        vm.warp(closesAt);

        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelClosed(channelId, 3_000, DEPOSIT - 3_000);
        vm.prank(buyer);
        uint256 refund = channels.withdrawChannel(channelId);

        assertEq(refund, DEPOSIT - 3_000);
        assertEq(token.balanceOf(buyer), BUYER_FUNDS - 3_000, "refund is sent, not credited");
        assertEq(channels.withdrawableOf(buyer), 0);
        assertEq(channels.getTotalLocked(), 0);
        _assertStatus(channelId, PaymentChannels.ChannelStatus.Closed);
        _assertConserved();
        assertEq(token.balanceOf(address(channels)), channels.getTotalWithdrawable());
    }

    function test_WithdrawChannel_NothingRedeemedRefundsDeposit() public {
        bytes32 channelId = _open();
        uint64 closesAt = _requestClose(channelId);
        vm.warp(uint256(closesAt) + 1 days);
        vm.prank(buyer);
        assertEq(channels.withdrawChannel(channelId), DEPOSIT);
        assertEq(token.balanceOf(buyer), BUYER_FUNDS);
        assertEq(token.balanceOf(address(channels)), 0);
    }

    function test_WithdrawChannel_FullyRedeemedRefundsNothing() public {
        bytes32 channelId = _open();
        _redeem(channelId, DEPOSIT);
        uint64 closesAt = _requestClose(channelId);
        vm.warp(closesAt);
        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelClosed(channelId, DEPOSIT, 0);
        vm.prank(buyer);
        assertEq(channels.withdrawChannel(channelId), 0);
        assertEq(token.balanceOf(buyer), BUYER_FUNDS - DEPOSIT);
        _assertStatus(channelId, PaymentChannels.ChannelStatus.Closed);
        _assertConserved();
    }

    function test_RevertWhen_WithdrawChannelNotBuyer() public {
        bytes32 channelId = _open();
        uint64 closesAt = _requestClose(channelId);
        vm.warp(closesAt);
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.PaymentChannelsNotBuyer.selector, channelId, provider));
        vm.prank(provider);
        channels.withdrawChannel(channelId);
    }

    function test_RevertWhen_WithdrawChannelOpen() public {
        bytes32 channelId = _open();
        vm.expectRevert(_invalidStatus(channelId, PaymentChannels.ChannelStatus.Open));
        vm.prank(buyer);
        channels.withdrawChannel(channelId);
    }

    function test_RevertWhen_WithdrawChannelTwice() public {
        bytes32 channelId = _open();
        uint64 closesAt = _requestClose(channelId);
        vm.warp(closesAt);
        vm.prank(buyer);
        channels.withdrawChannel(channelId);
        vm.expectRevert(_invalidStatus(channelId, PaymentChannels.ChannelStatus.Closed));
        vm.prank(buyer);
        channels.withdrawChannel(channelId);
        assertEq(token.balanceOf(buyer), BUYER_FUNDS, "refunded once");
    }

    function test_RevertWhen_WithdrawChannelUnknown() public {
        bytes32 unknown = keccak256("unknown");
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.PaymentChannelsUnknownChannel.selector, unknown));
        vm.prank(buyer);
        channels.withdrawChannel(unknown);
    }

    // ---------------------------------------------------------------- cooperative close

    function test_CloseChannel_WithNewerVoucherPaysAndCreditsBuyer() public {
        bytes32 channelId = _open();
        _redeem(channelId, 1_000);
        bytes memory signature = signVoucher(buyerKey, channelId, 4_000, REQUEST_HASH);
        uint256 refund = DEPOSIT - 4_000;

        vm.expectEmit(address(channels));
        emit PaymentChannels.VoucherRedeemed(channelId, 4_000, 3_000, _share(3_000), REQUEST_HASH);
        vm.expectEmit(address(channels));
        emit PaymentChannels.ChannelClosed(channelId, 4_000, refund);
        vm.expectEmit(address(channels));
        emit Settlement.Credited(buyer, refund);
        vm.prank(provider);
        assertEq(channels.closeChannel(channelId, 4_000, REQUEST_HASH, signature), refund);

        _assertStatus(channelId, PaymentChannels.ChannelStatus.Closed);
        assertEq(channels.getChannel(channelId).redeemed, 4_000);
        assertEq(token.balanceOf(provider), _share(1_000) + _share(3_000));
        assertEq(channels.withdrawableOf(buyer), refund);
        assertEq(channels.getTotalLocked(), 0);
        _assertConserved();

        vm.prank(buyer);
        assertEq(channels.withdraw(), refund);
        assertEq(token.balanceOf(buyer), BUYER_FUNDS - 4_000);
        _assertConserved();
    }

    function test_CloseChannel_WithZeroCumulativeRedeemsNothing() public {
        bytes32 channelId = _open();
        _redeem(channelId, 2_000);
        uint256 providerBefore = token.balanceOf(provider);
        vm.prank(provider);
        assertEq(channels.closeChannel(channelId, 0, bytes32(0), ""), DEPOSIT - 2_000);
        assertEq(token.balanceOf(provider), providerBefore);
        assertEq(channels.getChannel(channelId).redeemed, 2_000);
        assertEq(channels.withdrawableOf(buyer), DEPOSIT - 2_000);
        _assertConserved();
    }

    function test_CloseChannel_WithStaleVoucherRedeemsNothing() public {
        bytes32 channelId = _open();
        _redeem(channelId, 2_000);
        // A voucher that owes no more than was redeemed is not checked: nothing is paid for it.
        vm.prank(provider);
        assertEq(channels.closeChannel(channelId, 2_000, REQUEST_HASH, hex"00"), DEPOSIT - 2_000);
        assertEq(channels.getChannel(channelId).redeemed, 2_000);
        _assertConserved();
    }

    function test_CloseChannel_VoucherAboveDepositPaysDepositAndCreditsNothing() public {
        bytes32 channelId = _open();
        bytes memory signature = signVoucher(buyerKey, channelId, DEPOSIT * 2, REQUEST_HASH);
        vm.prank(provider);
        assertEq(channels.closeChannel(channelId, DEPOSIT * 2, REQUEST_HASH, signature), 0);
        assertEq(token.balanceOf(provider), _share(DEPOSIT));
        assertEq(channels.withdrawableOf(buyer), 0);
        assertEq(channels.getTotalLocked(), 0);
        _assertConserved();
    }

    /// @dev The buyer overspent, the provider already redeemed the whole deposit and now closes
    /// with its newest voucher: nothing is left to pay, and the close must still go through.
    function test_CloseChannel_WithOverspentVoucherAfterFullRedeem() public {
        bytes32 channelId = _open();
        uint256 owed = DEPOSIT + 3_000;
        bytes memory signature = signVoucher(buyerKey, channelId, owed, REQUEST_HASH);
        vm.prank(provider);
        channels.redeem(channelId, owed, REQUEST_HASH, signature);

        vm.prank(provider);
        assertEq(channels.closeChannel(channelId, owed, REQUEST_HASH, signature), 0);
        _assertStatus(channelId, PaymentChannels.ChannelStatus.Closed);
        assertEq(channels.getChannel(channelId).redeemed, DEPOSIT);
        assertEq(token.balanceOf(provider), _share(DEPOSIT), "paid once");
        _assertConserved();
    }

    function test_CloseChannel_DuringChallengePeriod() public {
        bytes32 channelId = _open();
        uint64 closesAt = _requestClose(channelId);
        vm.warp(uint256(closesAt) - 1);
        bytes memory signature = signVoucher(buyerKey, channelId, 5_000, REQUEST_HASH);
        vm.prank(provider);
        assertEq(channels.closeChannel(channelId, 5_000, REQUEST_HASH, signature), 5_000);
        _assertStatus(channelId, PaymentChannels.ChannelStatus.Closed);
        assertEq(channels.withdrawableOf(buyer), 5_000);

        vm.warp(closesAt);
        vm.expectRevert(_invalidStatus(channelId, PaymentChannels.ChannelStatus.Closed));
        vm.prank(buyer);
        channels.withdrawChannel(channelId);
    }

    function test_RevertWhen_CloseChannelAfterChallengeOver() public {
        bytes32 channelId = _open();
        uint64 closesAt = _requestClose(channelId);
        vm.warp(closesAt);
        vm.expectRevert(
            abi.encodeWithSelector(PaymentChannels.PaymentChannelsChallengeOver.selector, channelId, closesAt)
        );
        vm.prank(provider);
        channels.closeChannel(channelId, 0, bytes32(0), "");
    }

    function test_RevertWhen_CloseChannelNotProvider() public {
        bytes32 channelId = _open();
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.PaymentChannelsNotProvider.selector, channelId, buyer));
        vm.prank(buyer);
        channels.closeChannel(channelId, 0, bytes32(0), "");
    }

    function test_RevertWhen_CloseChannelTwice() public {
        bytes32 channelId = _open();
        vm.prank(provider);
        channels.closeChannel(channelId, 0, bytes32(0), "");
        vm.expectRevert(_invalidStatus(channelId, PaymentChannels.ChannelStatus.Closed));
        vm.prank(provider);
        channels.closeChannel(channelId, 0, bytes32(0), "");
        assertEq(channels.withdrawableOf(buyer), DEPOSIT, "credited once");
    }

    function test_RevertWhen_CloseChannelBadSignature() public {
        bytes32 channelId = _open();
        (address stranger, uint256 strangerKey) = makeAddrAndKey("stranger");
        bytes memory signature = signVoucher(strangerKey, channelId, 1_000, REQUEST_HASH);
        vm.expectRevert(_badSignature(channelId, stranger, buyer));
        vm.prank(provider);
        channels.closeChannel(channelId, 1_000, REQUEST_HASH, signature);
    }

    function test_RevertWhen_CloseChannelUnknown() public {
        bytes32 unknown = keccak256("unknown");
        vm.expectRevert(abi.encodeWithSelector(PaymentChannels.PaymentChannelsUnknownChannel.selector, unknown));
        vm.prank(provider);
        channels.closeChannel(unknown, 0, bytes32(0), "");
    }

    function test_RevertWhen_WithdrawNothing() public {
        vm.expectRevert(abi.encodeWithSelector(Settlement.SettlementNothingToWithdraw.selector, provider));
        vm.prank(provider);
        channels.withdraw();
    }

    // ---------------------------------------------------------------- fuzz

    /// @dev A sequence of vouchers, some stale: each redeem pays exactly what the newest voucher
    /// owes beyond what was redeemed (capped at the deposit), stale ones revert, and the total paid
    /// is the latest cumulative amount capped at the deposit. A top-up then pays the rest.
    function testFuzz_Redeem_SequencePaysLatestCumulativeCappedAtDeposit(
        uint256 deposit,
        uint256[6] memory increments,
        uint256 topUpAmount
    ) public {
        deposit = bound(deposit, 1, 4e11);
        topUpAmount = bound(topUpAmount, 1, 4e11);
        bytes32 channelId = _open(deposit, address(0));

        uint256 cumulative;
        uint256 redeemed;
        uint256 shares;
        uint256 fees;
        uint256 royalties;
        bytes memory signature;
        for (uint256 i = 0; i < increments.length; i++) {
            // Zero increments make stale vouchers; large ones overspend the deposit.
            cumulative += bound(increments[i], 0, deposit);
            bytes32 requestHash = keccak256(abi.encode(i));
            signature = signVoucher(buyerKey, channelId, cumulative, requestHash);
            uint256 payable_ = cumulative < deposit ? cumulative : deposit;
            if (payable_ <= redeemed) {
                vm.expectRevert(
                    abi.encodeWithSelector(
                        PaymentChannels.PaymentChannelsVoucherNotNewer.selector, channelId, cumulative, redeemed
                    )
                );
                vm.prank(provider);
                channels.redeem(channelId, cumulative, requestHash, signature);
                continue;
            }
            vm.prank(provider);
            uint256 paid = channels.redeem(channelId, cumulative, requestHash, signature);
            assertEq(paid, payable_ - redeemed, "pays the increment");
            (uint256 share, uint256 fee, uint256 royalty) = _split(paid);
            shares += share;
            fees += fee;
            royalties += royalty;
            redeemed = payable_;
            _assertConserved();
        }

        uint256 expected = cumulative < deposit ? cumulative : deposit;
        assertEq(redeemed, expected);
        assertEq(channels.getChannel(channelId).redeemed, expected, "redeemed == min(latest, deposit)");
        assertEq(shares + fees + royalties, expected, "split sums to what was paid");
        assertEq(token.balanceOf(provider), shares);
        assertEq(channels.withdrawableOf(treasury), fees);
        assertEq(channels.withdrawableOf(royaltyReceiver), royalties);
        assertEq(channels.getTotalLocked(), deposit - expected);

        // A top-up lets the newest voucher pay what the deposit could not.
        vm.prank(buyer);
        channels.topUp(channelId, topUpAmount);
        uint256 newDeposit = deposit + topUpAmount;
        uint256 newPayable = cumulative < newDeposit ? cumulative : newDeposit;
        bytes32 lastRequest = keccak256(abi.encode(increments.length - 1));
        vm.prank(provider);
        if (newPayable > expected) {
            assertEq(channels.redeem(channelId, cumulative, lastRequest, signature), newPayable - expected);
        } else {
            vm.expectRevert(
                abi.encodeWithSelector(
                    PaymentChannels.PaymentChannelsVoucherNotNewer.selector, channelId, cumulative, expected
                )
            );
            channels.redeem(channelId, cumulative, lastRequest, signature);
        }
        assertEq(channels.getChannel(channelId).redeemed, newPayable);
        _assertConserved();
    }

    /// @dev Any deposit, top-up, redeem and way of closing: the contract always holds what it owes,
    /// the buyer ends up paying exactly what was redeemed, and the payees receive exactly that.
    function testFuzz_ChannelLifecycle_ConservesTokens(
        uint256 deposit,
        uint256 topUpAmount,
        uint256 firstVoucher,
        uint256 lastVoucher,
        uint8 closeMode
    ) public {
        deposit = bound(deposit, 1, 4e11);
        topUpAmount = bound(topUpAmount, 0, 4e11);
        firstVoucher = bound(firstVoucher, 1, 1e12);
        lastVoucher = bound(lastVoucher, firstVoucher, 2e12);
        closeMode = uint8(bound(closeMode, 0, 3));

        bytes32 channelId = _open(deposit, address(0));
        _assertConserved();
        _redeem(channelId, firstVoucher);
        _assertConserved();
        if (topUpAmount > 0) {
            vm.prank(buyer);
            channels.topUp(channelId, topUpAmount);
            _assertConserved();
        }
        uint256 total = deposit + topUpAmount;
        uint256 redeemedBefore = channels.getChannel(channelId).redeemed;
        uint256 finalPaid = lastVoucher < total ? lastVoucher : total;
        bool newer = finalPaid > redeemedBefore;
        bytes memory signature = signVoucher(buyerKey, channelId, lastVoucher, REQUEST_HASH);

        if (closeMode == 0) {
            // Cooperative close with the newest voucher.
            vm.prank(provider);
            channels.closeChannel(channelId, lastVoucher, REQUEST_HASH, signature);
        } else if (closeMode == 1) {
            // Cooperative close redeeming nothing more.
            vm.prank(provider);
            channels.closeChannel(channelId, 0, bytes32(0), "");
            finalPaid = redeemedBefore;
        } else {
            uint64 closesAt = _requestClose(channelId);
            _assertConserved();
            if (closeMode == 2 && newer) {
                vm.warp(uint256(closesAt) - 1);
                _redeem(channelId, lastVoucher);
                _assertConserved();
            } else {
                finalPaid = redeemedBefore;
            }
            vm.warp(closesAt);
            vm.prank(buyer);
            assertEq(channels.withdrawChannel(channelId), total - finalPaid, "refund");
        }
        _assertConserved();
        assertEq(channels.getChannel(channelId).redeemed, finalPaid);
        assertEq(channels.getTotalLocked(), 0);

        address[3] memory payees = [buyer, treasury, royaltyReceiver];
        for (uint256 i = 0; i < payees.length; i++) {
            if (channels.withdrawableOf(payees[i]) > 0) {
                vm.prank(payees[i]);
                channels.withdraw();
            }
            _assertConserved();
        }
        assertEq(token.balanceOf(address(channels)), 0, "nothing left behind");
        assertEq(token.balanceOf(buyer), BUYER_FUNDS - finalPaid, "buyer paid exactly what was redeemed");
        assertEq(
            token.balanceOf(provider) + token.balanceOf(treasury) + token.balanceOf(royaltyReceiver),
            finalPaid,
            "payees received exactly what was redeemed"
        );
    }
}
