// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AuditCourtFixture} from "./utils/AuditCourtFixture.sol";
import {AuditCourt} from "../src/AuditCourt.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";
import {PaymentChannels} from "../src/PaymentChannels.sol";

/// @notice The attacks of the security review (issue 9, findings 1-6 and the court's part of 10),
/// each replayed as an attacker would play it. Every one of them succeeded against the court
/// before the redesign; each test here fails if its hole is planted back.
contract AuditCourtAttacksTest is AuditCourtFixture {
    uint256 private constant NOW = 1_700_000_000;
    bytes32 private constant BAD_OUTPUT = keccak256("a wrong answer");
    string private constant EVIDENCE_URI = "https://gateway.test/v1/audits/evidence";

    AuditCourt.Verdict private constant PASS = AuditCourt.Verdict.Pass;
    AuditCourt.Verdict private constant FAIL = AuditCourt.Verdict.Fail;
    AuditCourt.Verdict private constant UNVERIFIABLE = AuditCourt.Verdict.Unverifiable;

    address private cheater;
    uint256 private cheaterKey;
    address private buyer = makeAddr("buyer");
    address private sybil = makeAddr("sybil");
    address[] private honest;
    address[] private colluders;

    function setUp() public override {
        super.setUp();
        vm.warp(NOW);
        vm.roll(100);
        (cheater, cheaterKey) = makeAddrAndKey("cheater");
        makeProvider(cheater);
        for (uint256 i; i < 3; i++) {
            address v = makeAddr(string.concat("honest", vm.toString(i)));
            makeProvider(v);
            honest.push(v);
        }
        for (uint256 i; i < 4; i++) {
            address v = makeAddr(string.concat("colluder", vm.toString(i)));
            makeProvider(v);
            colluders.push(v);
        }
        fundWithCourt(cheater, 1_000e6);
        fundWithCourt(sybil, 1_000e6);
        fundWithCourt(buyer, 1_000e6);
    }

    // ---------------------------------------------------------------- helpers

    /// @dev The buyer's audit of a 32-receipt batch of the cheater's bad answers on a fresh channel.
    function openByBuyer() private returns (uint256 auditId, bytes32 channelId, bytes32 root) {
        channelId = openChannelOf(buyer, cheater);
        root = batchRoot(channelId, 32, BAD_OUTPUT);
        vm.prank(buyer);
        auditId = court.openAudit(channelId, root, 32, EVIDENCE_URI);
    }

    function stakeOf(address account) private view returns (uint256) {
        return registry.getProvider(account).stake;
    }

    function isColluder(address a) private view returns (bool) {
        for (uint256 i; i < colluders.length; i++) {
            if (colluders[i] == a) return true;
        }
        return false;
    }

    function one(address a) private pure returns (address[] memory list) {
        list = new address[](1);
        list[0] = a;
    }

    function verdicts(AuditCourt.Verdict a) private pure returns (AuditCourt.Verdict[] memory list) {
        list = new AuditCourt.Verdict[](1);
        list[0] = a;
    }

    function verdicts(AuditCourt.Verdict a, AuditCourt.Verdict b, AuditCourt.Verdict c)
        private
        pure
        returns (AuditCourt.Verdict[] memory list)
    {
        list = new AuditCourt.Verdict[](3);
        (list[0], list[1], list[2]) = (a, b, c);
    }

    function status(uint256 auditId) private view returns (AuditCourt.AuditStatus) {
        return court.getAudit(auditId).status;
    }

    // ---------------------------------------------------------------- finding 1: receipt squatting

    /// @notice The cheater, or a sybil it controls, tries to open the audit of the buyer's batch
    /// first (with evidence that serves nothing): only the payer may open it.
    function test_Attack1_ProviderOrSybilCannotSquatTheBuyersBatch() public {
        bytes32 channelId = openChannelOf(buyer, cheater);
        bytes32 root = batchRoot(channelId, 32, BAD_OUTPUT);
        vm.prank(cheater);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtNotPayer.selector, channelId, cheater));
        court.openAudit(channelId, root, 32, "https://nothing.invalid/");
        vm.prank(sybil);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtNotPayer.selector, channelId, sybil));
        court.openAudit(channelId, root, 32, "https://nothing.invalid/");
        // A colluding provider of the same model is no payer either.
        vm.prank(colluders[0]);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtNotPayer.selector, channelId, colluders[0]));
        court.openAudit(channelId, root, 32, "https://nothing.invalid/");
        // Nothing happened: the buyer's own audit of the same batch opens.
        assertEq(court.getAuditCount(), 0);
        vm.prank(buyer);
        assertEq(court.openAudit(channelId, root, 32, EVIDENCE_URI), 1);
        assertEq(court.getAudit(1).opener, buyer);
    }

    /// @notice Missing evidence never clears the provider: an Unverifiable verdict records no pass,
    /// slashes nothing, pays nobody (the opener's bond goes to the treasury: a verifier earns nothing
    /// by skipping the evidence) and frees the batch, which the payer then audits again with its
    /// evidence and gets the cheater slashed.
    function test_Attack1_MissingEvidenceCannotClearAndThePayerRetries() public {
        (uint256 auditId, bytes32 channelId, bytes32 root) = openByBuyer();
        address first = draw(auditId)[0];
        vote(auditId, one(first), verdicts(UNVERIFIABLE));
        vm.warp(block.timestamp + ESCALATION_WINDOW);
        court.finalizeAudit(auditId);
        assertEq(uint8(court.getAudit(auditId).verdict), uint8(UNVERIFIABLE), "no pass recorded");
        assertEq(stakeOf(cheater), MIN_STAKE, "nothing slashed without evidence");
        assertEq(court.withdrawableOf(first), 0, "not judging earns nothing");
        assertEq(court.withdrawableOf(treasury), AUDIT_BOND, "the unjudged bond goes to the treasury");
        assertEq(court.getAuditOfRoot(channelId, root), 0, "the batch is free again");
        assertEq(registry.getOpenAudits(cheater), 0);

        vm.prank(buyer);
        uint256 retry = court.openAudit(channelId, root, 32, EVIDENCE_URI);
        address second = draw(retry)[0];
        vote(retry, one(second), verdicts(FAIL));
        vm.warp(block.timestamp + ESCALATION_WINDOW);
        court.finalizeAudit(retry);
        assertEq(stakeOf(cheater), MIN_STAKE - SLASH_AMOUNT, "caught on the retry");
        assertEq(court.withdrawableOf(buyer), (SLASH_AMOUNT * REFUND_BPS) / 10_000 + AUDIT_BOND);
        assertBooksBalance();
    }

    /// @notice A colluding first verifier votes Pass (or Unverifiable): the payer keeps the right to
    /// escalate, and an honest panel majority slashes the cheater and fines the colluder.
    function test_Attack1_PayerEscalatesAPassOrAnUnverifiable() public {
        for (uint256 round; round < 2; round++) {
            AuditCourt.Verdict first = round == 0 ? PASS : UNVERIFIABLE;
            (uint256 auditId,,) = openByBuyer();
            address verifier = draw(auditId)[0];
            vote(auditId, one(verifier), verdicts(first));
            // The cheater cannot escalate what is not a Fail; the buyer can.
            vm.prank(cheater);
            vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtCannotEscalate.selector, auditId, cheater));
            court.escalateAudit(auditId);
            vm.prank(buyer);
            court.escalateAudit(auditId);
            address[] memory panel = draw(auditId);
            assertEq(panel.length, 3);
            vote(auditId, panel, verdicts(FAIL, FAIL, FAIL));
            uint256 stakeBefore = stakeOf(cheater);
            court.finalizeAudit(auditId);
            assertEq(uint8(court.getAudit(auditId).verdict), uint8(FAIL));
            assertEq(stakeOf(cheater), stakeBefore - SLASH_AMOUNT, "slashed after escalation");
            if (first == PASS) assertEq(stakeOf(verifier), MIN_STAKE - VERIFIER_PENALTY, "the false Pass is fined");
            else assertEq(stakeOf(verifier), MIN_STAKE, "Unverifiable is not fined");
            // Keep the pool alive for the second round.
            vm.warp(block.timestamp + JAIL_DURATION);
            _restake(verifier);
            _restake(cheater);
        }
        assertBooksBalance();
    }

    function _restake(address provider) private {
        uint256 stake = stakeOf(provider);
        if (stake >= MIN_STAKE) return;
        fund(provider, MIN_STAKE - stake);
        vm.prank(provider);
        registry.stake(MIN_STAKE - stake);
    }

    // ---------------------------------------------------------------- finding 2: steering the draw

    /// @notice The measured scenario: 3 honest and 4 colluding verifiers. Once the draw block's
    /// hash is public the colluders try every toggle they have (drop an offer, drop and re-add it,
    /// unbond, add a fresh staked sybil) before calling `assignVerifiers`. Over 64 seeds no toggle
    /// turns an honest pick into a colluder: the drawn verifier is the one drawn without toggles,
    /// unless a colluder removed itself.
    function test_Attack2_TogglingAfterTheSeedCannotSteerTheDraw() public {
        // The sybil is staked and registered, ready to offer when the seed is known.
        fund(sybil, MIN_STAKE);
        vm.startPrank(sybil);
        registry.register("http://127.0.0.1:9000", hex"02");
        registry.stake(MIN_STAKE);
        vm.stopPrank();

        uint256 capturedUnsteered;
        uint256 capturedSteered;
        for (uint256 seed; seed < 64; seed++) {
            uint256 snapshot = vm.snapshotState();
            (uint256 auditId,,) = openByBuyer();
            uint64 drawBlock = court.getAudit(auditId).drawBlock;
            vm.roll(drawBlock + 1);
            vm.setBlockhash(drawBlock, keccak256(abi.encode("seed", seed)));
            address baseline = _drawWith(auditId, 0);
            if (isColluder(baseline)) capturedUnsteered++;
            bool captured = isColluder(baseline);
            for (uint256 strategy = 1; strategy <= 13; strategy++) {
                address steered = _drawWith(auditId, strategy);
                if (steered == address(0)) continue;
                if (isColluder(steered) || steered == sybil) {
                    captured = true;
                    // A colluder drawn after toggling means one was drawn without it (it gave way).
                    assertTrue(isColluder(baseline), "a toggle turned an honest pick into a colluder");
                } else {
                    // An honest pick stays; a colluder pick can only give way to someone else.
                    if (!isColluder(baseline)) assertEq(steered, baseline, "a toggle moved an honest pick");
                }
            }
            if (captured) capturedSteered++;
            vm.revertToState(snapshot);
        }
        // The best the colluders can do is not to toggle at all.
        assertEq(capturedSteered, capturedUnsteered, "steering raised the colluders' share");
        assertLt(capturedUnsteered, 64, "colluders were drawn every time");
    }

    /// @dev Plays toggle `strategy` (0: none) as the colluders would, draws, returns who was drawn
    /// (zero if nobody), and undoes it all.
    function _drawWith(uint256 auditId, uint256 strategy) private returns (address drawn) {
        uint256 snapshot = vm.snapshotState();
        if (strategy >= 1 && strategy <= 4) {
            // Drop and re-add one's offer (reorders the provider set; restarts `since`).
            address c = colluders[strategy - 1];
            vm.startPrank(c);
            registry.removeOffer(modelId);
            registry.setOffer(modelId, PRICE, "call");
            vm.stopPrank();
        } else if (strategy >= 5 && strategy <= 8) {
            vm.prank(colluders[strategy - 5]);
            registry.removeOffer(modelId);
        } else if (strategy >= 9 && strategy <= 12) {
            // Drop below the minimum stake and climb back.
            address c = colluders[strategy - 9];
            fund(c, 1);
            vm.startPrank(c);
            registry.requestUnbond(1);
            registry.stake(1);
            vm.stopPrank();
        } else if (strategy == 13) {
            vm.prank(sybil);
            registry.setOffer(modelId, PRICE, "call");
        }
        court.assignVerifiers(auditId);
        AuditCourt.Seat[] memory seats = court.getSeats(auditId);
        if (seats.length > 0) drawn = seats[0].verifier;
        vm.revertToState(snapshot);
    }

    // ---------------------------------------------------------------- finding 3: bloating the draw

    /// @notice Offers need the minimum stake, so the candidate list cannot be bloated for free.
    function test_Attack3_ZeroStakeOfferIsRefused() public {
        address fake = makeAddr("fake");
        vm.startPrank(fake);
        registry.register("http://127.0.0.1:9001", hex"02");
        vm.expectRevert(
            abi.encodeWithSelector(ProviderRegistry.ProviderRegistryInsufficientStake.selector, fake, 0, MIN_STAKE)
        );
        registry.setOffer(modelId, PRICE, "call");
        vm.stopPrank();
        assertEq(registry.getCandidateCount(modelId), 8);
    }

    /// @notice With 2,000 staked providers on the model (and worse, with all but a few of them
    /// unable to serve), a draw costs what 8 providers cost: it never loops over the providers.
    function test_Attack3_DrawGasIsBoundedWith2000Providers() public {
        (uint256 small,) = _drawGas(0, false);
        (uint256 large,) = _drawGas(2_000, false);
        (uint256 worst, bool cancelledOrRescheduled) = _drawGas(2_000, true);
        emit log_named_uint("assignVerifiers gas, 8 providers", small);
        emit log_named_uint("assignVerifiers gas, 2,008 providers", large);
        emit log_named_uint("assignVerifiers gas, 2,008 providers all ineligible", worst);
        assertTrue(cancelledOrRescheduled);
        // One eligible hit on the first try, whatever the list's length.
        assertLt(large, 200_000);
        // Every attempt missing: MAX_DRAW_ATTEMPTS tries, far below a block.
        assertLt(worst, 500_000);
    }

    /// @dev Gas of one stage-0 `assignVerifiers` after adding `extra` staked providers; with
    /// `allIneligible` every candidate is jailed after the audit opened (the draw finds nobody).
    function _drawGas(uint256 extra, bool allIneligible) private returns (uint256 gasUsed, bool noDraw) {
        uint256 snapshot = vm.snapshotState();
        // Building 2,000 providers costs more than a test's gas; only the draw is measured.
        vm.pauseGasMetering();
        for (uint256 i; i < extra; i++) {
            makeProvider(address(uint160(0x100000 + i)));
        }
        (uint256 auditId,,) = openByBuyer();
        if (allIneligible) {
            uint256 count = registry.getCandidateCount(modelId);
            vm.startPrank(address(court));
            for (uint256 i; i < count; i++) {
                registry.jail(registry.getCandidate(modelId, i), uint64(NOW + 1 days));
            }
            vm.stopPrank();
        }
        vm.roll(court.getAudit(auditId).drawBlock + 1);
        vm.resumeGasMetering();
        uint256 before = gasleft();
        court.assignVerifiers(auditId);
        gasUsed = before - gasleft();
        noDraw = court.getSeats(auditId).length == 0;
        vm.revertToState(snapshot);
    }

    /// @notice Every candidate walks away after the audit opened: the draw is rescheduled until
    /// the draw deadline, then the audit is cancelled and the bond is the opener's again.
    function test_Attack3_DrawThatCannotHappenCancelsAtTheDeadline() public {
        (uint256 auditId, bytes32 channelId, bytes32 root) = openByBuyer();
        for (uint256 i; i < colluders.length; i++) {
            vm.prank(colluders[i]);
            registry.removeOffer(modelId);
        }
        for (uint256 i; i < honest.length; i++) {
            vm.prank(honest[i]);
            registry.requestUnbond(MIN_STAKE);
        }
        uint256 tries;
        while (status(auditId) == AuditCourt.AuditStatus.Drawing) {
            vm.roll(court.getAudit(auditId).drawBlock + 1);
            vm.warp(block.timestamp + 10 minutes);
            court.assignVerifiers(auditId);
            tries++;
        }
        assertEq(uint8(status(auditId)), uint8(AuditCourt.AuditStatus.Cancelled));
        assertGe(block.timestamp, NOW + DRAW_TIMEOUT);
        assertLe(tries, DRAW_TIMEOUT / 10 minutes + 1);
        assertEq(court.withdrawableOf(buyer), AUDIT_BOND, "bond returned");
        assertEq(court.getAuditOfRoot(channelId, root), 0, "batch free for a retry");
        assertEq(registry.getOpenAudits(cheater), 0);
        assertBooksBalance();
    }

    // ---------------------------------------------------------------- finding 4: copying votes

    /// @notice A panellist reads another's reveal and tries to replace its own commitment with
    /// the winning side: a commitment never changes.
    function test_Attack4_NoRecommitAfterRevealsOpen() public {
        (uint256 auditId,,) = openByBuyer();
        vote(auditId, one(draw(auditId)[0]), verdicts(FAIL));
        vm.prank(cheater);
        court.escalateAudit(auditId);
        address[] memory panel = draw(auditId);
        commit(auditId, panel[0], FAIL);
        commit(auditId, panel[1], FAIL);
        commit(auditId, panel[2], PASS);
        reveal(auditId, panel[0], FAIL);
        bytes32 copied = court.hashVerdict(auditId, panel[2], FAIL, salt(panel[2]));
        vm.prank(panel[2]);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtAlreadyCommitted.selector, auditId, panel[2]));
        court.commitVerdict(auditId, copied);
        // Even before anyone revealed.
        bytes32 again = court.hashVerdict(auditId, panel[1], PASS, salt(panel[1]));
        vm.prank(panel[1]);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtAlreadyCommitted.selector, auditId, panel[1]));
        court.commitVerdict(auditId, again);
    }

    // ---------------------------------------------------------------- finding 5: unbonding mid-audit

    /// @notice The cheater unbonds everything as soon as it is audited and waits out the delay:
    /// withdrawal is blocked until the audit ends, a Fail slashes the unbonding stake and refunds
    /// the buyer, and only then can the rest leave.
    function test_Attack5_UnbondMidAuditCannotEscapeTheSlash() public {
        (uint256 auditId,,) = openByBuyer();
        vm.prank(cheater);
        registry.requestUnbond(MIN_STAKE);
        vm.warp(block.timestamp + UNBONDING_DELAY);
        vm.prank(cheater);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryAuditPending.selector, cheater, uint32(1)));
        registry.withdrawUnbonded();

        vote(auditId, one(draw(auditId)[0]), verdicts(FAIL));
        vm.prank(cheater);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryAuditPending.selector, cheater, uint32(1)));
        registry.withdrawUnbonded();
        vm.warp(block.timestamp + ESCALATION_WINDOW);
        court.finalizeAudit(auditId);
        assertEq(registry.getProvider(cheater).unbondingAmount, MIN_STAKE - SLASH_AMOUNT, "slashed from unbonding stake");
        assertEq(court.withdrawableOf(buyer), (SLASH_AMOUNT * REFUND_BPS) / 10_000 + AUDIT_BOND, "buyer refunded");

        uint256 before = token.balanceOf(cheater);
        vm.prank(cheater);
        registry.withdrawUnbonded();
        assertEq(token.balanceOf(cheater) - before, MIN_STAKE - SLASH_AMOUNT, "the rest leaves after the audit");
        assertBooksBalance();
    }

    /// @notice A court whose windows outlast the registry's unbonding delay cannot be deployed.
    function test_Attack5_UnbondingDelayMustCoverAnAudit() public {
        AuditCourt.Config memory config = courtConfig();
        config.drawTimeout = UNBONDING_DELAY;
        (ProviderRegistry r, PaymentChannels c) = _freshRegistry(MIN_STAKE, UNBONDING_DELAY);
        vm.expectRevert(
            abi.encodeWithSelector(
                AuditCourt.AuditCourtInvalidConfig.selector,
                "registry.unbondingDelay < drawTimeout + 2 * (commitWindow + revealWindow) + escalationWindow"
            )
        );
        new AuditCourt(r, c, treasury, config);
    }

    // ---------------------------------------------------------------- finding 6: minority pays

    /// @notice Panellists who side with the cheater against the majority are fined and jailed,
    /// as is the first verifier the panel overturned; the majority is paid.
    function test_Attack6_MinorityPanellistsAreFined() public {
        (uint256 auditId,,) = openByBuyer();
        address first = draw(auditId)[0];
        vote(auditId, one(first), verdicts(PASS));
        vm.prank(buyer);
        court.escalateAudit(auditId);
        address[] memory panel = draw(auditId);
        vote(auditId, panel, verdicts(FAIL, PASS, FAIL));
        court.finalizeAudit(auditId);

        assertEq(uint8(court.getAudit(auditId).verdict), uint8(FAIL));
        assertEq(stakeOf(first), MIN_STAKE - VERIFIER_PENALTY, "overturned first verifier fined");
        assertEq(stakeOf(panel[1]), MIN_STAKE - VERIFIER_PENALTY, "minority panellist fined");
        assertGt(registry.getProvider(panel[1]).jailedUntil, block.timestamp, "minority panellist jailed");
        assertEq(stakeOf(panel[0]), MIN_STAKE);
        assertEq(stakeOf(panel[2]), MIN_STAKE);
        uint256 bounty = (SLASH_AMOUNT * BOUNTY_BPS) / 10_000;
        assertEq(court.withdrawableOf(panel[0]), bounty / 2);
        assertEq(court.withdrawableOf(panel[1]), 0);
        assertEq(court.withdrawableOf(treasury), SLASH_AMOUNT - bounty - (SLASH_AMOUNT * REFUND_BPS) / 10_000 + 2 * VERIFIER_PENALTY);
        assertBooksBalance();
    }

    /// @notice An Unverifiable panellist is neither paid nor fined when the panel finds a Fail.
    function test_Attack6_UnverifiablePanellistNeitherPaidNorFined() public {
        (uint256 auditId,,) = openByBuyer();
        vote(auditId, one(draw(auditId)[0]), verdicts(FAIL));
        vm.prank(cheater);
        court.escalateAudit(auditId);
        address[] memory panel = draw(auditId);
        vote(auditId, panel, verdicts(FAIL, UNVERIFIABLE, FAIL));
        court.finalizeAudit(auditId);
        assertEq(stakeOf(panel[1]), MIN_STAKE);
        assertEq(court.withdrawableOf(panel[1]), 0);
        assertEq(uint8(court.getAudit(auditId).verdict), uint8(FAIL));
    }

    // ---------------------------------------------------------------- review of the redesign

    /// @notice A payer re-audits one bad receipt under fresh roots (the same leaf beside a new
    /// filler each time) to farm a refund from every slash: a channel's failures cost its provider
    /// at most `slashAmount` in all. Each repeat returns the payer's bond, refunds nothing, jails
    /// nobody, and takes a bond's worth of the provider's stake to pay the verifiers: the payer
    /// neither gains nor loses, and concurrent honest audits of one channel cost it nothing.
    function test_Review_OneBadReceiptUnderManyRootsIsSlashedOnce() public {
        vm.prank(cheater);
        registry.stake(200e6);
        bytes32 channelId = openChannelOf(buyer, cheater);
        AuditCourt.InferenceReceipt memory bad = receiptOn(channelId, 1, BAD_OUTPUT);
        uint256 stakeBefore = stakeOf(cheater);
        uint256 buyerBefore = token.balanceOf(buyer);
        for (uint256 i; i < 3; i++) {
            bytes32[] memory leaves = new bytes32[](2);
            leaves[0] = leafOf(bad);
            leaves[1] = keccak256(abi.encode("filler", i));
            vm.prank(buyer);
            uint256 auditId = court.openAudit(channelId, merkleRoot(leaves), 2, EVIDENCE_URI);
            assertTrue(court.verifyReceiptInAudit(auditId, bad, signInference(cheaterKey, bad), merkleProof(leaves, 0)));
            address verifier = draw(auditId)[0];
            uint256 verifierBefore = court.withdrawableOf(verifier);
            vote(auditId, one(verifier), verdicts(FAIL));
            vm.warp(block.timestamp + ESCALATION_WINDOW);
            court.finalizeAudit(auditId);
            assertEq(uint8(court.getAudit(auditId).verdict), uint8(FAIL));
            if (i > 0) assertEq(court.withdrawableOf(verifier) - verifierBefore, AUDIT_BOND, "a repeat pays the verifier a bond's worth of the cheater's stake");
        }
        assertTrue(court.isSlashedOnChannel(channelId));
        assertEq(stakeOf(cheater), stakeBefore - SLASH_AMOUNT - 2 * AUDIT_BOND, "one slash, then a bond's worth per repeat");
        vm.prank(buyer);
        court.withdraw();
        uint256 refund = (SLASH_AMOUNT * REFUND_BPS) / 10_000;
        assertEq(token.balanceOf(buyer), buyerBefore + refund, "one refund; every bond back");
        assertBooksBalance();
    }

    /// @notice A Fail that finds the provider's stake gone (drained on other channels) must not
    /// use up the channel's slash: after the provider restakes, the next Fail there takes it.
    function test_Review_AZeroSlashDoesNotSpendTheChannelsSlash() public {
        bytes32 first = openChannelOf(buyer, cheater);
        bytes32 second = openChannelOf(buyer, cheater);
        bytes32 third = openChannelOf(buyer, cheater);
        for (uint256 c; c < 3; c++) {
            bytes32 channelId = c == 0 ? first : c == 1 ? second : third;
            bytes32 root = batchRoot(channelId, 4, BAD_OUTPUT);
            vm.prank(buyer);
            uint256 auditId = court.openAudit(channelId, root, 4, EVIDENCE_URI);
            vote(auditId, one(draw(auditId)[0]), verdicts(FAIL));
            vm.warp(block.timestamp + ESCALATION_WINDOW);
            court.finalizeAudit(auditId);
        }
        assertEq(stakeOf(cheater), 0, "two slashes took it all");
        assertEq(court.getSlashedOnChannel(third), 0);
        assertFalse(court.isSlashedOnChannel(third), "nothing was taken for the third channel");
        // The cheater restakes after its jail and comes back; the third channel's slash is still owed.
        vm.warp(block.timestamp + JAIL_DURATION);
        fund(cheater, MIN_STAKE);
        vm.prank(cheater);
        registry.stake(MIN_STAKE);
        bytes32 laterRoot = batchRoot(third, 5, BAD_OUTPUT);
        vm.prank(buyer);
        uint256 again = court.openAudit(third, laterRoot, 5, EVIDENCE_URI);
        vote(again, one(draw(again)[0]), verdicts(FAIL));
        vm.warp(block.timestamp + ESCALATION_WINDOW);
        court.finalizeAudit(again);
        assertEq(stakeOf(cheater), MIN_STAKE - SLASH_AMOUNT);
        assertTrue(court.isSlashedOnChannel(third));
        assertBooksBalance();
    }

    /// @notice A sybil with a channel of its own (its own throw-away model, anyone may register one)
    /// opens an audit of the buyer's root first, hoping the buyer's open reverts and the cheater's
    /// stake walks: roots are claimed per channel, so the buyer's audit opens and holds the stake.
    function test_Review_AnotherChannelCannotSquatTheBuyersRoot() public {
        bytes32 channelId = openChannelOf(buyer, cheater);
        bytes32 root = batchRoot(channelId, 32, BAD_OUTPUT);
        bytes32 deadModel = registerModel(keccak256("dead.onnx"), 0);
        vm.startPrank(sybil);
        registry.register("http://sybil", hex"02");
        registry.stake(MIN_STAKE);
        registry.setOffer(deadModel, PRICE, "call");
        bytes32 sybilChannel = channels.openChannel(sybil, deadModel, DEPOSIT, address(0), 0);
        uint256 squat = court.openAudit(sybilChannel, root, 32, "https://nothing.invalid/");
        vm.stopPrank();

        vm.prank(buyer);
        uint256 real = court.openAudit(channelId, root, 32, EVIDENCE_URI);
        assertTrue(real != squat);
        assertEq(court.getAuditOfRoot(channelId, root), real);
        assertEq(court.getAuditOfRoot(sybilChannel, root), squat);
        assertEq(registry.getOpenAudits(cheater), 1, "the cheater's stake is held by the buyer's audit");
        vote(real, one(draw(real)[0]), verdicts(FAIL));
        vm.warp(block.timestamp + ESCALATION_WINDOW);
        court.finalizeAudit(real);
        assertEq(stakeOf(cheater), MIN_STAKE - SLASH_AMOUNT);
        assertBooksBalance();
    }

    /// @notice When candidates are scarce a panel may be drawn with one seat: that lone panellist
    /// is no majority, so it can neither overturn the first verdict nor get its verifier fined.
    function test_Review_ALonePanellistCannotOverturn() public {
        (uint256 auditId,,) = openByBuyer();
        address first = draw(auditId)[0];
        vote(auditId, one(first), verdicts(FAIL));
        // Every candidate but one leaves before the escalation: one panel seat can be filled.
        address lone;
        for (uint256 i; i < honest.length + colluders.length; i++) {
            address candidate = i < honest.length ? honest[i] : colluders[i - honest.length];
            if (candidate == first) continue;
            if (lone == address(0)) {
                lone = candidate;
                continue;
            }
            vm.prank(candidate);
            registry.requestUnbond(MIN_STAKE);
        }
        vm.prank(cheater);
        court.escalateAudit(auditId);
        address[] memory panel = draw(auditId);
        assertEq(panel.length, 1);
        assertEq(panel[0], lone);
        vote(auditId, panel, verdicts(PASS));
        court.finalizeAudit(auditId);
        assertEq(uint8(court.getAudit(auditId).verdict), uint8(FAIL), "the first verdict stands");
        assertEq(stakeOf(first), MIN_STAKE, "the first verifier is not fined by one panellist");
        assertEq(stakeOf(cheater), MIN_STAKE - SLASH_AMOUNT);
        assertBooksBalance();
    }

    // ---------------------------------------------------------------- finding 10: deploy checks

    function _freshRegistry(uint256 minStake, uint64 unbondingDelay) private returns (ProviderRegistry r, PaymentChannels c) {
        address next = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 2);
        r = new ProviderRegistry(token, models, next, minStake, unbondingDelay);
        c = new PaymentChannels(token, r, models, treasury, FEE_BPS, CHALLENGE_PERIOD);
    }

    function _expectConfigRevert(AuditCourt.Config memory config, uint256 minStake, string memory reason) private {
        (ProviderRegistry r, PaymentChannels c) = _freshRegistry(minStake, UNBONDING_DELAY);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtInvalidConfig.selector, reason));
        new AuditCourt(r, c, treasury, config);
    }

    /// @notice Each parameter that would let a cheater off or lock bonds is refused by name.
    function test_Attack10_ConstructorRefusesUnsafeParameters() public {
        AuditCourt.Config memory config = courtConfig();
        config.slashAmount = 0;
        _expectConfigRevert(config, MIN_STAKE, "slashAmount is 0");
        config = courtConfig();
        config.jailDuration = 0;
        _expectConfigRevert(config, MIN_STAKE, "jailDuration is 0");
        config = courtConfig();
        config.verifierPenalty = MIN_STAKE + 1;
        _expectConfigRevert(config, MIN_STAKE, "verifierPenalty > registry.minStake");
        config = courtConfig();
        config.drawTimeout = 0;
        _expectConfigRevert(config, MIN_STAKE, "drawTimeout is 0");
        _expectConfigRevert(courtConfig(), 0, "registry.minStake is 0");
        config = courtConfig();
        config.auditBond = 0;
        _expectConfigRevert(config, MIN_STAKE, "auditBond is 0");
        // The boundary values are accepted.
        config = courtConfig();
        config.verifierPenalty = MIN_STAKE;
        config.drawTimeout = UNBONDING_DELAY - 2 * (COMMIT_WINDOW + REVEAL_WINDOW) - ESCALATION_WINDOW;
        (ProviderRegistry r, PaymentChannels c) = _freshRegistry(MIN_STAKE, UNBONDING_DELAY);
        AuditCourt ok = new AuditCourt(r, c, treasury, config);
        assertEq(ok.getConfig().verifierPenalty, MIN_STAKE);
    }
}
