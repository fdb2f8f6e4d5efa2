// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice What the payment contracts read from the provider registry.
interface IProviderRegistry {
    /// @notice Whether `provider` may take new work: registered, staked at least the minimum, not jailed.
    function isActive(address provider) external view returns (bool);

    /// @notice `provider`'s price for one unit of `modelId`, and whether the offer is live.
    function getOfferPrice(address provider, bytes32 modelId) external view returns (uint256 pricePerUnit, bool active);
}
