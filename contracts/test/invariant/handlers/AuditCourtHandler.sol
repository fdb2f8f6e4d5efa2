// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {DevUSD} from "../../../src/DevUSD.sol";
import {ProviderRegistry} from "../../../src/ProviderRegistry.sol";
import {AuditCourt} from "../../../src/AuditCourt.sol";
import {HandlerBase} from "./HandlerBase.sol";

/// @notice Drives AuditCourt through random batch audits played by honest parties and attackers:
/// the audited provider and a sybil try to open (squat) the buyer's batches, colluders drop and
/// re-add offers and stake while a draw's seed is public, providers unbond mid-audit and try to
/// withdraw, verifiers try to change or copy commitments, and the wrong parties try to escalate.
/// It keeps a GHOST LEDGER, computed from its own model of the rules and never from the court's
/// arithmetic, of what every account must be credited (refund, bounty, bond back or forfeited,
/// penalties to the treasury); the invariant compares it account by account, so a payment to
/// the wrong party fails the run even when the totals add up.
contract AuditCourtHandler is HandlerBase {
    struct Init {
        DevUSD token;
        ProviderRegistry registry;
        AuditCourt court;
        bytes32 modelId;
        address[] providers;
        bytes32[] channelIds;
        address buyer;
        address gateway;
        address sybil;
        address treasury;
        address[] accounts;
    }

    /// @notice What the handler knows of an audit from its own calls.
    struct GhostAudit {
        address opener;
        address provider;
        bytes32 root;
        bytes32 channelId;
        uint256 snapshotBlock;
        bool open;
    }

    DevUSD public immutable token;
    ProviderRegistry public immutable registry;
    AuditCourt public immutable court;
    bytes32 public immutable modelId;
    uint256 public immutable minStake;
    address public immutable buyer;
    address public immutable gateway;
    address public immutable sybil;
    address public immutable treasury;

    address[] internal _providers;
    bytes32[] internal _channelIds;
    address[] internal _accounts;
    bytes32[] internal _roots;
    uint256 internal _rootNonce;

    mapping(uint256 auditId => GhostAudit) internal _ghostAudits;
    /// @notice Ghost ledger: everything each account must have been credited, and what it took.
    mapping(address account => uint256) public ghostCredited;
    mapping(address account => uint256) public ghostWithdrawn;
    /// @notice Sum of the bonds of audits the ghost considers open.
    uint256 public ghostBonded;
    /// @notice Open audits per provider, as the ghost counts them.
    mapping(address provider => uint256) public ghostOpenAudits;
    /// @notice Block from which a provider's offer is active (0: none) and its stake has been at
    /// least the minimum (0: it is not).
    mapping(address provider => uint256) public ghostOfferSince;
    mapping(address provider => uint256) public ghostStakedSince;
    /// @notice (channel, root) pairs the court must refuse (being audited, or judged Pass or Fail);
    /// the same root on another channel is another batch and must open.
    mapping(bytes32 batchKey => bool) public ghostRootTaken;
    /// @notice Stake the ghost saw taken for failures per channel: at most slashAmount in all, then
    /// a further Fail takes a bond's worth for its verifiers.
    mapping(bytes32 channelId => uint256) public ghostSlashedOnChannel;
    /// @notice What each verifier committed in each audit, so it can reveal it.
    mapping(uint256 auditId => mapping(address verifier => AuditCourt.Verdict)) public committedVerdict;

    constructor(Init memory init) {
        token = init.token;
        registry = init.registry;
        court = init.court;
        modelId = init.modelId;
        minStake = init.registry.minStake();
        buyer = init.buyer;
        gateway = init.gateway;
        sybil = init.sybil;
        treasury = init.treasury;
        _providers = init.providers;
        _channelIds = init.channelIds;
        _accounts = init.accounts;
        for (uint256 i; i < _providers.length; i++) {
            // The fixture staked and offered before the handler existed, at block 1 or later.
            ghostOfferSince[_providers[i]] = registry.getOffer(_providers[i], modelId).since;
            ghostStakedSince[_providers[i]] = registry.getProvider(_providers[i]).stakedSince;
        }
    }

    /// @notice Every account that can ever hold tokens or credits in this campaign.
    function accounts() external view returns (address[] memory) {
        return _accounts;
    }

    function providers() external view returns (address[] memory) {
        return _providers;
    }

    // ---------------------------------------------------------------- helpers

    function _held() private view returns (uint256) {
        return token.balanceOf(address(court)) + token.balanceOf(address(registry));
    }

    function _audit(uint256 seed) private view returns (uint256) {
        uint256 count = court.getAuditCount();
        return count == 0 ? 0 : (seed % count) + 1;
    }

    /// @dev Three times in four an audit in `status` (when there is one), so sequences of 25 calls
    /// reach the end of an audit; otherwise any audit. Both must behave.
    function _auditIn(uint256 seed, AuditCourt.AuditStatus status) private view returns (uint256) {
        uint256 count = court.getAuditCount();
        if (count == 0) return 0;
        if (seed % 4 != 0) {
            for (uint256 k; k < count; k++) {
                uint256 id = ((seed / 4 + k) % count) + 1;
                if (court.getAudit(id).status == status) return id;
            }
        }
        return (seed % count) + 1;
    }

    function _ghostCredit(address account, uint256 amount) private {
        ghostCredited[account] += amount;
    }

    function _isProvider(address a) private view returns (bool) {
        for (uint256 i; i < _providers.length; i++) {
            if (_providers[i] == a) return true;
        }
        return false;
    }

    /// @dev What a slash of `amount` can take from `account` (stake, then unbonding stake).
    function _slashable(address account, uint256 amount) private view returns (uint256) {
        ProviderRegistry.Provider memory p = registry.getProvider(account);
        uint256 has = p.stake + p.unbondingAmount;
        return amount < has ? amount : has;
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

    /// @dev The audit's end for the ghost: it no longer counts as open.
    function _closeGhost(uint256 auditId, bool freeRoot) private {
        GhostAudit storage g = _ghostAudits[auditId];
        g.open = false;
        ghostOpenAudits[g.provider]--;
        if (freeRoot) ghostRootTaken[keccak256(abi.encode(g.channelId, g.root))] = false;
    }

    // ---------------------------------------------------------------- opening (payers and squatters)

    /// @notice The buyer, its allowed gateway, the audited provider, a sybil or another provider
    /// opens a batch audit, of a fresh root or of one seen before. Only the payer side may.
    function openAudit(uint256 providerSeed, uint256 openerSeed, uint256 rootSeed, uint8 count) external {
        uint256 i = providerSeed % _providers.length;
        address provider = _providers[i];
        uint256 who = openerSeed % 5;
        address opener = who == 0 ? buyer : who == 1 ? gateway : who == 2 ? provider : who == 3 ? sybil
            : _providers[(i + 1 + openerSeed / 5) % _providers.length];
        bytes32 root = rootSeed % 4 == 0 && _roots.length > 0
            ? _roots[rootSeed / 4 % _roots.length]
            : keccak256(abi.encode("batch", _rootNonce++));
        uint32 receiptCount = uint32(bound(count, 0, 70));
        bool payer = opener == buyer || opener == gateway;
        bytes32 batchKey = keccak256(abi.encode(_channelIds[i], root));
        bool expected = payer && !ghostRootTaken[batchKey] && receiptCount >= 1 && receiptCount <= 64
            && token.balanceOf(opener) >= court.getConfig().auditBond;
        uint256 before = _held();
        uint256 candidates = registry.getCandidateCount(modelId);
        vm.prank(opener);
        try court.openAudit(_channelIds[i], root, receiptCount, "http://gateway.test/evidence") returns (uint256 auditId) {
            _count(this.openAudit.selector);
            _check(expected, true, "openAudit");
            _checkEq(_held(), before + court.getConfig().auditBond, "openAudit moved");
            _checkEq(court.getAudit(auditId).candidateCount, candidates, "openAudit candidate snapshot");
            _ghostAudits[auditId] = GhostAudit({opener: opener, provider: provider, root: root, channelId: _channelIds[i], snapshotBlock: block.number, open: true});
            ghostBonded += court.getConfig().auditBond;
            ghostOpenAudits[provider]++;
            ghostRootTaken[batchKey] = true;
            _roots.push(root);
        } catch {
            _check(expected, false, "openAudit");
        }
    }

    // ---------------------------------------------------------------- drawing

    function assignVerifiers(uint256 auditSeed, uint256 late) external {
        uint256 auditId = _auditIn(auditSeed, AuditCourt.AuditStatus.Drawing);
        if (auditId == 0) return;
        AuditCourt.Audit memory audit = court.getAudit(auditId);
        if (audit.status != AuditCourt.AuditStatus.Drawing) return;
        // Now and then arrive after the block hash expired, which reschedules the draw.
        uint256 target = audit.drawBlock + 1 + (late % 8 == 0 ? 300 : late % 3);
        if (block.number < target) vm.roll(target);
        uint256 seatsBefore = court.getSeats(auditId).length;
        uint256 before = _held();
        try court.assignVerifiers(auditId) {
            _count(this.assignVerifiers.selector);
            _checkEq(_held(), before, "assignVerifiers moved tokens");
            AuditCourt.Audit memory after_ = court.getAudit(auditId);
            if (after_.status == AuditCourt.AuditStatus.Cancelled) {
                // Only a first draw that found nobody, at or after the draw deadline; bond back to the opener.
                _check(audit.stage == 0 && block.timestamp >= audit.drawDeadline && blockhash(audit.drawBlock) != 0, true, "cancelled before the deadline");
                ghostBonded -= court.getConfig().auditBond;
                _ghostCredit(audit.opener, court.getConfig().auditBond);
                _closeGhost(auditId, true);
            }
            _checkDrawn(auditId, audit, seatsBefore);
        } catch {
            _check(true, false, "assignVerifiers");
        }
    }

    /// @dev Everyone drawn was offering and staked since no later than the snapshot (so no toggle
    /// after the seed was public got anyone in), and is none of the parties.
    function _checkDrawn(uint256 auditId, AuditCourt.Audit memory audit, uint256 seatsBefore) private {
        AuditCourt.Seat[] memory seats = court.getSeats(auditId);
        uint256 snapshot = audit.stage == 0 ? audit.openedBlock : audit.escalatedBlock;
        for (uint256 k = seatsBefore; k < seats.length; k++) {
            address v = seats[k].verifier;
            bool ok = ghostOfferSince[v] != 0 && ghostOfferSince[v] <= snapshot && ghostStakedSince[v] != 0
                && ghostStakedSince[v] <= snapshot && v != audit.provider && v != audit.opener && v != audit.buyer
                && v != audit.signer;
            for (uint256 j; j < k; j++) {
                if (seats[j].verifier == v) ok = false;
            }
            _check(true, ok, "drew a verifier outside the snapshot or a party");
        }
    }

    // ---------------------------------------------------------------- colluders moving after the seed

    /// @notice A provider drops, re-adds or re-prices its offer, typically while a draw's seed is public.
    function toggleOffer(uint256 providerSeed, uint256 mode) external {
        address provider = _pick(_providers, providerSeed);
        bool active = ghostOfferSince[provider] != 0;
        vm.startPrank(provider);
        if (mode % 3 == 0 && active) {
            registry.removeOffer(modelId);
            ghostOfferSince[provider] = 0;
        } else if (mode % 3 == 1 && active && registry.getProvider(provider).stake >= minStake) {
            registry.removeOffer(modelId);
            registry.setOffer(modelId, 1_000, "call");
            ghostOfferSince[provider] = block.number;
        } else {
            bool expected = registry.getProvider(provider).stake >= minStake;
            try registry.setOffer(modelId, 1_000 + mode % 7, "call") {
                if (!active) ghostOfferSince[provider] = block.number;
                _check(expected, true, "setOffer");
            } catch {
                _check(expected, false, "setOffer");
            }
        }
        vm.stopPrank();
        _count(this.toggleOffer.selector);
    }

    /// @notice A provider dips below the minimum stake and climbs back, or unbonds all it has
    /// (a provider under audit trying to run with its stake), then tries to withdraw.
    function toggleStake(uint256 providerSeed, bool everything, uint256 wait) external {
        address provider = _pick(_providers, providerSeed);
        ProviderRegistry.Provider memory p = registry.getProvider(provider);
        if (p.stake == 0) return;
        vm.prank(provider);
        registry.requestUnbond(everything ? p.stake : 1);
        if (!everything) {
            _restake(provider);
        } else {
            ghostStakedSince[provider] = 0;
            // Half the time at once (blocked while audited), half after the unbonding delay.
            if (wait % 2 == 1) _warp(registry.unbondingDelay());
            _tryWithdrawUnbonded(provider);
        }
        _count(this.toggleStake.selector);
    }

    function _tryWithdrawUnbonded(address provider) private {
        ProviderRegistry.Provider memory p = registry.getProvider(provider);
        bool expected = p.unbondingAmount > 0 && block.timestamp >= p.unbondingReadyAt && ghostOpenAudits[provider] == 0;
        vm.prank(provider);
        try registry.withdrawUnbonded() {
            _check(expected, true, "withdrawUnbonded");
            _count(this.withdrawUnbonded.selector);
        } catch {
            _check(expected, false, "withdrawUnbonded (stake left mid-audit?)");
        }
    }

    /// @notice A provider tries to take its unbonded stake (blocked while it is audited).
    function withdrawUnbonded(uint256 providerSeed) external {
        _tryWithdrawUnbonded(_pick(_providers, providerSeed));
    }

    function _restake(address provider) private {
        uint256 stake = registry.getProvider(provider).stake;
        if (stake >= minStake) return;
        uint256 need = minStake - stake;
        if (token.balanceOf(provider) < need) return;
        vm.prank(provider);
        registry.stake(need);
        ghostStakedSince[provider] = block.number;
    }

    /// @dev Slashed, fined or unbonded providers top their stake back up so the pool stays alive.
    function restake(uint256 providerSeed) external {
        _restake(_pick(_providers, providerSeed));
        _count(this.restake.selector);
    }

    // ---------------------------------------------------------------- voting (and copying)

    function commitVerdict(uint256 auditSeed, uint256 seatSeed, uint256 verdictSeed) external {
        uint256 auditId = _auditIn(auditSeed, AuditCourt.AuditStatus.Voting);
        if (auditId == 0) return;
        AuditCourt.Audit memory audit = court.getAudit(auditId);
        if (audit.status != AuditCourt.AuditStatus.Voting || block.timestamp >= audit.commitDeadline) return;
        AuditCourt.Seat[] memory seats = court.getSeats(auditId);
        AuditCourt.Seat memory seat = seats[seatSeed % seats.length];
        if (seat.stage != audit.stage || seat.status == AuditCourt.SeatStatus.Replaced) return;
        AuditCourt.Verdict verdict = AuditCourt.Verdict(1 + verdictSeed % 3);
        // A seat that already committed tries to change its verdict: it must not.
        bool expected = seat.status == AuditCourt.SeatStatus.Drawn;
        bytes32 commitment = court.hashVerdict(auditId, seat.verifier, verdict, bytes32(auditId));
        vm.prank(seat.verifier);
        try court.commitVerdict(auditId, commitment) {
            committedVerdict[auditId][seat.verifier] = verdict;
            _count(this.commitVerdict.selector);
            _check(expected, true, "commitVerdict");
        } catch {
            _check(expected, false, "commitVerdict (a commitment changed)");
        }
    }

    /// @notice A verifier that has not revealed reads a revealed peer's verdict and tries to
    /// commit it in place of its own.
    function copyVote(uint256 auditSeed, uint256 seatSeed) external {
        uint256 auditId = _auditIn(auditSeed, AuditCourt.AuditStatus.Voting);
        if (auditId == 0) return;
        AuditCourt.Audit memory audit = court.getAudit(auditId);
        if (audit.status != AuditCourt.AuditStatus.Voting || block.timestamp >= audit.commitDeadline) return;
        AuditCourt.Seat[] memory seats = court.getSeats(auditId);
        AuditCourt.Seat memory copier = seats[seatSeed % seats.length];
        if (copier.stage != audit.stage || copier.status != AuditCourt.SeatStatus.Committed) return;
        AuditCourt.Verdict copied = AuditCourt.Verdict.Fail;
        for (uint256 i; i < seats.length; i++) {
            if (seats[i].stage == audit.stage && seats[i].status == AuditCourt.SeatStatus.Revealed) copied = seats[i].verdict;
        }
        bytes32 commitment = court.hashVerdict(auditId, copier.verifier, copied, bytes32(uint256(auditId) + 1));
        vm.prank(copier.verifier);
        try court.commitVerdict(auditId, commitment) {
            _check(false, true, "copyVote: a commitment changed after reveals opened");
        } catch {
            _count(this.copyVote.selector);
        }
    }

    function revealVerdict(uint256 auditSeed, uint256 seatSeed, uint256 wait) external {
        uint256 auditId = _auditIn(auditSeed, AuditCourt.AuditStatus.Voting);
        if (auditId == 0) return;
        AuditCourt.Audit memory audit = court.getAudit(auditId);
        if (audit.status != AuditCourt.AuditStatus.Voting) return;
        AuditCourt.Seat[] memory seats = court.getSeats(auditId);
        AuditCourt.Seat memory seat = seats[seatSeed % seats.length];
        if (seat.stage != audit.stage || seat.status != AuditCourt.SeatStatus.Committed) return;
        if (wait % 2 == 0 && block.timestamp < audit.commitDeadline) vm.warp(audit.commitDeadline);
        if (block.timestamp >= audit.revealDeadline) return;
        uint256 before = _held();
        vm.prank(seat.verifier);
        try court.revealVerdict(auditId, committedVerdict[auditId][seat.verifier], bytes32(auditId)) {
            _count(this.revealVerdict.selector);
            _checkEq(_held(), before, "revealVerdict moved tokens");
        } catch {
            _check(block.timestamp >= audit.commitDeadline || _allCommitted(seats, audit.stage), false, "revealVerdict");
        }
    }

    function replaceVerifiers(uint256 auditSeed) external {
        uint256 auditId = _auditIn(auditSeed, AuditCourt.AuditStatus.Voting);
        if (auditId == 0) return;
        AuditCourt.Audit memory audit = court.getAudit(auditId);
        if (audit.status != AuditCourt.AuditStatus.Voting) return;
        if (block.timestamp < audit.revealDeadline) vm.warp(audit.revealDeadline);
        // Every silent seat of the stage is fined what it has, up to the penalty, for the treasury.
        AuditCourt.Seat[] memory seats = court.getSeats(auditId);
        uint256 penalties;
        for (uint256 i; i < seats.length; i++) {
            AuditCourt.SeatStatus s = seats[i].status;
            if (seats[i].stage == audit.stage && (s == AuditCourt.SeatStatus.Drawn || s == AuditCourt.SeatStatus.Committed)) {
                penalties += _slashable(seats[i].verifier, court.getConfig().verifierPenalty);
            }
        }
        uint256 before = _held();
        try court.replaceVerifiers(auditId) {
            _count(this.replaceVerifiers.selector);
            _checkEq(_held(), before, "replaceVerifiers: penalties left registry + court");
            _ghostCredit(treasury, penalties);
        } catch {
            _check(true, false, "replaceVerifiers");
        }
    }

    // ---------------------------------------------------------------- escalation and resolution

    /// @notice Someone escalates: only the provider against a Fail, only the payer side against a
    /// Pass or an Unverifiable.
    function escalateAudit(uint256 auditSeed, uint256 callerSeed) external {
        uint256 auditId = _auditIn(auditSeed, AuditCourt.AuditStatus.Decided);
        if (auditId == 0) return;
        AuditCourt.Audit memory audit = court.getAudit(auditId);
        if (audit.status != AuditCourt.AuditStatus.Decided || audit.stage != 0) return;
        if (block.timestamp >= audit.escalationDeadline) return;
        uint256 who = callerSeed % 5;
        address caller = who == 0 ? audit.provider : who == 1 ? audit.opener : who == 2 ? buyer : who == 3 ? gateway : sybil;
        bool expected = audit.verdict == AuditCourt.Verdict.Fail
            ? caller == audit.provider
            : caller == audit.opener || caller == buyer || caller == gateway;
        if (token.balanceOf(caller) < court.getConfig().escalationBond) expected = false;
        uint256 before = _held();
        vm.prank(caller);
        try court.escalateAudit(auditId) {
            _count(this.escalateAudit.selector);
            _check(expected, true, "escalateAudit");
            _checkEq(_held(), before + court.getConfig().escalationBond, "escalateAudit moved");
            ghostBonded += court.getConfig().escalationBond;
            _ghostAudits[auditId].snapshotBlock = block.number;
        } catch {
            _check(expected, false, "escalateAudit");
        }
    }

    /// @dev The outcome by the rules: the first verdict, unless 2 of the panel's 3 seats revealed
    /// the same verdict.
    function _expectedOutcome(AuditCourt.Audit memory audit, AuditCourt.Seat[] memory seats)
        private
        view
        returns (AuditCourt.Verdict outcome, bool majority)
    {
        outcome = audit.verdict;
        if (audit.stage == 0) return (outcome, false);
        uint256[4] memory votes;
        for (uint256 i; i < seats.length; i++) {
            if (seats[i].stage == 1 && seats[i].status == AuditCourt.SeatStatus.Revealed) {
                votes[uint8(seats[i].verdict)]++;
            }
        }
        for (uint8 v = 1; v <= 3; v++) {
            if (2 * votes[v] > court.PANEL_SIZE()) return (AuditCourt.Verdict(v), true);
        }
    }

    function finalizeAudit(uint256 auditSeed) external {
        uint256 auditId = _auditIn(auditSeed, AuditCourt.AuditStatus.Decided);
        if (auditId == 0) return;
        AuditCourt.Audit memory audit = court.getAudit(auditId);
        if (audit.status != AuditCourt.AuditStatus.Decided) return;
        // Stage 0 is final once nobody escalated in time; half the time wait for that.
        if (block.timestamp < audit.escalationDeadline) {
            if (auditSeed % 2 == 0) return;
            vm.warp(audit.escalationDeadline);
        }
        AuditCourt.Seat[] memory seats = court.getSeats(auditId);
        (AuditCourt.Verdict outcome, bool majority) = _expectedOutcome(audit, seats);
        uint256 owed = court.getConfig().slashAmount - ghostSlashedOnChannel[audit.channelId];
        bool repeatFail = outcome == AuditCourt.Verdict.Fail && owed == 0;
        uint256 expectedSlash = outcome != AuditCourt.Verdict.Fail ? 0
            : _slashable(audit.provider, repeatFail ? court.getConfig().auditBond : owed);
        uint256[] memory fines = _expectedFines(seats, outcome, majority);
        uint256 before = _held();
        uint256 bondedBefore = court.getTotalBonded();
        try court.finalizeAudit(auditId) {
            _count(this.finalizeAudit.selector);
            _checkEq(_held(), before, "finalizeAudit: slash left registry + court");
            _checkEq(bondedBefore - court.getTotalBonded(), _bonds(audit), "finalize released bonds");
            _checkEq(uint8(court.getAudit(auditId).verdict), uint8(outcome), "finalize outcome");
            _ledgerFinalize(audit, seats, outcome, majority, expectedSlash, fines, repeatFail);
            if (outcome == AuditCourt.Verdict.Fail && !repeatFail) ghostSlashedOnChannel[audit.channelId] += expectedSlash;
            _closeGhost(auditId, outcome == AuditCourt.Verdict.Unverifiable);
        } catch {
            _check(true, false, "finalizeAudit");
        }
    }

    /// @dev The fine each seat must pay: a revealed Pass or Fail against a panel's Pass or Fail majority.
    function _expectedFines(AuditCourt.Seat[] memory seats, AuditCourt.Verdict outcome, bool majority)
        private
        view
        returns (uint256[] memory fines)
    {
        fines = new uint256[](seats.length);
        if (!majority || outcome == AuditCourt.Verdict.Unverifiable) return fines;
        for (uint256 i; i < seats.length; i++) {
            AuditCourt.Verdict v = seats[i].verdict;
            if (seats[i].status == AuditCourt.SeatStatus.Revealed && v != AuditCourt.Verdict.Unverifiable && v != outcome) {
                fines[i] = _slashable(seats[i].verifier, court.getConfig().verifierPenalty);
            }
        }
    }

    /// @dev Books what a resolution must credit, to whom, in the ghost ledger.
    function _ledgerFinalize(
        AuditCourt.Audit memory audit,
        AuditCourt.Seat[] memory seats,
        AuditCourt.Verdict outcome,
        bool majority,
        uint256 slashed,
        uint256[] memory fines,
        bool repeatFail
    ) private {
        AuditCourt.Config memory config = court.getConfig();
        uint256 escalationBond = audit.escalator == address(0) ? 0 : config.escalationBond;
        ghostBonded -= config.auditBond + escalationBond;
        uint256 pool;
        bool fail = outcome == AuditCourt.Verdict.Fail;
        if (fail) _ghostCredit(audit.opener, config.auditBond);
        else pool += config.auditBond;
        if (escalationBond > 0) {
            // The provider escalated a Fail; the payer side a Pass or Unverifiable.
            bool won = !majority || (audit.verdict == AuditCourt.Verdict.Fail ? !fail : fail);
            if (won) _ghostCredit(audit.escalator, escalationBond);
            else pool += escalationBond;
        }
        uint256 toTreasury;
        if (fail && repeatFail) {
            // The channel's failures were paid in full: a bond's worth of stake pays the verifiers.
            pool += slashed;
        } else if (fail) {
            uint256 refund = slashed * config.refundBps / 10_000;
            uint256 bounty = slashed * config.bountyBps / 10_000;
            _ghostCredit(audit.buyer, refund);
            pool += bounty;
            toTreasury += slashed - refund - bounty;
        }
        uint256 winners;
        for (uint256 i; i < seats.length; i++) {
            if (seats[i].status == AuditCourt.SeatStatus.Revealed && seats[i].verdict == outcome) winners++;
        }
        // Nobody is paid for an Unverifiable outcome: the bonds at stake go to the treasury.
        if (winners == 0 || outcome == AuditCourt.Verdict.Unverifiable) {
            toTreasury += pool;
        } else {
            uint256 share = pool / winners;
            for (uint256 i; i < seats.length; i++) {
                if (seats[i].status == AuditCourt.SeatStatus.Revealed && seats[i].verdict == outcome) {
                    _ghostCredit(seats[i].verifier, share);
                }
            }
            toTreasury += pool - share * winners;
        }
        for (uint256 i; i < fines.length; i++) {
            toTreasury += fines[i];
        }
        _ghostCredit(treasury, toTreasury);
    }

    function withdraw(uint256 accountSeed) external {
        address account = _pick(_accounts, accountSeed);
        // Mostly someone with a credit.
        for (uint256 k; accountSeed % 4 != 0 && k < _accounts.length; k++) {
            address candidate = _accounts[(accountSeed / 4 + k) % _accounts.length];
            if (court.withdrawableOf(candidate) > 0) {
                account = candidate;
                break;
            }
        }
        uint256 credit = court.withdrawableOf(account);
        uint256 owed = ghostCredited[account] - ghostWithdrawn[account];
        uint256 before = token.balanceOf(account);
        vm.prank(account);
        try court.withdraw() returns (uint256 amount) {
            _count(this.withdraw.selector);
            _checkEq(amount, owed, "withdraw: not what the ghost ledger owes");
            _checkEq(token.balanceOf(account), before + credit, "withdraw balance");
            ghostWithdrawn[account] += amount;
        } catch {
            _check(owed > 0, false, "withdraw");
        }
    }

    function warp(uint256 seconds_) external {
        _warp(bound(seconds_, 1, 90 minutes));
    }

    /// @notice Whether `account` is a provider of the campaign (for the invariant's messages).
    function isProvider(address account) external view returns (bool) {
        return _isProvider(account);
    }
}
