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

/// @title PaymentChannels
/// @notice The fast path: a buyer locks a deposit for one provider and one model, then pays each
/// call off-chain with an EIP-712 voucher for the cumulative amount owed so far. The provider
/// redeems the newest voucher whenever it likes, one transaction for any number of calls.
/// A buyer who wants out without the provider's help starts a unilateral close; during the
/// challenge period the provider can still redeem its newest voucher, after it the buyer takes
/// back what was not redeemed.
contract PaymentChannels is Settlement, EIP712 {
    using SafeERC20 for IERC20;

    /// @notice Life of a channel. `Closing`: a unilateral close is running.
    enum ChannelStatus {
        None,
        Open,
        Closing,
        Closed
    }

    /// @notice A channel. `signer` signs vouchers for the buyer (the buyer itself or a hot key).
    /// `royaltyBps` caps the model royalty at its rate when the channel opened (at most the buyer's
    /// `maxRoyaltyBps`; the provider's node refuses vouchers on a channel whose rate it does not
    /// accept). Fields are ordered
    /// to pack into five storage slots; a redeem rewrites only one.
    struct Channel {
        address buyer;
        uint64 closesAt;
        ChannelStatus status;
        uint16 royaltyBps;
        address provider;
        address signer;
        bytes32 modelId;
        uint128 deposit;
        uint128 redeemed;
    }

    /// @notice EIP-712 type of a voucher: the buyer owes `cumulativeAmount` in total on the channel;
    /// `requestHash` binds it to the call it paid for.
    bytes32 public constant VOUCHER_TYPEHASH =
        keccak256("Voucher(bytes32 channelId,uint256 cumulativeAmount,bytes32 requestHash)");

    uint64 private immutable _challengePeriod;

    mapping(bytes32 channelId => Channel) private _channels;
    mapping(address buyer => uint256) private _channelNonces;
    uint256 private _totalLocked;

    /// @notice Emitted when a channel is opened.
    event ChannelOpened(
        bytes32 indexed channelId,
        address indexed buyer,
        address indexed provider,
        bytes32 modelId,
        address signer,
        uint256 deposit
    );
    /// @notice Emitted when a buyer adds to a channel's deposit.
    event ChannelToppedUp(bytes32 indexed channelId, uint256 amount, uint256 deposit);
    /// @notice Emitted when a provider redeems a voucher.
    event VoucherRedeemed(
        bytes32 indexed channelId,
        uint256 cumulativeAmount,
        uint256 paid,
        uint256 providerShare,
        bytes32 requestHash
    );
    /// @notice Emitted when a buyer starts a unilateral close.
    event ChannelCloseRequested(bytes32 indexed channelId, uint64 closesAt);
    /// @notice Emitted when a channel is closed; `refund` went (or was credited) back to the buyer.
    event ChannelClosed(bytes32 indexed channelId, uint256 redeemed, uint256 refund);

    /// @notice No channel with this id.
    error PaymentChannelsUnknownChannel(bytes32 channelId);
    /// @notice The channel is not in a state that allows this call.
    error PaymentChannelsInvalidStatus(bytes32 channelId, ChannelStatus status);
    /// @notice Only the channel's buyer may do this.
    error PaymentChannelsNotBuyer(bytes32 channelId, address caller);
    /// @notice Only the channel's provider may do this.
    error PaymentChannelsNotProvider(bytes32 channelId, address caller);
    /// @notice The provider is not active (registered, staked, unjailed) or has no offer for the model.
    error PaymentChannelsProviderUnavailable(address provider, bytes32 modelId);
    /// @notice The voucher was not signed by the channel's signer (forged, or for another chain or contract).
    error PaymentChannelsInvalidVoucherSignature(bytes32 channelId, address recovered, address signer);
    /// @notice The voucher owes no more than has already been redeemed (a replay or a stale voucher).
    error PaymentChannelsVoucherNotNewer(bytes32 channelId, uint256 cumulativeAmount, uint256 redeemed);
    /// @notice The unilateral close's challenge period is over; the provider can no longer redeem.
    error PaymentChannelsChallengeOver(bytes32 channelId, uint64 closesAt);
    /// @notice The challenge period is still running; the buyer must wait until `closesAt`.
    error PaymentChannelsChallengeRunning(bytes32 channelId, uint64 closesAt);
    /// @notice `challengePeriod` must be above zero: with none, a buyer could close right after being
    /// served and take back the whole deposit before the provider can redeem.
    error PaymentChannelsInvalidChallengePeriod(uint64 challengePeriod);

    /// @param challengePeriod_ Seconds the provider has to redeem after a buyer starts a unilateral
    /// close; must be above zero.
    constructor(
        IERC20 token_,
        IProviderRegistry providerRegistry_,
        IModelRegistry modelRegistry_,
        address treasury_,
        uint16 protocolFeeBps_,
        uint64 challengePeriod_
    )
        Settlement(token_, providerRegistry_, modelRegistry_, treasury_, protocolFeeBps_)
        EIP712("Agora PaymentChannels", "1")
    {
        if (challengePeriod_ == 0) revert PaymentChannelsInvalidChallengePeriod(challengePeriod_);
        _challengePeriod = challengePeriod_;
    }

    // ---------------------------------------------------------------- buyer actions

    /// @notice Opens a channel to `provider` for `modelId` with `deposit` tokens (needs approval).
    /// The model's royalty rate now is snapshotted as the channel's cap.
    /// @param signer Key that signs vouchers; zero means the buyer signs them.
    /// @param maxRoyaltyBps The highest royalty rate the buyer agreed to (e.g. the rate in the
    /// provider's quote); reverts `SettlementRoyaltyAboveMax` when the model's rate is above it.
    /// @return channelId The new channel's id.
    function openChannel(address provider, bytes32 modelId, uint256 deposit, address signer, uint16 maxRoyaltyBps)
        external
        nonReentrant
        returns (bytes32 channelId)
    {
        if (deposit == 0) revert SettlementZeroAmount();
        if (!_modelRegistry.modelExists(modelId)) revert SettlementUnknownModel(modelId);
        uint16 royaltyBps = _agreedRoyaltyBps(modelId, maxRoyaltyBps);
        (, bool offered) = _providerRegistry.getOfferPrice(provider, modelId);
        if (!offered || !_providerRegistry.isActive(provider)) {
            revert PaymentChannelsProviderUnavailable(provider, modelId);
        }
        channelId = keccak256(abi.encode(block.chainid, address(this), msg.sender, _channelNonces[msg.sender]++));
        _channels[channelId] = Channel({
            buyer: msg.sender,
            closesAt: 0,
            status: ChannelStatus.Open,
            royaltyBps: royaltyBps,
            provider: provider,
            signer: signer == address(0) ? msg.sender : signer,
            modelId: modelId,
            deposit: SafeCast.toUint128(deposit),
            redeemed: 0
        });
        _totalLocked += deposit;
        emit ChannelOpened(channelId, msg.sender, provider, modelId, _channels[channelId].signer, deposit);
        _token.safeTransferFrom(msg.sender, address(this), deposit);
    }

    /// @notice Adds `amount` to an open channel's deposit (needs approval).
    function topUp(bytes32 channelId, uint256 amount) external nonReentrant {
        Channel storage channel = _existing(channelId);
        if (msg.sender != channel.buyer) revert PaymentChannelsNotBuyer(channelId, msg.sender);
        if (channel.status != ChannelStatus.Open) revert PaymentChannelsInvalidStatus(channelId, channel.status);
        if (amount == 0) revert SettlementZeroAmount();
        channel.deposit = SafeCast.toUint128(channel.deposit + amount);
        _totalLocked += amount;
        emit ChannelToppedUp(channelId, amount, channel.deposit);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Starts a unilateral close. The provider can redeem until `closesAt`; then the
    /// buyer calls `withdrawChannel` to take back the rest.
    function requestClose(bytes32 channelId) external {
        Channel storage channel = _existing(channelId);
        if (msg.sender != channel.buyer) revert PaymentChannelsNotBuyer(channelId, msg.sender);
        if (channel.status != ChannelStatus.Open) revert PaymentChannelsInvalidStatus(channelId, channel.status);
        channel.status = ChannelStatus.Closing;
        channel.closesAt = uint64(block.timestamp) + _challengePeriod;
        emit ChannelCloseRequested(channelId, channel.closesAt);
    }

    /// @notice Ends a unilateral close after its challenge period and sends the buyer what was not redeemed.
    function withdrawChannel(bytes32 channelId) external nonReentrant returns (uint256 refund) {
        Channel storage channel = _existing(channelId);
        if (msg.sender != channel.buyer) revert PaymentChannelsNotBuyer(channelId, msg.sender);
        if (channel.status != ChannelStatus.Closing) revert PaymentChannelsInvalidStatus(channelId, channel.status);
        if (block.timestamp < channel.closesAt) revert PaymentChannelsChallengeRunning(channelId, channel.closesAt);
        refund = _close(channelId, channel);
        if (refund > 0) _token.safeTransfer(msg.sender, refund);
    }

    // ---------------------------------------------------------------- provider actions

    /// @notice Redeems a voucher: pays the provider what it owes beyond what was already redeemed
    /// (capped at the deposit), minus protocol fee and model royalty. Provider only.
    /// @return paid Tokens taken from the deposit by this redeem (before the split).
    function redeem(bytes32 channelId, uint256 cumulativeAmount, bytes32 requestHash, bytes calldata signature)
        external
        nonReentrant
        returns (uint256 paid)
    {
        Channel storage channel = _existing(channelId);
        if (msg.sender != channel.provider) revert PaymentChannelsNotProvider(channelId, msg.sender);
        if (channel.status == ChannelStatus.Closed) revert PaymentChannelsInvalidStatus(channelId, channel.status);
        if (channel.status == ChannelStatus.Closing && block.timestamp >= channel.closesAt) {
            revert PaymentChannelsChallengeOver(channelId, channel.closesAt);
        }
        uint256 providerShare;
        (paid, providerShare) = _redeem(channelId, channel, cumulativeAmount, requestHash, signature);
        if (providerShare > 0) _token.safeTransfer(msg.sender, providerShare);
    }

    /// @notice Cooperative close by the provider: redeems the given voucher if it is newer than
    /// what was redeemed (pass `cumulativeAmount` 0 to redeem nothing), closes the channel at once
    /// and credits the rest of the deposit to the buyer (`withdraw()`). Provider only.
    function closeChannel(bytes32 channelId, uint256 cumulativeAmount, bytes32 requestHash, bytes calldata signature)
        external
        nonReentrant
        returns (uint256 refund)
    {
        Channel storage channel = _existing(channelId);
        if (msg.sender != channel.provider) revert PaymentChannelsNotProvider(channelId, msg.sender);
        if (channel.status == ChannelStatus.Closed) revert PaymentChannelsInvalidStatus(channelId, channel.status);
        if (channel.status == ChannelStatus.Closing && block.timestamp >= channel.closesAt) {
            revert PaymentChannelsChallengeOver(channelId, channel.closesAt);
        }
        uint256 providerShare;
        // Redeem only if the voucher pays something: one that owes more than the deposit pays up to
        // the deposit, so once the deposit is fully redeemed the provider's newest voucher pays
        // nothing and must not block the close.
        if (cumulativeAmount > channel.redeemed && channel.deposit > channel.redeemed) {
            (, providerShare) = _redeem(channelId, channel, cumulativeAmount, requestHash, signature);
        }
        refund = _close(channelId, channel);
        _credit(channel.buyer, refund);
        if (providerShare > 0) _token.safeTransfer(msg.sender, providerShare);
    }

    // ---------------------------------------------------------------- views

    /// @notice A channel's record (all zero for an unknown id).
    function getChannel(bytes32 channelId) external view returns (Channel memory) {
        return _channels[channelId];
    }

    /// @notice The EIP-712 digest a voucher's signer signs; lets off-chain code check its hashing.
    function hashVoucher(bytes32 channelId, uint256 cumulativeAmount, bytes32 requestHash) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(VOUCHER_TYPEHASH, channelId, cumulativeAmount, requestHash)));
    }

    /// @notice Tokens held for open and closing channels (deposits minus redemptions).
    function getTotalLocked() external view returns (uint256) {
        return _totalLocked;
    }

    /// @notice Seconds the provider has to redeem after a unilateral close starts.
    function challengePeriod() external view returns (uint64) {
        return _challengePeriod;
    }

    /// @notice How many channels `buyer` has opened (the nonce of its next channel id).
    function getChannelNonce(address buyer) external view returns (uint256) {
        return _channelNonces[buyer];
    }

    // ---------------------------------------------------------------- internals

    function _existing(bytes32 channelId) private view returns (Channel storage channel) {
        channel = _channels[channelId];
        if (channel.status == ChannelStatus.None) revert PaymentChannelsUnknownChannel(channelId);
    }

    function _redeem(
        bytes32 channelId,
        Channel storage channel,
        uint256 cumulativeAmount,
        bytes32 requestHash,
        bytes calldata signature
    ) private returns (uint256 paid, uint256 providerShare) {
        uint256 redeemed = channel.redeemed;
        // A voucher may owe more than the deposit (the buyer overspent); pay what the deposit holds,
        // and let the same voucher pay the rest after a top-up.
        uint256 payable_ = cumulativeAmount < channel.deposit ? cumulativeAmount : channel.deposit;
        if (payable_ <= redeemed) revert PaymentChannelsVoucherNotNewer(channelId, cumulativeAmount, redeemed);
        (address recovered, ECDSA.RecoverError err, ) =
            ECDSA.tryRecover(hashVoucher(channelId, cumulativeAmount, requestHash), signature);
        if (err != ECDSA.RecoverError.NoError || recovered != channel.signer) {
            revert PaymentChannelsInvalidVoucherSignature(channelId, recovered, channel.signer);
        }
        // Cannot underflow: payable_ > redeemed was checked above.
        unchecked {
            paid = payable_ - redeemed;
        }
        // Cannot truncate: payable_ <= deposit, which is a uint128.
        channel.redeemed = uint128(payable_);
        _totalLocked -= paid;
        providerShare = _splitPayment(channel.modelId, paid, channel.royaltyBps);
        emit VoucherRedeemed(channelId, cumulativeAmount, paid, providerShare, requestHash);
    }

    function _close(bytes32 channelId, Channel storage channel) private returns (uint256 refund) {
        refund = channel.deposit - channel.redeemed;
        channel.status = ChannelStatus.Closed;
        _totalLocked -= refund;
        emit ChannelClosed(channelId, channel.redeemed, refund);
    }
}
