// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title ScoreRoots
/// @notice Where whoever computes provider scores (a gateway, an indexer) commits to them: one
/// merkle root per epoch per publisher. A score is then checkable by anyone, on-chain or off, from
/// the leaf and its proof against the root its publisher posted, so a provider cannot present a
/// better score than the one the network measured, and a publisher cannot quietly rewrite an epoch
/// it already posted (epochs only move forward). The contract takes no side on whose scores are
/// right: it records who said what, and when. It holds no tokens.
///
/// Leaves follow OpenZeppelin's StandardMerkleTree and the node's `epochRoot.ts`:
/// `keccak256(bytes.concat(keccak256(abi.encode(ScoreLeaf))))`, pairs hashed in sorted order.
contract ScoreRoots {
    /// @notice One (provider, model) score of an epoch, in fixed point: rates in parts per million
    /// (posterior means of audit, canary, delivery and uptime pass rates; observed ÷ quoted latency),
    /// the on-chain offer price in token base units and the number of calls seen.
    struct ScoreLeaf {
        address provider;
        bytes32 modelId;
        uint32 auditPassPpm;
        uint32 canaryPassPpm;
        uint32 deliveryPpm;
        uint32 uptimePpm;
        uint32 latencyRatioPpm;
        uint256 price;
        uint64 calls;
    }

    /// @notice A published epoch. `root` is zero for an epoch its publisher never posted.
    /// `publishedBlock` lets readers fetch the `ScoreRootPublished` event (and its URI) from one block.
    struct EpochRoot {
        bytes32 root;
        uint32 leafCount;
        uint64 publishedBlock;
    }

    mapping(address publisher => mapping(uint64 epoch => EpochRoot)) private _roots;
    mapping(address publisher => uint64 epoch) private _latestEpoch;

    /// @notice Emitted when a publisher posts the root of an epoch's scores. `uri` says where the
    /// leaves and proofs can be fetched (may be empty).
    event ScoreRootPublished(address indexed publisher, uint64 indexed epoch, bytes32 root, uint32 leafCount, string uri);

    /// @notice The epoch is not after the publisher's latest one: a posted epoch is never rewritten,
    /// and epoch 0 (which `latestEpoch` reports for "none yet") is never posted.
    error ScoreRootsEpochNotAfterLatest(address publisher, uint64 epoch, uint64 latestEpoch);
    /// @notice A zero root or zero leaves: an epoch without scores has nothing to commit to.
    error ScoreRootsEmptyEpoch();

    /// @notice Posts the root of the caller's scores for `epoch`.
    /// @param epoch The caller's epoch number, strictly greater than its last (e.g. unix time ÷ epoch length).
    /// @param root Merkle root of the epoch's score leaves; not zero.
    /// @param leafCount How many leaves the tree has; not zero.
    /// @param uri Where the leaves and proofs are served (may be empty); only emitted, not stored.
    function publish(uint64 epoch, bytes32 root, uint32 leafCount, string calldata uri) external {
        uint64 latest = _latestEpoch[msg.sender];
        if (epoch <= latest) revert ScoreRootsEpochNotAfterLatest(msg.sender, epoch, latest);
        if (root == bytes32(0) || leafCount == 0) revert ScoreRootsEmptyEpoch();
        _latestEpoch[msg.sender] = epoch;
        _roots[msg.sender][epoch] = EpochRoot({root: root, leafCount: leafCount, publishedBlock: uint64(block.number)});
        emit ScoreRootPublished(msg.sender, epoch, root, leafCount, uri);
    }

    /// @notice The root `publisher` posted for `epoch`; all zero if it posted none.
    function getRoot(address publisher, uint64 epoch) external view returns (EpochRoot memory) {
        return _roots[publisher][epoch];
    }

    /// @notice The last epoch `publisher` posted; 0 if none.
    function latestEpoch(address publisher) external view returns (uint64) {
        return _latestEpoch[publisher];
    }

    /// @notice Whether `leaf` is one of the scores `publisher` committed to for `epoch`.
    /// @param proof Sibling hashes from the leaf up (the node's `EpochTree.getProof`).
    /// @return False for an epoch the publisher never posted, a changed leaf or a wrong proof.
    function verifyScore(address publisher, uint64 epoch, ScoreLeaf calldata leaf, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        bytes32 root = _roots[publisher][epoch].root;
        return root != bytes32(0) && MerkleProof.verifyCalldata(proof, root, hashLeaf(leaf));
    }

    /// @notice The merkle leaf of a score: `keccak256(bytes.concat(keccak256(abi.encode(leaf))))`.
    /// Hashing twice keeps a leaf from ever passing for an inner node (a 64-byte pair).
    function hashLeaf(ScoreLeaf calldata leaf) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(leaf))));
    }
}
