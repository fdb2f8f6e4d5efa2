// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {IProviderRegistry} from "./interfaces/IProviderRegistry.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";

/// @title ProviderRegistry
/// @notice Providers register an endpoint and a public key, lock stake as collateral for honest
/// work, and publish per-model price offers. Stake leaves only through an unbonding delay, during
/// which it can still be slashed, and never while an audit of the provider is open, so a cheater
/// cannot run with it before an audit lands. An offer needs the minimum stake, so every entry of a
/// model's append-only candidate list (the audit court draws verifiers from it) cost real stake.
/// Only the audit contract (fixed at deploy) can jail, slash and count open audits.
contract ProviderRegistry is IProviderRegistry, ReentrancyGuard {
    using SafeERC20 for IERC20;
    using EnumerableSet for EnumerableSet.AddressSet;

    /// @notice A provider's public record. `stakedSince`: the block in which `stake` last rose to
    /// the minimum from below (0: never); the court draws only providers staked since before an
    /// audit opened. `openAudits`: audits of this provider not yet resolved or cancelled; stake
    /// cannot be withdrawn while any is open. The last five fields share one storage slot.
    struct Provider {
        bool registered;
        string endpoint;
        bytes publicKey;
        uint256 stake;
        uint256 unbondingAmount;
        uint64 unbondingReadyAt;
        uint64 jailedUntil;
        uint64 stakedSince;
        uint32 openAudits;
    }

    /// @notice A provider's price for a model. `unit` names what one unit is ("call", "token", ...).
    /// `since`: the block in which the offer was (re)created; a price change keeps it.
    struct Offer {
        uint256 pricePerUnit;
        string unit;
        bool active;
        uint64 since;
    }

    IERC20 private immutable _token;
    IModelRegistry private immutable _modelRegistry;
    address private immutable _auditCourt;
    uint256 private immutable _minStake;
    uint64 private immutable _unbondingDelay;

    mapping(address provider => Provider) private _providers;
    mapping(address provider => mapping(bytes32 modelId => Offer)) private _offers;
    mapping(bytes32 modelId => EnumerableSet.AddressSet) private _providersByModel;
    /// @dev Append-only: a provider is pushed the first time it offers the model, never removed or
    /// moved, so an index means the same provider forever and a length fixes a set.
    mapping(bytes32 modelId => address[]) private _candidates;
    mapping(bytes32 modelId => mapping(address provider => bool)) private _isCandidate;
    address[] private _providerList;
    uint256 private _totalStaked;

    /// @notice Emitted when a provider registers.
    event ProviderRegistered(address indexed provider, string endpoint, bytes publicKey);
    /// @notice Emitted when a provider changes its endpoint or key.
    event ProviderUpdated(address indexed provider, string endpoint, bytes publicKey);
    /// @notice Emitted when stake is added.
    event Staked(address indexed provider, uint256 amount, uint256 totalStake);
    /// @notice Emitted when stake starts unbonding.
    event UnbondRequested(address indexed provider, uint256 amount, uint64 readyAt);
    /// @notice Emitted when unbonded stake is withdrawn.
    event UnbondWithdrawn(address indexed provider, uint256 amount);
    /// @notice Emitted when an offer is created or changed.
    event OfferSet(address indexed provider, bytes32 indexed modelId, uint256 pricePerUnit, string unit);
    /// @notice Emitted when an offer is withdrawn.
    event OfferRemoved(address indexed provider, bytes32 indexed modelId);
    /// @notice Emitted when the audit contract jails a provider.
    event Jailed(address indexed provider, uint64 until);
    /// @notice Emitted when the audit contract slashes a provider.
    event Slashed(address indexed provider, uint256 amount, address indexed recipient);
    /// @notice Emitted the first time a provider offers a model: it joins the model's candidate list at `index`.
    event CandidateAdded(bytes32 indexed modelId, address indexed provider, uint256 index);

    /// @notice The caller is not a registered provider.
    error ProviderRegistryNotRegistered(address account);
    /// @notice The caller is already registered.
    error ProviderRegistryAlreadyRegistered(address provider);
    /// @notice The endpoint URL is empty.
    error ProviderRegistryEmptyEndpoint();
    /// @notice An amount of zero was given where tokens must move.
    error ProviderRegistryZeroAmount();
    /// @notice The provider wants to unbond more than it has staked, or offers with less than the minimum stake.
    error ProviderRegistryInsufficientStake(address provider, uint256 stake, uint256 requested);
    /// @notice Stake cannot be withdrawn while audits of the provider are open.
    error ProviderRegistryAuditPending(address provider, uint32 openAudits);
    /// @notice `noteAuditClosed` for a provider with no open audit (a court bug).
    error ProviderRegistryNoOpenAudit(address provider);
    /// @notice Nothing is unbonding, or the unbonding delay has not passed yet.
    error ProviderRegistryUnbondingNotReady(address provider, uint64 readyAt, uint256 amount);
    /// @notice The model is not in the ModelRegistry.
    error ProviderRegistryUnknownModel(bytes32 modelId);
    /// @notice The provider has no offer for this model.
    error ProviderRegistryNoOffer(address provider, bytes32 modelId);
    /// @notice An offer with price zero; free work cannot be audited for money.
    error ProviderRegistryZeroPrice();
    /// @notice Only the audit contract may jail or slash.
    error ProviderRegistryUnauthorized(address caller);

    /// @param token_ ERC-20 in which stake is held.
    /// @param modelRegistry_ Catalogue that offers must refer to.
    /// @param auditCourt_ The only address allowed to jail and slash.
    /// @param minStake_ Stake a provider needs to be active.
    /// @param unbondingDelay_ Seconds between requesting an unbond and withdrawing it.
    constructor(
        IERC20 token_,
        IModelRegistry modelRegistry_,
        address auditCourt_,
        uint256 minStake_,
        uint64 unbondingDelay_
    ) {
        _token = token_;
        _modelRegistry = modelRegistry_;
        _auditCourt = auditCourt_;
        _minStake = minStake_;
        _unbondingDelay = unbondingDelay_;
    }

    // ---------------------------------------------------------------- provider actions

    /// @notice Registers the caller as a provider.
    /// @param endpoint URL where the provider answers calls.
    /// @param publicKey Key buyers encrypt private payloads to.
    function register(string calldata endpoint, bytes calldata publicKey) external {
        if (_providers[msg.sender].registered) revert ProviderRegistryAlreadyRegistered(msg.sender);
        if (bytes(endpoint).length == 0) revert ProviderRegistryEmptyEndpoint();
        Provider storage provider = _providers[msg.sender];
        provider.registered = true;
        provider.endpoint = endpoint;
        provider.publicKey = publicKey;
        _providerList.push(msg.sender);
        emit ProviderRegistered(msg.sender, endpoint, publicKey);
    }

    /// @notice Changes the caller's endpoint and public key.
    function updateProvider(string calldata endpoint, bytes calldata publicKey) external {
        Provider storage provider = _registered(msg.sender);
        if (bytes(endpoint).length == 0) revert ProviderRegistryEmptyEndpoint();
        provider.endpoint = endpoint;
        provider.publicKey = publicKey;
        emit ProviderUpdated(msg.sender, endpoint, publicKey);
    }

    /// @notice Locks `amount` more tokens as the caller's stake. Needs a prior ERC-20 approval.
    function stake(uint256 amount) external nonReentrant {
        Provider storage provider = _registered(msg.sender);
        if (amount == 0) revert ProviderRegistryZeroAmount();
        uint256 before = provider.stake;
        provider.stake = before + amount;
        // The clock of "staked enough since" restarts whenever stake climbs back to the minimum.
        if (before < _minStake && provider.stake >= _minStake) provider.stakedSince = uint64(block.number);
        _totalStaked += amount;
        emit Staked(msg.sender, amount, provider.stake);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Starts unbonding `amount` of the caller's stake; it can be withdrawn after the
    /// unbonding delay. A new request adds to what is already unbonding and restarts the delay.
    function requestUnbond(uint256 amount) external {
        Provider storage provider = _registered(msg.sender);
        if (amount == 0) revert ProviderRegistryZeroAmount();
        if (amount > provider.stake) revert ProviderRegistryInsufficientStake(msg.sender, provider.stake, amount);
        provider.stake -= amount;
        provider.unbondingAmount += amount;
        provider.unbondingReadyAt = uint64(block.timestamp) + _unbondingDelay;
        emit UnbondRequested(msg.sender, amount, provider.unbondingReadyAt);
    }

    /// @notice Withdraws all of the caller's stake whose unbonding delay has passed, if no audit of
    /// the caller is open (an open audit may still slash it).
    function withdrawUnbonded() external nonReentrant {
        Provider storage provider = _registered(msg.sender);
        if (provider.openAudits > 0) revert ProviderRegistryAuditPending(msg.sender, provider.openAudits);
        uint256 amount = provider.unbondingAmount;
        if (amount == 0 || block.timestamp < provider.unbondingReadyAt) {
            revert ProviderRegistryUnbondingNotReady(msg.sender, provider.unbondingReadyAt, amount);
        }
        provider.unbondingAmount = 0;
        provider.unbondingReadyAt = 0;
        _totalStaked -= amount;
        emit UnbondWithdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    /// @notice Creates or changes the caller's offer for a registered model. Needs at least the
    /// minimum stake, so that every entry of the model's candidate list is backed by stake. A new
    /// offer (none active before) restarts `since`; a price change keeps it.
    /// @param modelId Model id from the ModelRegistry.
    /// @param pricePerUnit Price in token base units per `unit`.
    /// @param unit What one unit is, e.g. "call" or "token".
    function setOffer(bytes32 modelId, uint256 pricePerUnit, string calldata unit) external {
        Provider storage provider = _registered(msg.sender);
        if (!_modelRegistry.modelExists(modelId)) revert ProviderRegistryUnknownModel(modelId);
        if (pricePerUnit == 0) revert ProviderRegistryZeroPrice();
        if (provider.stake < _minStake) revert ProviderRegistryInsufficientStake(msg.sender, provider.stake, _minStake);
        Offer storage offer = _offers[msg.sender][modelId];
        if (!offer.active) {
            offer.active = true;
            offer.since = uint64(block.number);
        }
        offer.pricePerUnit = pricePerUnit;
        offer.unit = unit;
        _providersByModel[modelId].add(msg.sender);
        if (!_isCandidate[modelId][msg.sender]) {
            _isCandidate[modelId][msg.sender] = true;
            _candidates[modelId].push(msg.sender);
            emit CandidateAdded(modelId, msg.sender, _candidates[modelId].length - 1);
        }
        emit OfferSet(msg.sender, modelId, pricePerUnit, unit);
    }

    /// @notice Withdraws the caller's offer for a model.
    function removeOffer(bytes32 modelId) external {
        if (!_offers[msg.sender][modelId].active) revert ProviderRegistryNoOffer(msg.sender, modelId);
        delete _offers[msg.sender][modelId];
        _providersByModel[modelId].remove(msg.sender);
        emit OfferRemoved(msg.sender, modelId);
    }

    // ---------------------------------------------------------------- audit court actions

    /// @notice Counts an audit of `provider` as open; its stake cannot be withdrawn until every
    /// open audit is closed. Audit contract only.
    function noteAuditOpened(address provider) external {
        _onlyAuditCourt();
        _registered(provider).openAudits += 1;
    }

    /// @notice Counts an audit of `provider` as closed (resolved or cancelled). Audit contract only.
    function noteAuditClosed(address provider) external {
        _onlyAuditCourt();
        Provider storage record = _registered(provider);
        if (record.openAudits == 0) revert ProviderRegistryNoOpenAudit(provider);
        record.openAudits -= 1;
    }

    /// @notice Bars a provider from new work until `until`. Audit contract only.
    function jail(address provider, uint64 until) external {
        _onlyAuditCourt();
        Provider storage record = _registered(provider);
        if (until > record.jailedUntil) record.jailedUntil = until;
        emit Jailed(provider, record.jailedUntil);
    }

    /// @notice Takes up to `amount` of a provider's stake (then of its unbonding stake) and sends it
    /// to `recipient` (the audit contract, which splits it into refund, bounty and burn).
    /// Audit contract only.
    /// @return slashed The amount actually taken, less than `amount` if the provider had less.
    function slash(address provider, uint256 amount, address recipient) external nonReentrant returns (uint256 slashed) {
        _onlyAuditCourt();
        Provider storage record = _registered(provider);
        uint256 fromStake = amount < record.stake ? amount : record.stake;
        uint256 rest = amount - fromStake;
        uint256 fromUnbonding = rest < record.unbondingAmount ? rest : record.unbondingAmount;
        record.stake -= fromStake;
        record.unbondingAmount -= fromUnbonding;
        slashed = fromStake + fromUnbonding;
        _totalStaked -= slashed;
        emit Slashed(provider, slashed, recipient);
        if (slashed > 0) _token.safeTransfer(recipient, slashed);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IProviderRegistry
    function isActive(address provider) public view returns (bool) {
        Provider storage record = _providers[provider];
        return record.registered && record.stake >= _minStake && block.timestamp >= record.jailedUntil;
    }

    /// @inheritdoc IProviderRegistry
    function getOfferPrice(address provider, bytes32 modelId) external view returns (uint256 pricePerUnit, bool active) {
        Offer storage offer = _offers[provider][modelId];
        return (offer.pricePerUnit, offer.active);
    }

    /// @notice A provider's full offer for a model (all zero when there is none).
    function getOffer(address provider, bytes32 modelId) external view returns (Offer memory) {
        return _offers[provider][modelId];
    }

    /// @notice A provider's record (all zero when not registered).
    function getProvider(address provider) external view returns (Provider memory) {
        return _providers[provider];
    }

    /// @notice Whether the provider at `index` of `modelId`'s candidate list may be drawn as a
    /// verifier for an audit whose set was fixed at `snapshotBlock` / `snapshotTime`: its offer is
    /// active now and since a block <= `snapshotBlock`; its stake is at least the minimum now and
    /// since a block <= `snapshotBlock`; it is not jailed now and was not at `snapshotTime`.
    /// Whatever a provider does after the snapshot can only make itself ineligible.
    /// @return candidate The provider at `index` (zero if `index` is past the list's end).
    /// @return eligible Whether it may be drawn.
    function isEligibleVerifier(bytes32 modelId, uint256 index, uint64 snapshotBlock, uint64 snapshotTime)
        external
        view
        returns (address candidate, bool eligible)
    {
        address[] storage list = _candidates[modelId];
        if (index >= list.length) return (address(0), false);
        candidate = list[index];
        Offer storage offer = _offers[candidate][modelId];
        Provider storage record = _providers[candidate];
        uint64 stakedSince = record.stakedSince;
        uint64 jailedUntil = record.jailedUntil;
        eligible = offer.active && offer.since <= snapshotBlock && record.stake >= _minStake && stakedSince != 0
            && stakedSince <= snapshotBlock && block.timestamp >= jailedUntil && jailedUntil <= snapshotTime;
    }

    /// @notice Length of `modelId`'s append-only candidate list (every provider that ever offered it).
    function getCandidateCount(bytes32 modelId) external view returns (uint256) {
        return _candidates[modelId].length;
    }

    /// @notice The provider at `index` of `modelId`'s candidate list.
    function getCandidate(bytes32 modelId, uint256 index) external view returns (address) {
        return _candidates[modelId][index];
    }

    /// @notice Audits of `provider` that are open (its stake cannot be withdrawn while > 0).
    function getOpenAudits(address provider) external view returns (uint32) {
        return _providers[provider].openAudits;
    }

    /// @notice Providers with a live offer for `modelId` (active or not; filter with `isActive`).
    function getProvidersForModel(bytes32 modelId) external view returns (address[] memory) {
        return _providersByModel[modelId].values();
    }

    /// @notice Every provider that ever registered, in order.
    function getProviders() external view returns (address[] memory) {
        return _providerList;
    }

    /// @notice Sum of all stake and unbonding stake the registry holds.
    function getTotalStaked() external view returns (uint256) {
        return _totalStaked;
    }

    /// @notice The staking token.
    function token() external view returns (IERC20) {
        return _token;
    }

    /// @notice The model catalogue offers refer to.
    function modelRegistry() external view returns (IModelRegistry) {
        return _modelRegistry;
    }

    /// @notice The only address allowed to jail and slash.
    function auditCourt() external view returns (address) {
        return _auditCourt;
    }

    /// @notice Stake needed to be active.
    function minStake() external view returns (uint256) {
        return _minStake;
    }

    /// @notice Seconds from an unbond request to its withdrawal.
    function unbondingDelay() external view returns (uint64) {
        return _unbondingDelay;
    }

    function _registered(address account) private view returns (Provider storage provider) {
        provider = _providers[account];
        if (!provider.registered) revert ProviderRegistryNotRegistered(account);
    }

    function _onlyAuditCourt() private view {
        if (msg.sender != _auditCourt) revert ProviderRegistryUnauthorized(msg.sender);
    }
}
