// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {CommonBase} from "forge-std/Base.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {AgoraFixture} from "./utils/AgoraFixture.sol";
import {DevUSD} from "../src/DevUSD.sol";
import {ProviderRegistry} from "../src/ProviderRegistry.sol";

/// @notice ProviderRegistry: registration, stake and unbonding, offers, and the audit court's
/// jail and slash. Every test that moves tokens also checks that the registry's bookkeeping
/// (`getTotalStaked`) matches the tokens it actually holds.
contract ProviderRegistryTest is AgoraFixture {
    uint256 private constant NOW = 1_700_000_000;
    string private constant ENDPOINT = "http://127.0.0.1:8001";

    address private alice = makeAddr("alice");
    address private bob = makeAddr("bob");
    address private stranger = makeAddr("stranger");
    address private slashRecipient = makeAddr("slashRecipient");

    /// @dev Mirrors the events so vm.expectEmit can be fed the expected log.
    event ProviderRegistered(address indexed provider, string endpoint, bytes publicKey);
    event ProviderUpdated(address indexed provider, string endpoint, bytes publicKey);
    event Staked(address indexed provider, uint256 amount, uint256 totalStake);
    event UnbondRequested(address indexed provider, uint256 amount, uint64 readyAt);
    event UnbondWithdrawn(address indexed provider, uint256 amount);
    event OfferSet(address indexed provider, bytes32 indexed modelId, uint256 pricePerUnit, string unit);
    event OfferRemoved(address indexed provider, bytes32 indexed modelId);
    event Jailed(address indexed provider, uint64 until);
    event Slashed(address indexed provider, uint256 amount, address indexed recipient);

    function setUp() public override {
        super.setUp();
        vm.warp(NOW);
    }

    // ---------------------------------------------------------------- helpers

    /// @dev Registers `provider`, funds it with `amount` and stakes all of it.
    function registerAndStake(address provider, uint256 amount) private {
        fund(provider, amount);
        vm.startPrank(provider);
        registry.register(ENDPOINT, hex"02");
        if (amount > 0) registry.stake(amount);
        vm.stopPrank();
    }

    function stakeOf(address provider) private view returns (uint256) {
        return registry.getProvider(provider).stake;
    }

    function unbondingOf(address provider) private view returns (uint256) {
        return registry.getProvider(provider).unbondingAmount;
    }

    function assertBooksBalance() private view {
        assertEq(registry.getTotalStaked(), token.balanceOf(address(registry)), "totalStaked != registry balance");
    }

    // ---------------------------------------------------------------- configuration

    function test_Configuration() public view {
        assertEq(address(registry.token()), address(token));
        assertEq(address(registry.modelRegistry()), address(models));
        assertEq(registry.auditCourt(), auditCourt);
        assertEq(registry.minStake(), MIN_STAKE);
        assertEq(registry.unbondingDelay(), UNBONDING_DELAY);
        assertEq(registry.getTotalStaked(), 0);
        assertEq(registry.getProviders().length, 0);
    }

    // ---------------------------------------------------------------- register / updateProvider

    function test_Register() public {
        vm.expectEmit(address(registry));
        emit ProviderRegistered(alice, ENDPOINT, hex"02aa");
        vm.prank(alice);
        registry.register(ENDPOINT, hex"02aa");

        ProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertTrue(p.registered);
        assertEq(p.endpoint, ENDPOINT);
        assertEq(p.publicKey, hex"02aa");
        assertEq(p.stake, 0);
        assertEq(p.unbondingAmount, 0);
        assertEq(p.unbondingReadyAt, 0);
        assertEq(p.jailedUntil, 0);

        vm.prank(bob);
        registry.register("https://bob.example", "");
        address[] memory list = registry.getProviders();
        assertEq(list.length, 2);
        assertEq(list[0], alice);
        assertEq(list[1], bob);
    }

    function test_RevertWhen_RegisterTwice() public {
        vm.startPrank(alice);
        registry.register(ENDPOINT, hex"02");
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryAlreadyRegistered.selector, alice));
        registry.register("http://other", hex"03");
        vm.stopPrank();
        assertEq(registry.getProvider(alice).endpoint, ENDPOINT);
        assertEq(registry.getProviders().length, 1);
    }

    function test_RevertWhen_RegisterEmptyEndpoint() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryEmptyEndpoint.selector));
        registry.register("", hex"02");
        assertFalse(registry.getProvider(alice).registered);
    }

    function test_UpdateProvider() public {
        vm.startPrank(alice);
        registry.register(ENDPOINT, hex"02");
        vm.expectEmit(address(registry));
        emit ProviderUpdated(alice, "https://alice.example", hex"03bb");
        registry.updateProvider("https://alice.example", hex"03bb");
        vm.stopPrank();

        ProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertEq(p.endpoint, "https://alice.example");
        assertEq(p.publicKey, hex"03bb");
        assertEq(registry.getProviders().length, 1);
    }

    function test_RevertWhen_UpdateProviderNotRegistered() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryNotRegistered.selector, alice));
        registry.updateProvider(ENDPOINT, hex"02");
    }

    function test_RevertWhen_UpdateProviderEmptyEndpoint() public {
        vm.startPrank(alice);
        registry.register(ENDPOINT, hex"02");
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryEmptyEndpoint.selector));
        registry.updateProvider("", hex"03");
        vm.stopPrank();
        assertEq(registry.getProvider(alice).endpoint, ENDPOINT);
    }

    // ---------------------------------------------------------------- stake

    function test_Stake() public {
        fund(alice, 300e6);
        vm.startPrank(alice);
        registry.register(ENDPOINT, hex"02");

        vm.expectEmit(address(registry));
        emit Staked(alice, 100e6, 100e6);
        registry.stake(100e6);

        vm.expectEmit(address(registry));
        emit Staked(alice, 50e6, 150e6);
        registry.stake(50e6);
        vm.stopPrank();

        assertEq(stakeOf(alice), 150e6);
        assertEq(token.balanceOf(alice), 150e6);
        assertEq(token.balanceOf(address(registry)), 150e6);
        assertEq(registry.getTotalStaked(), 150e6);
    }

    function test_RevertWhen_StakeNotRegistered() public {
        fund(alice, 100e6);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryNotRegistered.selector, alice));
        registry.stake(100e6);
    }

    function test_RevertWhen_StakeZero() public {
        registerAndStake(alice, 0);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryZeroAmount.selector));
        registry.stake(0);
    }

    function test_RevertWhen_StakeWithoutAllowance() public {
        token.mint(alice, 100e6);
        vm.startPrank(alice);
        registry.register(ENDPOINT, hex"02");
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(registry), 0, 100e6)
        );
        registry.stake(100e6);
        vm.stopPrank();
        assertEq(stakeOf(alice), 0);
        assertBooksBalance();
    }

    // ---------------------------------------------------------------- requestUnbond / withdrawUnbonded

    function test_RequestUnbond() public {
        registerAndStake(alice, 300e6);
        uint64 readyAt = uint64(NOW) + UNBONDING_DELAY;

        vm.expectEmit(address(registry));
        emit UnbondRequested(alice, 120e6, readyAt);
        vm.prank(alice);
        registry.requestUnbond(120e6);

        ProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertEq(p.stake, 180e6);
        assertEq(p.unbondingAmount, 120e6);
        assertEq(p.unbondingReadyAt, readyAt);
        // Unbonding stake stays in the registry (it can still be slashed).
        assertEq(registry.getTotalStaked(), 300e6);
        assertBooksBalance();
    }

    function test_RevertWhen_RequestUnbondNotRegistered() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryNotRegistered.selector, alice));
        registry.requestUnbond(1);
    }

    function test_RevertWhen_RequestUnbondZero() public {
        registerAndStake(alice, 100e6);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryZeroAmount.selector));
        registry.requestUnbond(0);
    }

    function test_RevertWhen_RequestUnbondMoreThanStake() public {
        registerAndStake(alice, 100e6);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(ProviderRegistry.ProviderRegistryInsufficientStake.selector, alice, 100e6, 100e6 + 1)
        );
        registry.requestUnbond(100e6 + 1);
    }

    function test_RevertWhen_RequestUnbondAlreadyUnbonding() public {
        // Stake already moved to unbonding cannot be requested a second time.
        registerAndStake(alice, 100e6);
        vm.startPrank(alice);
        registry.requestUnbond(60e6);
        vm.expectRevert(
            abi.encodeWithSelector(ProviderRegistry.ProviderRegistryInsufficientStake.selector, alice, 40e6, 60e6)
        );
        registry.requestUnbond(60e6);
        vm.stopPrank();
    }

    function test_WithdrawUnbonded() public {
        registerAndStake(alice, 300e6);
        vm.prank(alice);
        registry.requestUnbond(120e6);

        vm.warp(NOW + UNBONDING_DELAY);
        vm.expectEmit(address(registry));
        emit UnbondWithdrawn(alice, 120e6);
        vm.prank(alice);
        registry.withdrawUnbonded();

        ProviderRegistry.Provider memory p = registry.getProvider(alice);
        assertEq(p.stake, 180e6);
        assertEq(p.unbondingAmount, 0);
        assertEq(p.unbondingReadyAt, 0);
        assertEq(token.balanceOf(alice), 120e6);
        assertEq(registry.getTotalStaked(), 180e6);
        assertBooksBalance();
    }

    function test_RevertWhen_WithdrawUnbondedBeforeDelay() public {
        registerAndStake(alice, 100e6);
        vm.prank(alice);
        registry.requestUnbond(40e6);
        uint64 readyAt = uint64(NOW) + UNBONDING_DELAY;

        vm.warp(readyAt - 1);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(ProviderRegistry.ProviderRegistryUnbondingNotReady.selector, alice, readyAt, 40e6)
        );
        registry.withdrawUnbonded();
        assertEq(token.balanceOf(alice), 0);
    }

    function test_RevertWhen_WithdrawUnbondedNothingUnbonding() public {
        registerAndStake(alice, 100e6);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(ProviderRegistry.ProviderRegistryUnbondingNotReady.selector, alice, uint64(0), 0)
        );
        registry.withdrawUnbonded();
    }

    function test_RevertWhen_WithdrawUnbondedTwice() public {
        registerAndStake(alice, 100e6);
        vm.prank(alice);
        registry.requestUnbond(100e6);
        vm.warp(NOW + UNBONDING_DELAY);
        vm.startPrank(alice);
        registry.withdrawUnbonded();
        vm.expectRevert(
            abi.encodeWithSelector(ProviderRegistry.ProviderRegistryUnbondingNotReady.selector, alice, uint64(0), 0)
        );
        registry.withdrawUnbonded();
        vm.stopPrank();
        assertEq(token.balanceOf(alice), 100e6);
    }

    function test_RevertWhen_WithdrawUnbondedNotRegistered() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryNotRegistered.selector, alice));
        registry.withdrawUnbonded();
    }

    function test_RequestUnbondAgainRestartsDelay() public {
        registerAndStake(alice, 300e6);
        vm.prank(alice);
        registry.requestUnbond(100e6);

        uint256 second = NOW + 6 days;
        vm.warp(second);
        uint64 newReadyAt = uint64(second) + UNBONDING_DELAY;
        vm.expectEmit(address(registry));
        emit UnbondRequested(alice, 50e6, newReadyAt);
        vm.prank(alice);
        registry.requestUnbond(50e6);
        assertEq(unbondingOf(alice), 150e6);
        assertEq(registry.getProvider(alice).unbondingReadyAt, newReadyAt);

        // The first request's deadline has passed, but the whole amount now waits for the new one.
        vm.warp(NOW + UNBONDING_DELAY);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(ProviderRegistry.ProviderRegistryUnbondingNotReady.selector, alice, newReadyAt, 150e6)
        );
        registry.withdrawUnbonded();

        vm.warp(newReadyAt);
        vm.prank(alice);
        registry.withdrawUnbonded();
        assertEq(token.balanceOf(alice), 150e6);
        assertEq(stakeOf(alice), 150e6);
        assertBooksBalance();
    }

    // ---------------------------------------------------------------- offers

    function test_SetOffer() public {
        registerAndStake(alice, MIN_STAKE);
        vm.expectEmit(address(registry));
        emit OfferSet(alice, modelId, 2_000, "call");
        vm.prank(alice);
        registry.setOffer(modelId, 2_000, "call");

        ProviderRegistry.Offer memory offer = registry.getOffer(alice, modelId);
        assertEq(offer.pricePerUnit, 2_000);
        assertEq(offer.unit, "call");
        assertTrue(offer.active);
        (uint256 price, bool active) = registry.getOfferPrice(alice, modelId);
        assertEq(price, 2_000);
        assertTrue(active);

        address[] memory list = registry.getProvidersForModel(modelId);
        assertEq(list.length, 1);
        assertEq(list[0], alice);
    }

    function test_SetOffer_UpdateDoesNotDuplicate() public {
        registerAndStake(alice, MIN_STAKE);
        vm.startPrank(alice);
        registry.setOffer(modelId, 2_000, "call");
        registry.setOffer(modelId, 7, "token");
        vm.stopPrank();

        ProviderRegistry.Offer memory offer = registry.getOffer(alice, modelId);
        assertEq(offer.pricePerUnit, 7);
        assertEq(offer.unit, "token");
        assertEq(registry.getProvidersForModel(modelId).length, 1);
    }

    function test_RevertWhen_SetOfferWithoutMinStake() public {
        // Every entry of a model's candidate list must cost stake (issue 9, finding 3).
        registerAndStake(alice, MIN_STAKE - 1);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(ProviderRegistry.ProviderRegistryInsufficientStake.selector, alice, MIN_STAKE - 1, MIN_STAKE)
        );
        registry.setOffer(modelId, PRICE, "call");
        assertEq(registry.getProvidersForModel(modelId).length, 0);
        assertEq(registry.getCandidateCount(modelId), 0);
    }

    function test_CandidateList_AppendOnly() public {
        registerAndStake(alice, MIN_STAKE);
        registerAndStake(bob, MIN_STAKE);
        vm.prank(alice);
        registry.setOffer(modelId, PRICE, "call");
        vm.prank(bob);
        registry.setOffer(modelId, PRICE, "call");
        // Removing and re-offering, or changing the price, never moves or duplicates an entry.
        vm.startPrank(alice);
        registry.removeOffer(modelId);
        registry.setOffer(modelId, PRICE + 1, "call");
        registry.setOffer(modelId, PRICE + 2, "call");
        vm.stopPrank();
        vm.prank(bob);
        registry.removeOffer(modelId);
        assertEq(registry.getCandidateCount(modelId), 2);
        assertEq(registry.getCandidate(modelId, 0), alice);
        assertEq(registry.getCandidate(modelId, 1), bob);
    }

    function test_OfferSince_RestartsOnlyWhenTheOfferIsRecreated() public {
        registerAndStake(alice, MIN_STAKE);
        vm.roll(10);
        vm.prank(alice);
        registry.setOffer(modelId, PRICE, "call");
        vm.roll(20);
        vm.prank(alice);
        registry.setOffer(modelId, PRICE + 1, "token");
        assertEq(registry.getOffer(alice, modelId).since, 10, "a price change keeps since");
        vm.startPrank(alice);
        registry.removeOffer(modelId);
        assertEq(registry.getOffer(alice, modelId).since, 0);
        vm.roll(30);
        registry.setOffer(modelId, PRICE, "call");
        vm.stopPrank();
        assertEq(registry.getOffer(alice, modelId).since, 30, "a new offer restarts since");
    }

    function test_StakedSince_RestartsWhenStakeClimbsBackToTheMinimum() public {
        vm.roll(10);
        registerAndStake(alice, MIN_STAKE / 2);
        assertEq(registry.getProvider(alice).stakedSince, 0, "below the minimum");
        vm.roll(20);
        fund(alice, MIN_STAKE);
        vm.prank(alice);
        registry.stake(MIN_STAKE / 2);
        assertEq(registry.getProvider(alice).stakedSince, 20);
        vm.roll(30);
        vm.prank(alice);
        registry.stake(1);
        assertEq(registry.getProvider(alice).stakedSince, 20, "more stake keeps it");
        vm.prank(alice);
        registry.requestUnbond(2);
        vm.roll(40);
        vm.prank(alice);
        registry.stake(1);
        assertEq(registry.getProvider(alice).stakedSince, 40, "climbing back restarts it");
    }

    function test_IsEligibleVerifier_FixedAtTheSnapshot() public {
        vm.roll(10);
        registerAndStake(alice, MIN_STAKE);
        vm.prank(alice);
        registry.setOffer(modelId, PRICE, "call");
        (address candidate, bool eligible) = registry.isEligibleVerifier(modelId, 0, 10, uint64(NOW));
        assertEq(candidate, alice);
        assertTrue(eligible);
        // Not yet offering at an earlier snapshot.
        (, eligible) = registry.isEligibleVerifier(modelId, 0, 9, uint64(NOW));
        assertFalse(eligible);
        // Past the list's end.
        (candidate, eligible) = registry.isEligibleVerifier(modelId, 1, 10, uint64(NOW));
        assertEq(candidate, address(0));
        assertFalse(eligible);
        // Re-offering after the snapshot makes it ineligible for that snapshot.
        vm.roll(11);
        vm.startPrank(alice);
        registry.removeOffer(modelId);
        registry.setOffer(modelId, PRICE, "call");
        vm.stopPrank();
        (, eligible) = registry.isEligibleVerifier(modelId, 0, 10, uint64(NOW));
        assertFalse(eligible, "re-offered after the snapshot");
        (, eligible) = registry.isEligibleVerifier(modelId, 0, 11, uint64(NOW));
        assertTrue(eligible);
        // Jailed now, or at the snapshot time.
        vm.prank(auditCourt);
        registry.jail(alice, uint64(NOW + 100));
        (, eligible) = registry.isEligibleVerifier(modelId, 0, 11, uint64(NOW + 200));
        assertFalse(eligible, "jailed now");
        vm.warp(NOW + 100);
        (, eligible) = registry.isEligibleVerifier(modelId, 0, 11, uint64(NOW + 50));
        assertFalse(eligible, "jailed at the snapshot");
        (, eligible) = registry.isEligibleVerifier(modelId, 0, 11, uint64(NOW + 100));
        assertTrue(eligible);
        // Stake below the minimum now.
        vm.prank(alice);
        registry.requestUnbond(1);
        (, eligible) = registry.isEligibleVerifier(modelId, 0, 11, uint64(NOW + 100));
        assertFalse(eligible, "under-staked");
    }

    function test_OpenAudits_BlockWithdrawal() public {
        registerAndStake(alice, MIN_STAKE);
        vm.startPrank(auditCourt);
        registry.noteAuditOpened(alice);
        registry.noteAuditOpened(alice);
        vm.stopPrank();
        assertEq(registry.getOpenAudits(alice), 2);
        vm.prank(alice);
        registry.requestUnbond(MIN_STAKE);
        vm.warp(NOW + UNBONDING_DELAY);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryAuditPending.selector, alice, uint32(2)));
        registry.withdrawUnbonded();
        vm.startPrank(auditCourt);
        registry.noteAuditClosed(alice);
        vm.stopPrank();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryAuditPending.selector, alice, uint32(1)));
        registry.withdrawUnbonded();
        vm.prank(auditCourt);
        registry.noteAuditClosed(alice);
        vm.prank(alice);
        registry.withdrawUnbonded();
        assertEq(token.balanceOf(alice), MIN_STAKE);
        vm.prank(auditCourt);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryNoOpenAudit.selector, alice));
        registry.noteAuditClosed(alice);
        assertBooksBalance();
    }

    function test_RevertWhen_NoteAuditByNonAuditCourt() public {
        registerAndStake(alice, MIN_STAKE);
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryUnauthorized.selector, alice));
        registry.noteAuditOpened(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryUnauthorized.selector, alice));
        registry.noteAuditClosed(alice);
        vm.stopPrank();
    }

    function test_RevertWhen_SetOfferNotRegistered() public {
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryNotRegistered.selector, alice));
        registry.setOffer(modelId, PRICE, "call");
    }

    function test_RevertWhen_SetOfferUnknownModel() public {
        registerAndStake(alice, MIN_STAKE);
        bytes32 unknown = keccak256("unknown");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryUnknownModel.selector, unknown));
        registry.setOffer(unknown, PRICE, "call");
        assertEq(registry.getProvidersForModel(unknown).length, 0);
    }

    function test_RevertWhen_SetOfferZeroPrice() public {
        registerAndStake(alice, MIN_STAKE);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryZeroPrice.selector));
        registry.setOffer(modelId, 0, "call");
        assertEq(registry.getProvidersForModel(modelId).length, 0);
    }

    function test_RemoveOffer() public {
        makeProvider(alice);
        makeProvider(bob);
        assertEq(registry.getProvidersForModel(modelId).length, 2);

        vm.expectEmit(address(registry));
        emit OfferRemoved(alice, modelId);
        vm.prank(alice);
        registry.removeOffer(modelId);

        address[] memory list = registry.getProvidersForModel(modelId);
        assertEq(list.length, 1);
        assertEq(list[0], bob);
        (uint256 price, bool active) = registry.getOfferPrice(alice, modelId);
        assertEq(price, 0);
        assertFalse(active);
        ProviderRegistry.Offer memory offer = registry.getOffer(alice, modelId);
        assertEq(offer.unit, "");

        // Offering again puts it back.
        vm.prank(alice);
        registry.setOffer(modelId, PRICE, "call");
        assertEq(registry.getProvidersForModel(modelId).length, 2);
    }

    function test_RevertWhen_RemoveOfferNoOffer() public {
        registerAndStake(alice, MIN_STAKE);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryNoOffer.selector, alice, modelId));
        registry.removeOffer(modelId);
    }

    function test_RevertWhen_RemoveOfferTwice() public {
        makeProvider(alice);
        vm.startPrank(alice);
        registry.removeOffer(modelId);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryNoOffer.selector, alice, modelId));
        registry.removeOffer(modelId);
        vm.stopPrank();
    }

    function test_RevertWhen_RemoveOfferNotRegistered() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryNoOffer.selector, stranger, modelId));
        registry.removeOffer(modelId);
    }

    function test_GetProvidersForModel_PerModel() public {
        bytes32 otherModel = registerModel(keccak256("other.onnx"), 0);
        makeProvider(alice);
        makeProvider(bob);
        vm.prank(bob);
        registry.setOffer(otherModel, 5, "call");

        assertEq(registry.getProvidersForModel(modelId).length, 2);
        address[] memory other = registry.getProvidersForModel(otherModel);
        assertEq(other.length, 1);
        assertEq(other[0], bob);

        vm.prank(bob);
        registry.removeOffer(modelId);
        address[] memory first = registry.getProvidersForModel(modelId);
        assertEq(first.length, 1);
        assertEq(first[0], alice);
        assertEq(registry.getProvidersForModel(otherModel).length, 1);
    }

    // ---------------------------------------------------------------- isActive

    function test_IsActive_RequiresRegistrationAndMinStake() public {
        assertFalse(registry.isActive(alice));
        registerAndStake(alice, MIN_STAKE - 1);
        assertFalse(registry.isActive(alice));

        token.mint(alice, 1);
        vm.prank(alice);
        registry.stake(1);
        assertTrue(registry.isActive(alice));
    }

    function test_IsActive_FalseAfterUnbondingBelowMin() public {
        registerAndStake(alice, MIN_STAKE);
        vm.prank(alice);
        registry.requestUnbond(1);
        assertFalse(registry.isActive(alice));
    }

    function test_IsActive_JailedUntilTimestamp() public {
        makeProvider(alice);
        uint64 until = uint64(NOW + 1 days);
        vm.prank(auditCourt);
        registry.jail(alice, until);

        assertFalse(registry.isActive(alice));
        vm.warp(until - 1);
        assertFalse(registry.isActive(alice));
        vm.warp(until);
        assertTrue(registry.isActive(alice));
        vm.warp(until + 30 days);
        assertTrue(registry.isActive(alice));
    }

    // ---------------------------------------------------------------- jail

    function test_Jail() public {
        makeProvider(alice);
        uint64 until = uint64(NOW + 1 days);
        vm.expectEmit(address(registry));
        emit Jailed(alice, until);
        vm.prank(auditCourt);
        registry.jail(alice, until);
        assertEq(registry.getProvider(alice).jailedUntil, until);
    }

    function test_Jail_OnlyExtends() public {
        makeProvider(alice);
        uint64 longer = uint64(NOW + 10 days);
        vm.startPrank(auditCourt);
        registry.jail(alice, longer);

        // A shorter sentence does not cut the running one short; the event reports the one in force.
        vm.expectEmit(address(registry));
        emit Jailed(alice, longer);
        registry.jail(alice, uint64(NOW + 1 days));
        vm.stopPrank();

        assertEq(registry.getProvider(alice).jailedUntil, longer);
        vm.warp(NOW + 1 days);
        assertFalse(registry.isActive(alice));
    }

    function test_RevertWhen_JailByNonAuditCourt() public {
        makeProvider(alice);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryUnauthorized.selector, stranger));
        registry.jail(alice, uint64(NOW + 1 days));
        assertTrue(registry.isActive(alice));
    }

    function test_RevertWhen_JailByProviderItself() public {
        makeProvider(alice);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryUnauthorized.selector, alice));
        registry.jail(alice, uint64(NOW + 1 days));
    }

    function test_RevertWhen_JailUnregistered() public {
        vm.prank(auditCourt);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryNotRegistered.selector, stranger));
        registry.jail(stranger, uint64(NOW + 1 days));
    }

    // ---------------------------------------------------------------- slash

    function test_Slash_FromStake() public {
        registerAndStake(alice, 300e6);
        vm.expectEmit(address(registry));
        emit Slashed(alice, 50e6, slashRecipient);
        vm.prank(auditCourt);
        uint256 slashed = registry.slash(alice, 50e6, slashRecipient);

        assertEq(slashed, 50e6);
        assertEq(stakeOf(alice), 250e6);
        assertEq(token.balanceOf(slashRecipient), 50e6);
        assertEq(registry.getTotalStaked(), 250e6);
        assertBooksBalance();
    }

    function test_Slash_StakeThenUnbonding() public {
        registerAndStake(alice, 300e6);
        vm.prank(alice);
        registry.requestUnbond(200e6); // stake 100, unbonding 200

        vm.prank(auditCourt);
        uint256 slashed = registry.slash(alice, 150e6, slashRecipient);

        assertEq(slashed, 150e6);
        assertEq(stakeOf(alice), 0);
        assertEq(unbondingOf(alice), 150e6);
        assertEq(token.balanceOf(slashRecipient), 150e6);
        assertBooksBalance();

        // What is left unbonding can still be withdrawn after the delay.
        vm.warp(NOW + UNBONDING_DELAY);
        vm.prank(alice);
        registry.withdrawUnbonded();
        assertEq(token.balanceOf(alice), 150e6);
        assertEq(registry.getTotalStaked(), 0);
        assertBooksBalance();
    }

    function test_Slash_CappedAtWhatExists() public {
        registerAndStake(alice, 300e6);
        vm.prank(alice);
        registry.requestUnbond(100e6);

        vm.expectEmit(address(registry));
        emit Slashed(alice, 300e6, slashRecipient);
        vm.prank(auditCourt);
        uint256 slashed = registry.slash(alice, 1_000e6, slashRecipient);

        assertEq(slashed, 300e6);
        assertEq(stakeOf(alice), 0);
        assertEq(unbondingOf(alice), 0);
        assertEq(token.balanceOf(slashRecipient), 300e6);
        assertEq(registry.getTotalStaked(), 0);
        assertBooksBalance();
        assertFalse(registry.isActive(alice));

        // Nothing is left to withdraw once the unbonding stake is gone.
        vm.warp(NOW + UNBONDING_DELAY);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(
                ProviderRegistry.ProviderRegistryUnbondingNotReady.selector, alice, uint64(NOW) + UNBONDING_DELAY, 0
            )
        );
        registry.withdrawUnbonded();
    }

    function test_Slash_DoesNotTouchOtherProviders() public {
        registerAndStake(alice, 100e6);
        registerAndStake(bob, 200e6);
        vm.prank(auditCourt);
        registry.slash(alice, type(uint256).max, slashRecipient);

        assertEq(stakeOf(bob), 200e6);
        assertEq(token.balanceOf(slashRecipient), 100e6);
        assertEq(registry.getTotalStaked(), 200e6);
        assertBooksBalance();
    }

    function test_Slash_NothingToTake() public {
        registerAndStake(alice, 0);
        vm.expectEmit(address(registry));
        emit Slashed(alice, 0, slashRecipient);
        vm.prank(auditCourt);
        uint256 slashed = registry.slash(alice, 10e6, slashRecipient);
        assertEq(slashed, 0);
        assertEq(token.balanceOf(slashRecipient), 0);
    }

    function test_RevertWhen_SlashByNonAuditCourt() public {
        registerAndStake(alice, 100e6);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryUnauthorized.selector, stranger));
        registry.slash(alice, 100e6, stranger);
        assertEq(stakeOf(alice), 100e6);
        assertEq(token.balanceOf(stranger), 0);
    }

    function test_RevertWhen_SlashUnregistered() public {
        vm.prank(auditCourt);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryNotRegistered.selector, stranger));
        registry.slash(stranger, 1, slashRecipient);
    }

    // ---------------------------------------------------------------- fuzz

    function testFuzz_StakeUnbondWithdrawConservesTokens(uint256 stakeAmount, uint256 unbondAmount, uint256 wait)
        public
    {
        stakeAmount = bound(stakeAmount, 1, 1e30);
        unbondAmount = bound(unbondAmount, 1, stakeAmount);
        wait = bound(wait, 0, 2 * uint256(UNBONDING_DELAY));
        registerAndStake(alice, stakeAmount);

        vm.prank(alice);
        registry.requestUnbond(unbondAmount);
        assertEq(stakeOf(alice) + unbondingOf(alice), stakeAmount);
        assertBooksBalance();

        vm.warp(NOW + wait);
        vm.prank(alice);
        if (wait < UNBONDING_DELAY) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    ProviderRegistry.ProviderRegistryUnbondingNotReady.selector,
                    alice,
                    uint64(NOW) + UNBONDING_DELAY,
                    unbondAmount
                )
            );
            registry.withdrawUnbonded();
            assertEq(token.balanceOf(alice), 0);
        } else {
            registry.withdrawUnbonded();
            assertEq(token.balanceOf(alice), unbondAmount);
        }
        assertEq(token.balanceOf(alice) + token.balanceOf(address(registry)), stakeAmount);
        assertEq(stakeOf(alice), stakeAmount - unbondAmount);
        assertBooksBalance();
    }

    function testFuzz_SlashConservesTokens(uint256 stakeAmount, uint256 unbondAmount, uint256 slashAmount) public {
        stakeAmount = bound(stakeAmount, 0, 1e30);
        unbondAmount = bound(unbondAmount, 0, stakeAmount);
        registerAndStake(alice, stakeAmount);
        registerAndStake(bob, MIN_STAKE);
        if (unbondAmount > 0) {
            vm.prank(alice);
            registry.requestUnbond(unbondAmount);
        }
        uint256 bonded = stakeAmount - unbondAmount;
        uint256 expected = slashAmount < stakeAmount ? slashAmount : stakeAmount;
        uint256 expectedFromStake = expected < bonded ? expected : bonded;

        vm.expectEmit(address(registry));
        emit Slashed(alice, expected, slashRecipient);
        vm.prank(auditCourt);
        uint256 slashed = registry.slash(alice, slashAmount, slashRecipient);

        assertEq(slashed, expected);
        assertEq(stakeOf(alice), bonded - expectedFromStake);
        assertEq(unbondingOf(alice), unbondAmount - (expected - expectedFromStake));
        assertEq(token.balanceOf(slashRecipient), expected);
        assertEq(stakeOf(bob), MIN_STAKE);
        assertEq(registry.getTotalStaked(), stakeAmount + MIN_STAKE - expected);
        assertBooksBalance();
    }

    function testFuzz_RequestUnbondAboveStakeReverts(uint256 stakeAmount, uint256 unbondAmount) public {
        stakeAmount = bound(stakeAmount, 0, 1e30);
        unbondAmount = bound(unbondAmount, stakeAmount + 1, type(uint256).max);
        registerAndStake(alice, stakeAmount);
        vm.prank(alice);
        vm.expectRevert(
            abi.encodeWithSelector(
                ProviderRegistry.ProviderRegistryInsufficientStake.selector, alice, stakeAmount, unbondAmount
            )
        );
        registry.requestUnbond(unbondAmount);
    }

    function testFuzz_IsActive(uint256 stakeAmount, uint64 jailFor, uint64 elapsed) public {
        stakeAmount = bound(stakeAmount, 0, 10 * MIN_STAKE);
        jailFor = uint64(bound(jailFor, 0, 365 days));
        elapsed = uint64(bound(elapsed, 0, 400 days));
        registerAndStake(alice, stakeAmount);
        uint64 until = uint64(NOW) + jailFor;
        vm.prank(auditCourt);
        registry.jail(alice, until);

        vm.warp(NOW + elapsed);
        bool expected = stakeAmount >= MIN_STAKE && NOW + elapsed >= until;
        assertEq(registry.isActive(alice), expected);
    }

    function testFuzz_OnlyAuditCourtJailsAndSlashes(address caller, uint256 amount) public {
        vm.assume(caller != auditCourt);
        registerAndStake(alice, MIN_STAKE);
        vm.startPrank(caller);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryUnauthorized.selector, caller));
        registry.jail(alice, type(uint64).max);
        vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryUnauthorized.selector, caller));
        registry.slash(alice, amount, caller);
        vm.stopPrank();
        assertTrue(registry.isActive(alice));
        assertEq(stakeOf(alice), MIN_STAKE);
    }

    function testFuzz_SetOfferPrice(uint256 price, string calldata unit) public {
        registerAndStake(alice, MIN_STAKE);
        vm.prank(alice);
        if (price == 0) {
            vm.expectRevert(abi.encodeWithSelector(ProviderRegistry.ProviderRegistryZeroPrice.selector));
            registry.setOffer(modelId, price, unit);
            assertEq(registry.getProvidersForModel(modelId).length, 0);
        } else {
            registry.setOffer(modelId, price, unit);
            (uint256 got, bool active) = registry.getOfferPrice(alice, modelId);
            assertEq(got, price);
            assertTrue(active);
            assertEq(registry.getOffer(alice, modelId).unit, unit);
        }
    }
}

