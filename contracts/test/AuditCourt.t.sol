// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AuditCourtFixture} from "./utils/AuditCourtFixture.sol";
import {AuditCourt} from "../src/AuditCourt.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";
import {PaymentChannels} from "../src/PaymentChannels.sol";

/// @notice AuditCourt: opening (payer checks, batch root, bond), the draw, commit-reveal, the pass and fail
/// outcomes, escalation to a panel, timeouts and replacement, cancellation, and pull payments.
/// Every path checks that the court and the registry hold exactly what their books say.
contract AuditCourtTest is AuditCourtFixture {
    uint256 private constant NOW = 1_700_000_000;
    bytes32 private constant OUTPUT = keccak256("output");

    address private provider;
    uint256 private providerKey;
    address private buyer = makeAddr("buyer");
    address private gateway = makeAddr("gateway");
    address[] private verifierPool;
    string private constant EVIDENCE_URI = "https://gateway.test/v1/audits/evidence";

    AuditCourt.Verdict private constant PASS = AuditCourt.Verdict.Pass;
    AuditCourt.Verdict private constant FAIL = AuditCourt.Verdict.Fail;

    event AuditOpened(
        uint256 indexed auditId,
        address indexed opener,
        address indexed provider,
        bytes32 channelId,
        bytes32 modelId,
        bytes32 receiptsRoot,
        uint32 receiptCount,
        uint64 drawBlock
    );
    event EvidenceOffered(uint256 indexed auditId, string evidenceURI);
    event AuditResolved(
        uint256 indexed auditId, AuditCourt.Verdict outcome, uint256 slashed, uint256 refund, uint256 bounty, uint256 toTreasury
    );
    event AuditCancelled(uint256 indexed auditId);
    event DrawRescheduled(uint256 indexed auditId, uint64 drawBlock);

    function setUp() public override {
        super.setUp();
        vm.warp(NOW);
        vm.roll(100);
        (provider, providerKey) = makeAddrAndKey("provider");
        makeProvider(provider);
        for (uint256 i; i < 5; i++) {
            address v = makeAddr(string.concat("verifier", vm.toString(i)));
            makeProvider(v);
            verifierPool.push(v);
        }
        fundWithCourt(gateway, 1_000e6);
        // The buyer lets its gateway open and escalate audits of its channels.
        vm.prank(buyer);
        court.setAuditor(gateway, true);
    }

    // ---------------------------------------------------------------- helpers

    /// @dev The gateway opens an audit of a one-receipt batch from `provider` on a fresh `buyer` channel.
    function openByGateway() private returns (uint256 auditId) {
        AuditCourt.InferenceReceipt memory receipt = makeReceipt(buyer, provider, OUTPUT);
        bytes32 root = leafOf(receipt);
        vm.prank(gateway);
        auditId = court.openAudit(receipt.channelId, root, 1, EVIDENCE_URI);
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

    /// @dev Opens, draws the first verifier and has it reveal `verdict`; returns it.
    function firstVerdict(AuditCourt.Verdict verdict) private returns (uint256 auditId, address first) {
        auditId = openByGateway();
        first = draw(auditId)[0];
        vote(auditId, one(first), verdicts(verdict));
    }

    function stakeOf(address account) private view returns (uint256) {
        return registry.getProvider(account).stake;
    }

    function status(uint256 auditId) private view returns (AuditCourt.AuditStatus) {
        return court.getAudit(auditId).status;
    }

    function isVerifierPool(address a) private view returns (bool) {
        for (uint256 i; i < verifierPool.length; i++) {
            if (verifierPool[i] == a) return true;
        }
        return false;
    }

    // ---------------------------------------------------------------- deployment

    function test_Configuration() public view {
        assertEq(registry.auditCourt(), address(court));
        assertEq(address(court.providerRegistry()), address(registry));
        assertEq(address(court.paymentChannels()), address(channels));
        assertEq(address(court.token()), address(token));
        assertEq(court.treasury(), treasury);
        AuditCourt.Config memory config = court.getConfig();
        assertEq(config.auditBond, AUDIT_BOND);
        assertEq(config.escalationBond, ESCALATION_BOND);
        assertEq(config.slashAmount, SLASH_AMOUNT);
        assertEq(config.refundBps, REFUND_BPS);
        assertEq(config.bountyBps, BOUNTY_BPS);
        assertEq(config.drawDelayBlocks, DRAW_DELAY);
        assertEq(config.drawTimeout, DRAW_TIMEOUT);
        assertEq(court.getAuditCount(), 0);
    }

    function test_RevertWhen_DeployedWhereTheRegistryDoesNotPointTo() public {
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtMisconfigured.selector, "registry.auditCourt"));
        new AuditCourt(registry, channels, treasury, courtConfig());
    }

    function test_RevertWhen_InvalidConfig() public {
        ProviderRegistry other =
            new ProviderRegistry(token, models, vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1), MIN_STAKE, UNBONDING_DELAY);
        // The channels use `registry`, not `other`.
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtMisconfigured.selector, "channels.providerRegistry"));
        new AuditCourt(other, channels, treasury, courtConfig());
    }

    function test_RevertWhen_SharesAboveWhole() public {
        AuditCourt.Config memory config = courtConfig();
        config.refundBps = 8_000;
        config.bountyBps = 2_001;
        address next = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 2);
        ProviderRegistry r = new ProviderRegistry(token, models, next, MIN_STAKE, UNBONDING_DELAY);
        channels = new PaymentChannels(token, r, models, treasury, FEE_BPS, CHALLENGE_PERIOD);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtInvalidConfig.selector, "refundBps + bountyBps > 10000"));
        new AuditCourt(r, channels, treasury, config);
    }

    // ---------------------------------------------------------------- openAudit

    function test_OpenAudit() public {
        bytes32 channelId = openChannelOf(buyer, provider);
        bytes32 root = batchRoot(channelId, 32, OUTPUT);
        vm.expectEmit(address(court));
        emit AuditOpened(1, gateway, provider, channelId, modelId, root, 32, uint64(block.number) + DRAW_DELAY);
        vm.expectEmit(address(court));
        emit EvidenceOffered(1, EVIDENCE_URI);
        vm.prank(gateway);
        uint256 auditId = court.openAudit(channelId, root, 32, EVIDENCE_URI);

        assertEq(auditId, 1);
        AuditCourt.Audit memory audit = court.getAudit(auditId);
        assertEq(audit.opener, gateway);
        assertEq(audit.openedBlock, block.number);
        assertEq(audit.openedAt, NOW);
        assertEq(audit.provider, provider);
        assertEq(audit.buyer, buyer);
        assertEq(audit.signer, buyer);
        assertEq(audit.channelId, channelId);
        assertEq(audit.modelId, modelId);
        assertEq(audit.receiptsRoot, root);
        assertEq(audit.receiptCount, 32);
        assertEq(audit.candidateCount, 6, "provider and five verifiers offer the model");
        assertEq(audit.drawDeadline, NOW + DRAW_TIMEOUT);
        assertEq(uint8(audit.status), uint8(AuditCourt.AuditStatus.Drawing));
        assertEq(court.getAuditOfRoot(channelId, root), auditId);
        assertEq(registry.getOpenAudits(provider), 1);
        assertEq(token.balanceOf(gateway), 1_000e6 - AUDIT_BOND);
        assertEq(court.getTotalBonded(), AUDIT_BOND);
        assertBooksBalance();
    }

    function test_VerifyReceiptInAudit() public {
        bytes32 channelId = openChannelOf(buyer, provider);
        bytes32[] memory leaves = new bytes32[](5);
        for (uint256 i; i < 5; i++) {
            leaves[i] = leafOf(receiptOn(channelId, i + 1, OUTPUT));
        }
        vm.prank(gateway);
        uint256 auditId = court.openAudit(channelId, merkleRoot(leaves), 5, EVIDENCE_URI);
        for (uint256 i; i < 5; i++) {
            AuditCourt.InferenceReceipt memory receipt = receiptOn(channelId, i + 1, OUTPUT);
            assertEq(court.receiptLeaf(court.hashReceipt(receipt)), leaves[i]);
            assertTrue(
                court.verifyReceiptInAudit(auditId, receipt, signInference(providerKey, receipt), merkleProof(leaves, i)),
                "a leaf of the batch"
            );
        }
        AuditCourt.InferenceReceipt memory leaf = receiptOn(channelId, 2, OUTPUT);
        bytes32[] memory proof = merkleProof(leaves, 1);
        (, uint256 malloryKey) = makeAddrAndKey("mallory");
        assertFalse(court.verifyReceiptInAudit(auditId, leaf, signInference(malloryKey, leaf), proof), "not the provider's signature");
        assertFalse(court.verifyReceiptInAudit(auditId, leaf, hex"1234", proof), "malformed signature");
        assertFalse(court.verifyReceiptInAudit(auditId + 1, leaf, signInference(providerKey, leaf), proof), "unknown audit");
        AuditCourt.InferenceReceipt memory altered = receiptOn(channelId, 2, keccak256("another output"));
        assertFalse(court.verifyReceiptInAudit(auditId, altered, signInference(providerKey, altered), proof), "not in the batch");
        assertFalse(court.verifyReceiptInAudit(auditId, leaf, signInference(providerKey, leaf), merkleProof(leaves, 2)), "wrong proof");
        // The same receipt fields on another channel are not this audit's.
        AuditCourt.InferenceReceipt memory other = receiptOn(keccak256("other channel"), 2, OUTPUT);
        assertFalse(court.verifyReceiptInAudit(auditId, other, signInference(providerKey, other), proof));
    }

    function test_RevertWhen_OpenAuditInvalidBatch() public {
        bytes32 channelId = openChannelOf(buyer, provider);
        vm.startPrank(gateway);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtInvalidBatch.selector, bytes32(0), uint32(1)));
        court.openAudit(channelId, bytes32(0), 1, EVIDENCE_URI);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtInvalidBatch.selector, bytes32(uint256(1)), uint32(0)));
        court.openAudit(channelId, bytes32(uint256(1)), 0, EVIDENCE_URI);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtInvalidBatch.selector, bytes32(uint256(1)), uint32(65)));
        court.openAudit(channelId, bytes32(uint256(1)), 65, EVIDENCE_URI);
        court.openAudit(channelId, bytes32(uint256(1)), 64, EVIDENCE_URI);
        vm.stopPrank();
    }

    function test_RevertWhen_OpenAuditUnknownChannel() public {
        bytes32 unknown = keccak256("no such channel");
        vm.prank(gateway);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtUnknownChannel.selector, unknown));
        court.openAudit(unknown, bytes32(uint256(1)), 1, EVIDENCE_URI);
    }

    function test_RevertWhen_OpenAuditSameRootTwice() public {
        bytes32 channelId = openChannelOf(buyer, provider);
        bytes32 root = batchRoot(channelId, 4, OUTPUT);
        vm.prank(gateway);
        uint256 auditId = court.openAudit(channelId, root, 4, EVIDENCE_URI);
        fundWithCourt(buyer, AUDIT_BOND);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtBatchAlreadyAudited.selector, root, auditId));
        court.openAudit(channelId, root, 4, EVIDENCE_URI);
    }

    function test_OpenAudit_BySignerOrAllowedAuditorOnly() public {
        address hotKey = makeAddr("hotKey");
        fundWithCourt(buyer, DEPOSIT);
        vm.prank(buyer);
        bytes32 channelId = channels.openChannel(provider, modelId, DEPOSIT, hotKey, ROYALTY_BPS);
        fundWithCourt(hotKey, AUDIT_BOND);
        assertTrue(court.canOpenAudit(channelId, hotKey));
        vm.prank(hotKey);
        court.openAudit(channelId, bytes32(uint256(1)), 1, EVIDENCE_URI);

        address helper = makeAddr("helper");
        fundWithCourt(helper, 2 * AUDIT_BOND);
        assertFalse(court.canOpenAudit(channelId, helper));
        vm.prank(helper);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtNotPayer.selector, channelId, helper));
        court.openAudit(channelId, bytes32(uint256(2)), 1, EVIDENCE_URI);
        vm.prank(buyer);
        court.setAuditor(helper, true);
        assertTrue(court.isAuditor(buyer, helper));
        vm.prank(helper);
        court.openAudit(channelId, bytes32(uint256(2)), 1, EVIDENCE_URI);
        vm.prank(buyer);
        court.setAuditor(helper, false);
        vm.prank(helper);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtNotPayer.selector, channelId, helper));
        court.openAudit(channelId, bytes32(uint256(3)), 1, EVIDENCE_URI);
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtInvalidAuditor.selector, address(0)));
        court.setAuditor(address(0), true);
    }

    function test_RevertWhen_OpenAuditWithoutBondAllowance() public {
        bytes32 channelId = openChannelOf(buyer, provider);
        address poor = makeAddr("poor");
        vm.prank(buyer);
        court.setAuditor(poor, true);
        vm.prank(poor);
        vm.expectRevert();
        court.openAudit(channelId, bytes32(uint256(1)), 1, EVIDENCE_URI);
        assertEq(court.getAuditCount(), 0);
    }

    // ---------------------------------------------------------------- assignVerifiers

    function test_AssignVerifier_DrawsAnEligibleProvider() public {
        uint256 auditId = openByGateway();
        address[] memory drawn = draw(auditId);
        assertEq(drawn.length, 1);
        assertTrue(isVerifierPool(drawn[0]), "drawn from the model's other providers");
        AuditCourt.Audit memory audit = court.getAudit(auditId);
        assertEq(uint8(audit.status), uint8(AuditCourt.AuditStatus.Voting));
        assertEq(audit.commitDeadline, NOW + COMMIT_WINDOW);
        assertEq(audit.revealDeadline, NOW + COMMIT_WINDOW + REVEAL_WINDOW);
    }

    function test_RevertWhen_AssignVerifierBeforeDrawBlockMined() public {
        uint256 auditId = openByGateway();
        uint64 drawBlock = court.getAudit(auditId).drawBlock;
        vm.roll(drawBlock);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtDrawTooEarly.selector, auditId, drawBlock));
        court.assignVerifiers(auditId);
    }

    function test_RevertWhen_AssignVerifierTwice() public {
        uint256 auditId = openByGateway();
        draw(auditId);
        vm.expectRevert(
            abi.encodeWithSelector(AuditCourt.AuditCourtInvalidStatus.selector, auditId, AuditCourt.AuditStatus.Voting)
        );
        court.assignVerifiers(auditId);
    }

    function test_AssignVerifier_ReschedulesWhenBlockhashIsGone() public {
        uint256 auditId = openByGateway();
        uint64 drawBlock = court.getAudit(auditId).drawBlock;
        vm.roll(drawBlock + 300);
        vm.expectEmit(address(court));
        emit DrawRescheduled(auditId, uint64(block.number) + DRAW_DELAY);
        court.assignVerifiers(auditId);
        assertEq(uint8(status(auditId)), uint8(AuditCourt.AuditStatus.Drawing));
        assertEq(court.getSeats(auditId).length, 0);
        assertEq(draw(auditId).length, 1);
    }

    function test_AssignVerifier_SkipsInactiveAndExcludedAccounts() public {
        // Only verifier4 stays eligible: the others are jailed, and the buyer and gateway (also
        // providers of the model) are excluded as parties.
        for (uint256 i; i < 4; i++) {
            vm.prank(address(court));
            registry.jail(verifierPool[i], uint64(NOW + 1 days));
        }
        uint256 auditId = openByGateway();
        assertEq(draw(auditId)[0], verifierPool[4]);
    }

    function test_AssignVerifier_DrawDependsOnTheBlockHash() public {
        // Different draw-block hashes pick different verifiers: the draw is not fixed at open.
        bool differed;
        address firstPick;
        for (uint256 i; i < 8 && !differed; i++) {
            uint256 snapshot = vm.snapshotState();
            uint256 auditId = openByGateway();
            vm.roll(court.getAudit(auditId).drawBlock + 1);
            vm.setBlockhash(court.getAudit(auditId).drawBlock, keccak256(abi.encode(i)));
            court.assignVerifiers(auditId);
            address pick = court.getSeats(auditId)[0].verifier;
            if (i == 0) firstPick = pick;
            else if (pick != firstPick) differed = true;
            vm.revertToState(snapshot);
        }
        assertTrue(differed, "the draw ignored the block hash");
    }

    function test_CancelWhenNoVerifierIsEligibleByTheDrawDeadline() public {
        for (uint256 i; i < verifierPool.length; i++) {
            vm.prank(address(court));
            registry.jail(verifierPool[i], uint64(NOW + 1 days));
        }
        AuditCourt.InferenceReceipt memory receipt = makeReceipt(buyer, provider, OUTPUT);
        bytes32 root = leafOf(receipt);
        vm.prank(gateway);
        uint256 auditId = court.openAudit(receipt.channelId, root, 1, EVIDENCE_URI);
        // Before the deadline a fruitless draw is rescheduled.
        vm.roll(court.getAudit(auditId).drawBlock + 1);
        vm.expectEmit(address(court));
        emit DrawRescheduled(auditId, uint64(block.number) + DRAW_DELAY);
        court.assignVerifiers(auditId);
        assertEq(uint8(status(auditId)), uint8(AuditCourt.AuditStatus.Drawing));
        // At the deadline it cancels.
        vm.warp(NOW + DRAW_TIMEOUT);
        vm.roll(court.getAudit(auditId).drawBlock + 1);
        vm.expectEmit(address(court));
        emit AuditCancelled(auditId);
        court.assignVerifiers(auditId);

        assertEq(uint8(status(auditId)), uint8(AuditCourt.AuditStatus.Cancelled));
        assertEq(court.withdrawableOf(gateway), AUDIT_BOND);
        assertEq(court.getTotalBonded(), 0);
        assertEq(registry.getOpenAudits(provider), 0);
        assertBooksBalance();
        // The batch was never judged, so it can be audited again.
        assertEq(court.getAuditOfRoot(receipt.channelId, root), 0);
        vm.prank(gateway);
        assertEq(court.openAudit(receipt.channelId, root, 1, EVIDENCE_URI), auditId + 1);
    }

    // ---------------------------------------------------------------- commit / reveal

    function test_RevertWhen_CommitByNonVerifier() public {
        uint256 auditId = openByGateway();
        address drawn = draw(auditId)[0];
        for (uint256 i; i < verifierPool.length; i++) {
            if (verifierPool[i] == drawn) continue;
            vm.prank(verifierPool[i]);
            vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtNotVerifier.selector, auditId, verifierPool[i]));
            court.commitVerdict(auditId, bytes32(uint256(1)));
        }
    }

    function test_RevertWhen_CommitAfterWindow() public {
        uint256 auditId = openByGateway();
        address v = draw(auditId)[0];
        vm.warp(NOW + COMMIT_WINDOW);
        vm.prank(v);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtCommitClosed.selector, auditId, NOW + COMMIT_WINDOW));
        court.commitVerdict(auditId, bytes32(uint256(1)));
    }

    function test_RevertWhen_RevealWrongVerdictOrSalt() public {
        uint256 auditId = openByGateway();
        address v = draw(auditId)[0];
        commit(auditId, v, FAIL);
        vm.startPrank(v);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtCommitmentMismatch.selector, auditId, v));
        court.revealVerdict(auditId, PASS, salt(v));
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtCommitmentMismatch.selector, auditId, v));
        court.revealVerdict(auditId, FAIL, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtCommitmentMismatch.selector, auditId, v));
        court.revealVerdict(auditId, AuditCourt.Verdict.None, salt(v));
        vm.stopPrank();
    }

    function test_RevertWhen_RevealWithoutCommitOrAfterWindow() public {
        uint256 auditId = openByGateway();
        address v = draw(auditId)[0];
        vm.prank(v);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtRevealNotOpen.selector, auditId, NOW + COMMIT_WINDOW));
        court.revealVerdict(auditId, FAIL, salt(v));
        commit(auditId, v, FAIL);
        vm.warp(NOW + COMMIT_WINDOW + REVEAL_WINDOW);
        vm.prank(v);
        vm.expectRevert(
            abi.encodeWithSelector(AuditCourt.AuditCourtRevealClosed.selector, auditId, NOW + COMMIT_WINDOW + REVEAL_WINDOW)
        );
        court.revealVerdict(auditId, FAIL, salt(v));
    }

    function test_CommitmentCannotBeCopied() public {
        // A commitment binds the verifier: the same verdict and salt hash differently for another.
        assertTrue(court.hashVerdict(1, verifierPool[0], FAIL, bytes32(0)) != court.hashVerdict(1, verifierPool[1], FAIL, bytes32(0)));
        assertTrue(court.hashVerdict(1, verifierPool[0], FAIL, bytes32(0)) != court.hashVerdict(2, verifierPool[0], FAIL, bytes32(0)));
    }

    // ---------------------------------------------------------------- outcomes

    function test_PassPath_FalseAccusationForfeitsBondToVerifier() public {
        (uint256 auditId, address first) = firstVerdict(PASS);
        AuditCourt.Audit memory audit = court.getAudit(auditId);
        assertEq(uint8(audit.status), uint8(AuditCourt.AuditStatus.Decided));
        assertEq(uint8(audit.verdict), uint8(PASS));

        vm.expectRevert(
            abi.encodeWithSelector(AuditCourt.AuditCourtEscalationRunning.selector, auditId, NOW + ESCALATION_WINDOW)
        );
        court.finalizeAudit(auditId);
        vm.warp(NOW + ESCALATION_WINDOW);
        vm.expectEmit(address(court));
        emit AuditResolved(auditId, PASS, 0, 0, 0, 0);
        court.finalizeAudit(auditId);

        assertEq(uint8(status(auditId)), uint8(AuditCourt.AuditStatus.Resolved));
        assertEq(court.withdrawableOf(first), AUDIT_BOND, "verifier paid from the bond");
        assertEq(court.withdrawableOf(gateway), 0, "bond forfeited");
        assertEq(stakeOf(provider), MIN_STAKE, "provider untouched");
        assertTrue(registry.isActive(provider));
        assertEq(court.getTotalBonded(), 0);
        assertBooksBalance();
    }

    function test_FailPath_SlashesAndSplits() public {
        (uint256 auditId, address first) = firstVerdict(FAIL);
        vm.warp(NOW + ESCALATION_WINDOW);
        uint256 refund = (SLASH_AMOUNT * REFUND_BPS) / 10_000;
        uint256 bounty = (SLASH_AMOUNT * BOUNTY_BPS) / 10_000;
        vm.expectEmit(address(court));
        emit AuditResolved(auditId, FAIL, SLASH_AMOUNT, refund, bounty, SLASH_AMOUNT - refund - bounty);
        court.finalizeAudit(auditId);

        assertEq(stakeOf(provider), MIN_STAKE - SLASH_AMOUNT);
        assertEq(registry.getProvider(provider).jailedUntil, NOW + ESCALATION_WINDOW + JAIL_DURATION);
        assertFalse(registry.isActive(provider));
        assertEq(court.withdrawableOf(buyer), refund, "buyer refunded");
        assertEq(court.withdrawableOf(first), bounty, "verifier bounty");
        assertEq(court.withdrawableOf(treasury), SLASH_AMOUNT - refund - bounty, "treasury rest");
        assertEq(court.withdrawableOf(gateway), AUDIT_BOND, "bond returned");
        assertBooksBalance();

        vm.prank(buyer);
        assertEq(court.withdraw(), refund);
        vm.prank(gateway);
        court.withdraw();
        assertEq(token.balanceOf(gateway), 1_000e6);
        assertBooksBalance();
    }

    function test_FailPath_SlashCappedAtStake() public {
        // The provider unbonds and is slashed elsewhere first: the court splits what it got.
        (uint256 auditId,) = firstVerdict(FAIL);
        vm.prank(address(court));
        registry.slash(provider, MIN_STAKE - 10e6, treasury);
        vm.warp(NOW + ESCALATION_WINDOW);
        court.finalizeAudit(auditId);
        assertEq(court.withdrawableOf(buyer), 5e6);
        assertEq(stakeOf(provider), 0);
        assertBooksBalance();
    }

    function test_RevertWhen_FinalizeTwiceOrUnknown() public {
        (uint256 auditId,) = firstVerdict(FAIL);
        vm.warp(NOW + ESCALATION_WINDOW);
        court.finalizeAudit(auditId);
        vm.expectRevert(
            abi.encodeWithSelector(AuditCourt.AuditCourtInvalidStatus.selector, auditId, AuditCourt.AuditStatus.Resolved)
        );
        court.finalizeAudit(auditId);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtUnknownAudit.selector, 99));
        court.finalizeAudit(99);
    }

    // ---------------------------------------------------------------- timeouts

    function test_Timeout_ReplacesAndPenalisesSilentVerifier() public {
        uint256 auditId = openByGateway();
        address silent = draw(auditId)[0];
        vm.warp(NOW + COMMIT_WINDOW + REVEAL_WINDOW - 1);
        vm.expectRevert(
            abi.encodeWithSelector(AuditCourt.AuditCourtRevealRunning.selector, auditId, NOW + COMMIT_WINDOW + REVEAL_WINDOW)
        );
        court.replaceVerifiers(auditId);
        vm.warp(NOW + COMMIT_WINDOW + REVEAL_WINDOW);
        court.replaceVerifiers(auditId);

        assertEq(stakeOf(silent), MIN_STAKE - VERIFIER_PENALTY, "silent verifier fined");
        assertFalse(registry.isActive(silent), "silent verifier jailed");
        assertEq(court.withdrawableOf(treasury), VERIFIER_PENALTY);
        assertEq(uint8(court.getSeats(auditId)[0].status), uint8(AuditCourt.SeatStatus.Replaced));
        assertEq(uint8(status(auditId)), uint8(AuditCourt.AuditStatus.Drawing));
        assertBooksBalance();

        address replacement = draw(auditId)[0];
        assertTrue(replacement != silent);
        vote(auditId, one(replacement), verdicts(FAIL));
        assertEq(uint8(status(auditId)), uint8(AuditCourt.AuditStatus.Decided));
    }

    function test_Timeout_CommittedButUnrevealedIsReplaced() public {
        uint256 auditId = openByGateway();
        address v = draw(auditId)[0];
        commit(auditId, v, FAIL);
        vm.warp(NOW + COMMIT_WINDOW + REVEAL_WINDOW);
        court.replaceVerifiers(auditId);
        assertFalse(registry.isActive(v));
    }

    function test_RevertWhen_CommitTwice() public {
        uint256 auditId = openByGateway();
        address v = draw(auditId)[0];
        commit(auditId, v, PASS);
        bytes32 other = court.hashVerdict(auditId, v, FAIL, salt(v));
        vm.prank(v);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtAlreadyCommitted.selector, auditId, v));
        court.commitVerdict(auditId, other);
    }

    function test_Timeout_EveryVerifierSilentEventuallyCancels() public {
        uint256 auditId = openByGateway();
        for (uint256 round; round < verifierPool.length; round++) {
            assertEq(draw(auditId).length, 1);
            vm.warp(block.timestamp + COMMIT_WINDOW + REVEAL_WINDOW);
            court.replaceVerifiers(auditId);
        }
        // Nobody is left and the draw deadline has passed.
        vm.roll(court.getAudit(auditId).drawBlock + 1);
        court.assignVerifiers(auditId);
        assertEq(uint8(status(auditId)), uint8(AuditCourt.AuditStatus.Cancelled));
        assertEq(court.withdrawableOf(gateway), AUDIT_BOND);
        assertEq(court.withdrawableOf(treasury), VERIFIER_PENALTY * verifierPool.length);
        assertBooksBalance();
    }

    // ---------------------------------------------------------------- escalation

    function test_Escalation_PanelOverturnsFail() public {
        (uint256 auditId, address first) = firstVerdict(FAIL);
        fundWithCourt(provider, ESCALATION_BOND);
        vm.prank(provider);
        court.escalateAudit(auditId);
        assertEq(court.getTotalBonded(), AUDIT_BOND + ESCALATION_BOND);

        address[] memory panel = draw(auditId);
        assertEq(panel.length, 3);
        for (uint256 i; i < 3; i++) {
            assertTrue(panel[i] != first && panel[i] != provider);
        }
        vote(auditId, panel, verdicts(PASS, FAIL, PASS));
        assertEq(uint8(status(auditId)), uint8(AuditCourt.AuditStatus.Decided));
        court.finalizeAudit(auditId);

        assertEq(uint8(court.getAudit(auditId).verdict), uint8(PASS));
        assertEq(stakeOf(provider), MIN_STAKE, "not slashed");
        assertEq(court.withdrawableOf(provider), ESCALATION_BOND, "escalation bond returned");
        assertEq(court.withdrawableOf(panel[0]), AUDIT_BOND / 2, "opener bond to Pass voters");
        assertEq(court.withdrawableOf(panel[2]), AUDIT_BOND / 2);
        assertEq(court.withdrawableOf(panel[1]), 0);
        assertEq(court.withdrawableOf(gateway), 0);
        assertEq(stakeOf(first), MIN_STAKE - VERIFIER_PENALTY, "overturned verifier fined");
        assertFalse(registry.isActive(first));
        assertEq(stakeOf(panel[1]), MIN_STAKE - VERIFIER_PENALTY, "minority panellist fined");
        assertFalse(registry.isActive(panel[1]));
        assertEq(court.withdrawableOf(treasury), 2 * VERIFIER_PENALTY);
        assertBooksBalance();
    }

    function test_Escalation_PanelConfirmsFail() public {
        (uint256 auditId, address first) = firstVerdict(FAIL);
        fundWithCourt(provider, ESCALATION_BOND);
        vm.prank(provider);
        court.escalateAudit(auditId);
        address[] memory panel = draw(auditId);
        vote(auditId, panel, verdicts(FAIL, FAIL, PASS));
        court.finalizeAudit(auditId);

        uint256 bounty = (SLASH_AMOUNT * BOUNTY_BPS) / 10_000;
        // The first verifier and two panellists found the failure; the provider's lost
        // escalation bond joins the bounty.
        uint256 share = (bounty + ESCALATION_BOND) / 3;
        assertEq(court.withdrawableOf(first), share);
        assertEq(court.withdrawableOf(panel[0]), share);
        assertEq(court.withdrawableOf(panel[1]), share);
        assertEq(court.withdrawableOf(panel[2]), 0);
        assertEq(court.withdrawableOf(buyer), (SLASH_AMOUNT * REFUND_BPS) / 10_000);
        assertEq(court.withdrawableOf(gateway), AUDIT_BOND);
        assertEq(court.withdrawableOf(provider), 0);
        assertEq(stakeOf(provider), MIN_STAKE - SLASH_AMOUNT);
        assertEq(stakeOf(first), MIN_STAKE, "upheld verifier not fined");
        assertEq(stakeOf(panel[2]), MIN_STAKE - VERIFIER_PENALTY, "minority panellist fined");
        assertBooksBalance();
    }

    function test_Escalation_ByOpenerAgainstPass() public {
        (uint256 auditId, address first) = firstVerdict(PASS);
        vm.prank(gateway);
        court.escalateAudit(auditId);
        address[] memory panel = draw(auditId);
        vote(auditId, panel, verdicts(FAIL, FAIL, FAIL));
        court.finalizeAudit(auditId);

        assertEq(uint8(court.getAudit(auditId).verdict), uint8(FAIL));
        assertEq(court.withdrawableOf(gateway), AUDIT_BOND + ESCALATION_BOND, "both bonds returned");
        assertEq(court.withdrawableOf(panel[0]), (SLASH_AMOUNT * BOUNTY_BPS) / 10_000 / 3);
        assertEq(stakeOf(first), MIN_STAKE - VERIFIER_PENALTY, "overturned Pass fined");
        assertEq(stakeOf(provider), MIN_STAKE - SLASH_AMOUNT);
        assertBooksBalance();
    }

    function test_RevertWhen_EscalateByWrongPartyLateOrTwice() public {
        (uint256 auditId,) = firstVerdict(FAIL);
        // Against a Fail only the provider may escalate.
        vm.prank(gateway);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtCannotEscalate.selector, auditId, gateway));
        court.escalateAudit(auditId);

        fundWithCourt(provider, 2 * ESCALATION_BOND);
        vm.warp(NOW + ESCALATION_WINDOW);
        vm.prank(provider);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtCannotEscalate.selector, auditId, provider));
        court.escalateAudit(auditId);

        vm.warp(NOW + ESCALATION_WINDOW - 1);
        vm.prank(provider);
        court.escalateAudit(auditId);
        vm.prank(provider);
        vm.expectRevert(
            abi.encodeWithSelector(AuditCourt.AuditCourtInvalidStatus.selector, auditId, AuditCourt.AuditStatus.Drawing)
        );
        court.escalateAudit(auditId);
    }

    function test_Escalation_PanelCannotBeFilledLeavesFirstVerdict() public {
        (uint256 auditId, address first) = firstVerdict(FAIL);
        for (uint256 i; i < verifierPool.length; i++) {
            if (verifierPool[i] == first) continue;
            vm.prank(address(court));
            registry.jail(verifierPool[i], uint64(NOW + 1 days));
        }
        fundWithCourt(provider, ESCALATION_BOND);
        vm.prank(provider);
        court.escalateAudit(auditId);
        assertEq(draw(auditId).length, 0);
        assertEq(uint8(status(auditId)), uint8(AuditCourt.AuditStatus.Decided));
        court.finalizeAudit(auditId);
        assertEq(uint8(court.getAudit(auditId).verdict), uint8(FAIL));
        assertEq(court.withdrawableOf(provider), ESCALATION_BOND, "no panel, no fault: bond returned");
        assertEq(stakeOf(provider), MIN_STAKE - SLASH_AMOUNT);
        assertEq(stakeOf(first), MIN_STAKE);
        assertBooksBalance();
    }

    function test_Escalation_SilentPanellistReplacedThenMajority() public {
        (uint256 auditId,) = firstVerdict(FAIL);
        vm.prank(gateway);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtCannotEscalate.selector, auditId, gateway));
        court.escalateAudit(auditId);
        fundWithCourt(provider, ESCALATION_BOND);
        vm.prank(provider);
        court.escalateAudit(auditId);
        address[] memory panel = draw(auditId);
        // Two answer, one stays silent.
        commit(auditId, panel[0], PASS);
        commit(auditId, panel[1], PASS);
        vm.warp(block.timestamp + COMMIT_WINDOW);
        reveal(auditId, panel[0], PASS);
        reveal(auditId, panel[1], PASS);
        vm.warp(block.timestamp + REVEAL_WINDOW);
        court.replaceVerifiers(auditId);
        assertFalse(registry.isActive(panel[2]));
        // Only one provider is left (five in the pool: first + three panellists drawn).
        address[] memory replacement = draw(auditId);
        assertEq(replacement.length, 1);
        vote(auditId, replacement, verdicts(PASS));
        court.finalizeAudit(auditId);
        assertEq(uint8(court.getAudit(auditId).verdict), uint8(PASS));
        assertEq(court.withdrawableOf(replacement[0]), AUDIT_BOND / 3);
        assertBooksBalance();
    }

    // ---------------------------------------------------------------- withdraw and fuzz

    function test_RevertWhen_WithdrawNothing() public {
        vm.prank(buyer);
        vm.expectRevert(abi.encodeWithSelector(AuditCourt.AuditCourtNothingToWithdraw.selector, buyer));
        court.withdraw();
    }

    /// @dev Any first verdict, escalation choice and panel votes: tokens are neither created nor
    /// lost, and the court and registry hold exactly their books after every withdrawal.
    function testFuzz_EveryPathConservesTokens(uint8 firstVote, bool escalate, uint8 panelVotes) public {
        bool firstFails = firstVote % 3 == 1;
        (uint256 auditId,) = firstVerdict(AuditCourt.Verdict(1 + (firstVote % 3)));
        uint256 supply = token.totalSupply();
        if (escalate) {
            address loser = firstFails ? provider : gateway;
            fundWithCourt(loser, ESCALATION_BOND);
            supply += ESCALATION_BOND;
            vm.prank(loser);
            court.escalateAudit(auditId);
            address[] memory panel = draw(auditId);
            vote(
                auditId,
                panel,
                verdicts(
                    AuditCourt.Verdict(1 + panelVotes % 3),
                    AuditCourt.Verdict(1 + (panelVotes / 3) % 3),
                    AuditCourt.Verdict(1 + (panelVotes / 9) % 3)
                )
            );
        } else {
            vm.warp(NOW + ESCALATION_WINDOW);
        }
        court.finalizeAudit(auditId);
        assertBooksBalance();
        assertEq(court.getTotalBonded(), 0);
        address[] memory everyone = new address[](verifierPool.length + 4);
        for (uint256 i; i < verifierPool.length; i++) {
            everyone[i] = verifierPool[i];
        }
        (everyone[5], everyone[6], everyone[7], everyone[8]) = (provider, buyer, gateway, treasury);
        uint256 held;
        for (uint256 i; i < everyone.length; i++) {
            if (court.withdrawableOf(everyone[i]) > 0) {
                vm.prank(everyone[i]);
                court.withdraw();
            }
            held += token.balanceOf(everyone[i]);
        }
        assertEq(token.balanceOf(address(court)), 0, "tokens stuck in the court");
        assertEq(token.totalSupply(), supply);
        assertEq(held + token.balanceOf(address(registry)) + token.balanceOf(address(channels)), supply, "conserved");
    }
}
