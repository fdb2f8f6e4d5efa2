// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {DevUSD} from "../../../src/DevUSD.sol";
import {ProviderRegistry} from "../../../src/ProviderRegistry.sol";
import {AuditCourt} from "../../../src/AuditCourt.sol";
import {HandlerBase} from "./HandlerBase.sol";

/// @notice Drives AuditCourt through random audits: opening on real signed receipts, draws (some
/// after the block hash expired), commits and reveals of random verdicts, silent verifiers and
/// their replacement, escalations, finalization and withdrawals, with providers topping their
/// stake back up. It checks after each call that what left or entered the court and the registry
/// together is exactly what the call should move.
contract AuditCourtHandler is HandlerBase {
    struct Init {
        DevUSD token;
        ProviderRegistry registry;
        AuditCourt court;
        bytes32 modelId;
        address[] providers;
        uint256[] providerKeys;
        bytes32[] channelIds;
        address[] openers;
        address[] accounts;
    }

    DevUSD public immutable token;
    ProviderRegistry public immutable registry;
    AuditCourt public immutable court;
    bytes32 public immutable modelId;
    uint256 public immutable minStake;

    address[] internal _providers;
    uint256[] internal _providerKeys;
    bytes32[] internal _channelIds;
    address[] internal _openers;
    address[] internal _accounts;
    uint256 internal _receiptNonce;

    /// @notice What each verifier committed in each audit, so it can reveal it.
    mapping(uint256 auditId => mapping(address verifier => AuditCourt.Verdict)) public committedVerdict;

    constructor(Init memory init) {
        token = init.token;
        registry = init.registry;
        court = init.court;
        modelId = init.modelId;
        minStake = init.registry.minStake();
        _providers = init.providers;
        _providerKeys = init.providerKeys;
        _channelIds = init.channelIds;
        _openers = init.openers;
        _accounts = init.accounts;
    }

    /// @notice Every account that can ever hold tokens or credits in this campaign.
    function accounts() external view returns (address[] memory) {
        return _accounts;
    }

    /// @dev Tokens the court and registry hold between them.
    function _held() private view returns (uint256) {
        return token.balanceOf(address(court)) + token.balanceOf(address(registry));
    }

    /// @dev An existing audit picked by `seed`, or 0 if none was opened.
    function _audit(uint256 seed) private view returns (uint256) {
        uint256 count = court.getAuditCount();
        return count == 0 ? 0 : (seed % count) + 1;
    }

    function _bonds(AuditCourt.Audit memory audit) private view returns (uint256) {
        AuditCourt.Config memory config = court.getConfig();
        return config.auditBond + (audit.escalator == address(0) ? 0 : config.escalationBond);
    }

    function _allCommitted(AuditCourt.Seat[] memory seats, uint8 stage) private pure returns (bool) {
        for (uint256 i; i < seats.length; i++) {
            if (seats[i].stage == stage && seats[i].status == AuditCourt.SeatStatus.Drawn) return false;
        }
        return true;
    }

    // ---------------------------------------------------------------- actions

    function openAudit(uint256 providerSeed, uint256 openerSeed) external {
        uint256 i = providerSeed % _providers.length;
        bytes32 root = keccak256(abi.encode("batch", _receiptNonce++));
        address opener = _pick(_openers, openerSeed);
        uint256 before = _held();
        vm.prank(opener);
        try court.openAudit(_channelIds[i], root, 32, "http://gateway.test/evidence") {
            _count(this.openAudit.selector);
            _checkEq(_held(), before + court.getConfig().auditBond, "openAudit moved");
        } catch {
            _check(true, false, "openAudit");
        }
    }

    function assignVerifiers(uint256 auditSeed, uint256 late) external {
        uint256 auditId = _audit(auditSeed);
        if (auditId == 0) return;
        AuditCourt.Audit memory audit = court.getAudit(auditId);
        if (audit.status != AuditCourt.AuditStatus.Drawing) return;
        // Now and then arrive after the block hash expired, which reschedules the draw.
        uint256 target = audit.drawBlock + 1 + (late % 8 == 0 ? 300 : late % 3);
        if (block.number < target) vm.roll(target);
        uint256 before = _held();
        try court.assignVerifiers(auditId) {
            _count(this.assignVerifiers.selector);
            _checkEq(_held(), before, "assignVerifiers moved tokens");
        } catch {
            _check(true, false, "assignVerifiers");
        }
    }

    function commitVerdict(uint256 auditSeed, uint256 seatSeed, bool fail) external {
        uint256 auditId = _audit(auditSeed);
        if (auditId == 0) return;
        AuditCourt.Audit memory audit = court.getAudit(auditId);
        if (audit.status != AuditCourt.AuditStatus.Voting || block.timestamp >= audit.commitDeadline) return;
        AuditCourt.Seat[] memory seats = court.getSeats(auditId);
        AuditCourt.Seat memory seat = seats[seatSeed % seats.length];
        if (seat.stage != audit.stage || (seat.status != AuditCourt.SeatStatus.Drawn && seat.status != AuditCourt.SeatStatus.Committed)) {
            return;
        }
        AuditCourt.Verdict verdict = fail ? AuditCourt.Verdict.Fail : AuditCourt.Verdict.Pass;
        committedVerdict[auditId][seat.verifier] = verdict;
        bytes32 commitment = court.hashVerdict(auditId, seat.verifier, verdict, bytes32(auditId));
        vm.prank(seat.verifier);
        try court.commitVerdict(auditId, commitment) {
            _count(this.commitVerdict.selector);
        } catch {
            _check(true, false, "commitVerdict");
        }
    }

    function revealVerdict(uint256 auditSeed, uint256 seatSeed, uint256 wait) external {
        uint256 auditId = _audit(auditSeed);
        if (auditId == 0) return;
        AuditCourt.Audit memory audit = court.getAudit(auditId);
        if (audit.status != AuditCourt.AuditStatus.Voting) return;
        AuditCourt.Seat[] memory seats = court.getSeats(auditId);
        AuditCourt.Seat memory seat = seats[seatSeed % seats.length];
        if (seat.stage != audit.stage || seat.status != AuditCourt.SeatStatus.Committed) return;
        // Sometimes wait for the commit window to end, as a verifier whose peers are silent must.
        if (wait % 2 == 0 && block.timestamp < audit.commitDeadline) vm.warp(audit.commitDeadline);
        if (block.timestamp >= audit.revealDeadline) return;
        uint256 before = _held();
        vm.prank(seat.verifier);
        try court.revealVerdict(auditId, committedVerdict[auditId][seat.verifier], bytes32(auditId)) {
            _count(this.revealVerdict.selector);
            _checkEq(_held(), before, "revealVerdict moved tokens");
        } catch {
            // Reveals open once every seat of the stage committed, or when the commit window ends.
            _check(block.timestamp >= audit.commitDeadline || _allCommitted(seats, audit.stage), false, "revealVerdict");
        }
    }

    function replaceVerifiers(uint256 auditSeed) external {
        uint256 auditId = _audit(auditSeed);
        if (auditId == 0) return;
        AuditCourt.Audit memory audit = court.getAudit(auditId);
        if (audit.status != AuditCourt.AuditStatus.Voting) return;
        if (block.timestamp < audit.revealDeadline) vm.warp(audit.revealDeadline);
        uint256 before = _held();
        try court.replaceVerifiers(auditId) {
            _count(this.replaceVerifiers.selector);
            _checkEq(_held(), before, "replaceVerifiers: penalties left registry + court");
        } catch {
            _check(true, false, "replaceVerifiers");
        }
    }

    function escalateAudit(uint256 auditSeed) external {
        uint256 auditId = _audit(auditSeed);
        if (auditId == 0) return;
        AuditCourt.Audit memory audit = court.getAudit(auditId);
        if (audit.status != AuditCourt.AuditStatus.Decided || audit.stage != 0) return;
        if (block.timestamp >= audit.escalationDeadline) return;
        address loser = audit.verdict == AuditCourt.Verdict.Fail ? audit.provider : audit.opener;
        uint256 before = _held();
        vm.prank(loser);
        try court.escalateAudit(auditId) {
            _count(this.escalateAudit.selector);
            _checkEq(_held(), before + court.getConfig().escalationBond, "escalateAudit moved");
        } catch {
            _check(true, false, "escalateAudit");
        }
    }

    function finalizeAudit(uint256 auditSeed) external {
        uint256 auditId = _audit(auditSeed);
        if (auditId == 0) return;
        AuditCourt.Audit memory audit = court.getAudit(auditId);
        if (audit.status != AuditCourt.AuditStatus.Decided) return;
        if (block.timestamp < audit.escalationDeadline) vm.warp(audit.escalationDeadline);
        uint256 before = _held();
        uint256 bondedBefore = court.getTotalBonded();
        try court.finalizeAudit(auditId) {
            _count(this.finalizeAudit.selector);
            _checkEq(_held(), before, "finalizeAudit: slash left registry + court");
            _checkEq(bondedBefore - court.getTotalBonded(), _bonds(audit), "finalize released bonds");
        } catch {
            _check(true, false, "finalizeAudit");
        }
    }

    function withdraw(uint256 accountSeed) external {
        address account = _pick(_accounts, accountSeed);
        uint256 credit = court.withdrawableOf(account);
        uint256 before = token.balanceOf(account);
        vm.prank(account);
        try court.withdraw() returns (uint256 amount) {
            _count(this.withdraw.selector);
            _checkEq(amount, credit, "withdraw amount");
            _checkEq(token.balanceOf(account), before + credit, "withdraw balance");
        } catch {
            _check(credit > 0, false, "withdraw");
        }
    }

    /// @dev Slashed or fined providers top their stake back up so the verifier pool stays alive.
    function restake(uint256 providerSeed) external {
        address provider = _pick(_providers, providerSeed);
        uint256 stake = registry.getProvider(provider).stake;
        if (stake >= minStake) return;
        vm.prank(provider);
        registry.stake(minStake - stake);
        _count(this.restake.selector);
    }

    function warp(uint256 seconds_) external {
        _warp(bound(seconds_, 1, 2 days));
    }
}
