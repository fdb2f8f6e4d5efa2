// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {DevUSD} from "../../../src/DevUSD.sol";
import {ProviderRegistry} from "../../../src/ProviderRegistry.sol";
import {HandlerBase} from "./HandlerBase.sol";

/// @notice Drives ProviderRegistry through random sequences of provider and audit-court calls and
/// keeps its own ledger of what every provider should have staked, unbonding and slashed.
contract ProviderRegistryHandler is HandlerBase {
    /// @notice What the handler believes about one provider.
    struct GhostProvider {
        bool registered;
        uint256 stake;
        uint256 unbonding;
        uint64 readyAt;
        uint64 jailedUntil;
        uint256 deposited;
        uint256 withdrawn;
        uint256 slashed;
        uint32 openAudits;
    }

    /// @notice What an action needs of the provider it picks.
    enum Need {
        Registered,
        Stake,
        Unbonding
    }

    DevUSD public immutable token;
    ProviderRegistry public immutable registry;
    address public immutable auditCourt;
    /// @notice Where the audit court sends slashed stake.
    address public immutable slashRecipient;
    uint64 public immutable unbondingDelay;

    address[] internal _providers;
    bytes32[] internal _models;
    bytes32 public constant UNKNOWN_MODEL = keccak256("not in the ModelRegistry");

    mapping(address provider => GhostProvider) internal _ghost;
    mapping(address provider => mapping(bytes32 modelId => uint256 price)) public ghostOfferPrice;
    uint256 public ghostTotalSlashed;
    /// @notice Each model's candidate list as it must be: append-only, in first-offer order.
    mapping(bytes32 modelId => address[]) internal _ghostCandidates;
    mapping(bytes32 modelId => mapping(address provider => bool)) internal _ghostIsCandidate;
    uint256 public immutable minStake;

    constructor(
        DevUSD token_,
        ProviderRegistry registry_,
        address slashRecipient_,
        address[] memory providers_,
        bytes32[] memory models_
    ) {
        token = token_;
        registry = registry_;
        auditCourt = registry_.auditCourt();
        slashRecipient = slashRecipient_;
        unbondingDelay = registry_.unbondingDelay();
        minStake = registry_.minStake();
        _providers = providers_;
        _models = models_;
    }

    // ---------------------------------------------------------------- provider actions

    function register(uint256 actorSeed, uint256 endpointSeed) external {
        address provider = _pick(_providers, actorSeed);
        string memory endpoint = endpointSeed % 8 == 0 ? "" : "http://127.0.0.1:8001";
        bool expected = !_ghost[provider].registered && bytes(endpoint).length > 0;
        vm.prank(provider);
        try registry.register(endpoint, hex"02") {
            _ghost[provider].registered = true;
            _count(this.register.selector);
            _check(expected, true, "register");
        } catch {
            _check(expected, false, "register");
        }
    }

    function updateProvider(uint256 actorSeed, uint256 endpointSeed) external {
        address provider = _pick(_providers, actorSeed);
        string memory endpoint = endpointSeed % 8 == 0 ? "" : "https://provider.example";
        bool expected = _ghost[provider].registered && bytes(endpoint).length > 0;
        vm.prank(provider);
        try registry.updateProvider(endpoint, hex"03") {
            _count(this.updateProvider.selector);
            _check(expected, true, "updateProvider");
        } catch {
            _check(expected, false, "updateProvider");
        }
    }

    function stake(uint256 actorSeed, uint256 amount) external {
        address provider = _pickProvider(actorSeed, Need.Registered);
        amount = bound(amount, 0, 1_000e6);
        GhostProvider storage ghost = _ghost[provider];
        bool expected = ghost.registered && amount > 0;
        uint256 before = token.balanceOf(address(registry));
        vm.prank(provider);
        try registry.stake(amount) {
            ghost.stake += amount;
            ghost.deposited += amount;
            _count(this.stake.selector);
            _check(expected, true, "stake");
            _checkEq(token.balanceOf(address(registry)) - before, amount, "stake moved");
        } catch {
            _check(expected, false, "stake");
        }
    }

    function requestUnbond(uint256 actorSeed, uint256 amount) external {
        address provider = _pickProvider(actorSeed, Need.Stake);
        GhostProvider storage ghost = _ghost[provider];
        // Sometimes more than the stake, which must revert.
        amount = bound(amount, 0, ghost.stake + 10);
        bool expected = ghost.registered && amount > 0 && amount <= ghost.stake;
        vm.prank(provider);
        try registry.requestUnbond(amount) {
            ghost.stake -= amount;
            ghost.unbonding += amount;
            ghost.readyAt = uint64(block.timestamp) + unbondingDelay;
            _count(this.requestUnbond.selector);
            _check(expected, true, "requestUnbond");
        } catch {
            _check(expected, false, "requestUnbond");
        }
    }

    function withdrawUnbonded(uint256 actorSeed, uint256 warpSeconds) external {
        // Half the time far enough for the unbonding delay to pass.
        _warp(bound(warpSeconds, 0, 2 * unbondingDelay));
        address provider = _pickProvider(actorSeed, Need.Unbonding);
        GhostProvider storage ghost = _ghost[provider];
        // Never while an audit of the provider is open (issue 9, finding 5).
        bool expected = ghost.registered && ghost.unbonding > 0 && block.timestamp >= ghost.readyAt && ghost.openAudits == 0;
        uint256 before = token.balanceOf(provider);
        vm.prank(provider);
        try registry.withdrawUnbonded() {
            _count(this.withdrawUnbonded.selector);
            _check(expected, true, "withdrawUnbonded");
            _checkEq(token.balanceOf(provider) - before, ghost.unbonding, "withdrawUnbonded paid");
            ghost.withdrawn += ghost.unbonding;
            ghost.unbonding = 0;
            ghost.readyAt = 0;
        } catch {
            _check(expected, false, "withdrawUnbonded");
        }
    }

    function setOffer(uint256 actorSeed, uint256 modelSeed, uint256 price) external {
        address provider = _pick(_providers, actorSeed);
        // One time in three an id the ModelRegistry does not know, which must revert.
        bytes32 modelId = modelSeed % 3 == 2 ? UNKNOWN_MODEL : _models[modelSeed % _models.length];
        price = bound(price, 0, 1e9);
        // An offer needs the minimum stake (issue 9, finding 3).
        bool expected = _ghost[provider].registered && modelId != UNKNOWN_MODEL && price > 0 && _ghost[provider].stake >= minStake;
        vm.prank(provider);
        try registry.setOffer(modelId, price, "call") {
            ghostOfferPrice[provider][modelId] = price;
            if (!_ghostIsCandidate[modelId][provider]) {
                _ghostIsCandidate[modelId][provider] = true;
                _ghostCandidates[modelId].push(provider);
            }
            _count(this.setOffer.selector);
            _check(expected, true, "setOffer");
        } catch {
            _check(expected, false, "setOffer");
        }
    }

    function removeOffer(uint256 actorSeed, uint256 modelSeed) external {
        address provider = _pick(_providers, actorSeed);
        bytes32 modelId = _models[modelSeed % _models.length];
        bool expected = ghostOfferPrice[provider][modelId] > 0;
        vm.prank(provider);
        try registry.removeOffer(modelId) {
            ghostOfferPrice[provider][modelId] = 0;
            _count(this.removeOffer.selector);
            _check(expected, true, "removeOffer");
        } catch {
            _check(expected, false, "removeOffer");
        }
    }

    // ---------------------------------------------------------------- audit court actions

    /// @notice The court counts an audit of a provider as opened or closed; an impostor must fail,
    /// and so must closing more than were opened.
    function noteAudit(uint256 actorSeed, bool open, uint256 callerSeed) external {
        address provider = _pickProvider(actorSeed, Need.Registered);
        address caller = callerSeed % 5 == 0 ? _pick(_providers, callerSeed / 5) : auditCourt;
        GhostProvider storage ghost = _ghost[provider];
        bool expected = caller == auditCourt && ghost.registered && (open || ghost.openAudits > 0);
        vm.prank(caller);
        if (open) {
            try registry.noteAuditOpened(provider) {
                ghost.openAudits++;
                _count(this.noteAudit.selector);
                _check(expected, true, "noteAuditOpened");
            } catch {
                _check(expected, false, "noteAuditOpened");
            }
        } else {
            try registry.noteAuditClosed(provider) {
                ghost.openAudits--;
                _count(this.noteAudit.selector);
                _check(expected, true, "noteAuditClosed");
            } catch {
                _check(expected, false, "noteAuditClosed");
            }
        }
    }

    function jail(uint256 actorSeed, uint256 duration, uint256 callerSeed) external {
        address provider = _pick(_providers, actorSeed);
        // One call in five comes from a provider, which must revert.
        address caller = callerSeed % 5 == 0 ? _pick(_providers, callerSeed / 5) : auditCourt;
        uint64 until = uint64(block.timestamp + bound(duration, 0, 30 days));
        GhostProvider storage ghost = _ghost[provider];
        bool expected = caller == auditCourt && ghost.registered;
        vm.prank(caller);
        try registry.jail(provider, until) {
            if (until > ghost.jailedUntil) ghost.jailedUntil = until;
            _count(this.jail.selector);
            _check(expected, true, "jail");
        } catch {
            _check(expected, false, "jail");
        }
    }

    function slash(uint256 actorSeed, uint256 amount, uint256 callerSeed) external {
        address provider = _pickProvider(actorSeed, Need.Stake);
        address caller = callerSeed % 5 == 0 ? _pick(_providers, callerSeed / 5) : auditCourt;
        GhostProvider storage ghost = _ghost[provider];
        // Sometimes more than the provider holds: the slash takes what there is.
        amount = bound(amount, 0, ghost.stake + ghost.unbonding + 100e6);
        bool expected = caller == auditCourt && ghost.registered;
        uint256 before = token.balanceOf(slashRecipient);
        vm.prank(caller);
        try registry.slash(provider, amount, slashRecipient) returns (uint256 slashed) {
            uint256 fromStake = amount < ghost.stake ? amount : ghost.stake;
            uint256 rest = amount - fromStake;
            uint256 fromUnbonding = rest < ghost.unbonding ? rest : ghost.unbonding;
            ghost.stake -= fromStake;
            ghost.unbonding -= fromUnbonding;
            ghost.slashed += fromStake + fromUnbonding;
            ghostTotalSlashed += fromStake + fromUnbonding;
            _count(this.slash.selector);
            _check(expected, true, "slash");
            _checkEq(slashed, fromStake + fromUnbonding, "slash returned");
            _checkEq(token.balanceOf(slashRecipient) - before, slashed, "slash moved");
        } catch {
            _check(expected, false, "slash");
        }
    }

    function warp(uint256 secondsForward) external {
        _warp(bound(secondsForward, 0, 10 days));
    }

    // ---------------------------------------------------------------- end of a sequence

    /// @notice Unbonds and withdraws every provider's remaining stake; not a fuzzed action.
    function exitAll() external {
        for (uint256 i; i < _providers.length; i++) {
            address provider = _providers[i];
            GhostProvider storage ghost = _ghost[provider];
            // Every audit ends first.
            for (; ghost.openAudits > 0; ghost.openAudits--) {
                vm.prank(auditCourt);
                registry.noteAuditClosed(provider);
            }
            if (ghost.stake == 0) continue;
            vm.prank(provider);
            registry.requestUnbond(ghost.stake);
            ghost.unbonding += ghost.stake;
            ghost.stake = 0;
        }
        _warp(unbondingDelay);
        for (uint256 i; i < _providers.length; i++) {
            address provider = _providers[i];
            GhostProvider storage ghost = _ghost[provider];
            if (ghost.unbonding == 0) continue;
            vm.prank(provider);
            registry.withdrawUnbonded();
            ghost.withdrawn += ghost.unbonding;
            ghost.unbonding = 0;
        }
    }

    /// @dev Three times in four a provider that has what the action needs (when there is one), so
    /// calls mostly land; otherwise any provider. Both must behave.
    function _pickProvider(uint256 seed, Need need) internal view returns (address) {
        if (seed % 4 != 0) {
            for (uint256 k; k < _providers.length; k++) {
                address provider = _providers[(seed / 4 + k) % _providers.length];
                GhostProvider storage ghost = _ghost[provider];
                bool fits = need == Need.Registered
                    ? ghost.registered
                    : need == Need.Stake ? ghost.stake > 0 : ghost.unbonding > 0;
                if (fits) return provider;
            }
        }
        return _pick(_providers, seed);
    }

    // ---------------------------------------------------------------- views for the invariants

    function ghostProvider(address provider) external view returns (GhostProvider memory) {
        return _ghost[provider];
    }

    function ghostCandidates(bytes32 modelId) external view returns (address[] memory) {
        return _ghostCandidates[modelId];
    }
}
