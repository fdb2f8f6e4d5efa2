// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";

/// @title Settlement
/// @notice What JobMarket and PaymentChannels share: the token, the registries, the protocol fee,
/// the split of a payment into provider share + protocol fee + model royalty, and pull payments
/// (amounts owed to third parties are credited and later taken with `withdraw()`).
abstract contract Settlement is ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice Upper bound on the protocol fee (10%).
    uint16 public constant MAX_PROTOCOL_FEE_BPS = 1_000;
    uint16 internal constant BPS = 10_000;

    IERC20 internal immutable _token;
    IProviderRegistry internal immutable _providerRegistry;
    IModelRegistry internal immutable _modelRegistry;
    address internal immutable _treasury;
    uint16 internal immutable _protocolFeeBps;

    mapping(address account => uint256 amount) private _withdrawable;
    uint256 private _totalWithdrawable;

    /// @notice Emitted when `amount` is credited to `account`, to be taken with `withdraw()`.
    event Credited(address indexed account, uint256 amount);
    /// @notice Emitted when `account` withdraws its credit.
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice The protocol fee is above `MAX_PROTOCOL_FEE_BPS`, or a fee is set without a treasury.
    error SettlementInvalidFee(uint16 feeBps, uint16 maxBps);
    /// @notice The caller has nothing to withdraw.
    error SettlementNothingToWithdraw(address account);
    /// @notice An amount of zero was given where tokens must move.
    error SettlementZeroAmount();
    /// @notice The model is not in the ModelRegistry.
    error SettlementUnknownModel(bytes32 modelId);
    /// @notice The model's royalty is above the rate the caller agreed to (the publisher raised it
    /// after the caller read it): nothing is opened or accepted at the higher rate.
    error SettlementRoyaltyAboveMax(bytes32 modelId, uint16 royaltyBps, uint16 maxRoyaltyBps);

    constructor(
        IERC20 token_,
        IProviderRegistry providerRegistry_,
        IModelRegistry modelRegistry_,
        address treasury_,
        uint16 protocolFeeBps_
    ) {
        if (protocolFeeBps_ > MAX_PROTOCOL_FEE_BPS || (protocolFeeBps_ > 0 && treasury_ == address(0))) {
            revert SettlementInvalidFee(protocolFeeBps_, MAX_PROTOCOL_FEE_BPS);
        }
        _token = token_;
        _providerRegistry = providerRegistry_;
        _modelRegistry = modelRegistry_;
        _treasury = treasury_;
        _protocolFeeBps = protocolFeeBps_;
    }

    /// @notice Sends the caller everything credited to it.
    function withdraw() external nonReentrant returns (uint256 amount) {
        amount = _withdrawable[msg.sender];
        if (amount == 0) revert SettlementNothingToWithdraw(msg.sender);
        _withdrawable[msg.sender] = 0;
        _totalWithdrawable -= amount;
        emit Withdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @notice What `account` can take with `withdraw()`.
    function withdrawableOf(address account) external view returns (uint256) {
        return _withdrawable[account];
    }

    /// @notice Sum of all credits not yet withdrawn.
    function getTotalWithdrawable() external view returns (uint256) {
        return _totalWithdrawable;
    }

    /// @notice The payment token.
    function token() external view returns (IERC20) {
        return _token;
    }

    /// @notice The provider registry this contract trusts for stake and offers.
    function providerRegistry() external view returns (IProviderRegistry) {
        return _providerRegistry;
    }

    /// @notice The model catalogue royalties are read from.
    function modelRegistry() external view returns (IModelRegistry) {
        return _modelRegistry;
    }

    /// @notice Where protocol fees are credited.
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @notice Protocol fee in basis points of every payment.
    function protocolFeeBps() external view returns (uint16) {
        return _protocolFeeBps;
    }

    /// @notice How a payment of `amount` for `modelId` is split under the model's current royalty:
    /// the protocol fee rounded up, the royalty rounded down, the provider the rest.
    function quoteSplit(bytes32 modelId, uint256 amount)
        public
        view
        returns (uint256 providerShare, uint256 fee, uint256 royalty, address royaltyReceiver)
    {
        return _quoteSplit(modelId, amount, type(uint16).max);
    }

    /// @dev The royalty is the model's current one capped at `maxRoyaltyBps`, the rate the buyer and
    /// provider agreed to when the channel opened or the job was accepted: a publisher who raises the
    /// royalty later cannot take a bigger cut of work already agreed, and one who lowers it (or
    /// removes the receiver) is honoured at once.
    function _quoteSplit(bytes32 modelId, uint256 amount, uint16 maxRoyaltyBps)
        internal
        view
        returns (uint256 providerShare, uint256 fee, uint256 royalty, address royaltyReceiver)
    {
        uint16 royaltyBps;
        (royaltyReceiver, royaltyBps) = _modelRegistry.getRoyalty(modelId);
        if (royaltyBps > maxRoyaltyBps) royaltyBps = maxRoyaltyBps;
        // The fee rounds up so that no payment, however small, skips it (rounding down made every
        // payment below BPS / feeBps base units free of fee). The royalty rounds down: only one
        // part may round up if the parts are to add up to the amount exactly.
        fee = Math.mulDiv(amount, _protocolFeeBps, BPS, Math.Rounding.Ceil);
        royalty = Math.mulDiv(amount, royaltyBps, BPS);
        // Cannot underflow: fee + royalty <= ceil(amount * (feeBps + royaltyBps) / BPS) <= amount,
        // as feeBps <= 10% (bounded at deploy) and royaltyBps <= 30% (bounded in ModelRegistry).
        providerShare = amount - fee - royalty;
    }

    /// @dev The model's royalty rate now, to be stored as the cap of a channel or job; reverts when
    /// it is above `maxRoyaltyBps`, the rate the caller saw and agreed to, so a publisher who raises
    /// the royalty just before an open or accept lands cannot bind the parties to the new rate.
    function _agreedRoyaltyBps(bytes32 modelId, uint16 maxRoyaltyBps) internal view returns (uint16 bps) {
        (, bps) = _modelRegistry.getRoyalty(modelId);
        if (bps > maxRoyaltyBps) revert SettlementRoyaltyAboveMax(modelId, bps, maxRoyaltyBps);
    }

    function _credit(address account, uint256 amount) internal {
        if (amount == 0) return;
        _withdrawable[account] += amount;
        _totalWithdrawable += amount;
        emit Credited(account, amount);
    }

    /// @dev Credits fee and royalty of a payment and returns the provider's share, which the caller
    /// either credits or transfers.
    function _splitPayment(bytes32 modelId, uint256 amount, uint16 maxRoyaltyBps) internal returns (uint256 providerShare) {
        (uint256 share, uint256 fee, uint256 royalty, address royaltyReceiver) =
            _quoteSplit(modelId, amount, maxRoyaltyBps);
        _credit(_treasury, fee);
        _credit(royaltyReceiver, royalty);
        return share;
    }
}
