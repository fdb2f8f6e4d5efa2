// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AgoraFixture} from "./AgoraFixture.sol";
import {AuditCourt} from "../../src/AuditCourt.sol";
import {DevUSD} from "../../src/DevUSD.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {JobMarket} from "../../src/JobMarket.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";

/// @notice AgoraFixture with the real AuditCourt as the registry's audit court, deployed the way
/// `deployAgora` does it: the registry is built with the court's predicted address, and the
/// court's constructor refuses to exist anywhere else.
abstract contract AuditCourtFixture is AgoraFixture {
    uint256 internal constant AUDIT_BOND = 10e6;
    uint256 internal constant ESCALATION_BOND = 20e6;
    uint256 internal constant SLASH_AMOUNT = 50e6;
    uint256 internal constant VERIFIER_PENALTY = 5e6;
    uint16 internal constant REFUND_BPS = 5_000;
    uint16 internal constant BOUNTY_BPS = 3_000;
    uint64 internal constant DRAW_DELAY = 2;
    uint64 internal constant COMMIT_WINDOW = 1 hours;
    uint64 internal constant REVEAL_WINDOW = 1 hours;
    uint64 internal constant ESCALATION_WINDOW = 1 hours;
    uint64 internal constant JAIL_DURATION = 1 days;
    uint64 internal constant DRAW_TIMEOUT = 1 hours;
    uint256 internal constant DEPOSIT = 10e6;

    AuditCourt internal court;

    function setUp() public virtual override {
        token = new DevUSD(address(this));
        models = new ModelRegistry();
        // registry, jobs, channels, then the court: three creations after this one.
        auditCourt = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 3);
        registry = new ProviderRegistry(token, models, auditCourt, MIN_STAKE, UNBONDING_DELAY);
        jobs = new JobMarket(token, registry, models, treasury, FEE_BPS, CHALLENGE_WINDOW);
        channels = new PaymentChannels(token, registry, models, treasury, FEE_BPS, CHALLENGE_PERIOD);
        court = new AuditCourt(registry, channels, treasury, courtConfig());
        modelId = registerModel(keccak256("digits.onnx"), ROYALTY_BPS);
    }

    function courtConfig() internal pure returns (AuditCourt.Config memory) {
        return AuditCourt.Config({
            auditBond: AUDIT_BOND,
            escalationBond: ESCALATION_BOND,
            slashAmount: SLASH_AMOUNT,
            verifierPenalty: VERIFIER_PENALTY,
            refundBps: REFUND_BPS,
            bountyBps: BOUNTY_BPS,
            drawDelayBlocks: DRAW_DELAY,
            commitWindow: COMMIT_WINDOW,
            revealWindow: REVEAL_WINDOW,
            escalationWindow: ESCALATION_WINDOW,
            jailDuration: JAIL_DURATION,
            drawTimeout: DRAW_TIMEOUT
        });
    }

    /// @dev `fund` plus an approval for the court.
    function fundWithCourt(address account, uint256 amount) internal {
        fund(account, amount);
        vm.prank(account);
        token.approve(address(court), type(uint256).max);
    }

    /// @dev A receipt on `channelId` for the `n`-th call (its cumulative amount is `n * PRICE`).
    function receiptOn(bytes32 channelId, uint256 n, bytes32 outputHash)
        internal
        view
        returns (AuditCourt.InferenceReceipt memory)
    {
        return AuditCourt.InferenceReceipt({
            modelId: modelId,
            inputHash: keccak256(abi.encode("input", n)),
            paramsHash: keccak256("params"),
            outputHash: outputHash,
            channelId: channelId,
            cumulativeAmount: n * PRICE
        });
    }

    /// @dev The batch leaf of a receipt, computed independently of the court (double-hashed digest).
    function leafOf(AuditCourt.InferenceReceipt memory receipt) internal view returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(court.hashReceipt(receipt)))));
    }

    /// @dev Root of a sorted-pair Merkle tree over `leaves` (an odd node is carried up unchanged).
    function merkleRoot(bytes32[] memory leaves) internal pure returns (bytes32) {
        bytes32[] memory level = leaves;
        while (level.length > 1) {
            bytes32[] memory next = new bytes32[]((level.length + 1) / 2);
            for (uint256 i; i < next.length; i++) {
                next[i] = 2 * i + 1 < level.length ? hashPair(level[2 * i], level[2 * i + 1]) : level[2 * i];
            }
            level = next;
        }
        return level[0];
    }

    /// @dev The proof of `leaves[index]` in `merkleRoot(leaves)`.
    function merkleProof(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32[] memory proof) {
        bytes32[] memory path = new bytes32[](32);
        uint256 length;
        bytes32[] memory level = leaves;
        while (level.length > 1) {
            uint256 sibling = index ^ 1;
            if (sibling < level.length) path[length++] = level[sibling];
            bytes32[] memory next = new bytes32[]((level.length + 1) / 2);
            for (uint256 i; i < next.length; i++) {
                next[i] = 2 * i + 1 < level.length ? hashPair(level[2 * i], level[2 * i + 1]) : level[2 * i];
            }
            level = next;
            index /= 2;
        }
        proof = new bytes32[](length);
        for (uint256 i; i < length; i++) {
            proof[i] = path[i];
        }
    }

    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encode(a, b)) : keccak256(abi.encode(b, a));
    }

    /// @dev Root over `count` receipts of `channelId` (outputs `outputHash`), for a batch audit.
    function batchRoot(bytes32 channelId, uint256 count, bytes32 outputHash) internal view returns (bytes32) {
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 i; i < count; i++) {
            leaves[i] = leafOf(receiptOn(channelId, i + 1, outputHash));
        }
        return merkleRoot(leaves);
    }

    /// @dev A fresh channel from `buyer` (funded, court approved) to `provider`.
    function openChannelOf(address buyer, address provider) internal returns (bytes32 channelId) {
        fundWithCourt(buyer, DEPOSIT);
        vm.prank(buyer);
        channelId = channels.openChannel(provider, modelId, DEPOSIT, address(0), ROYALTY_BPS);
    }

    /// @dev A receipt for a call on a fresh channel from `buyer` to `provider`.
    function makeReceipt(address buyer, address provider, bytes32 outputHash)
        internal
        returns (AuditCourt.InferenceReceipt memory receipt)
    {
        receipt = receiptOn(openChannelOf(buyer, provider), 1, outputHash);
    }

    /// @dev EIP-712 InferenceReceipt signature by `key`, computed independently of the court.
    function signInference(uint256 key, AuditCourt.InferenceReceipt memory receipt) internal view returns (bytes memory) {
        bytes32 domainSeparator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Agora PaymentChannels"),
                keccak256("1"),
                block.chainid,
                address(channels)
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(
                    "InferenceReceipt(bytes32 modelId,bytes32 inputHash,bytes32 paramsHash,bytes32 outputHash,bytes32 channelId,uint256 cumulativeAmount)"
                ),
                receipt.modelId,
                receipt.inputHash,
                receipt.paramsHash,
                receipt.outputHash,
                receipt.channelId,
                receipt.cumulativeAmount
            )
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, keccak256(abi.encodePacked(hex"1901", domainSeparator, structHash)));
        return abi.encodePacked(r, s, v);
    }

    /// @dev Rolls past the audit's draw block and draws; returns the verifiers drawn by this call.
    function draw(uint256 auditId) internal returns (address[] memory drawn) {
        uint256 before = court.getSeats(auditId).length;
        vm.roll(court.getAudit(auditId).drawBlock + 1);
        court.assignVerifiers(auditId);
        AuditCourt.Seat[] memory seats = court.getSeats(auditId);
        drawn = new address[](seats.length - before);
        for (uint256 i = before; i < seats.length; i++) {
            drawn[i - before] = seats[i].verifier;
        }
    }

    function salt(address verifier) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", verifier));
    }

    function commit(uint256 auditId, address verifier, AuditCourt.Verdict verdict) internal {
        bytes32 commitment = court.hashVerdict(auditId, verifier, verdict, salt(verifier));
        vm.prank(verifier);
        court.commitVerdict(auditId, commitment);
    }

    function reveal(uint256 auditId, address verifier, AuditCourt.Verdict verdict) internal {
        vm.prank(verifier);
        court.revealVerdict(auditId, verdict, salt(verifier));
    }

    /// @dev Every verifier in `verifiers` commits `verdicts[i]`, then all reveal.
    function vote(uint256 auditId, address[] memory verifiers, AuditCourt.Verdict[] memory verdicts) internal {
        for (uint256 i; i < verifiers.length; i++) {
            commit(auditId, verifiers[i], verdicts[i]);
        }
        for (uint256 i; i < verifiers.length; i++) {
            reveal(auditId, verifiers[i], verdicts[i]);
        }
    }

    /// @dev The court holds exactly its bonds and credits; the registry exactly its stakes.
    function assertBooksBalance() internal view {
        assertEq(token.balanceOf(address(court)), court.getTotalBonded() + court.getTotalWithdrawable(), "court books");
        assertEq(token.balanceOf(address(registry)), registry.getTotalStaked(), "registry books");
    }
}
