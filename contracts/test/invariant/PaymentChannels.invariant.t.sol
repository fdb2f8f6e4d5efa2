// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {PaymentChannels} from "../../src/PaymentChannels.sol";
import {InvariantFixture, ICreditLedger} from "./InvariantFixture.sol";
import {PaymentChannelsHandler} from "./handlers/PaymentChannelsHandler.sol";

/// @notice Money rules of PaymentChannels over random sequences of channel calls and vouchers:
/// the contract always holds what it owes, a channel never pays more than was signed or deposited,
/// and at close what was redeemed plus what was refunded is exactly the deposit.
contract PaymentChannelsInvariantTest is InvariantFixture {
    PaymentChannelsHandler internal handler;
    address[] internal buyers;
    address[] internal providers;
    address internal otherReceiver = makeAddr("otherReceiver");

    function setUp() public override {
        super.setUp();
        uint256[] memory buyerKeys;
        (buyers, buyerKeys) = _makeActors("buyer", 3);
        (providers,) = _makeActors("provider", 3);
        for (uint256 i; i < providers.length; i++) {
            makeProvider(providers[i]);
        }
        handler = new PaymentChannelsHandler(
            PaymentChannelsHandler.Init({
                token: token,
                channels: channels,
                registry: registry,
                models: models,
                auditCourt: auditCourt,
                treasury: treasury,
                royaltyReceiver: royaltyReceiver,
                feeBps: FEE_BPS,
                royaltyBps: ROYALTY_BPS,
                modelId: modelId,
                buyers: buyers,
                buyerKeys: buyerKeys,
                providers: providers,
                publisher: address(this),
                otherReceiver: otherReceiver
            })
        );

        // The actions, and how many times each is listed for the fuzzer to pick from.
        bytes4[] memory selectors = new bytes4[](12);
        uint256[] memory weights = new uint256[](12);
        (selectors[0], weights[0]) = (handler.openChannel.selector, 2);
        (selectors[1], weights[1]) = (handler.topUp.selector, 1);
        (selectors[2], weights[2]) = (handler.signVoucher.selector, 3);
        (selectors[3], weights[3]) = (handler.requestClose.selector, 1);
        (selectors[4], weights[4]) = (handler.withdrawChannel.selector, 2);
        (selectors[5], weights[5]) = (handler.redeem.selector, 3);
        (selectors[6], weights[6]) = (handler.closeChannel.selector, 1);
        (selectors[7], weights[7]) = (handler.withdraw.selector, 2);
        (selectors[8], weights[8]) = (handler.warp.selector, 1);
        (selectors[9], weights[9]) = (handler.jailProvider.selector, 1);
        (selectors[10], weights[10]) = (handler.setRoyalty.selector, 1);
        (selectors[11], weights[11]) = (handler.frontRunOpen.selector, 1);
        _targetHandler(address(handler), selectors, weights);
    }

    /// @notice Every money rule, checked after every call of every sequence. One invariant function
    /// runs one fuzzing campaign; a campaign per rule would multiply the run time for no more calls.
    function invariant_moneyRules() public view {
        _assertBalanceEqualsOwed();
        _assertCreditsMatchLedger(channels, ICreditLedger(address(handler)));
        _assertChannels();
        _assertTokensConserved(handler.accounts());
        if (handler.surprises() > 0) assertEq(handler.surprises(), 0, handler.lastSurprise());
    }

    /// @dev The contract holds exactly the unredeemed deposits plus the credits not yet withdrawn.
    function _assertBalanceEqualsOwed() internal view {
        _eq(
            token.balanceOf(address(channels)),
            channels.getTotalLocked() + channels.getTotalWithdrawable(),
            "balance != locked + withdrawable"
        );
    }

    /// @dev What is locked is deposit minus redeemed over open and closing channels, both as the
    /// contract stores the channels and as the handler tracked them; each channel is as the
    /// handler tracked it.
    function _assertChannels() internal view {
        uint256 chainSum;
        uint256 ghostSum;
        uint256 count = handler.channelCount();
        for (uint256 i; i < count; i++) {
            PaymentChannelsHandler.GhostChannel memory ghost = handler.ghostChannel(i);
            PaymentChannels.Channel memory channel = channels.getChannel(ghost.id);
            if (_isLive(channel.status)) chainSum += channel.deposit - channel.redeemed;
            if (_isLive(ghost.status)) ghostSum += ghost.deposit - ghost.redeemed;
            _assertPaidOnlyWhatWasSigned(ghost, channel);
        }
        _eq(channels.getTotalLocked(), chainSum, "locked != sum over live channels (contract state)");
        _eq(channels.getTotalLocked(), ghostSum, "locked != sum over live channels (handler ledger)");
    }

    /// @dev A channel pays out the sum of what its redeems reported, never more than the highest
    /// voucher signed nor more than the deposit; a channel closes once, and at close
    /// redeemed + refund == deposit. `redeemed` never decreases: after every call it equals the
    /// handler's sum of paid amounts, which only ever grows.
    function _assertPaidOnlyWhatWasSigned(
        PaymentChannelsHandler.GhostChannel memory ghost,
        PaymentChannels.Channel memory channel
    ) internal pure {
        _eq(uint256(channel.status), uint256(ghost.status), "status");
        _eq(channel.deposit, ghost.deposit, "deposit");
        _eq(channel.redeemed, ghost.redeemed, "redeemed != sum of paid");
        _eq(channel.closesAt, ghost.closesAt, "closesAt");
        _eq(channel.signer, ghost.signer, "signer");
        _eq(channel.royaltyBps, ghost.royaltyBps, "royalty rate agreed at open");
        _le(channel.redeemed, ghost.maxSigned, "paid more than the buyer signed");
        _le(channel.redeemed, channel.deposit, "paid more than the deposit");
        _le(ghost.closes, 1, "channel closed twice");
        if (ghost.status == PaymentChannels.ChannelStatus.Closed) {
            _eq(ghost.redeemed + ghost.refund, ghost.deposit, "redeemed + refund != deposit at close");
        } else {
            _eq(ghost.refund, 0, "refund before close");
        }
    }

    /// @notice At the end of every sequence every provider can redeem its newest voucher, every
    /// channel can be closed and every credit withdrawn: the contract ends empty and each account
    /// holds exactly what the redeemed vouchers say.
    function afterInvariant() public {
        uint256 runs = _countRun("CHANNELS");
        string[9] memory names = [
            "openChannel",
            "topUp",
            "redeem",
            "requestClose",
            "withdrawChannel",
            "closeChannel",
            "withdraw",
            "setRoyalty",
            "frontRunOpen"
        ];
        bytes4[9] memory actions = [
            handler.openChannel.selector,
            handler.topUp.selector,
            handler.redeem.selector,
            handler.requestClose.selector,
            handler.withdrawChannel.selector,
            handler.closeChannel.selector,
            handler.withdraw.selector,
            handler.setRoyalty.selector,
            handler.frontRunOpen.selector
        ];
        for (uint256 i; i < actions.length; i++) {
            _assertReached("CHANNELS", runs, names[i], handler.successes(actions[i]));
        }

        handler.settleAll();
        if (handler.surprises() > 0) assertEq(handler.surprises(), 0, handler.lastSurprise());
        _eq(token.balanceOf(address(channels)), 0, "tokens stuck in PaymentChannels");
        _eq(channels.getTotalLocked(), 0, "deposits left after every channel closed");
        _eq(channels.getTotalWithdrawable(), 0, "credit left after everyone withdrew");
        _assertChannels();
        uint256 count = handler.channelCount();
        for (uint256 i; i < count; i++) {
            _eq(uint256(handler.ghostChannel(i).status), uint256(PaymentChannels.ChannelStatus.Closed), "not closed");
        }
        for (uint256 i; i < buyers.length; i++) {
            _eq(token.balanceOf(buyers[i]), INITIAL_BALANCE - handler.ghostSpent(buyers[i]), "buyer balance");
        }
        for (uint256 i; i < providers.length; i++) {
            _eq(token.balanceOf(providers[i]), INITIAL_BALANCE + handler.ghostEarned(providers[i]), "provider balance");
        }
        _eq(token.balanceOf(treasury), handler.ghostEarned(treasury), "treasury balance");
        _eq(token.balanceOf(royaltyReceiver), handler.ghostEarned(royaltyReceiver), "royalty balance");
        _eq(token.balanceOf(otherReceiver), handler.ghostEarned(otherReceiver), "redirected royalty balance");
    }

    function _isLive(PaymentChannels.ChannelStatus status) internal pure returns (bool) {
        return status == PaymentChannels.ChannelStatus.Open || status == PaymentChannels.ChannelStatus.Closing;
    }
}
