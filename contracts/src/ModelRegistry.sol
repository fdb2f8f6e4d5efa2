// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IModelRegistry} from "./interfaces/IModelRegistry.sol";

/// @title ModelRegistry
/// @notice The catalogue of models the network serves. A model id commits to the exact weights
/// file, the runtime that executes it and the quantization, so a provider's offer and an audit's
/// re-execution always mean the same bytes. Royalties for a model (e.g. to the data pool that
/// trained it) are read from here by the payment contracts.
contract ModelRegistry is IModelRegistry {
    /// @notice Upper bound on a model's royalty, so a buyer's payment always leaves most of it to the provider.
    uint16 public constant MAX_ROYALTY_BPS = 3_000;

    mapping(bytes32 modelId => Model) private _models;
    bytes32[] private _modelIds;

    /// @notice Emitted when a model is registered.
    event ModelRegistered(
        bytes32 indexed modelId,
        address indexed publisher,
        bytes32 weightsHash,
        string runtime,
        string quantization,
        string format,
        VerificationMode verificationMode,
        address royaltyReceiver,
        uint16 royaltyBps,
        string metadataURI
    );
    /// @notice Emitted when a publisher changes a model's royalty.
    event RoyaltyUpdated(bytes32 indexed modelId, address royaltyReceiver, uint16 royaltyBps);
    /// @notice Emitted when a publisher changes a model's metadata URI.
    event MetadataURIUpdated(bytes32 indexed modelId, string metadataURI);

    /// @notice A model with this id (same weights, runtime and quantization) is already registered.
    error ModelRegistryModelExists(bytes32 modelId);
    /// @notice No model with this id is registered.
    error ModelRegistryUnknownModel(bytes32 modelId);
    /// @notice Only the model's publisher may change it.
    error ModelRegistryNotPublisher(bytes32 modelId, address caller, address publisher);
    /// @notice The royalty is above `MAX_ROYALTY_BPS`, or a royalty is set without a receiver.
    error ModelRegistryInvalidRoyalty(address royaltyReceiver, uint16 royaltyBps, uint16 maxBps);
    /// @notice A required field (weights hash, runtime or format) is empty.
    error ModelRegistryEmptyField(string field);

    /// @notice The id a model with these weights, runtime and quantization gets.
    /// @param weightsHash sha-256 (or keccak-256) of the weights file.
    /// @param runtime Runtime that executes it, e.g. "onnxruntime", "llama.cpp", "tesseract".
    /// @param quantization Quantization label, e.g. "f32", "q4_k_m"; empty when not applicable.
    function computeModelId(bytes32 weightsHash, string calldata runtime, string calldata quantization)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(weightsHash, runtime, quantization));
    }

    /// @notice Registers a model; the caller becomes its publisher.
    /// @return modelId The model's id, `computeModelId(weightsHash, runtime, quantization)`.
    function registerModel(RegisterModelParams calldata params) external returns (bytes32 modelId) {
        if (params.weightsHash == bytes32(0)) revert ModelRegistryEmptyField("weightsHash");
        if (bytes(params.runtime).length == 0) revert ModelRegistryEmptyField("runtime");
        if (bytes(params.format).length == 0) revert ModelRegistryEmptyField("format");
        _checkRoyalty(params.royaltyReceiver, params.royaltyBps);
        modelId = computeModelId(params.weightsHash, params.runtime, params.quantization);
        if (_models[modelId].publisher != address(0)) revert ModelRegistryModelExists(modelId);

        _models[modelId] = Model({
            weightsHash: params.weightsHash,
            runtime: params.runtime,
            quantization: params.quantization,
            format: params.format,
            verificationMode: params.verificationMode,
            publisher: msg.sender,
            royaltyReceiver: params.royaltyReceiver,
            royaltyBps: params.royaltyBps,
            metadataURI: params.metadataURI
        });
        _modelIds.push(modelId);
        emit ModelRegistered(
            modelId,
            msg.sender,
            params.weightsHash,
            params.runtime,
            params.quantization,
            params.format,
            params.verificationMode,
            params.royaltyReceiver,
            params.royaltyBps,
            params.metadataURI
        );
    }

    /// @notice Changes where and how much royalty a model earns. Publisher only.
    function setRoyalty(bytes32 modelId, address royaltyReceiver, uint16 royaltyBps) external {
        _onlyPublisher(modelId);
        _checkRoyalty(royaltyReceiver, royaltyBps);
        Model storage model = _models[modelId];
        model.royaltyReceiver = royaltyReceiver;
        model.royaltyBps = royaltyBps;
        emit RoyaltyUpdated(modelId, royaltyReceiver, royaltyBps);
    }

    /// @notice Changes a model's metadata URI (description, license, card). Publisher only.
    function setMetadataURI(bytes32 modelId, string calldata metadataURI) external {
        _onlyPublisher(modelId);
        _models[modelId].metadataURI = metadataURI;
        emit MetadataURIUpdated(modelId, metadataURI);
    }

    /// @inheritdoc IModelRegistry
    function modelExists(bytes32 modelId) external view returns (bool) {
        return _models[modelId].publisher != address(0);
    }

    /// @inheritdoc IModelRegistry
    function getRoyalty(bytes32 modelId) external view returns (address receiver, uint16 bps) {
        Model storage model = _models[modelId];
        return (model.royaltyReceiver, model.royaltyBps);
    }

    /// @notice The full record of a model. Reverts for an unknown id.
    function getModel(bytes32 modelId) external view returns (Model memory) {
        Model memory model = _models[modelId];
        if (model.publisher == address(0)) revert ModelRegistryUnknownModel(modelId);
        return model;
    }

    /// @notice How many models are registered.
    function getModelCount() external view returns (uint256) {
        return _modelIds.length;
    }

    /// @notice Registered model ids in registration order, `count` from `start` (clamped to the end).
    function getModelIds(uint256 start, uint256 count) external view returns (bytes32[] memory ids) {
        uint256 total = _modelIds.length;
        if (start >= total) return new bytes32[](0);
        uint256 end = total - start < count ? total : start + count;
        ids = new bytes32[](end - start);
        for (uint256 i = start; i < end; ++i) {
            ids[i - start] = _modelIds[i];
        }
    }

    function _onlyPublisher(bytes32 modelId) private view {
        address publisher = _models[modelId].publisher;
        if (publisher == address(0)) revert ModelRegistryUnknownModel(modelId);
        if (publisher != msg.sender) revert ModelRegistryNotPublisher(modelId, msg.sender, publisher);
    }

    function _checkRoyalty(address receiver, uint16 bps) private pure {
        if (bps > MAX_ROYALTY_BPS || (bps > 0 && receiver == address(0))) {
            revert ModelRegistryInvalidRoyalty(receiver, bps, MAX_ROYALTY_BPS);
        }
    }
}