/// @notice Drives the registry with random stake, unbond, withdraw, jail and slash calls from a few
/// providers, so the invariants below are checked after every step of many random sequences.
contract ProviderRegistryHandler is CommonBase, StdUtils {
    ProviderRegistry private immutable _registry;
    DevUSD private immutable _token;
    address private immutable _auditCourt;
    address private immutable _recipient;
    address[] private _actors;

    constructor(ProviderRegistry registry_, DevUSD token_, address auditCourt_, address recipient_, address[] memory actors_) {
        _registry = registry_;
        _token = token_;
        _auditCourt = auditCourt_;
        _recipient = recipient_;
        _actors = actors_;
    }

    function actors() external view returns (address[] memory) {
        return _actors;
    }

    function stake(uint256 actorSeed, uint256 amount) external {
        address actor = _actor(actorSeed);
        uint256 balance = _token.balanceOf(actor);
        if (balance == 0) return;
        amount = bound(amount, 1, balance);
        vm.prank(actor);
        _registry.stake(amount);
    }

    function requestUnbond(uint256 actorSeed, uint256 amount) external {
        address actor = _actor(actorSeed);
        uint256 staked = _registry.getProvider(actor).stake;
        if (staked == 0) return;
        amount = bound(amount, 1, staked);
        vm.prank(actor);
        _registry.requestUnbond(amount);
    }

    function withdrawUnbonded(uint256 actorSeed) external {
        address actor = _actor(actorSeed);
        ProviderRegistry.Provider memory p = _registry.getProvider(actor);
        if (p.unbondingAmount == 0 || block.timestamp < p.unbondingReadyAt) return;
        vm.prank(actor);
        _registry.withdrawUnbonded();
    }

    function slash(uint256 actorSeed, uint256 amount) external {
        address actor = _actor(actorSeed);
        vm.prank(_auditCourt);
        _registry.slash(actor, bound(amount, 0, 1_000e6), _recipient);
    }

    function jail(uint256 actorSeed, uint64 duration) external {
        address actor = _actor(actorSeed);
        vm.prank(_auditCourt);
        _registry.jail(actor, uint64(block.timestamp + bound(duration, 0, 30 days)));
    }

    function warp(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 0, 10 days));
    }

    function _actor(uint256 seed) private view returns (address) {
        return _actors[seed % _actors.length];
    }
}

