// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {JobMarket} from "../../src/JobMarket.sol";
import {InvariantFixture, ICreditLedger} from "./InvariantFixture.sol";
import {JobMarketHandler} from "./handlers/JobMarketHandler.sol";

/// @notice Money rules of JobMarket over random sequences of job calls, with a publisher changing
/// royalties mid-flight and providers raising their offers around their accepts: the escrow always
/// covers what is owed, each job settles once, no job is both paid and refunded, and every credit
/// goes to the party the handler's ledger says at the rate agreed.
contract JobMarketInvariantTest is InvariantFixture {
    JobMarketHandler internal handler;
    address[] internal buyers;
    address[] internal providers;
    address internal otherReceiver = makeAddr("otherReceiver");

    function setUp() public override {
        super.setUp();
        uint256[] memory providerKeys;
        (buyers,) = _makeActors("buyer", 3);
        (providers, providerKeys) = _makeActors("provider", 3);
        for (uint256 i; i < providers.length; i++) {
            makeProvider(providers[i]);
        }
        bytes32[] memory modelIds = new bytes32[](2);
        uint16[] memory royaltyBps = new uint16[](2);
        (modelIds[0], royaltyBps[0]) = (modelId, ROYALTY_BPS);
        (modelIds[1], royaltyBps[1]) = (registerModel(keccak256("free.onnx"), 0), 0);
        vm.prank(providers[0]);
        registry.setOffer(modelIds[1], PRICE, "call");

        handler = new JobMarketHandler(
            JobMarketHandler.Init({
                token: token,
                jobs: jobs,
                registry: registry,
                models_: models,
                auditCourt: auditCourt,
                treasury: treasury,
                royaltyReceiver: royaltyReceiver,
                feeBps: FEE_BPS,
                buyers: buyers,
                providers: providers,
                providerKeys: providerKeys,
                models: modelIds,
                royaltyBps: royaltyBps,
                publisher: address(this),
                otherReceiver: otherReceiver
            })
        );

        // The actions, and how many times each is listed for the fuzzer to pick from.
        bytes4[] memory selectors = new bytes4[](14);
        uint256[] memory weights = new uint256[](14);
        (selectors[0], weights[0]) = (handler.openJob.selector, 3);
        (selectors[1], weights[1]) = (handler.cancelJob.selector, 1);
        (selectors[2], weights[2]) = (handler.reclaimJob.selector, 1);
        (selectors[3], weights[3]) = (handler.acceptJob.selector, 3);
        (selectors[4], weights[4]) = (handler.deliverJob.selector, 3);
        (selectors[5], weights[5]) = (handler.failJob.selector, 1);
        (selectors[6], weights[6]) = (handler.finalizeJob.selector, 2);
        (selectors[7], weights[7]) = (handler.withdraw.selector, 2);
        (selectors[8], weights[8]) = (handler.warp.selector, 1);
        (selectors[9], weights[9]) = (handler.setOffer.selector, 1);
        (selectors[10], weights[10]) = (handler.jailProvider.selector, 1);
        (selectors[11], weights[11]) = (handler.setRoyalty.selector, 1);
        (selectors[12], weights[12]) = (handler.frontRunAccept.selector, 1);
        (selectors[13], weights[13]) = (handler.sandwichAccept.selector, 1);
        _targetHandler(address(handler), selectors, weights);
    }

    /// @notice Every money rule, checked after every call of every sequence. One invariant function
    /// runs one fuzzing campaign; a campaign per rule would multiply the run time for no more calls.
    function invariant_moneyRules() public view {
        _assertBalanceEqualsOwed();
        _assertCreditsMatchLedger(jobs, ICreditLedger(address(handler)));
        _assertJobs();
        _assertTokensConserved(handler.accounts());
        if (handler.surprises() > 0) assertEq(handler.surprises(), 0, handler.lastSurprise());
    }

    /// @dev The market holds exactly the escrow of unsettled jobs plus the credits not yet withdrawn.
    function _assertBalanceEqualsOwed() internal view {
        _eq(
            token.balanceOf(address(jobs)),
            jobs.getTotalEscrowed() + jobs.getTotalWithdrawable(),
            "balance != escrowed + withdrawable"
        );
    }

    /// @dev The escrow is the sum of `maxPrice` over Open, Accepted and Delivered jobs, both as the
    /// handler tracked them and as the contract stores them; each job is as the handler tracked it.
    function _assertJobs() internal view {
        uint256 ghostSum;
        uint256 chainSum;
        uint256 count = handler.jobCount();
        _eq(jobs.getJobCount(), count, "job count");
        for (uint256 jobId = 1; jobId <= count; jobId++) {
            JobMarketHandler.GhostJob memory ghost = handler.ghostJob(jobId);
            JobMarket.Job memory job = jobs.getJob(jobId);
            if (_isLive(ghost.status)) ghostSum += ghost.maxPrice;
            if (_isLive(job.status)) chainSum += job.maxPrice;
            _assertSettledAtMostOnce(ghost, job);
        }
        _eq(jobs.getTotalEscrowed(), ghostSum, "escrowed != sum over live jobs (handler ledger)");
        _eq(jobs.getTotalEscrowed(), chainSum, "escrowed != sum over live jobs (contract state)");
    }

    /// @dev A job settles at most once, either paid or refunded in full, never both; what settling
    /// moved is exactly its escrow, split the way its outcome says.
    function _assertSettledAtMostOnce(JobMarketHandler.GhostJob memory ghost, JobMarket.Job memory job) internal pure {
        _eq(uint256(job.status), uint256(ghost.status), "status");
        _eq(job.provider, ghost.provider, "provider");
        _eq(job.price, ghost.price, "price");
        _le(job.price, job.maxPrice, "price above escrow");
        _le(uint256(ghost.payouts) + ghost.refunds, 1, "job settled twice (or paid and refunded)");
        if (ghost.refunds == 1) {
            _eq(ghost.toBuyer, ghost.maxPrice, "refund is not the full escrow");
            _eq(ghost.toPayees, 0, "refunded job also paid someone");
        } else if (ghost.payouts == 1) {
            _eq(ghost.toPayees, ghost.price, "payees got other than the price");
            _eq(ghost.toBuyer, ghost.maxPrice - ghost.price, "buyer got other than the unused escrow");
        } else {
            _eq(_isLive(ghost.status), true, "unsettled job in a final state");
            _eq(ghost.toBuyer + ghost.toPayees, 0, "unsettled job moved tokens");
        }
    }

    /// @notice At the end of every sequence every job can be settled and every credit withdrawn,
    /// which empties the market and leaves each account with exactly what its finalized jobs say.
    function afterInvariant() public {
        uint256 runs = _countRun("JOBS");
        string[11] memory names = [
            "openJob",
            "acceptJob",
            "deliverJob",
            "finalizeJob",
            "failJob",
            "reclaimJob",
            "cancelJob",
            "withdraw",
            "setRoyalty",
            "frontRunAccept",
            "sandwichAccept"
        ];
        bytes4[11] memory actions = [
            handler.openJob.selector,
            handler.acceptJob.selector,
            handler.deliverJob.selector,
            handler.finalizeJob.selector,
            handler.failJob.selector,
            handler.reclaimJob.selector,
            handler.cancelJob.selector,
            handler.withdraw.selector,
            handler.setRoyalty.selector,
            handler.frontRunAccept.selector,
            handler.sandwichAccept.selector
        ];
        for (uint256 i; i < actions.length; i++) {
            _assertReached("JOBS", runs, names[i], handler.successes(actions[i]));
        }

        handler.settleAll();
        if (handler.surprises() > 0) assertEq(handler.surprises(), 0, handler.lastSurprise());
        _eq(token.balanceOf(address(jobs)), 0, "tokens stuck in the market");
        _eq(jobs.getTotalEscrowed(), 0, "escrow left after settling every job");
        _eq(jobs.getTotalWithdrawable(), 0, "credit left after everyone withdrew");
        _assertJobs();
        for (uint256 i; i < buyers.length; i++) {
            _eq(token.balanceOf(buyers[i]), INITIAL_BALANCE - handler.ghostSpent(buyers[i]), "buyer balance");
        }
        for (uint256 i; i < providers.length; i++) {
            _eq(token.balanceOf(providers[i]), INITIAL_BALANCE + handler.ghostEarned(providers[i]), "provider balance");
        }
        _eq(token.balanceOf(treasury), handler.ghostEarned(treasury), "treasury balance");
        _eq(token.balanceOf(royaltyReceiver), handler.ghostEarned(royaltyReceiver), "royalty balance");
        _eq(token.balanceOf(otherReceiver), handler.ghostEarned(otherReceiver), "redirected royalty balance");
    }

    function _isLive(JobMarket.JobStatus status) internal pure returns (bool) {
        return status == JobMarket.JobStatus.Open || status == JobMarket.JobStatus.Accepted
            || status == JobMarket.JobStatus.Delivered;
    }
}
