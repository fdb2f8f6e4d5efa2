// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {DevUSD} from "../../../src/DevUSD.sol";
import {PaymentChannels} from "../../../src/PaymentChannels.sol";
import {ProviderRegistry} from "../../../src/ProviderRegistry.sol";
import {ModelRegistry} from "../../../src/ModelRegistry.sol";
import {HandlerBase} from "./HandlerBase.sol";

/// @notice Drives PaymentChannels through random sequences of channel calls. Buyers (or their hot
/// keys) sign cumulative vouchers off-chain; providers redeem the newest, stale, forged or tampered
/// ones; buyers top up and close unilaterally; providers close cooperatively. A publisher raises,
/// lowers or redirects the model's royalty at any time, and right before a buyer's open lands
/// (issue 9, finding 8). The handler keeps its own ledger of every channel, every voucher signed
/// and every credit, and of who must be paid what: the fee (rounded up) to the treasury, the
/// royalty at the channel's agreed rate (or lower) to the receiver of the moment, the rest to the
/// provider, the unredeemed deposit back to the buyer; any other payment fails the run.
contract PaymentChannelsHandler is HandlerBase {
    /// @notice Everything the handler needs, in one argument.
    struct Init {
        DevUSD token;
        PaymentChannels channels;
        ProviderRegistry registry;
        ModelRegistry models;
        address auditCourt;
        address treasury;
        address royaltyReceiver;
        uint16 feeBps;
        uint16 royaltyBps;
        bytes32 modelId;
        address[] buyers;
        uint256[] buyerKeys;
        address[] providers;
        /// Publisher of `modelId`: may change its royalty.
        address publisher;
        /// A second royalty receiver the publisher may redirect the royalty to.
        address otherReceiver;
    }

    /// @notice What the handler believes about one channel.
    struct GhostChannel {
        bytes32 id;
        address buyer;
        address provider;
        address signer;
        uint256 deposit;
        /// The royalty rate snapshotted at open (never above what the buyer agreed to).
        uint16 royaltyBps;
        /// Sum of what every successful redeem said it paid.
        uint256 redeemed;
        /// The highest cumulative amount the buyer ever signed for this channel.
        uint256 maxSigned;
        uint64 closesAt;
        PaymentChannels.ChannelStatus status;
        /// Times the channel was closed (withdrawChannel or closeChannel).
        uint8 closes;
        /// What the buyer got back at close.
        uint256 refund;
    }

    uint16 internal constant BPS = 10_000;
    uint16 internal constant MAX_ROYALTY_BPS = 3_000;

    DevUSD public immutable token;
    PaymentChannels public immutable channels;
    ProviderRegistry public immutable registry;
    ModelRegistry public immutable models;
    address public immutable auditCourt;
    address public immutable treasury;
    address public immutable royaltyReceiver;
    address public immutable otherReceiver;
    address public immutable publisher;
    uint16 public immutable feeBps;
    /// @notice The model's royalty rate and receiver now, as the handler set them.
    uint16 public royaltyBps;
    address public royaltyTo;
    bytes32 public immutable modelId;
    uint64 public immutable challengePeriod;
    uint256 internal immutable _outsiderKey;

    address[] internal _buyers;
    address[] internal _providers;
    /// Everyone who can be credited or paid: buyers, providers, treasury, royalty receiver.
    address[] internal _accounts;
    mapping(address account => uint256 key) internal _keyOf;
    mapping(address buyer => address hotKey) internal _hotKeyOf;
    mapping(address buyer => uint256 nonce) internal _nonces;

    GhostChannel[] internal _channels;
    /// Cumulative amounts the buyer signed for each channel, in signing order.
    mapping(uint256 index => uint256[] amounts) internal _signed;
    mapping(address account => uint256 amount) public ghostCredit;
    /// @notice Tokens each payee gained and each buyer spent through redeemed vouchers.
    mapping(address account => uint256 amount) public ghostEarned;
    mapping(address buyer => uint256 amount) public ghostSpent;

    constructor(Init memory init) {
        token = init.token;
        channels = init.channels;
        registry = init.registry;
        models = init.models;
        auditCourt = init.auditCourt;
        treasury = init.treasury;
        royaltyReceiver = init.royaltyReceiver;
        otherReceiver = init.otherReceiver;
        publisher = init.publisher;
        feeBps = init.feeBps;
        royaltyBps = init.royaltyBps;
        royaltyTo = init.royaltyBps == 0 ? address(0) : init.royaltyReceiver;
        modelId = init.modelId;
        challengePeriod = init.channels.challengePeriod();
        (, _outsiderKey) = makeAddrAndKey("outsider");
        _buyers = init.buyers;
        _providers = init.providers;
        for (uint256 i; i < init.buyers.length; i++) {
            _keyOf[init.buyers[i]] = init.buyerKeys[i];
            (address hot, uint256 hotKey) = makeAddrAndKey(string.concat("hot", vm.toString(i)));
            _keyOf[hot] = hotKey;
            _hotKeyOf[init.buyers[i]] = hot;
        }
        _accounts = init.buyers;
        for (uint256 i; i < init.providers.length; i++) {
            _accounts.push(init.providers[i]);
        }
        _accounts.push(init.treasury);
        _accounts.push(init.royaltyReceiver);
        _accounts.push(init.otherReceiver);
    }

    // ---------------------------------------------------------------- buyer actions

    /// @param royaltySeed Three times in four the buyer agrees to the model's rate now (it read it
    /// in the provider's quote), else to a random rate, maybe below the current one, which must revert.
    function openChannel(uint256 buyerSeed, uint256 providerSeed, uint256 deposit, bool hotKey, uint256 royaltySeed)
        external
    {
        uint16 maxRoyaltyBps = royaltySeed % 4 != 0 ? royaltyBps : uint16(bound(royaltySeed / 4, 0, MAX_ROYALTY_BPS));
        _open(_pick(_buyers, buyerSeed), _pick(_providers, providerSeed), bound(deposit, 0, 1_000e6), hotKey, maxRoyaltyBps);
    }

    /// @notice Finding 8 as an attack: the buyer reads the royalty rate, the publisher changes it
    /// (raises it, most often) before the open lands, the open carries the rate read.
    function frontRunOpen(uint256 buyerSeed, uint256 providerSeed, uint256 deposit, uint256 newBps) external {
        uint16 seen = royaltyBps;
        _setRoyalty(uint16(bound(newBps, 0, MAX_ROYALTY_BPS)), royaltyReceiver);
        _open(_pick(_buyers, buyerSeed), _pick(_providers, providerSeed), bound(deposit, 1, 1_000e6), false, seen);
        _count(this.frontRunOpen.selector);
    }

    /// @notice The publisher changes the royalty at any time: raises, lowers, removes it, or sends it
    /// to another receiver. Open channels keep at most their agreed rate.
    function setRoyalty(uint256 bps, bool redirect) external {
        _setRoyalty(uint16(bound(bps, 0, MAX_ROYALTY_BPS)), redirect ? otherReceiver : royaltyReceiver);
        _count(this.setRoyalty.selector);
    }

    function topUp(uint256 channelSeed, uint256 amount, uint256 callerSeed) external {
        uint256 index = _pickChannel(channelSeed, _mask(PaymentChannels.ChannelStatus.Open));
        if (index == type(uint256).max) return;
        GhostChannel storage channel = _channels[index];
        address caller = callerSeed % 5 == 0 ? _pick(_accounts, callerSeed / 5) : channel.buyer;
        amount = bound(amount, 0, 1_000e6);
        bool expected = caller == channel.buyer && channel.status == PaymentChannels.ChannelStatus.Open && amount > 0;
        vm.prank(caller);
        try channels.topUp(channel.id, amount) {
            _count(this.topUp.selector);
            _check(expected, true, "topUp");
            channel.deposit += amount;
        } catch {
            _check(expected, false, "topUp");
        }
    }

    /// @notice The buyer pays for one more call off-chain: it signs a voucher for a higher
    /// cumulative amount, at times more than the deposit holds.
    function signVoucher(uint256 channelSeed, uint256 increment) external {
        uint256 index = _pickChannel(channelSeed, _mask(PaymentChannels.ChannelStatus.Open));
        if (index == type(uint256).max) return;
        GhostChannel storage channel = _channels[index];
        channel.maxSigned += bound(increment, 1, 300e6);
        _signed[index].push(channel.maxSigned);
        _count(this.signVoucher.selector);
    }

    function requestClose(uint256 channelSeed, uint256 callerSeed) external {
        uint256 index = _pickChannel(channelSeed, _mask(PaymentChannels.ChannelStatus.Open));
        if (index == type(uint256).max) return;
        address caller = callerSeed % 5 == 0 ? _pick(_accounts, callerSeed / 5) : _channels[index].buyer;
        _requestClose(index, caller);
    }

    function withdrawChannel(uint256 channelSeed, uint256 callerSeed, uint256 warpSeconds) external {
        // Half the time past the challenge period.
        _warp(bound(warpSeconds, 0, 2 * challengePeriod));
        uint256 index = _pickChannel(channelSeed, _mask(PaymentChannels.ChannelStatus.Closing));
        if (index == type(uint256).max) return;
        address caller = callerSeed % 5 == 0 ? _pick(_accounts, callerSeed / 5) : _channels[index].buyer;
        _withdrawChannel(index, caller);
    }

    // ---------------------------------------------------------------- provider actions

    /// @param kind 0-5 a voucher the buyer signed (the newest half the time, else any, maybe stale);
    /// 6 forged by an outsider; 7 a signed voucher with its amount raised; 8 signed for another
    /// channel; 9 signed by the buyer's other key. Only 0-5 may pay, and only what is new.
    function redeem(uint256 channelSeed, uint256 voucherSeed, uint256 kind, uint256 callerSeed) external {
        uint256 index = _pickChannel(
            channelSeed, _mask(PaymentChannels.ChannelStatus.Open) | _mask(PaymentChannels.ChannelStatus.Closing)
        );
        if (index == type(uint256).max) return;
        address caller = callerSeed % 5 == 0 ? _pick(_accounts, callerSeed / 5) : _channels[index].provider;
        (uint256 cumulative, bytes memory signature, bool valid) = _voucher(index, voucherSeed, kind % 10);
        _redeem(index, caller, cumulative, signature, valid);
    }

    /// @param kind 0-3 the newest voucher; 4-5 none (cumulative 0); 6 any signed voucher (maybe
    /// stale); 7 forged by an outsider; 8 a signed voucher with its amount raised; 9 signed for
    /// another channel.
    function closeChannel(uint256 channelSeed, uint256 voucherSeed, uint256 kind, uint256 callerSeed) external {
        uint256 index = _pickChannel(
            channelSeed, _mask(PaymentChannels.ChannelStatus.Open) | _mask(PaymentChannels.ChannelStatus.Closing)
        );
        if (index == type(uint256).max) return;
        address caller = callerSeed % 5 == 0 ? _pick(_accounts, callerSeed / 5) : _channels[index].provider;
        kind %= 10;
        uint256 cumulative;
        bytes memory signature;
        bool valid = true;
        if (kind < 4) (cumulative, signature, valid) = _voucher(index, 0, 0);
        else if (kind == 6) (cumulative, signature, valid) = _voucher(index, voucherSeed | 1, 0);
        else if (kind > 6) (cumulative, signature, valid) = _voucher(index, voucherSeed, kind - 1);
        _closeChannel(index, caller, cumulative, signature, valid);
    }

    // ---------------------------------------------------------------- anyone

    function withdraw(uint256 accountSeed) external {
        _withdraw(_pickAccount(accountSeed));
    }

    function warp(uint256 secondsForward) external {
        _warp(bound(secondsForward, 0, challengePeriod / 2));
    }

    /// @notice The audit court jails a provider for a while, so some opens meet an inactive provider.
    function jailProvider(uint256 providerSeed, uint256 duration) external {
        vm.prank(auditCourt);
        registry.jail(_pick(_providers, providerSeed), uint64(block.timestamp + bound(duration, 1, 1 hours)));
        _count(this.jailProvider.selector);
    }

    // ---------------------------------------------------------------- end of a sequence

    /// @notice Closes every channel (the provider first redeems its newest voucher where it still
    /// may) and withdraws every credit; not a fuzzed action. Each call must succeed.
    function settleAll() external {
        for (uint256 i; i < _channels.length; i++) {
            GhostChannel storage channel = _channels[i];
            if (!_redeemable(channel)) continue;
            uint256 owed = channel.maxSigned < channel.deposit ? channel.maxSigned : channel.deposit;
            if (owed > channel.redeemed) {
                (uint256 cumulative, bytes memory signature,) = _voucher(i, 0, 0);
                _redeem(i, channel.provider, cumulative, signature, true);
            }
            _checkEq(channel.redeemed, owed, "provider could not redeem all it was owed");
            if (channel.status == PaymentChannels.ChannelStatus.Open) _requestClose(i, channel.buyer);
        }
        _warp(challengePeriod);
        for (uint256 i; i < _channels.length; i++) {
            if (_channels[i].status == PaymentChannels.ChannelStatus.Closing) _withdrawChannel(i, _channels[i].buyer);
        }
        for (uint256 i; i < _accounts.length; i++) {
            if (ghostCredit[_accounts[i]] > 0) _withdraw(_accounts[i]);
        }
    }

    // ---------------------------------------------------------------- the calls and their ledger

    function _open(address buyer, address provider, uint256 deposit, bool hotKey, uint16 maxRoyaltyBps) internal {
        (, bool offered) = registry.getOfferPrice(provider, modelId);
        bool expected = deposit > 0 && offered && registry.isActive(provider) && royaltyBps <= maxRoyaltyBps;
        bytes32 expectedId = keccak256(abi.encode(block.chainid, address(channels), buyer, _nonces[buyer]));
        address signer = hotKey ? _hotKeyOf[buyer] : address(0);
        uint256 before = token.balanceOf(buyer);
        vm.prank(buyer);
        try channels.openChannel(provider, modelId, deposit, signer, maxRoyaltyBps) returns (bytes32 channelId) {
            _count(this.openChannel.selector);
            _check(expected, true, "openChannel");
            _checkEq(uint256(channelId), uint256(expectedId), "openChannel id");
            _checkEq(before - token.balanceOf(buyer), deposit, "openChannel deposit");
            _checkEq(channels.getChannel(channelId).royaltyBps, royaltyBps, "openChannel royalty snapshot");
            _nonces[buyer]++;
            GhostChannel storage channel = _channels.push();
            channel.id = channelId;
            channel.buyer = buyer;
            channel.provider = provider;
            channel.signer = hotKey ? signer : buyer;
            channel.deposit = deposit;
            channel.royaltyBps = royaltyBps;
            channel.status = PaymentChannels.ChannelStatus.Open;
        } catch {
            _check(expected, false, "openChannel");
        }
    }

    /// @dev Sets the model's royalty as its publisher (a zero rate has no receiver) and books it.
    function _setRoyalty(uint16 bps, address receiver) internal {
        if (bps == 0) receiver = address(0);
        vm.prank(publisher);
        models.setRoyalty(modelId, receiver, bps);
        royaltyBps = bps;
        royaltyTo = receiver;
    }

    function _redeem(uint256 index, address caller, uint256 cumulative, bytes memory signature, bool valid) internal {
        GhostChannel storage channel = _channels[index];
        uint256 payable_ = cumulative < channel.deposit ? cumulative : channel.deposit;
        bool expected = caller == channel.provider && _redeemable(channel) && valid && payable_ > channel.redeemed;
        uint256 before = token.balanceOf(channel.provider);
        vm.prank(caller);
        try channels.redeem(channel.id, cumulative, _requestHash(cumulative), signature) returns (uint256 paid) {
            _count(this.redeem.selector);
            _check(expected, true, "redeem");
            _checkEq(paid, payable_ - channel.redeemed, "redeem paid");
            uint256 share = _bookPayment(channel, paid);
            _checkEq(token.balanceOf(channel.provider) - before, share, "redeem provider share");
        } catch {
            _check(expected, false, "redeem");
        }
    }

    function _closeChannel(uint256 index, address caller, uint256 cumulative, bytes memory signature, bool valid)
        internal
    {
        GhostChannel storage channel = _channels[index];
        uint256 payable_ = cumulative < channel.deposit ? cumulative : channel.deposit;
        // A voucher that owes nothing beyond what was redeemed is ignored; one that does must be genuine.
        bool pays = payable_ > channel.redeemed;
        bool expected = caller == channel.provider && _redeemable(channel) && (!pays || valid);
        uint256 providerBefore = token.balanceOf(channel.provider);
        uint256 buyerBefore = channels.withdrawableOf(channel.buyer);
        vm.prank(caller);
        try channels.closeChannel(channel.id, cumulative, _requestHash(cumulative), signature) returns (
            uint256 refund
        ) {
            _count(this.closeChannel.selector);
            _check(expected, true, "closeChannel");
            uint256 share = pays ? _bookPayment(channel, payable_ - channel.redeemed) : 0;
            _checkEq(token.balanceOf(channel.provider) - providerBefore, share, "closeChannel provider share");
            _checkEq(channels.withdrawableOf(channel.buyer) - buyerBefore, refund, "closeChannel refund credited");
            _checkEq(refund, channel.deposit - channel.redeemed, "closeChannel refund");
            ghostCredit[channel.buyer] += refund;
            _bookClose(channel, refund);
        } catch {
            _check(expected, false, "closeChannel");
        }
    }

    function _requestClose(uint256 index, address caller) internal {
        GhostChannel storage channel = _channels[index];
        bool expected = caller == channel.buyer && channel.status == PaymentChannels.ChannelStatus.Open;
        vm.prank(caller);
        try channels.requestClose(channel.id) {
            _count(this.requestClose.selector);
            _check(expected, true, "requestClose");
            channel.status = PaymentChannels.ChannelStatus.Closing;
            channel.closesAt = uint64(block.timestamp) + challengePeriod;
        } catch {
            _check(expected, false, "requestClose");
        }
    }

    function _withdrawChannel(uint256 index, address caller) internal {
        GhostChannel storage channel = _channels[index];
        bool expected = caller == channel.buyer && channel.status == PaymentChannels.ChannelStatus.Closing
            && block.timestamp >= channel.closesAt;
        uint256 before = token.balanceOf(channel.buyer);
        vm.prank(caller);
        try channels.withdrawChannel(channel.id) returns (uint256 refund) {
            _count(this.withdrawChannel.selector);
            _check(expected, true, "withdrawChannel");
            _checkEq(refund, channel.deposit - channel.redeemed, "withdrawChannel refund");
            _checkEq(token.balanceOf(channel.buyer) - before, refund, "withdrawChannel paid");
            _bookClose(channel, refund);
        } catch {
            _check(expected, false, "withdrawChannel");
        }
    }

    function _withdraw(address account) internal {
        uint256 owed = ghostCredit[account];
        uint256 before = token.balanceOf(account);
        vm.prank(account);
        try channels.withdraw() returns (uint256 amount) {
            _count(this.withdraw.selector);
            _check(owed > 0, true, "withdraw");
            _checkEq(amount, owed, "withdraw returned");
            _checkEq(token.balanceOf(account) - before, owed, "withdraw paid");
            ghostCredit[account] = 0;
        } catch {
            _check(owed > 0, false, "withdraw");
        }
    }

    /// @dev Books a redeemed amount the way DESIGN.md states it: protocol fee (rounded up, so no
    /// payment skips it) and model royalty (rounded down, at the rate now but never above the
    /// channel's agreed one, to the receiver now) credited, the rest sent to the provider. Returns
    /// the provider's share.
    function _bookPayment(GhostChannel storage channel, uint256 paid) internal returns (uint256 share) {
        uint256 fee = (paid * feeBps + BPS - 1) / BPS;
        uint16 rate = royaltyBps < channel.royaltyBps ? royaltyBps : channel.royaltyBps;
        uint256 royalty = (paid * rate) / BPS;
        share = paid - fee - royalty;
        channel.redeemed += paid;
        ghostCredit[treasury] += fee;
        ghostCredit[royaltyTo] += royalty;
        ghostEarned[treasury] += fee;
        ghostEarned[royaltyTo] += royalty;
        ghostEarned[channel.provider] += share;
        ghostSpent[channel.buyer] += paid;
    }

    function _bookClose(GhostChannel storage channel, uint256 refund) internal {
        channel.status = PaymentChannels.ChannelStatus.Closed;
        channel.closes++;
        channel.refund += refund;
    }

    /// @dev Whether the provider may still redeem or close: the channel is open, or closing with
    /// its challenge period still running.
    function _redeemable(GhostChannel storage channel) internal view returns (bool) {
        return channel.status == PaymentChannels.ChannelStatus.Open
            || (channel.status == PaymentChannels.ChannelStatus.Closing && block.timestamp < channel.closesAt);
    }

    /// @dev A voucher for channel `index` of the given kind (see `redeem`) and whether it is genuine.
    function _voucher(uint256 index, uint256 seed, uint256 kind)
        internal
        view
        returns (uint256 cumulative, bytes memory signature, bool valid)
    {
        GhostChannel storage channel = _channels[index];
        uint256[] storage signed = _signed[index];
        // The newest voucher, or any voucher the buyer signed; before any, a voucher for nothing.
        cumulative = signed.length == 0 ? 0 : seed % 2 == 0 ? channel.maxSigned : signed[seed % signed.length];
        uint256 key = _keyOf[channel.signer];
        bytes32 channelId = channel.id;
        uint256 signedAmount = cumulative;
        valid = kind < 6;
        if (kind == 6) {
            key = _outsiderKey;
            cumulative = channel.maxSigned + 1;
            signedAmount = cumulative;
        } else if (kind == 7) {
            cumulative += 1;
        } else if (kind == 8) {
            channelId = keccak256(abi.encode("another channel", channelId));
        } else if (kind == 9) {
            key = channel.signer == channel.buyer ? _keyOf[_hotKeyOf[channel.buyer]] : _keyOf[channel.buyer];
        }
        bytes32 digest = channels.hashVoucher(channelId, signedAmount, _requestHash(signedAmount));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        signature = abi.encodePacked(r, s, v);
    }

    function _requestHash(uint256 cumulative) internal pure returns (bytes32) {
        return keccak256(abi.encode("call", cumulative));
    }

    /// @dev Three times in four an account with credit (when there is one), otherwise any account.
    function _pickAccount(uint256 seed) internal view returns (address) {
        if (seed % 4 != 0) {
            for (uint256 k; k < _accounts.length; k++) {
                address account = _accounts[(seed / 4 + k) % _accounts.length];
                if (ghostCredit[account] > 0) return account;
            }
        }
        return _pick(_accounts, seed);
    }

    /// @dev Three times in four a channel whose status is in `wanted` (when there is one),
    /// otherwise any channel; `type(uint256).max` before any channel exists.
    function _pickChannel(uint256 seed, uint256 wanted) internal view returns (uint256) {
        uint256 count = _channels.length;
        if (count == 0) return type(uint256).max;
        if (seed % 4 != 0) {
            for (uint256 k; k < count; k++) {
                uint256 index = (seed / 4 + k) % count;
                if (wanted & _mask(_channels[index].status) != 0) return index;
            }
        }
        return seed % count;
    }

    function _mask(PaymentChannels.ChannelStatus status) internal pure returns (uint256) {
        return 1 << uint256(status);
    }

    // ---------------------------------------------------------------- views for the invariants

    function channelCount() external view returns (uint256) {
        return _channels.length;
    }

    function ghostChannel(uint256 index) external view returns (GhostChannel memory) {
        return _channels[index];
    }

    function accounts() external view returns (address[] memory) {
        return _accounts;
    }
}
