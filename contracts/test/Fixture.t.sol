// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AgoraFixture} from "./utils/AgoraFixture.sol";

contract FixtureTest is AgoraFixture {
    function test_providerIsActiveAfterStakeAndOffer() public {
        address provider = makeAddr("provider");
        makeProvider(provider);
        assertTrue(registry.isActive(provider));
        (uint256 price, bool active) = registry.getOfferPrice(provider, modelId);
        assertEq(price, PRICE);
        assertTrue(active);
    }
}
