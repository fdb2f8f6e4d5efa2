// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {DevUSD} from "../../src/DevUSD.sol";
import {ModelRegistry} from "../../src/ModelRegistry.sol";
import {ProviderRegistry} from "../../src/ProviderRegistry.sol";
import {JobMarket} from "../../src/JobMarket.sol";
import {PaymentChannels} from "../../src/PaymentChannels.sol";
import {IModelRegistry} from "../../src/interfaces/IModelRegistry.sol";
import {IProviderRegistry} from "../../src/interfaces/IProviderRegistry.sol";

/// @notice Deploys the whole trust layer with the devnet's parameters and offers helpers to set
/// up funded buyers and staked providers. Every test contract that inherits it starts from a fresh
/// deployment (forge runs setUp per test).
abstract contract AgoraFixture is Test {
    uint256 internal constant MIN_STAKE = 100e6;
    uint64 internal constant UNBONDING_DELAY = 7 days;
    uint16 internal constant FEE_BPS = 250;
    uint16 internal constant ROYALTY_BPS = 500;
    uint64 internal constant CHALLENGE_WINDOW = 1 hours;
    uint64 internal constant CHALLENGE_PERIOD = 1 days;
    uint256 internal constant PRICE = 1_000; // 0.001 DUSD per call

    DevUSD internal token;
    ModelRegistry internal models;
    ProviderRegistry internal registry;
    JobMarket internal jobs;
    PaymentChannels internal channels;

    address internal auditCourt = makeAddr("auditCourt");
    address internal treasury = makeAddr("treasury");
    address internal royaltyReceiver = makeAddr("royaltyReceiver");
    bytes32 internal modelId;

    function setUp() public virtual {
        token = new DevUSD(address(this));
        models = new ModelRegistry();
        registry = new ProviderRegistry(token, models, auditCourt, MIN_STAKE, UNBONDING_DELAY);
        jobs = new JobMarket(token, registry, models, treasury, FEE_BPS, CHALLENGE_WINDOW);
        channels = new PaymentChannels(token, registry, models, treasury, FEE_BPS, CHALLENGE_PERIOD);
        modelId = registerModel(keccak256("digits.onnx"), ROYALTY_BPS);
    }

    function registerModel(bytes32 weightsHash, uint16 royaltyBps) internal returns (bytes32) {
        return models.registerModel(
            IModelRegistry.RegisterModelParams({
                weightsHash: weightsHash,
                runtime: "onnxruntime",
                quantization: "f32",
                format: "onnx",
                verificationMode: IModelRegistry.VerificationMode.Exact,
                royaltyReceiver: royaltyBps == 0 ? address(0) : royaltyReceiver,
                royaltyBps: royaltyBps,
                metadataURI: "ipfs://digits"
            })
        );
    }

    /// @dev Mints `amount` to `account` and approves every contract to pull it.
    function fund(address account, uint256 amount) internal {
        token.mint(account, amount);
        vm.startPrank(account);
        token.approve(address(registry), type(uint256).max);
        token.approve(address(jobs), type(uint256).max);
        token.approve(address(channels), type(uint256).max);
        vm.stopPrank();
    }

    /// @dev Registers, stakes MIN_STAKE and offers `modelId` at PRICE.
    function makeProvider(address provider) internal {
        fund(provider, MIN_STAKE);
        vm.startPrank(provider);
        registry.register("http://127.0.0.1:8001", hex"02");
        registry.stake(MIN_STAKE);
        registry.setOffer(modelId, PRICE, "call");
        vm.stopPrank();
    }

    /// @dev EIP-712 voucher signature by `signerKey`.
    function signVoucher(uint256 signerKey, bytes32 channelId, uint256 cumulative, bytes32 requestHash)
        internal
        view
        returns (bytes memory)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(signerKey, channels.hashVoucher(channelId, cumulative, requestHash));
        return abi.encodePacked(r, s, v);
    }

    /// @dev EIP-712 job receipt signature by `providerKey`.
    function signReceipt(uint256 providerKey, uint256 jobId, bytes32 outputHash) internal view returns (bytes memory) {
        JobMarket.Job memory job = jobs.getJob(jobId);
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(providerKey, jobs.hashReceipt(jobId, job.modelId, job.inputHash, outputHash));
        return abi.encodePacked(r, s, v);
    }
}
