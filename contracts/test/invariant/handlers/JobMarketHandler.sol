// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {DevUSD} from "../../../src/DevUSD.sol";
import {JobMarket} from "../../../src/JobMarket.sol";
import {ProviderRegistry} from "../../../src/ProviderRegistry.sol";
import {ModelRegistry} from "../../../src/ModelRegistry.sol";
import {HandlerBase} from "./HandlerBase.sol";

/// @notice Drives JobMarket through random sequences of buyer and provider calls (open, cancel,
/// accept, deliver with signed receipts, fail, finalize, reclaim, withdraw) and keeps its own
/// ledger of every job, every credit and how many times each job settled. Attackers play too: a
/// publisher raises, lowers or redirects a model's royalty at any time and right before an accept
/// lands (issue 9, finding 8), and a provider raises its offer around its own accept (finding 7).
/// The ledger says who must be paid what: the provider's share of the price fixed at open, the fee
/// (rounded up) to the treasury, the royalty at the rate agreed at accept (or lower) to the
/// receiver of the moment, the unused escrow to the buyer; any other payment fails the run.
contract JobMarketHandler is HandlerBase {
    /// @notice Everything the handler needs, in one argument.
    struct Init {
        DevUSD token;
        JobMarket jobs;
        ProviderRegistry registry;
        ModelRegistry models_;
        address auditCourt;
        address treasury;
        address royaltyReceiver;
        uint16 feeBps;
        address[] buyers;
        address[] providers;
        uint256[] providerKeys;
        bytes32[] models;
        uint16[] royaltyBps;
        /// Publisher of every model: may change their royalties.
        address publisher;
        /// A second royalty receiver the publisher may redirect royalties to.
        address otherReceiver;
    }

    /// @notice What the handler believes about one job, and what settling it actually moved.
    struct GhostJob {
        address buyer;
        address provider;
        bytes32 modelId;
        bytes32 inputHash;
        uint256 maxPrice;
        /// The price fixed at open: the named provider's offer then, else `maxPrice`.
        uint256 price;
        /// The royalty rate snapshotted at accept (never above what the provider agreed to).
        uint16 royaltyBps;
        uint64 deadline;
        uint64 deliveredAt;
        JobMarket.JobStatus status;
        /// Times the provider was paid (finalize).
        uint8 payouts;
        /// Times the buyer was refunded in full (fail, reclaim, cancel).
        uint8 refunds;
        /// Tokens that went (or were credited) to the buyer when the job settled.
        uint256 toBuyer;
        /// Tokens credited to the provider, the treasury and the royalty receiver when it settled.
        uint256 toPayees;
    }

    uint16 internal constant BPS = 10_000;
    uint16 internal constant MAX_ROYALTY_BPS = 3_000;
    /// @dev Longest time from opening a job to its deadline.
    uint64 internal constant MAX_TTL = 1 days;
    bytes32 public constant UNKNOWN_MODEL = keccak256("not in the ModelRegistry");

    DevUSD public immutable token;
    JobMarket public immutable jobs;
    ProviderRegistry public immutable registry;
    ModelRegistry public immutable models;
    address public immutable auditCourt;
    address public immutable treasury;
    address public immutable royaltyReceiver;
    address public immutable otherReceiver;
    address public immutable publisher;
    uint16 public immutable feeBps;
    uint64 public immutable challengeWindow;
    uint256 internal immutable _outsiderKey;

    address[] internal _buyers;
    address[] internal _providers;
    /// Everyone who can be credited: buyers, providers, treasury, royalty receiver.
    address[] internal _accounts;
    bytes32[] internal _models;
    mapping(address provider => uint256 key) internal _keyOf;
    /// The model's royalty rate and receiver now, as the handler set them.
    mapping(bytes32 modelId => uint16 bps) internal _royaltyBps;
    mapping(bytes32 modelId => address receiver) internal _royaltyTo;

    uint256 public jobCount;
    mapping(uint256 jobId => GhostJob) internal _jobs;
    mapping(address account => uint256 amount) public ghostCredit;
    /// @notice Tokens each account gained (payees) or spent (buyers) through finalized jobs.
    mapping(address account => uint256 amount) public ghostEarned;
    mapping(address buyer => uint256 amount) public ghostSpent;

    constructor(Init memory init) {
        token = init.token;
        jobs = init.jobs;
        registry = init.registry;
        models = init.models_;
        auditCourt = init.auditCourt;
        treasury = init.treasury;
        royaltyReceiver = init.royaltyReceiver;
        otherReceiver = init.otherReceiver;
        publisher = init.publisher;
        feeBps = init.feeBps;
        challengeWindow = init.jobs.challengeWindow();
        (, _outsiderKey) = makeAddrAndKey("outsider");
        _buyers = init.buyers;
        _providers = init.providers;
        for (uint256 i; i < init.providers.length; i++) {
            _keyOf[init.providers[i]] = init.providerKeys[i];
        }
        _models = init.models;
        for (uint256 i; i < init.models.length; i++) {
            _royaltyBps[init.models[i]] = init.royaltyBps[i];
            _royaltyTo[init.models[i]] = init.royaltyBps[i] == 0 ? address(0) : init.royaltyReceiver;
        }
        _accounts = init.buyers;
        for (uint256 i; i < init.providers.length; i++) {
            _accounts.push(init.providers[i]);
        }
        _accounts.push(init.treasury);
        _accounts.push(init.royaltyReceiver);
        _accounts.push(init.otherReceiver);
    }

    // ---------------------------------------------------------------- buyer actions

    function openJob(uint256 buyerSeed, uint256 providerSeed, uint256 modelSeed, uint256 maxPrice, uint256 ttl)
        external
    {
        address buyer = _pick(_buyers, buyerSeed);
        // One job in four names no provider, so anyone offering the model may take it.
        address named = providerSeed % 4 == 3 ? address(0) : _pick(_providers, providerSeed);
        // One job in eight asks for a model the ModelRegistry does not know, which must revert.
        bytes32 modelId = modelSeed % 8 == 7 ? UNKNOWN_MODEL : _models[modelSeed % _models.length];
        JobMarket.OpenJobParams memory params = JobMarket.OpenJobParams({
            modelId: modelId,
            inputHash: keccak256(abi.encode("input", jobCount)),
            inputURI: "ipfs://input",
            maxPrice: bound(maxPrice, 0, 200_000),
            provider: named,
            deadline: uint64(block.timestamp + bound(ttl, 0, MAX_TTL))
        });
        bool expected = params.maxPrice > 0 && params.deadline > block.timestamp && modelId != UNKNOWN_MODEL;
        // The price is fixed now: a named provider's offer (which must exist and fit the escrow), else maxPrice.
        uint256 price = params.maxPrice;
        if (named != address(0)) {
            bool offered;
            (price, offered) = registry.getOfferPrice(named, modelId);
            expected = expected && offered && registry.isActive(named) && price <= params.maxPrice;
        }
        uint256 before = token.balanceOf(buyer);
        vm.prank(buyer);
        try jobs.openJob(params) returns (uint256 jobId) {
            _count(this.openJob.selector);
            _check(expected, true, "openJob");
            _checkEq(jobId, ++jobCount, "openJob id");
            _checkEq(before - token.balanceOf(buyer), params.maxPrice, "openJob escrow");
            _checkEq(jobs.getJob(jobId).price, price, "openJob price");
            GhostJob storage job = _jobs[jobId];
            job.buyer = buyer;
            job.provider = named;
            job.modelId = modelId;
            job.inputHash = params.inputHash;
            job.maxPrice = params.maxPrice;
            job.price = price;
            job.deadline = params.deadline;
            job.status = JobMarket.JobStatus.Open;
        } catch {
            _check(expected, false, "openJob");
        }
    }

    function cancelJob(uint256 jobSeed, uint256 callerSeed) external {
        uint256 jobId = _pickJob(jobSeed, _mask(JobMarket.JobStatus.Open));
        // One call in five comes from someone other than the buyer, which must revert.
        address caller = callerSeed % 5 == 0 ? _pick(_accounts, callerSeed / 5) : _jobs[jobId].buyer;
        _cancel(jobId, caller);
    }

    function reclaimJob(uint256 jobSeed, uint256 callerSeed, uint256 warpSeconds) external {
        // Often past the deadline of the job it picks.
        _warp(bound(warpSeconds, 0, MAX_TTL));
        uint256 jobId = _pickJob(jobSeed, _mask(JobMarket.JobStatus.Open) | _mask(JobMarket.JobStatus.Accepted));
        address caller = callerSeed % 5 == 0 ? _pick(_accounts, callerSeed / 5) : _jobs[jobId].buyer;
        _reclaim(jobId, caller);
    }

    // ---------------------------------------------------------------- provider actions

    /// @param royaltySeed Three times in four the provider agrees to the model's rate now (it read
    /// it just before), else to a random rate, maybe below the current one, which must revert.
    function acceptJob(uint256 jobSeed, uint256 providerSeed, uint256 royaltySeed) external {
        uint256 jobId = _pickJob(jobSeed, _mask(JobMarket.JobStatus.Open));
        address provider = _acceptor(jobId, providerSeed);
        bytes32 model = _jobs[jobId].modelId;
        uint16 maxRoyaltyBps =
            royaltySeed % 4 != 0 ? _royaltyBps[model] : uint16(bound(royaltySeed / 4, 0, MAX_ROYALTY_BPS));
        _accept(jobId, provider, maxRoyaltyBps);
    }

    /// @notice Finding 8 as an attack: the provider reads the model's royalty rate, the publisher
    /// changes it before the accept lands (raises it, most often), the accept carries the rate read.
    function frontRunAccept(uint256 jobSeed, uint256 providerSeed, uint256 newBps) external {
        uint256 jobId = _pickJob(jobSeed, _mask(JobMarket.JobStatus.Open));
        address provider = _acceptor(jobId, providerSeed);
        bytes32 model = _jobs[jobId].modelId;
        uint16 seen = _royaltyBps[model];
        _setRoyalty(model, uint16(bound(newBps, 0, MAX_ROYALTY_BPS)), royaltyReceiver);
        _accept(jobId, provider, seen);
        _count(this.frontRunAccept.selector);
    }

    /// @notice Finding 7 as an attack: the provider raises its offer (up to the buyer's escrow),
    /// accepts, and lowers it again. The price paid must stay the one fixed at open.
    function sandwichAccept(uint256 jobSeed, uint256 providerSeed, uint256 raisedPrice) external {
        uint256 jobId = _pickJob(jobSeed, _mask(JobMarket.JobStatus.Open));
        address provider = _acceptor(jobId, providerSeed);
        bytes32 model = _jobs[jobId].modelId;
        if (model == UNKNOWN_MODEL) return;
        (uint256 offer, bool offered) = registry.getOfferPrice(provider, model);
        if (!offered) return;
        uint256 raised = bound(raisedPrice, offer, offer > _jobs[jobId].maxPrice ? offer : _jobs[jobId].maxPrice);
        vm.prank(provider);
        registry.setOffer(model, raised, "call");
        _accept(jobId, provider, _royaltyBps[model]);
        vm.prank(provider);
        registry.setOffer(model, offer, "call");
        _count(this.sandwichAccept.selector);
    }

    /// @param receiptKind 0-7 a valid receipt; 8 signed by an outsider; 9 signed over another
    /// output; 10 signed for another job; 11 an empty output. Only valid receipts may be accepted.
    function deliverJob(uint256 jobSeed, uint256 callerSeed, bytes32 outputHash, uint256 receiptKind) external {
        uint256 jobId = _pickJob(jobSeed, _mask(JobMarket.JobStatus.Accepted));
        receiptKind = receiptKind % 12;
        address caller = _providerOrOther(_jobs[jobId].provider, callerSeed);
        if (receiptKind == 11) outputHash = bytes32(0);
        else if (outputHash == bytes32(0)) outputHash = keccak256("output");
        _deliver(jobId, caller, outputHash, _receipt(jobId, caller, outputHash, receiptKind), receiptKind < 8);
    }

    function failJob(uint256 jobSeed, uint256 callerSeed, uint32 errorCode) external {
        uint256 jobId = _pickJob(jobSeed, _mask(JobMarket.JobStatus.Accepted));
        address caller = _providerOrOther(_jobs[jobId].provider, callerSeed);
        GhostJob storage job = _jobs[jobId];
        bool expected = caller == job.provider && job.status == JobMarket.JobStatus.Accepted;
        uint256 before = jobs.withdrawableOf(job.buyer);
        vm.prank(caller);
        try jobs.failJob(jobId, errorCode) {
            _count(this.failJob.selector);
            _check(expected, true, "failJob");
            job.status = JobMarket.JobStatus.Failed;
            job.refunds++;
            job.toBuyer += jobs.withdrawableOf(job.buyer) - before;
            ghostCredit[job.buyer] += job.maxPrice;
        } catch {
            _check(expected, false, "failJob");
        }
    }

    // ---------------------------------------------------------------- anyone

    function finalizeJob(uint256 jobSeed, uint256 warpSeconds) external {
        _warp(bound(warpSeconds, 0, 2 * challengeWindow));
        _finalize(_pickJob(jobSeed, _mask(JobMarket.JobStatus.Delivered)));
    }

    function withdraw(uint256 accountSeed) external {
        _withdraw(_pickAccount(accountSeed));
    }

    function warp(uint256 secondsForward) external {
        _warp(bound(secondsForward, 0, MAX_TTL / 4));
    }

    // ---------------------------------------------------------------- the registry around the market

    /// @notice A provider changes or withdraws its offer, so accepts meet prices above the escrow
    /// (about one in eight) and providers without offers.
    function setOffer(uint256 providerSeed, uint256 modelSeed, uint256 price) external {
        address provider = _pick(_providers, providerSeed);
        bytes32 modelId = _models[modelSeed % _models.length];
        price = bound(price, 0, 50_000);
        vm.startPrank(provider);
        (, bool offered) = registry.getOfferPrice(provider, modelId);
        if (price > 0) registry.setOffer(modelId, price, "call");
        else if (offered) registry.removeOffer(modelId);
        vm.stopPrank();
        _count(this.setOffer.selector);
    }

    /// @notice The publisher changes a model's royalty at any time: raises, lowers, removes it, or
    /// sends it to another receiver. Jobs accepted before keep at most their agreed rate.
    function setRoyalty(uint256 modelSeed, uint256 bps, bool redirect) external {
        bps = bound(bps, 0, MAX_ROYALTY_BPS);
        _setRoyalty(_models[modelSeed % _models.length], uint16(bps), redirect ? otherReceiver : royaltyReceiver);
        _count(this.setRoyalty.selector);
    }

    /// @notice The audit court jails a provider for a while, so accepts meet inactive providers.
    function jailProvider(uint256 providerSeed, uint256 duration) external {
        vm.prank(auditCourt);
        registry.jail(_pick(_providers, providerSeed), uint64(block.timestamp + bound(duration, 1, 1 hours)));
        _count(this.jailProvider.selector);
    }

    // ---------------------------------------------------------------- end of a sequence

    /// @notice Settles every job the only way its state allows and withdraws every credit; not a
    /// fuzzed action. Each call is modelled as one that must succeed.
    function settleAll() external {
        // Past every deadline and every challenge window.
        _warp(MAX_TTL + challengeWindow + 1);
        for (uint256 jobId = 1; jobId <= jobCount; jobId++) {
            JobMarket.JobStatus status = _jobs[jobId].status;
            if (status == JobMarket.JobStatus.Open) _cancel(jobId, _jobs[jobId].buyer);
            else if (status == JobMarket.JobStatus.Accepted) _reclaim(jobId, _jobs[jobId].buyer);
            else if (status == JobMarket.JobStatus.Delivered) _finalize(jobId);
        }
        for (uint256 i; i < _accounts.length; i++) {
            if (ghostCredit[_accounts[i]] > 0) _withdraw(_accounts[i]);
        }
    }

    // ---------------------------------------------------------------- the calls and their ledger

    /// @dev Who tries to accept `jobId`: its named provider, or one time in eight (and always for an
    /// open job) any provider.
    function _acceptor(uint256 jobId, uint256 seed) internal view returns (address) {
        address named = _jobs[jobId].provider;
        return named != address(0) && seed % 8 != 0 ? named : _pick(_providers, seed / 8);
    }

    function _accept(uint256 jobId, address provider, uint16 maxRoyaltyBps) internal {
        GhostJob storage job = _jobs[jobId];
        (uint256 offer, bool offered) = registry.getOfferPrice(provider, job.modelId);
        uint16 rate = _royaltyBps[job.modelId];
        bool expected = job.status == JobMarket.JobStatus.Open
            && (job.provider == address(0) || job.provider == provider) && block.timestamp <= job.deadline && offered
            && registry.isActive(provider) && offer <= job.price && rate <= maxRoyaltyBps;
        vm.prank(provider);
        try jobs.acceptJob(jobId, maxRoyaltyBps) {
            _count(this.acceptJob.selector);
            _check(expected, true, "acceptJob");
            _checkEq(jobs.getJob(jobId).price, job.price, "acceptJob changed the price fixed at open");
            _checkEq(jobs.getJob(jobId).royaltyBps, rate, "acceptJob royalty snapshot");
            job.provider = provider;
            job.royaltyBps = rate;
            job.status = JobMarket.JobStatus.Accepted;
        } catch {
            _check(expected, false, "acceptJob");
        }
    }

    /// @dev Sets a model's royalty as its publisher (a zero rate has no receiver) and books it.
    function _setRoyalty(bytes32 model, uint16 bps, address receiver) internal {
        if (model == UNKNOWN_MODEL) return;
        if (bps == 0) receiver = address(0);
        vm.prank(publisher);
        models.setRoyalty(model, receiver, bps);
        _royaltyBps[model] = bps;
        _royaltyTo[model] = receiver;
    }

    function _cancel(uint256 jobId, address caller) internal {
        GhostJob storage job = _jobs[jobId];
        bool expected = caller == job.buyer && job.status == JobMarket.JobStatus.Open;
        uint256 before = token.balanceOf(job.buyer);
        vm.prank(caller);
        try jobs.cancelJob(jobId) {
            _count(this.cancelJob.selector);
            _check(expected, true, "cancelJob");
            job.status = JobMarket.JobStatus.Cancelled;
            job.refunds++;
            job.toBuyer += token.balanceOf(job.buyer) - before;
        } catch {
            _check(expected, false, "cancelJob");
        }
    }

    function _reclaim(uint256 jobId, address caller) internal {
        GhostJob storage job = _jobs[jobId];
        bool expected = caller == job.buyer
            && (job.status == JobMarket.JobStatus.Open || job.status == JobMarket.JobStatus.Accepted)
            && block.timestamp > job.deadline;
        uint256 before = token.balanceOf(job.buyer);
        vm.prank(caller);
        try jobs.reclaimJob(jobId) {
            _count(this.reclaimJob.selector);
            _check(expected, true, "reclaimJob");
            job.status = JobMarket.JobStatus.Reclaimed;
            job.refunds++;
            job.toBuyer += token.balanceOf(job.buyer) - before;
        } catch {
            _check(expected, false, "reclaimJob");
        }
    }

    function _deliver(uint256 jobId, address caller, bytes32 outputHash, bytes memory receipt, bool validReceipt)
        internal
    {
        GhostJob storage job = _jobs[jobId];
        bool expected = caller == job.provider && job.status == JobMarket.JobStatus.Accepted
            && block.timestamp <= job.deadline && outputHash != bytes32(0) && validReceipt;
        vm.prank(caller);
        try jobs.deliverJob(jobId, outputHash, receipt) {
            _count(this.deliverJob.selector);
            _check(expected, true, "deliverJob");
            job.status = JobMarket.JobStatus.Delivered;
            job.deliveredAt = uint64(block.timestamp);
        } catch {
            _check(expected, false, "deliverJob");
        }
    }

    function _finalize(uint256 jobId) internal {
        GhostJob storage job = _jobs[jobId];
        bool expected =
            job.status == JobMarket.JobStatus.Delivered && block.timestamp >= job.deliveredAt + challengeWindow;
        uint256 buyerBefore = jobs.withdrawableOf(job.buyer);
        uint256 payeesBefore = _payeeCredits(job.provider);
        try jobs.finalizeJob(jobId) {
            _count(this.finalizeJob.selector);
            _check(expected, true, "finalizeJob");
            job.status = JobMarket.JobStatus.Finalized;
            job.payouts++;
            job.toBuyer += jobs.withdrawableOf(job.buyer) - buyerBefore;
            job.toPayees += _payeeCredits(job.provider) - payeesBefore;
            _bookPayment(job);
        } catch {
            _check(expected, false, "finalizeJob");
        }
    }

    function _withdraw(address account) internal {
        uint256 owed = ghostCredit[account];
        uint256 before = token.balanceOf(account);
        vm.prank(account);
        try jobs.withdraw() returns (uint256 amount) {
            _count(this.withdraw.selector);
            _check(owed > 0, true, "withdraw");
            _checkEq(amount, owed, "withdraw returned");
            _checkEq(token.balanceOf(account) - before, owed, "withdraw paid");
            ghostCredit[account] = 0;
        } catch {
            _check(owed > 0, false, "withdraw");
        }
    }

    /// @dev Books the split of a finalized job the way DESIGN.md states it: protocol fee (rounded
    /// up, so no payment skips it) and model royalty (rounded down, at the rate now but never above
    /// the one agreed at accept, to the receiver now) off the price fixed at open, the rest to the
    /// provider, the unused escrow back to the buyer.
    function _bookPayment(GhostJob storage job) internal {
        uint256 fee = (job.price * feeBps + BPS - 1) / BPS;
        uint16 rate = _royaltyBps[job.modelId] < job.royaltyBps ? _royaltyBps[job.modelId] : job.royaltyBps;
        uint256 royalty = (job.price * rate) / BPS;
        address receiver = _royaltyTo[job.modelId];
        uint256 share = job.price - fee - royalty;
        ghostCredit[job.provider] += share;
        ghostCredit[treasury] += fee;
        ghostCredit[receiver] += royalty;
        ghostCredit[job.buyer] += job.maxPrice - job.price;
        ghostEarned[job.provider] += share;
        ghostEarned[treasury] += fee;
        ghostEarned[receiver] += royalty;
        ghostSpent[job.buyer] += job.price;
    }

    function _payeeCredits(address provider) internal view returns (uint256) {
        return jobs.withdrawableOf(provider) + jobs.withdrawableOf(treasury) + jobs.withdrawableOf(royaltyReceiver)
            + jobs.withdrawableOf(otherReceiver);
    }

    /// @dev A receipt of the given kind (see `deliverJob`) for `jobId`.
    function _receipt(uint256 jobId, address signer, bytes32 outputHash, uint256 kind)
        internal
        view
        returns (bytes memory)
    {
        GhostJob storage job = _jobs[jobId];
        uint256 key = kind == 8 || _keyOf[signer] == 0 ? _outsiderKey : _keyOf[signer];
        bytes32 signedOutput = kind == 9 ? keccak256(abi.encode(outputHash)) : outputHash;
        uint256 signedJob = kind == 10 ? jobId + 1 : jobId;
        bytes32 digest = jobs.hashReceipt(signedJob, job.modelId, job.inputHash, signedOutput);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev The job's provider, or one time in eight (and whenever the job has none) someone else.
    function _providerOrOther(address provider, uint256 seed) internal view returns (address) {
        if (provider != address(0) && seed % 8 != 0) return provider;
        return _pick(_accounts, seed / 8);
    }

    /// @dev Three times in four an account with credit (when there is one), otherwise any account.
    function _pickAccount(uint256 seed) internal view returns (address) {
        if (seed % 4 != 0) {
            for (uint256 k; k < _accounts.length; k++) {
                address account = _accounts[(seed / 4 + k) % _accounts.length];
                if (ghostCredit[account] > 0) return account;
            }
        }
        return _pick(_accounts, seed);
    }

    /// @dev Three times in four a job whose status is in `wanted` (when there is one), so calls
    /// mostly land; otherwise any job, or id 0 before any job exists. Both must behave.
    function _pickJob(uint256 seed, uint256 wanted) internal view returns (uint256) {
        if (jobCount == 0) return 0;
        if (seed % 4 != 0) {
            for (uint256 k; k < jobCount; k++) {
                uint256 jobId = (seed / 4 + k) % jobCount + 1;
                if (wanted & _mask(_jobs[jobId].status) != 0) return jobId;
            }
        }
        return seed % jobCount + 1;
    }

    function _mask(JobMarket.JobStatus status) internal pure returns (uint256) {
        return 1 << uint256(status);
    }

    // ---------------------------------------------------------------- views for the invariants

    function ghostJob(uint256 jobId) external view returns (GhostJob memory) {
        return _jobs[jobId];
    }

    function accounts() external view returns (address[] memory) {
        return _accounts;
    }
}
