// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {ScoreRoots} from "../src/ScoreRoots.sol";

/// @notice ScoreRoots: publishing (forward-only epochs per publisher, no empty epochs), the stored
/// roots, and verifyScore against trees built here the way the node's epochRoot.ts builds them
/// (sorted leaves, sorted-pair hashing, an odd node carried up).
contract ScoreRootsTest is Test {
    ScoreRoots private scores;
    address private gateway = makeAddr("gateway");
    address private indexer = makeAddr("indexer");

    /// @dev Mirrors the event so vm.expectEmit can be fed the expected log.
    event ScoreRootPublished(address indexed publisher, uint64 indexed epoch, bytes32 root, uint32 leafCount, string uri);

    function setUp() public {
        scores = new ScoreRoots();
    }

    function leafOf(uint160 provider, uint64 calls) private pure returns (ScoreRoots.ScoreLeaf memory) {
        return ScoreRoots.ScoreLeaf({
            provider: address(provider),
            modelId: 0x2222222222222222222222222222222222222222222222222222222222222222,
            auditPassPpm: 950_000,
            canaryPassPpm: 940_000,
            deliveryPpm: 900_000,
            uptimePpm: 899_999,
            latencyRatioPpm: 1_250_000,
            price: 1_000,
            calls: calls
        });
    }

    function hashLeaf(ScoreRoots.ScoreLeaf memory leaf) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(leaf))));
    }

    /// @dev Memory structs are references; a changed copy must not change the original.
    function copy(ScoreRoots.ScoreLeaf memory leaf) private pure returns (ScoreRoots.ScoreLeaf memory) {
        return abi.decode(abi.encode(leaf), (ScoreRoots.ScoreLeaf));
    }

    function hashPair(bytes32 a, bytes32 b) private pure returns (bytes32) {
        return a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
    }

    function publish(address from, uint64 epoch, bytes32 root, uint32 leafCount) private {
        vm.prank(from);
        scores.publish(epoch, root, leafCount, "https://gateway.example/v1/scores");
    }

    function proofOf(bytes32 a) private pure returns (bytes32[] memory proof) {
        proof = new bytes32[](1);
        proof[0] = a;
    }

    function proofOf(bytes32 a, bytes32 b) private pure returns (bytes32[] memory proof) {
        proof = new bytes32[](2);
        (proof[0], proof[1]) = (a, b);
    }

    // ---------------------------------------------------------------- publish

    function test_Publish_StoresRootAndEmits() public {
        bytes32 root = keccak256("root");
        vm.roll(1234);
        vm.expectEmit(true, true, false, true, address(scores));
        emit ScoreRootPublished(gateway, 7, root, 3, "https://gateway.example/v1/scores");
        publish(gateway, 7, root, 3);

        ScoreRoots.EpochRoot memory stored = scores.getRoot(gateway, 7);
        assertEq(stored.root, root);
        assertEq(stored.leafCount, 3);
        assertEq(stored.publishedBlock, 1234);
        assertEq(scores.latestEpoch(gateway), 7);
    }

    function test_Publish_UnpostedEpochReadsAsZero() public {
        publish(gateway, 7, keccak256("root"), 3);
        ScoreRoots.EpochRoot memory missing = scores.getRoot(gateway, 6);
        assertEq(missing.root, bytes32(0));
        assertEq(missing.leafCount, 0);
        assertEq(missing.publishedBlock, 0);
        assertEq(scores.latestEpoch(indexer), 0);
    }

    function test_Publish_EpochsMayJump() public {
        publish(gateway, 7, keccak256("a"), 1);
        publish(gateway, 100, keccak256("b"), 2);
        assertEq(scores.latestEpoch(gateway), 100);
        // Earlier epochs stay as they were posted.
        assertEq(scores.getRoot(gateway, 7).root, keccak256("a"));
        assertEq(scores.getRoot(gateway, 100).root, keccak256("b"));
    }

    function test_Publish_RevertsOnSameEpoch() public {
        publish(gateway, 7, keccak256("a"), 1);
        vm.expectRevert(abi.encodeWithSelector(ScoreRoots.ScoreRootsEpochNotAfterLatest.selector, gateway, 7, 7));
        publish(gateway, 7, keccak256("rewritten"), 1);
        assertEq(scores.getRoot(gateway, 7).root, keccak256("a"));
    }

    function test_Publish_RevertsOnEarlierEpoch() public {
        publish(gateway, 7, keccak256("a"), 1);
        // Filling a gap after the fact is rewriting history too.
        vm.expectRevert(abi.encodeWithSelector(ScoreRoots.ScoreRootsEpochNotAfterLatest.selector, gateway, 6, 7));
        publish(gateway, 6, keccak256("backdated"), 1);
        assertEq(scores.getRoot(gateway, 6).root, bytes32(0));
    }

    function test_Publish_RevertsOnEpochZero() public {
        vm.expectRevert(abi.encodeWithSelector(ScoreRoots.ScoreRootsEpochNotAfterLatest.selector, gateway, 0, 0));
        publish(gateway, 0, keccak256("a"), 1);
    }

    function test_Publish_RevertsOnEmptyEpoch() public {
        vm.expectRevert(ScoreRoots.ScoreRootsEmptyEpoch.selector);
        publish(gateway, 7, bytes32(0), 1);
        vm.expectRevert(ScoreRoots.ScoreRootsEmptyEpoch.selector);
        publish(gateway, 7, keccak256("a"), 0);
        assertEq(scores.latestEpoch(gateway), 0);
    }

    function test_Publish_PublishersAreIndependent() public {
        publish(gateway, 100, keccak256("gateway"), 1);
        // Another publisher may post an epoch the first already passed, and its own roots.
        publish(indexer, 50, keccak256("indexer"), 2);
        publish(indexer, 100, keccak256("indexer 100"), 2);
        assertEq(scores.latestEpoch(gateway), 100);
        assertEq(scores.latestEpoch(indexer), 100);
        assertEq(scores.getRoot(gateway, 100).root, keccak256("gateway"));
        assertEq(scores.getRoot(indexer, 100).root, keccak256("indexer 100"));
        assertEq(scores.getRoot(gateway, 50).root, bytes32(0));
    }

    function testFuzz_Publish_OnlyForward(uint64 first, uint64 second) public {
        first = uint64(bound(first, 1, type(uint64).max));
        publish(gateway, first, keccak256("a"), 1);
        if (second <= first) {
            vm.expectRevert(abi.encodeWithSelector(ScoreRoots.ScoreRootsEpochNotAfterLatest.selector, gateway, second, first));
        }
        publish(gateway, second, keccak256("b"), 1);
        assertEq(scores.latestEpoch(gateway), second > first ? second : first);
        assertEq(scores.getRoot(gateway, first).root, keccak256("a"));
        assertEq(scores.getRoot(gateway, second).root, second > first ? keccak256("b") : second == first ? keccak256("a") : bytes32(0));
    }

    // ---------------------------------------------------------------- leaves

    function test_HashLeaf_MatchesTheNodesEncoding() public view {
        // hashEpochScoreLeaf (packages/node/src/market/epochRoot.ts) of the same leaf.
        assertEq(scores.hashLeaf(leafOf(0xa1, 42)), 0x7dfb146dc48a8b08151657e8495282cef3be872d467abb6d5e5315e5e5136ff9);
        assertEq(scores.hashLeaf(leafOf(0xa1, 42)), hashLeaf(leafOf(0xa1, 42)));
    }

    // ---------------------------------------------------------------- verifyScore

    function test_VerifyScore_OneLeaf() public {
        ScoreRoots.ScoreLeaf memory leaf = leafOf(0xa1, 42);
        // A single leaf is its own root, with an empty proof.
        publish(gateway, 7, hashLeaf(leaf), 1);
        assertTrue(scores.verifyScore(gateway, 7, leaf, new bytes32[](0)));
        assertFalse(scores.verifyScore(gateway, 7, leafOf(0xa1, 43), new bytes32[](0)));
        assertFalse(scores.verifyScore(gateway, 7, leaf, proofOf(keccak256("junk"))));
    }

    function test_VerifyScore_TwoLeaves() public {
        ScoreRoots.ScoreLeaf memory a = leafOf(0xa1, 42);
        ScoreRoots.ScoreLeaf memory b = leafOf(0xb2, 7);
        bytes32 root = hashPair(hashLeaf(a), hashLeaf(b));
        publish(gateway, 7, root, 2);
        assertTrue(scores.verifyScore(gateway, 7, a, proofOf(hashLeaf(b))));
        assertTrue(scores.verifyScore(gateway, 7, b, proofOf(hashLeaf(a))));
        // A leaf's own hash is not its sibling; the root is not a leaf.
        assertFalse(scores.verifyScore(gateway, 7, a, proofOf(hashLeaf(a))));
        assertFalse(scores.verifyScore(gateway, 7, a, new bytes32[](0)));
    }

    function test_VerifyScore_ThreeLeaves() public {
        // Sorted leaf hashes l0 < l1 < l2; the tree is ((l0, l1), l2): l2 is carried up unchanged.
        bytes32[3] memory hashes;
        ScoreRoots.ScoreLeaf[3] memory leaves;
        uint160[3] memory providers = [uint160(0xa1), 0xb2, 0xc3];
        for (uint256 i = 0; i < 3; i++) {
            leaves[i] = leafOf(providers[i], uint64(i));
            hashes[i] = hashLeaf(leaves[i]);
        }
        for (uint256 i = 0; i < 3; i++) {
            for (uint256 j = i + 1; j < 3; j++) {
                if (hashes[j] < hashes[i]) {
                    (hashes[i], hashes[j]) = (hashes[j], hashes[i]);
                    (leaves[i], leaves[j]) = (leaves[j], leaves[i]);
                }
            }
        }
        bytes32 inner = hashPair(hashes[0], hashes[1]);
        publish(gateway, 7, hashPair(inner, hashes[2]), 3);

        assertTrue(scores.verifyScore(gateway, 7, leaves[0], proofOf(hashes[1], hashes[2])));
        assertTrue(scores.verifyScore(gateway, 7, leaves[1], proofOf(hashes[0], hashes[2])));
        assertTrue(scores.verifyScore(gateway, 7, leaves[2], proofOf(inner)));
        // Another leaf's proof, a proof missing a level, and a changed score all fail.
        assertFalse(scores.verifyScore(gateway, 7, leaves[2], proofOf(hashes[1], hashes[2])));
        assertFalse(scores.verifyScore(gateway, 7, leaves[0], proofOf(hashes[1])));
        ScoreRoots.ScoreLeaf memory better = copy(leaves[0]);
        better.auditPassPpm = 1_000_000;
        assertFalse(scores.verifyScore(gateway, 7, better, proofOf(hashes[1], hashes[2])));
    }

    function test_VerifyScore_FalseForAnotherEpochOrPublisher() public {
        ScoreRoots.ScoreLeaf memory leaf = leafOf(0xa1, 42);
        publish(gateway, 7, hashLeaf(leaf), 1);
        assertFalse(scores.verifyScore(gateway, 8, leaf, new bytes32[](0)));
        assertFalse(scores.verifyScore(indexer, 7, leaf, new bytes32[](0)));
    }

    function testFuzz_VerifyScore_AnyChangedFieldFails(ScoreRoots.ScoreLeaf memory leaf, uint8 field, uint256 delta) public {
        ScoreRoots.ScoreLeaf memory other = leafOf(0xa1, 42);
        bytes32 sibling = hashLeaf(other);
        vm.assume(hashLeaf(leaf) != sibling);
        publish(gateway, 7, hashPair(hashLeaf(leaf), sibling), 2);
        assertTrue(scores.verifyScore(gateway, 7, leaf, proofOf(sibling)));

        delta = bound(delta, 1, type(uint32).max);
        ScoreRoots.ScoreLeaf memory changed = copy(leaf);
        field = uint8(bound(field, 0, 8));
        // Wrapping arithmetic: only "the field differs" matters, not the direction.
        unchecked {
            if (field == 0) changed.provider = address(uint160(leaf.provider) + uint160(delta));
            else if (field == 1) changed.modelId = bytes32(uint256(leaf.modelId) + delta);
            else if (field == 2) changed.auditPassPpm = leaf.auditPassPpm + uint32(delta);
            else if (field == 3) changed.canaryPassPpm = leaf.canaryPassPpm + uint32(delta);
            else if (field == 4) changed.deliveryPpm = leaf.deliveryPpm + uint32(delta);
            else if (field == 5) changed.uptimePpm = leaf.uptimePpm + uint32(delta);
            else if (field == 6) changed.latencyRatioPpm = leaf.latencyRatioPpm + uint32(delta);
            else if (field == 7) changed.price = leaf.price + delta;
            else changed.calls = leaf.calls + uint64(delta);
        }
        assertFalse(scores.verifyScore(gateway, 7, changed, proofOf(sibling)));
    }
}
