// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AgoraFixture} from "../utils/AgoraFixture.sol";
import {AuditCourtFixture} from "../utils/AuditCourtFixture.sol";
import {AuditCourt} from "../../src/AuditCourt.sol";
import {InvariantFixture} from "./InvariantFixture.sol";
import {AuditCourtHandler} from "./handlers/AuditCourtHandler.sol";

/// @notice Money rules of AuditCourt together with the ProviderRegistry it slashes, over random
/// batch audits played by honest parties and attackers (squatting providers and sybils, colluders
/// toggling offers and stake after the seed, providers unbonding mid-audit, verifiers changing or
/// copying votes): every account's credit is exactly what the handler's ghost ledger says it must
/// be paid, tokens are conserved, the court holds exactly its open bonds plus its credits, the
/// registry exactly its stakes, and every open audit blocks its provider's withdrawal.
contract AuditCourtInvariantTest is InvariantFixture, AuditCourtFixture {
    AuditCourtHandler internal handler;
    address[] internal providers;
    address[] internal everyone;

    function setUp() public override(AgoraFixture, AuditCourtFixture) {
        AuditCourtFixture.setUp();
        vm.roll(10);
        (providers,) = _makeActors("provider", 6);
        address buyer = makeAddr("buyer");
        address gateway = makeAddr("gateway");
        address sybil = makeAddr("sybil");
        fund(buyer, INITIAL_BALANCE);
        fund(gateway, INITIAL_BALANCE);
        fund(sybil, INITIAL_BALANCE);
        bytes32[] memory channelIds = new bytes32[](providers.length);
        for (uint256 i; i < providers.length; i++) {
            vm.prank(providers[i]);
            token.approve(address(court), type(uint256).max);
            makeProvider(providers[i]);
            vm.prank(buyer);
            channelIds[i] = channels.openChannel(providers[i], modelId, DEPOSIT, address(0), ROYALTY_BPS);
        }
        address[3] memory others = [buyer, gateway, sybil];
        for (uint256 i; i < 3; i++) {
            vm.prank(others[i]);
            token.approve(address(court), type(uint256).max);
        }
        // The buyer lets its gateway open audits; the sybil is nobody's auditor.
        vm.prank(buyer);
        court.setAuditor(gateway, true);
        for (uint256 i; i < providers.length; i++) {
            everyone.push(providers[i]);
        }
        everyone.push(buyer);
        everyone.push(gateway);
        everyone.push(sybil);
        everyone.push(treasury);
        vm.roll(20);

        handler = new AuditCourtHandler(
            AuditCourtHandler.Init({
                token: token,
                registry: registry,
                court: court,
                modelId: modelId,
                providers: providers,
                channelIds: channelIds,
                buyer: buyer,
                gateway: gateway,
                sybil: sybil,
                treasury: treasury,
                accounts: everyone
            })
        );

        bytes4[] memory selectors = new bytes4[](14);
        uint256[] memory weights = new uint256[](14);
        (selectors[0], weights[0]) = (handler.openAudit.selector, 3);
        (selectors[1], weights[1]) = (handler.assignVerifiers.selector, 3);
        (selectors[2], weights[2]) = (handler.commitVerdict.selector, 4);
        (selectors[3], weights[3]) = (handler.revealVerdict.selector, 4);
        (selectors[4], weights[4]) = (handler.replaceVerifiers.selector, 1);
        (selectors[5], weights[5]) = (handler.escalateAudit.selector, 2);
        (selectors[6], weights[6]) = (handler.finalizeAudit.selector, 3);
        (selectors[7], weights[7]) = (handler.withdraw.selector, 2);
        (selectors[8], weights[8]) = (handler.restake.selector, 2);
        (selectors[9], weights[9]) = (handler.warp.selector, 1);
        (selectors[10], weights[10]) = (handler.toggleOffer.selector, 2);
        (selectors[11], weights[11]) = (handler.toggleStake.selector, 1);
        (selectors[12], weights[12]) = (handler.copyVote.selector, 1);
        (selectors[13], weights[13]) = (handler.withdrawUnbonded.selector, 1);
        _targetHandler(address(handler), selectors, weights);
    }

    /// @notice Every money rule, after every call of every sequence. An audit's whole life (open,
    /// draw, commit, reveal, escalate, draw, vote, finalize, withdraw) takes more than 25 calls
    /// among the attackers' moves, so sequences are 50 long.
    /// forge-config: default.invariant.depth = 50
    function invariant_moneyRules() public view {
        // Each account is owed exactly what the ghost ledger booked for it: a credit to the wrong
        // party (refund, bounty, bond, penalty) fails here even if the totals add up.
        uint256 credits;
        for (uint256 i; i < everyone.length; i++) {
            address account = everyone[i];
            uint256 owed = handler.ghostCredited(account) - handler.ghostWithdrawn(account);
            _eq(court.withdrawableOf(account), owed, string.concat("credit of ", vm.toString(account)));
            credits += owed;
        }
        _eq(court.getTotalWithdrawable(), credits, "credits went to an unknown account");
        // The court holds exactly the bonds of unresolved audits plus its credits.
        _eq(court.getTotalBonded(), handler.ghostBonded(), "totalBonded != bonds of open audits");
        _eq(
            token.balanceOf(address(court)),
            court.getTotalBonded() + court.getTotalWithdrawable(),
            "court balance != bonded + withdrawable"
        );
        // Each provider's open audits are counted, so its stake cannot leave while they run.
        for (uint256 i; i < providers.length; i++) {
            _eq(registry.getOpenAudits(providers[i]), handler.ghostOpenAudits(providers[i]), "openAudits");
        }
        _eq(token.balanceOf(address(registry)), registry.getTotalStaked(), "registry balance != total staked");
        uint256 held = _sumBalances(everyone) + token.balanceOf(address(registry)) + token.balanceOf(address(court))
            + token.balanceOf(address(channels));
        _eq(token.totalSupply(), held, "tokens created or lost");
        if (handler.surprises() > 0) assertEq(handler.surprises(), 0, handler.lastSurprise());
    }

    /// @notice The fuzzer must really reach the paths that move money and the attacks.
    function afterInvariant() public {
        uint256 runs = _countRun("COURT");
        _assertReached("COURT", runs, "openAudit", handler.successes(handler.openAudit.selector));
        _assertReached("COURT", runs, "assignVerifiers", handler.successes(handler.assignVerifiers.selector));
        _assertReached("COURT", runs, "revealVerdict", handler.successes(handler.revealVerdict.selector));
        _assertReached("COURT", runs, "replaceVerifiers", handler.successes(handler.replaceVerifiers.selector));
        _assertReached("COURT", runs, "escalateAudit", handler.successes(handler.escalateAudit.selector));
        _assertReached("COURT", runs, "finalizeAudit", handler.successes(handler.finalizeAudit.selector));
        _assertReached("COURT", runs, "withdraw", handler.successes(handler.withdraw.selector));
        _assertReached("COURT", runs, "toggleOffer", handler.successes(handler.toggleOffer.selector));
        _assertReached("COURT", runs, "copyVote", handler.successes(handler.copyVote.selector));
    }
}
