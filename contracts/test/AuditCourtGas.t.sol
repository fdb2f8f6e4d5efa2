// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AuditCourtFixture} from "./utils/AuditCourtFixture.sol";
import {AuditCourt} from "../src/AuditCourt.sol";

/// @notice The gas of one batch audit of 32 receipts, pass and fail: open, draw, commit, reveal,
/// finalize. Measure each call as its own transaction (cold storage, as on a chain) with
/// `forge test --match-path test/AuditCourtGas.t.sol --isolate --gas-report`; the tests themselves
/// check the audit really ran its course.
contract AuditCourtGasTest is AuditCourtFixture {
    uint32 private constant BATCH = 32;
    address private provider = makeAddr("provider");
    address private buyer = makeAddr("buyer");

    function setUp() public override {
        super.setUp();
        vm.warp(1_700_000_000);
        vm.roll(100);
        makeProvider(provider);
        for (uint256 i; i < 8; i++) {
            makeProvider(makeAddr(string.concat("verifier", vm.toString(i))));
        }
        fundWithCourt(buyer, 1_000e6);
    }

    function _audit(AuditCourt.Verdict verdict) private returns (uint256 auditId) {
        bytes32 channelId = openChannelOf(buyer, provider);
        bytes32 root = batchRoot(channelId, BATCH, keccak256("output"));
        vm.prank(buyer);
        auditId = court.openAudit(channelId, root, BATCH, "https://gateway.test/evidence");
        vm.roll(block.number + DRAW_DELAY + 1);
        court.assignVerifiers(auditId);
        address verifier = court.getSeats(auditId)[0].verifier;
        bytes32 commitment = court.hashVerdict(auditId, verifier, verdict, salt(verifier));
        vm.prank(verifier);
        court.commitVerdict(auditId, commitment);
        vm.prank(verifier);
        court.revealVerdict(auditId, verdict, salt(verifier));
        vm.warp(block.timestamp + ESCALATION_WINDOW);
        court.finalizeAudit(auditId);
        assertEq(uint8(court.getAudit(auditId).status), uint8(AuditCourt.AuditStatus.Resolved));
        assertEq(uint8(court.getAudit(auditId).verdict), uint8(verdict));
    }

    /// @dev Two audits: the gas report's Max is a first audit on a fresh court (counters and
    /// balances going from zero), its Min an audit on a court in use.
    function test_Gas_BatchAuditPass() public {
        _audit(AuditCourt.Verdict.Pass);
        _audit(AuditCourt.Verdict.Pass);
    }

    function test_Gas_BatchAuditFail() public {
        _audit(AuditCourt.Verdict.Fail);
        assertEq(registry.getProvider(provider).stake, MIN_STAKE - SLASH_AMOUNT);
        // Stake back up so the provider can be slashed in full again.
        fund(provider, SLASH_AMOUNT);
        vm.prank(provider);
        registry.stake(SLASH_AMOUNT);
        vm.warp(block.timestamp + JAIL_DURATION);
        _audit(AuditCourt.Verdict.Fail);
    }
}
