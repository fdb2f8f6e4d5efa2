// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AgoraFixture} from "../utils/AgoraFixture.sol";
import {Settlement} from "../../src/Settlement.sol";

/// @notice What the JobMarket and PaymentChannels handlers both book about pull-payment credits.
interface ICreditLedger {
    function accounts() external view returns (address[] memory);
    function ghostCredit(address account) external view returns (uint256);
}

/// @notice AgoraFixture plus what the invariant suites share: actors with known keys, and a check
/// that the fuzzer really reaches the calls that move money.
abstract contract InvariantFixture is AgoraFixture {
    /// @dev Tokens each actor starts with: far more than a sequence of calls can spend.
    uint256 internal constant INITIAL_BALANCE = 1e9 * 1e6;
    /// @dev After this many sequences every money-moving action must have succeeded at least once.
    uint256 internal constant COVERAGE_AFTER_RUNS = 100;

    /// @dev `count` funded actors named `prefix0`, `prefix1`, ... with their private keys.
    function _makeActors(string memory prefix, uint256 count)
        internal
        returns (address[] memory accounts, uint256[] memory keys)
    {
        accounts = new address[](count);
        keys = new uint256[](count);
        for (uint256 i; i < count; i++) {
            (accounts[i], keys[i]) = makeAddrAndKey(string.concat(prefix, vm.toString(i)));
            fund(accounts[i], INITIAL_BALANCE);
        }
    }

    /// @dev Makes `handler` the only fuzzed contract. Forge picks uniformly among the selectors it
    /// is given, so a selector listed `weights[i]` times is called that much more often: the steps
    /// of a job's or channel's life that come late get more calls, or sequences would rarely reach them.
    function _targetHandler(address handler, bytes4[] memory selectors, uint256[] memory weights) internal {
        uint256 total;
        for (uint256 i; i < weights.length; i++) {
            total += weights[i];
        }
        bytes4[] memory weighted = new bytes4[](total);
        uint256 next;
        for (uint256 i; i < selectors.length; i++) {
            for (uint256 w; w < weights[i]; w++) {
                weighted[next++] = selectors[i];
            }
        }
        targetContract(handler);
        targetSelector(FuzzSelector({addr: handler, selectors: weighted}));
    }

    /// @dev Counts finished sequences of `campaign` across runs. The EVM state is rolled back after
    /// every sequence, so the count lives in the forge process's environment instead.
    function _countRun(string memory campaign) internal returns (uint256 runs) {
        string memory key = string.concat("AGORA_INVARIANT_", campaign, "_RUNS");
        runs = vm.envOr(key, uint256(0)) + 1;
        vm.setEnv(key, vm.toString(runs));
    }

    /// @dev Adds this sequence's successful `action` calls to the campaign's total and, once enough
    /// sequences ran, fails if the total is still zero: an invariant over a path the fuzzer never
    /// reaches proves nothing.
    function _assertReached(string memory campaign, uint256 runs, string memory action, uint256 thisRun) internal {
        string memory key = string.concat("AGORA_INVARIANT_", campaign, "_", action);
        uint256 total = vm.envOr(key, uint256(0)) + thisRun;
        vm.setEnv(key, vm.toString(total));
        if (runs >= COVERAGE_AFTER_RUNS) {
            assertGt(total, 0, string.concat(action, " never succeeded in ", vm.toString(runs), " sequences"));
        }
    }

    // forge's assertions are cheatcode calls, and the money rules run after each of 25,000 calls
    // per campaign: checking first and calling the assertion only on a mismatch halves the run
    // time of the suite, with the same failure message.

    function _eq(uint256 actual, uint256 expected, string memory what) internal pure {
        if (actual != expected) assertEq(actual, expected, what);
    }

    function _eq(address actual, address expected, string memory what) internal pure {
        if (actual != expected) assertEq(actual, expected, what);
    }

    function _eq(bool actual, bool expected, string memory what) internal pure {
        if (actual != expected) assertEq(actual, expected, what);
    }

    function _le(uint256 actual, uint256 bound_, string memory what) internal pure {
        if (actual > bound_) assertLe(actual, bound_, what);
    }

    function _sumBalances(address[] memory holders) internal view returns (uint256 sum) {
        for (uint256 i; i < holders.length; i++) {
            sum += token.balanceOf(holders[i]);
        }
    }

    /// @dev No token is created or lost: the supply is what the actors and the three contracts hold.
    function _assertTokensConserved(address[] memory actors) internal view {
        uint256 held = _sumBalances(actors) + token.balanceOf(address(jobs)) + token.balanceOf(address(registry))
            + token.balanceOf(address(channels));
        _eq(token.totalSupply(), held, "tokens created or lost");
    }

    /// @dev Every account's credit is what the handler booked, and they add up to the total.
    function _assertCreditsMatchLedger(Settlement settlement, ICreditLedger ledger) internal view {
        address[] memory accounts = ledger.accounts();
        uint256 sum;
        for (uint256 i; i < accounts.length; i++) {
            uint256 credit = settlement.withdrawableOf(accounts[i]);
            _eq(credit, ledger.ghostCredit(accounts[i]), "credit != handler ledger");
            sum += credit;
        }
        _eq(settlement.getTotalWithdrawable(), sum, "total withdrawable != sum of credits");
    }
}
