// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice What the payment contracts and the provider registry read from the model catalogue.
interface IModelRegistry {
    /// @notice How an audit decides whether a provider's output is right.
    /// `Exact`: deterministic runtimes, canonical output hashes must match.
    /// `Tolerance`: language models on mixed hardware, per-token probability checks.
    enum VerificationMode {
        Exact,
        Tolerance
    }

    /// @notice A registered model.
    struct Model {
        bytes32 weightsHash;
        string runtime;
        string quantization;
        string format;
        VerificationMode verificationMode;
        address publisher;
        address royaltyReceiver;
        uint16 royaltyBps;
        string metadataURI;
    }

    /// @notice Arguments of `registerModel`.
    struct RegisterModelParams {
        bytes32 weightsHash;
        string runtime;
        string quantization;
        string format;
        VerificationMode verificationMode;
        address royaltyReceiver;
        uint16 royaltyBps;
        string metadataURI;
    }

    /// @notice Whether a model with this id is registered.
    function modelExists(bytes32 modelId) external view returns (bool);

    /// @notice Who receives a model's royalty and how much of each payment (basis points).
    function getRoyalty(bytes32 modelId) external view returns (address receiver, uint16 bps);
}
