// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AgoraFixture} from "./utils/AgoraFixture.sol";
import {ModelRegistry} from "../src/ModelRegistry.sol";
import {IModelRegistry} from "../src/interfaces/IModelRegistry.sol";

/// @notice ModelRegistry: model ids, field and royalty validation, publisher-only setters and
/// pagination. The fixture has already registered one model (`modelId`, published by this contract).
contract ModelRegistryTest is AgoraFixture {
    uint16 private constant MAX_BPS = 3_000;

    address private publisher = makeAddr("publisher");
    address private stranger = makeAddr("stranger");

    /// @dev Mirrors the events so vm.expectEmit can be fed the expected log.
    event ModelRegistered(
        bytes32 indexed modelId,
        address indexed publisher,
        bytes32 weightsHash,
        string runtime,
        string quantization,
        string format,
        IModelRegistry.VerificationMode verificationMode,
        address royaltyReceiver,
        uint16 royaltyBps,
        string metadataURI
    );
    event RoyaltyUpdated(bytes32 indexed modelId, address royaltyReceiver, uint16 royaltyBps);
    event MetadataURIUpdated(bytes32 indexed modelId, string metadataURI);

    function params(bytes32 weightsHash) private view returns (IModelRegistry.RegisterModelParams memory) {
        return IModelRegistry.RegisterModelParams({
            weightsHash: weightsHash,
            runtime: "llama.cpp",
            quantization: "q4_k_m",
            format: "gguf",
            verificationMode: IModelRegistry.VerificationMode.Tolerance,
            royaltyReceiver: royaltyReceiver,
            royaltyBps: 1_000,
            metadataURI: "ipfs://llama"
        });
    }

    function register(address from, IModelRegistry.RegisterModelParams memory p) private returns (bytes32) {
        vm.prank(from);
        return models.registerModel(p);
    }

    // ---------------------------------------------------------------- computeModelId

    function test_ComputeModelId() public view {
        bytes32 expected = keccak256(abi.encode(keccak256("digits.onnx"), "onnxruntime", "f32"));
        assertEq(models.computeModelId(keccak256("digits.onnx"), "onnxruntime", "f32"), expected);
        // The fixture's model got exactly that id.
        assertEq(modelId, expected);
    }

    function test_ComputeModelId_NoPackedEncodingCollision() public view {
        // abi.encode (not encodePacked) keeps ("ab","c") and ("a","bc") apart.
        bytes32 w = keccak256("w");
        assertTrue(models.computeModelId(w, "ab", "c") != models.computeModelId(w, "a", "bc"));
    }

    function testFuzz_ComputeModelId(bytes32 weightsHash, string calldata runtime, string calldata quantization)
        public
        view
    {
        assertEq(
            models.computeModelId(weightsHash, runtime, quantization),
            keccak256(abi.encode(weightsHash, runtime, quantization))
        );
    }

    // ---------------------------------------------------------------- registerModel

    function test_RegisterModel() public {
        IModelRegistry.RegisterModelParams memory p = params(keccak256("llama-3b.gguf"));
        bytes32 expectedId = keccak256(abi.encode(p.weightsHash, p.runtime, p.quantization));

        vm.expectEmit(address(models));
        emit ModelRegistered(
            expectedId,
            publisher,
            p.weightsHash,
            "llama.cpp",
            "q4_k_m",
            "gguf",
            IModelRegistry.VerificationMode.Tolerance,
            royaltyReceiver,
            1_000,
            "ipfs://llama"
        );
        bytes32 id = register(publisher, p);
        assertEq(id, expectedId);

        IModelRegistry.Model memory m = models.getModel(id);
        assertEq(m.weightsHash, p.weightsHash);
        assertEq(m.runtime, "llama.cpp");
        assertEq(m.quantization, "q4_k_m");
        assertEq(m.format, "gguf");
        assertEq(uint8(m.verificationMode), uint8(IModelRegistry.VerificationMode.Tolerance));
        assertEq(m.publisher, publisher);
        assertEq(m.royaltyReceiver, royaltyReceiver);
        assertEq(m.royaltyBps, 1_000);
        assertEq(m.metadataURI, "ipfs://llama");

        assertTrue(models.modelExists(id));
        (address receiver, uint16 bps) = models.getRoyalty(id);
        assertEq(receiver, royaltyReceiver);
        assertEq(bps, 1_000);
        assertEq(models.getModelCount(), 2);
        bytes32[] memory ids = models.getModelIds(0, 10);
        assertEq(ids.length, 2);
        assertEq(ids[0], modelId);
        assertEq(ids[1], id);
    }

    function test_RegisterModel_OptionalFieldsMayBeEmpty() public {
        IModelRegistry.RegisterModelParams memory p = params(keccak256("tesseract"));
        p.quantization = "";
        p.metadataURI = "";
        p.royaltyReceiver = address(0);
        p.royaltyBps = 0;
        bytes32 id = register(publisher, p);
        IModelRegistry.Model memory m = models.getModel(id);
        assertEq(m.quantization, "");
        assertEq(m.metadataURI, "");
        assertEq(m.royaltyReceiver, address(0));
        assertEq(m.royaltyBps, 0);
    }

    function test_RegisterModel_ReceiverWithoutRoyalty() public {
        IModelRegistry.RegisterModelParams memory p = params(keccak256("free"));
        p.royaltyBps = 0;
        bytes32 id = register(publisher, p);
        (address receiver, uint16 bps) = models.getRoyalty(id);
        assertEq(receiver, royaltyReceiver);
        assertEq(bps, 0);
    }

    function test_RegisterModel_MaxRoyalty() public {
        assertEq(models.MAX_ROYALTY_BPS(), MAX_BPS);
        IModelRegistry.RegisterModelParams memory p = params(keccak256("max"));
        p.royaltyBps = MAX_BPS;
        bytes32 id = register(publisher, p);
        (, uint16 bps) = models.getRoyalty(id);
        assertEq(bps, MAX_BPS);
    }

    function test_RegisterModel_SameWeightsOtherQuantizationIsNewModel() public {
        IModelRegistry.RegisterModelParams memory p = params(keccak256("llama"));
        bytes32 a = register(publisher, p);
        p.quantization = "q8_0";
        bytes32 b = register(publisher, p);
        assertTrue(a != b);
        assertEq(models.getModelCount(), 3);
    }

    function test_RevertWhen_RegisterModelEmptyWeightsHash() public {
        IModelRegistry.RegisterModelParams memory p = params(bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelRegistryEmptyField.selector, "weightsHash"));
        register(publisher, p);
    }

    function test_RevertWhen_RegisterModelEmptyRuntime() public {
        IModelRegistry.RegisterModelParams memory p = params(keccak256("x"));
        p.runtime = "";
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelRegistryEmptyField.selector, "runtime"));
        register(publisher, p);
    }

    function test_RevertWhen_RegisterModelEmptyFormat() public {
        IModelRegistry.RegisterModelParams memory p = params(keccak256("x"));
        p.format = "";
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelRegistryEmptyField.selector, "format"));
        register(publisher, p);
    }

    function test_RevertWhen_RegisterModelDuplicate() public {
        IModelRegistry.RegisterModelParams memory p = params(keccak256("dup"));
        bytes32 id = register(publisher, p);

        // Another publisher, format, royalty and URI do not make it a different model.
        p.format = "safetensors";
        p.metadataURI = "ipfs://other";
        p.royaltyBps = 0;
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelRegistryModelExists.selector, id));
        register(stranger, p);

        assertEq(models.getModel(id).publisher, publisher);
        assertEq(models.getModelCount(), 2);
    }

    function test_RevertWhen_RegisterModelRoyaltyAboveMax() public {
        IModelRegistry.RegisterModelParams memory p = params(keccak256("greedy"));
        p.royaltyBps = MAX_BPS + 1;
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistry.ModelRegistryInvalidRoyalty.selector, royaltyReceiver, MAX_BPS + 1, MAX_BPS)
        );
        register(publisher, p);
    }

    function test_RevertWhen_RegisterModelRoyaltyWithoutReceiver() public {
        IModelRegistry.RegisterModelParams memory p = params(keccak256("lost"));
        p.royaltyReceiver = address(0);
        p.royaltyBps = 1;
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistry.ModelRegistryInvalidRoyalty.selector, address(0), uint16(1), MAX_BPS)
        );
        register(publisher, p);
    }

    // ---------------------------------------------------------------- setRoyalty

    function test_SetRoyalty() public {
        address newReceiver = makeAddr("dataPool");
        vm.expectEmit(address(models));
        emit RoyaltyUpdated(modelId, newReceiver, 2_000);
        models.setRoyalty(modelId, newReceiver, 2_000);
        (address receiver, uint16 bps) = models.getRoyalty(modelId);
        assertEq(receiver, newReceiver);
        assertEq(bps, 2_000);
        assertEq(models.getModel(modelId).royaltyBps, 2_000);
    }

    function test_SetRoyalty_ToNone() public {
        models.setRoyalty(modelId, address(0), 0);
        (address receiver, uint16 bps) = models.getRoyalty(modelId);
        assertEq(receiver, address(0));
        assertEq(bps, 0);
    }

    function test_RevertWhen_SetRoyaltyNotPublisher() public {
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistry.ModelRegistryNotPublisher.selector, modelId, stranger, address(this))
        );
        models.setRoyalty(modelId, stranger, MAX_BPS);
        (address receiver, uint16 bps) = models.getRoyalty(modelId);
        assertEq(receiver, royaltyReceiver);
        assertEq(bps, ROYALTY_BPS);
    }

    function test_RevertWhen_SetRoyaltyUnknownModel() public {
        bytes32 unknown = keccak256("unknown");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelRegistryUnknownModel.selector, unknown));
        models.setRoyalty(unknown, royaltyReceiver, 100);
    }

    function test_RevertWhen_SetRoyaltyAboveMax() public {
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistry.ModelRegistryInvalidRoyalty.selector, royaltyReceiver, uint16(10_000), MAX_BPS)
        );
        models.setRoyalty(modelId, royaltyReceiver, 10_000);
    }

    function test_RevertWhen_SetRoyaltyWithoutReceiver() public {
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistry.ModelRegistryInvalidRoyalty.selector, address(0), uint16(100), MAX_BPS)
        );
        models.setRoyalty(modelId, address(0), 100);
    }

    // ---------------------------------------------------------------- setMetadataURI

    function test_SetMetadataURI() public {
        vm.expectEmit(address(models));
        emit MetadataURIUpdated(modelId, "ipfs://digits-v2");
        models.setMetadataURI(modelId, "ipfs://digits-v2");
        assertEq(models.getModel(modelId).metadataURI, "ipfs://digits-v2");
    }

    function test_RevertWhen_SetMetadataURINotPublisher() public {
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistry.ModelRegistryNotPublisher.selector, modelId, stranger, address(this))
        );
        models.setMetadataURI(modelId, "ipfs://evil");
        assertEq(models.getModel(modelId).metadataURI, "ipfs://digits");
    }

    function test_RevertWhen_SetMetadataURIUnknownModel() public {
        bytes32 unknown = keccak256("unknown");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelRegistryUnknownModel.selector, unknown));
        models.setMetadataURI(unknown, "ipfs://x");
    }

    // ---------------------------------------------------------------- views

    function test_RevertWhen_GetModelUnknown() public {
        bytes32 unknown = keccak256("unknown");
        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelRegistryUnknownModel.selector, unknown));
        models.getModel(unknown);
    }

    function test_UnknownModelViews() public view {
        bytes32 unknown = keccak256("unknown");
        assertFalse(models.modelExists(unknown));
        (address receiver, uint16 bps) = models.getRoyalty(unknown);
        assertEq(receiver, address(0));
        assertEq(bps, 0);
    }

    /// @dev Registers models until there are five: ids[0] is the fixture's model.
    function registerFive() private returns (bytes32[5] memory ids) {
        ids[0] = modelId;
        for (uint256 i = 1; i < 5; ++i) {
            ids[i] = register(publisher, params(keccak256(abi.encode("model", i))));
        }
        assertEq(models.getModelCount(), 5);
    }

    function test_GetModelIds_Pagination() public {
        bytes32[5] memory all = registerFive();

        bytes32[] memory page = models.getModelIds(0, 5);
        assertEq(page.length, 5);
        for (uint256 i = 0; i < 5; ++i) {
            assertEq(page[i], all[i]);
        }

        page = models.getModelIds(1, 2);
        assertEq(page.length, 2);
        assertEq(page[0], all[1]);
        assertEq(page[1], all[2]);

        page = models.getModelIds(4, 1);
        assertEq(page.length, 1);
        assertEq(page[0], all[4]);
    }

    function test_GetModelIds_ClampsToEnd() public {
        bytes32[5] memory all = registerFive();
        bytes32[] memory page = models.getModelIds(3, 100);
        assertEq(page.length, 2);
        assertEq(page[0], all[3]);
        assertEq(page[1], all[4]);

        // A huge count must not overflow start + count.
        page = models.getModelIds(2, type(uint256).max);
        assertEq(page.length, 3);
        assertEq(page[2], all[4]);
    }

    function test_GetModelIds_StartAtOrBeyondEnd() public {
        registerFive();
        assertEq(models.getModelIds(5, 1).length, 0);
        assertEq(models.getModelIds(6, 10).length, 0);
        assertEq(models.getModelIds(type(uint256).max, type(uint256).max).length, 0);
    }

    function test_GetModelIds_ZeroCount() public {
        registerFive();
        assertEq(models.getModelIds(0, 0).length, 0);
        assertEq(models.getModelIds(2, 0).length, 0);
    }

    // ---------------------------------------------------------------- fuzz

    function testFuzz_RoyaltyValidation(address receiver, uint16 bps) public {
        bool valid = bps <= MAX_BPS && (bps == 0 || receiver != address(0));
        IModelRegistry.RegisterModelParams memory p = params(keccak256("fuzz"));
        p.royaltyReceiver = receiver;
        p.royaltyBps = bps;

        if (!valid) {
            vm.expectRevert(
                abi.encodeWithSelector(ModelRegistry.ModelRegistryInvalidRoyalty.selector, receiver, bps, MAX_BPS)
            );
            register(publisher, p);
            vm.expectRevert(
                abi.encodeWithSelector(ModelRegistry.ModelRegistryInvalidRoyalty.selector, receiver, bps, MAX_BPS)
            );
            models.setRoyalty(modelId, receiver, bps);
            (address stillReceiver, uint16 stillBps) = models.getRoyalty(modelId);
            assertEq(stillReceiver, royaltyReceiver);
            assertEq(stillBps, ROYALTY_BPS);
        } else {
            bytes32 id = register(publisher, p);
            (address gotReceiver, uint16 gotBps) = models.getRoyalty(id);
            assertEq(gotReceiver, receiver);
            assertEq(gotBps, bps);
            models.setRoyalty(modelId, receiver, bps);
            (gotReceiver, gotBps) = models.getRoyalty(modelId);
            assertEq(gotReceiver, receiver);
            assertEq(gotBps, bps);
        }
    }

    function testFuzz_RoyaltyAboveMaxReverts(uint16 bps) public {
        bps = uint16(bound(bps, MAX_BPS + 1, type(uint16).max));
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistry.ModelRegistryInvalidRoyalty.selector, royaltyReceiver, bps, MAX_BPS)
        );
        models.setRoyalty(modelId, royaltyReceiver, bps);
    }

    function testFuzz_OnlyPublisherSets(address caller, uint16 bps) public {
        vm.assume(caller != address(this));
        bps = uint16(bound(bps, 0, MAX_BPS));
        vm.startPrank(caller);
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistry.ModelRegistryNotPublisher.selector, modelId, caller, address(this))
        );
        models.setRoyalty(modelId, royaltyReceiver, bps);
        vm.expectRevert(
            abi.encodeWithSelector(ModelRegistry.ModelRegistryNotPublisher.selector, modelId, caller, address(this))
        );
        models.setMetadataURI(modelId, "ipfs://x");
        vm.stopPrank();
    }

    function testFuzz_GetModelIds(uint256 start, uint256 count) public {
        bytes32[5] memory all = registerFive();
        start = bound(start, 0, 7);
        count = bound(count, 0, 7);
        uint256 expectedLength = start >= 5 ? 0 : (5 - start < count ? 5 - start : count);

        bytes32[] memory page = models.getModelIds(start, count);
        assertEq(page.length, expectedLength);
        for (uint256 i = 0; i < page.length; ++i) {
            assertEq(page[i], all[start + i]);
        }
    }

    function testFuzz_RegisterModel(bytes32 weightsHash, string calldata runtime, string calldata quantization) public {
        vm.assume(weightsHash != bytes32(0) && bytes(runtime).length > 0);
        IModelRegistry.RegisterModelParams memory p = params(weightsHash);
        p.runtime = runtime;
        p.quantization = quantization;
        bytes32 expectedId = keccak256(abi.encode(weightsHash, runtime, quantization));
        vm.assume(expectedId != modelId);

        assertEq(register(publisher, p), expectedId);
        assertTrue(models.modelExists(expectedId));
        assertEq(models.getModel(expectedId).runtime, runtime);
        assertEq(models.getModel(expectedId).quantization, quantization);

        vm.expectRevert(abi.encodeWithSelector(ModelRegistry.ModelRegistryModelExists.selector, expectedId));
        register(stranger, p);
    }
}
