// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {InvariantFixture} from "./InvariantFixture.sol";
import {ProviderRegistryHandler} from "./handlers/ProviderRegistryHandler.sol";

/// @notice Money rules of ProviderRegistry over random sequences of register, stake, unbond,
/// withdraw, offer, jail and slash calls.
contract ProviderRegistryInvariantTest is InvariantFixture {
    ProviderRegistryHandler internal handler;
    address internal slashRecipient = makeAddr("slashRecipient");
    address[] internal providers;
    bytes32[] internal modelIds;

    function setUp() public override {
        super.setUp();
        (providers,) = _makeActors("provider", 5);
        modelIds.push(modelId);
        modelIds.push(registerModel(keccak256("mnist.gguf"), 0));
        handler = new ProviderRegistryHandler(token, registry, slashRecipient, providers, modelIds);
        // Three providers start registered so stake calls land early; two are left for `register`.
        for (uint256 i; i < 3; i++) {
            handler.register(i, 1);
        }

        // The actions, and how many times each is listed for the fuzzer to pick from.
        bytes4[] memory selectors = new bytes4[](11);
        uint256[] memory weights = new uint256[](11);
        (selectors[0], weights[0]) = (handler.register.selector, 1);
        (selectors[1], weights[1]) = (handler.updateProvider.selector, 1);
        (selectors[2], weights[2]) = (handler.stake.selector, 2);
        (selectors[3], weights[3]) = (handler.requestUnbond.selector, 2);
        (selectors[4], weights[4]) = (handler.withdrawUnbonded.selector, 2);
        (selectors[5], weights[5]) = (handler.setOffer.selector, 1);
        (selectors[6], weights[6]) = (handler.removeOffer.selector, 1);
        (selectors[7], weights[7]) = (handler.jail.selector, 1);
        (selectors[8], weights[8]) = (handler.slash.selector, 2);
        (selectors[9], weights[9]) = (handler.warp.selector, 1);
        (selectors[10], weights[10]) = (handler.noteAudit.selector, 2);
        _targetHandler(address(handler), selectors, weights);
    }

    /// @notice Every money rule, checked after every call of every sequence. One invariant function
    /// runs one fuzzing campaign; a campaign per rule would multiply the run time for no more calls.
    function invariant_moneyRules() public view {
        uint256 held = _assertProviderLedgers();
        _assertOffers();
        // No token is created or lost: the supply is exactly what the actors and contracts hold.
        held += token.balanceOf(address(registry)) + token.balanceOf(slashRecipient);
        _eq(token.totalSupply(), held, "tokens created or lost");
        // Every call succeeded or reverted as the rules say, and moved the amounts they say.
        if (handler.surprises() > 0) assertEq(handler.surprises(), 0, handler.lastSurprise());
    }

    /// @dev The registry holds exactly the stake and unbonding stake of all providers; each
    /// provider's is what it put in, less what it withdrew and what was slashed; `isActive` means
    /// registered, staked and not jailed. Returns what the providers hold in their wallets.
    function _assertProviderLedgers() internal view returns (uint256 wallets) {
        uint256 staked;
        for (uint256 i; i < providers.length; i++) {
            address provider = providers[i];
            ProviderRegistry.Provider memory record = registry.getProvider(provider);
            ProviderRegistryHandler.GhostProvider memory ghost = handler.ghostProvider(provider);
            staked += record.stake + record.unbondingAmount;
            _eq(record.registered, ghost.registered, "registered");
            _eq(record.stake, ghost.stake, "stake");
            _eq(record.unbondingAmount, ghost.unbonding, "unbonding");
            _eq(record.unbondingReadyAt, ghost.readyAt, "unbondingReadyAt");
            _eq(record.jailedUntil, ghost.jailedUntil, "jailedUntil");
            _eq(record.openAudits, ghost.openAudits, "openAudits");
            // Enough stake has a start block no later than now; too little stake is never eligible.
            if (record.stake >= MIN_STAKE) _eq(record.stakedSince != 0 && record.stakedSince <= block.number, true, "stakedSince");
            _eq(
                record.stake + record.unbondingAmount,
                ghost.deposited - ghost.withdrawn - ghost.slashed,
                "stake + unbonding != deposited - withdrawn - slashed"
            );
            uint256 wallet = token.balanceOf(provider);
            _eq(wallet, INITIAL_BALANCE - ghost.deposited + ghost.withdrawn, "provider balance");
            wallets += wallet;
            bool active = ghost.registered && ghost.stake >= MIN_STAKE && block.timestamp >= ghost.jailedUntil;
            _eq(registry.isActive(provider), active, "isActive");
        }
        _eq(registry.getTotalStaked(), staked, "getTotalStaked != sum of stake + unbonding");
        _eq(token.balanceOf(address(registry)), staked, "registry balance != sum of stake + unbonding");
        _eq(token.balanceOf(slashRecipient), handler.ghostTotalSlashed(), "slashed stake went elsewhere");
    }

    /// @dev Offers and the per-model provider index agree with the handler's ledger.
    function _assertOffers() internal view {
        for (uint256 m; m < modelIds.length; m++) {
            bytes32 id = modelIds[m];
            uint256 offering;
            for (uint256 i; i < providers.length; i++) {
                uint256 expectedPrice = handler.ghostOfferPrice(providers[i], id);
                (uint256 price, bool active) = registry.getOfferPrice(providers[i], id);
                _eq(price, expectedPrice, "offer price");
                _eq(active, expectedPrice > 0, "offer active");
                if (active) offering++;
            }
            _eq(registry.getProvidersForModel(id).length, offering, "providers-for-model index");
            // The candidate list is append-only, in first-offer order, and never loses anyone.
            address[] memory candidates = handler.ghostCandidates(id);
            _eq(registry.getCandidateCount(id), candidates.length, "candidate count");
            for (uint256 i; i < candidates.length; i++) {
                _eq(registry.getCandidate(id, i), candidates[i], "candidate list reordered");
            }
        }
    }

    /// @notice At the end of every sequence all providers can leave with their stake, less slashes,
    /// and the registry is left empty.
    function afterInvariant() public {
        uint256 runs = _countRun("REGISTRY");
        _assertReached("REGISTRY", runs, "stake", handler.successes(handler.stake.selector));
        _assertReached("REGISTRY", runs, "requestUnbond", handler.successes(handler.requestUnbond.selector));
        _assertReached("REGISTRY", runs, "withdrawUnbonded", handler.successes(handler.withdrawUnbonded.selector));
        _assertReached("REGISTRY", runs, "slash", handler.successes(handler.slash.selector));
        _assertReached("REGISTRY", runs, "setOffer", handler.successes(handler.setOffer.selector));

        handler.exitAll();
        _eq(token.balanceOf(address(registry)), 0, "tokens stuck in the registry");
        _eq(registry.getTotalStaked(), 0, "stake left after every provider exited");
        for (uint256 i; i < providers.length; i++) {
            _eq(
                token.balanceOf(providers[i]),
                INITIAL_BALANCE - handler.ghostProvider(providers[i]).slashed,
                "provider did not get its stake back"
            );
        }
        if (handler.surprises() > 0) assertEq(handler.surprises(), 0, handler.lastSurprise());
    }
}
