// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

/// @notice What every invariant handler shares: a model of which calls must succeed, counters of
/// successful actions, and a clock that only moves forward.
/// @dev Each handler action computes from its own ghost state whether the call must succeed, makes
/// it with try/catch and records a "surprise" when the contract disagrees. A surprise is a broken
/// invariant too: a contract that reverts where it should pay (or pays where it should revert)
/// breaks a money rule even if its balances still add up.
abstract contract HandlerBase is CommonBase, StdCheats, StdUtils {
    /// @notice Successful calls per handler action, keyed by the action's selector.
    mapping(bytes4 action => uint256 count) public successes;
    /// @notice Calls whose outcome contradicted the handler's model of the contract.
    uint256 public surprises;
    /// @notice Which call surprised last, for the failure message.
    string public lastSurprise;

    /// @dev Records a surprise when the call's outcome differs from the model's.
    function _check(bool expected, bool succeeded, string memory what) internal {
        if (expected == succeeded) return;
        surprises++;
        lastSurprise = string.concat(what, expected ? ": reverted but should succeed" : ": succeeded but should revert");
    }

    /// @dev Records a surprise when a successful call moved a different amount than the model says.
    function _checkEq(uint256 actual, uint256 expected, string memory what) internal {
        if (actual == expected) return;
        surprises++;
        lastSurprise = string.concat(what, ": got ", vm.toString(actual), ", expected ", vm.toString(expected));
    }

    function _count(bytes4 action) internal {
        successes[action]++;
    }

    function _warp(uint256 secondsForward) internal {
        if (secondsForward > 0) vm.warp(block.timestamp + secondsForward);
    }

    function _pick(address[] storage accounts, uint256 seed) internal view returns (address) {
        return accounts[seed % accounts.length];
    }
}