/// @notice Money rules of the registry that must hold after any sequence of calls.
contract ProviderRegistryInvariantTest is AgoraFixture {
    uint256 private constant INITIAL = 500e6;

    ProviderRegistryHandler private handler;
    address private recipient = makeAddr("slashRecipient");
    address[] private actors;

    function setUp() public override {
        super.setUp();
        vm.warp(1_700_000_000);
        actors.push(makeAddr("p1"));
        actors.push(makeAddr("p2"));
        actors.push(makeAddr("p3"));
        for (uint256 i = 0; i < actors.length; ++i) {
            fund(actors[i], INITIAL);
            vm.prank(actors[i]);
            registry.register("http://p", hex"02");
        }
        handler = new ProviderRegistryHandler(registry, token, auditCourt, recipient, actors);
        targetContract(address(handler));
    }

    /// @dev The registry's books equal the tokens it holds.
    function invariant_TotalStakedEqualsBalance() public view {
        assertEq(registry.getTotalStaked(), token.balanceOf(address(registry)));
    }

    /// @dev The books are the sum of every provider's stake and unbonding stake.
    function invariant_TotalStakedIsSumOfProviders() public view {
        uint256 sum;
        for (uint256 i = 0; i < actors.length; ++i) {
            ProviderRegistry.Provider memory p = registry.getProvider(actors[i]);
            sum += p.stake + p.unbondingAmount;
        }
        assertEq(registry.getTotalStaked(), sum);
    }

    /// @dev No token is created or lost: it sits with a provider, in the registry or with the slash recipient.
    function invariant_TokensConserved() public view {
        uint256 sum = token.balanceOf(address(registry)) + token.balanceOf(recipient);
        for (uint256 i = 0; i < actors.length; ++i) {
            sum += token.balanceOf(actors[i]);
        }
        assertEq(sum, INITIAL * actors.length);
        assertEq(token.totalSupply(), INITIAL * actors.length);
    }
}
