// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AgoraFixture} from "../utils/AgoraFixture.sol";
import {AuditCourtFixture} from "../utils/AuditCourtFixture.sol";
import {AuditCourt} from "../../src/AuditCourt.sol";
import {InvariantFixture} from "./InvariantFixture.sol";
import {AuditCourtHandler} from "./handlers/AuditCourtHandler.sol";

/// @notice Money rules of AuditCourt together with the ProviderRegistry it slashes, over random
/// audits: tokens are conserved across registry + court + everyone else, the court holds exactly
/// its open bonds plus its credits, and the registry exactly its stakes.
contract AuditCourtInvariantTest is InvariantFixture, AuditCourtFixture {
    AuditCourtHandler internal handler;
    address[] internal providers;
    address[] internal openers;
    address[] internal everyone;

    function setUp() public override(AgoraFixture, AuditCourtFixture) {
        AuditCourtFixture.setUp();
        uint256[] memory providerKeys;
        (providers, providerKeys) = _makeActors("provider", 6);
        (openers,) = _makeActors("opener", 2);
        address buyer = makeAddr("buyer");
        fund(buyer, INITIAL_BALANCE);
        bytes32[] memory channelIds = new bytes32[](providers.length);
        for (uint256 i; i < providers.length; i++) {
            vm.prank(providers[i]);
            token.approve(address(court), type(uint256).max);
            makeProvider(providers[i]);
            vm.prank(buyer);
            channelIds[i] = channels.openChannel(providers[i], modelId, DEPOSIT, address(0));
        }
        for (uint256 i; i < openers.length; i++) {
            vm.prank(buyer);
            court.setAuditor(openers[i], true);
            vm.prank(openers[i]);
            token.approve(address(court), type(uint256).max);
        }
        for (uint256 i; i < providers.length; i++) {
            everyone.push(providers[i]);
        }
        everyone.push(openers[0]);
        everyone.push(openers[1]);
        everyone.push(buyer);
        everyone.push(treasury);

        handler = new AuditCourtHandler(
            AuditCourtHandler.Init({
                token: token,
                registry: registry,
                court: court,
                modelId: modelId,
                providers: providers,
                providerKeys: providerKeys,
                channelIds: channelIds,
                openers: openers,
                accounts: everyone
            })
        );

        bytes4[] memory selectors = new bytes4[](10);
        uint256[] memory weights = new uint256[](10);
        (selectors[0], weights[0]) = (handler.openAudit.selector, 2);
        (selectors[1], weights[1]) = (handler.assignVerifiers.selector, 3);
        (selectors[2], weights[2]) = (handler.commitVerdict.selector, 4);
        (selectors[3], weights[3]) = (handler.revealVerdict.selector, 4);
        (selectors[4], weights[4]) = (handler.replaceVerifiers.selector, 1);
        (selectors[5], weights[5]) = (handler.escalateAudit.selector, 2);
        (selectors[6], weights[6]) = (handler.finalizeAudit.selector, 3);
        (selectors[7], weights[7]) = (handler.withdraw.selector, 2);
        (selectors[8], weights[8]) = (handler.restake.selector, 1);
        (selectors[9], weights[9]) = (handler.warp.selector, 1);
        _targetHandler(address(handler), selectors, weights);
    }

    /// @notice Every money rule, after every call of every sequence.
    function invariant_moneyRules() public view {
        // The court holds exactly the bonds of unresolved audits plus its credits.
        uint256 bonded;
        uint256 count = court.getAuditCount();
        for (uint256 id = 1; id <= count; id++) {
            AuditCourt.Audit memory audit = court.getAudit(id);
            if (audit.status == AuditCourt.AuditStatus.Drawing || audit.status == AuditCourt.AuditStatus.Voting
                    || audit.status == AuditCourt.AuditStatus.Decided) {
                bonded += AUDIT_BOND + (audit.escalator == address(0) ? 0 : ESCALATION_BOND);
            }
        }
        _eq(court.getTotalBonded(), bonded, "totalBonded != bonds of open audits");
        _eq(
            token.balanceOf(address(court)),
            court.getTotalBonded() + court.getTotalWithdrawable(),
            "court balance != bonded + withdrawable"
        );
        uint256 credits;
        for (uint256 i; i < everyone.length; i++) {
            credits += court.withdrawableOf(everyone[i]);
        }
        _eq(court.getTotalWithdrawable(), credits, "credits went to an unknown account");
        // The registry holds exactly its stakes.
        _eq(token.balanceOf(address(registry)), registry.getTotalStaked(), "registry balance != total staked");
        // No token is created or lost across registry + court + channels + every account.
        uint256 held = _sumBalances(everyone) + token.balanceOf(address(registry)) + token.balanceOf(address(court))
            + token.balanceOf(address(channels));
        _eq(token.totalSupply(), held, "tokens created or lost");
        if (handler.surprises() > 0) assertEq(handler.surprises(), 0, handler.lastSurprise());
    }

    /// @notice The fuzzer must really reach the paths that move money.
    function afterInvariant() public {
        uint256 runs = _countRun("COURT");
        _assertReached("COURT", runs, "openAudit", handler.successes(handler.openAudit.selector));
        _assertReached("COURT", runs, "assignVerifiers", handler.successes(handler.assignVerifiers.selector));
        _assertReached("COURT", runs, "revealVerdict", handler.successes(handler.revealVerdict.selector));
        _assertReached("COURT", runs, "replaceVerifiers", handler.successes(handler.replaceVerifiers.selector));
        _assertReached("COURT", runs, "escalateAudit", handler.successes(handler.escalateAudit.selector));
        _assertReached("COURT", runs, "finalizeAudit", handler.successes(handler.finalizeAudit.selector));
        _assertReached("COURT", runs, "withdraw", handler.successes(handler.withdraw.selector));
    }
}
