// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {AgoraFixture} from "./utils/AgoraFixture.sol";
import {DevUSD} from "../src/DevUSD.sol";

/// @notice DevUSD: minting, EIP-2612 permit and EIP-3009 signed transfers, each signed for real
/// with `vm.sign` against a domain separator rebuilt here from first principles, so a wrong
/// name, version or typehash in the token would make these tests fail.
contract DevUSDTest is AgoraFixture {
    bytes32 private constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    bytes32 private constant TRANSFER_TYPEHASH = keccak256(
        "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );
    bytes32 private constant RECEIVE_TYPEHASH = keccak256(
        "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );
    bytes32 private constant CANCEL_TYPEHASH = keccak256("CancelAuthorization(address authorizer,bytes32 nonce)");

    uint256 private constant NOW = 1_700_000_000;
    uint256 private constant BALANCE = 1_000e6;

    uint256 private aliceKey;
    address private alice;
    uint256 private malloryKey;
    address private mallory;
    address private bob = makeAddr("bob");
    address private relayer = makeAddr("relayer");

    /// @dev Mirrors the events so vm.expectEmit can be fed the expected log.
    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
    event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce);
    event AuthorizationCanceled(address indexed authorizer, bytes32 indexed nonce);

    function setUp() public override {
        super.setUp();
        vm.warp(NOW);
        (alice, aliceKey) = makeAddrAndKey("alice");
        (mallory, malloryKey) = makeAddrAndKey("mallory");
        token.mint(alice, BALANCE);
    }

    // ---------------------------------------------------------------- helpers

    function domainSeparator() private view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("Agora Dev USD"),
                keccak256("1"),
                block.chainid,
                address(token)
            )
        );
    }

    function typedDigest(bytes32 structHash) private view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
    }

    function authDigest(
        bytes32 typehash,
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce
    ) private view returns (bytes32) {
        return typedDigest(keccak256(abi.encode(typehash, from, to, value, validAfter, validBefore, nonce)));
    }

    function sign(uint256 key, bytes32 digest) private pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev The address ecrecover yields for `signature` over `digest`: what the token reports as
    /// `recovered` when a signature does not match the message it is checked against.
    function recover(bytes32 digest, bytes memory signature) private pure returns (address) {
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := mload(add(signature, 0x20))
            s := mload(add(signature, 0x40))
            v := byte(0, mload(add(signature, 0x60)))
        }
        return ecrecover(digest, v, r, s);
    }

    function signTransfer(uint256 key, address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce)
        private
        view
        returns (bytes memory)
    {
        return sign(key, authDigest(TRANSFER_TYPEHASH, from, to, value, validAfter, validBefore, nonce));
    }

    function signReceive(uint256 key, address from, address to, uint256 value, uint256 validAfter, uint256 validBefore, bytes32 nonce)
        private
        view
        returns (bytes memory)
    {
        return sign(key, authDigest(RECEIVE_TYPEHASH, from, to, value, validAfter, validBefore, nonce));
    }

    function signCancel(uint256 key, address authorizer, bytes32 nonce) private view returns (bytes memory) {
        return sign(key, typedDigest(keccak256(abi.encode(CANCEL_TYPEHASH, authorizer, nonce))));
    }

    // ---------------------------------------------------------------- metadata and mint

    function test_Metadata() public view {
        assertEq(token.name(), "Agora Dev USD");
        assertEq(token.symbol(), "DUSD");
        assertEq(token.decimals(), 6);
        assertEq(token.owner(), address(this));
        assertEq(token.DOMAIN_SEPARATOR(), domainSeparator());
    }

    function test_Typehashes() public view {
        assertEq(token.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(), TRANSFER_TYPEHASH);
        assertEq(token.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(), RECEIVE_TYPEHASH);
        assertEq(token.CANCEL_AUTHORIZATION_TYPEHASH(), CANCEL_TYPEHASH);
    }

    function test_Mint() public {
        uint256 supplyBefore = token.totalSupply();
        vm.expectEmit(address(token));
        emit Transfer(address(0), bob, 42e6);
        token.mint(bob, 42e6);
        assertEq(token.balanceOf(bob), 42e6);
        assertEq(token.totalSupply(), supplyBefore + 42e6);
    }

    function test_RevertWhen_MintByNonOwner() public {
        vm.prank(mallory);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, mallory));
        token.mint(mallory, 1e6);
    }

    function testFuzz_MintByNonOwnerReverts(address caller, uint256 amount) public {
        vm.assume(caller != address(this));
        vm.prank(caller);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, caller));
        token.mint(caller, amount);
    }

    // ---------------------------------------------------------------- EIP-2612 permit

    function test_Permit() public {
        uint256 deadline = NOW + 1 hours;
        uint256 nonce = token.nonces(alice);
        bytes32 digest =
            typedDigest(keccak256(abi.encode(PERMIT_TYPEHASH, alice, bob, 250e6, nonce, deadline)));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, digest);

        vm.expectEmit(address(token));
        emit Approval(alice, bob, 250e6);
        vm.prank(relayer);
        token.permit(alice, bob, 250e6, deadline, v, r, s);

        assertEq(token.allowance(alice, bob), 250e6);
        assertEq(token.nonces(alice), nonce + 1);

        vm.prank(bob);
        token.transferFrom(alice, bob, 250e6);
        assertEq(token.balanceOf(bob), 250e6);
        assertEq(token.balanceOf(alice), BALANCE - 250e6);
    }

    function test_RevertWhen_PermitExpired() public {
        uint256 deadline = NOW - 1;
        bytes32 digest = typedDigest(keccak256(abi.encode(PERMIT_TYPEHASH, alice, bob, 1e6, 0, deadline)));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, digest);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612ExpiredSignature.selector, deadline));
        token.permit(alice, bob, 1e6, deadline, v, r, s);
    }

    function test_RevertWhen_PermitSignedByOtherKey() public {
        uint256 deadline = NOW + 1 hours;
        bytes32 digest = typedDigest(keccak256(abi.encode(PERMIT_TYPEHASH, alice, bob, 1e6, 0, deadline)));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(malloryKey, digest);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, mallory, alice));
        token.permit(alice, bob, 1e6, deadline, v, r, s);
    }

    function test_RevertWhen_PermitReplayed() public {
        uint256 deadline = NOW + 1 hours;
        bytes32 digest = typedDigest(keccak256(abi.encode(PERMIT_TYPEHASH, alice, bob, 1e6, 0, deadline)));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, digest);
        token.permit(alice, bob, 1e6, deadline, v, r, s);

        // The nonce moved on, so the same signature now recovers to a different (random) address.
        bytes32 replayDigest = typedDigest(keccak256(abi.encode(PERMIT_TYPEHASH, alice, bob, 1e6, 1, deadline)));
        address recovered = ecrecover(replayDigest, v, r, s);
        vm.expectRevert(abi.encodeWithSelector(ERC20Permit.ERC2612InvalidSigner.selector, recovered, alice));
        token.permit(alice, bob, 1e6, deadline, v, r, s);
    }

    // ---------------------------------------------------------------- EIP-3009 transferWithAuthorization

    function test_TransferWithAuthorization() public {
        bytes32 nonce = keccak256("nonce-1");
        uint256 validAfter = NOW - 1;
        uint256 validBefore = NOW + 1 hours;
        bytes memory sig = signTransfer(aliceKey, alice, bob, 100e6, validAfter, validBefore, nonce);
        assertFalse(token.authorizationState(alice, nonce));

        vm.expectEmit(address(token));
        emit AuthorizationUsed(alice, nonce);
        vm.expectEmit(address(token));
        emit Transfer(alice, bob, 100e6);
        vm.prank(relayer); // anyone may submit
        token.transferWithAuthorization(alice, bob, 100e6, validAfter, validBefore, nonce, sig);

        assertTrue(token.authorizationState(alice, nonce));
        assertEq(token.balanceOf(alice), BALANCE - 100e6);
        assertEq(token.balanceOf(bob), 100e6);
        assertEq(token.balanceOf(relayer), 0);
    }

    function _split(bytes memory sig) private pure returns (uint8 v, bytes32 r, bytes32 s) {
        assembly {
            r := mload(add(sig, 32))
            s := mload(add(sig, 64))
            v := byte(0, mload(add(sig, 96)))
        }
    }

    function test_TransferWithAuthorization_SplitSignature() public {
        // The (v, r, s) overload x402 facilitators call for plain accounts.
        bytes32 nonce = keccak256("nonce-vrs");
        bytes memory sig = signTransfer(aliceKey, alice, bob, 7e6, NOW - 1, NOW + 1 hours, nonce);
        (uint8 v, bytes32 r, bytes32 s) = _split(sig);
        vm.prank(relayer);
        token.transferWithAuthorization(alice, bob, 7e6, NOW - 1, NOW + 1 hours, nonce, v, r, s);
        assertEq(token.balanceOf(bob), 7e6);
        assertTrue(token.authorizationState(alice, nonce));
        // The same authorization cannot be replayed through the other overload.
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDAuthorizationUsed.selector, alice, nonce));
        token.transferWithAuthorization(alice, bob, 7e6, NOW - 1, NOW + 1 hours, nonce, sig);
        // A tampered value fails the signature check.
        bytes32 other = keccak256("nonce-vrs-2");
        sig = signTransfer(aliceKey, alice, bob, 7e6, NOW - 1, NOW + 1 hours, other);
        (v, r, s) = _split(sig);
        vm.expectRevert();
        token.transferWithAuthorization(alice, bob, 8e6, NOW - 1, NOW + 1 hours, other, v, r, s);
    }

    function test_ReceiveWithAuthorization_SplitSignature() public {
        bytes32 nonce = keccak256("nonce-vrs-receive");
        bytes memory sig = signReceive(aliceKey, alice, bob, 3e6, NOW - 1, NOW + 1 hours, nonce);
        (uint8 v, bytes32 r, bytes32 s) = _split(sig);
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDCallerMustBePayee.selector, relayer, bob));
        vm.prank(relayer);
        token.receiveWithAuthorization(alice, bob, 3e6, NOW - 1, NOW + 1 hours, nonce, v, r, s);
        vm.prank(bob);
        token.receiveWithAuthorization(alice, bob, 3e6, NOW - 1, NOW + 1 hours, nonce, v, r, s);
        assertEq(token.balanceOf(bob), 3e6);
    }

    function test_TransferWithAuthorization_ValidWindowEdges() public {
        // Valid strictly after validAfter and strictly before validBefore.
        bytes32 nonce = keccak256("edge");
        uint256 validAfter = NOW - 1;
        uint256 validBefore = NOW + 1;
        bytes memory sig = signTransfer(aliceKey, alice, bob, 1, validAfter, validBefore, nonce);
        token.transferWithAuthorization(alice, bob, 1, validAfter, validBefore, nonce, sig);
        assertEq(token.balanceOf(bob), 1);
    }

    function test_RevertWhen_TransferWithAuthorizationNotYetValid() public {
        bytes32 nonce = keccak256("early");
        uint256 validAfter = NOW; // must be strictly in the past
        uint256 validBefore = NOW + 1 hours;
        bytes memory sig = signTransfer(aliceKey, alice, bob, 1e6, validAfter, validBefore, nonce);
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDAuthorizationNotYetValid.selector, validAfter, NOW));
        token.transferWithAuthorization(alice, bob, 1e6, validAfter, validBefore, nonce, sig);

        // Once the window opens the same signature works.
        vm.warp(NOW + 1);
        token.transferWithAuthorization(alice, bob, 1e6, validAfter, validBefore, nonce, sig);
        assertEq(token.balanceOf(bob), 1e6);
    }

    function test_RevertWhen_TransferWithAuthorizationExpired() public {
        bytes32 nonce = keccak256("late");
        uint256 validAfter = 0;
        uint256 validBefore = NOW + 10;
        bytes memory sig = signTransfer(aliceKey, alice, bob, 1e6, validAfter, validBefore, nonce);
        vm.warp(NOW + 10); // validBefore itself is already too late
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDAuthorizationExpired.selector, validBefore, NOW + 10));
        token.transferWithAuthorization(alice, bob, 1e6, validAfter, validBefore, nonce, sig);
        assertFalse(token.authorizationState(alice, nonce));
    }

    function test_RevertWhen_TransferWithAuthorizationNonceReused() public {
        bytes32 nonce = keccak256("once");
        bytes memory sig = signTransfer(aliceKey, alice, bob, 1e6, 0, NOW + 1 hours, nonce);
        token.transferWithAuthorization(alice, bob, 1e6, 0, NOW + 1 hours, nonce, sig);

        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDAuthorizationUsed.selector, alice, nonce));
        token.transferWithAuthorization(alice, bob, 1e6, 0, NOW + 1 hours, nonce, sig);

        // Even a fresh signature for different terms cannot reuse the nonce.
        bytes memory other = signTransfer(aliceKey, alice, relayer, 2e6, 0, NOW + 1 hours, nonce);
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDAuthorizationUsed.selector, alice, nonce));
        token.transferWithAuthorization(alice, relayer, 2e6, 0, NOW + 1 hours, nonce, other);
        assertEq(token.balanceOf(bob), 1e6);
    }

    function test_RevertWhen_TransferWithAuthorizationWrongSigner() public {
        bytes32 nonce = keccak256("forged");
        bytes memory sig = signTransfer(malloryKey, alice, mallory, 500e6, 0, NOW + 1 hours, nonce);
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDInvalidSignature.selector, alice, mallory));
        token.transferWithAuthorization(alice, mallory, 500e6, 0, NOW + 1 hours, nonce, sig);
        assertEq(token.balanceOf(alice), BALANCE);
        assertFalse(token.authorizationState(alice, nonce));
    }

    function test_RevertWhen_TransferWithAuthorizationTampered() public {
        bytes32 nonce = keccak256("tamper");
        bytes memory sig = signTransfer(aliceKey, alice, bob, 1e6, 0, NOW + 1 hours, nonce);
        // A relayer raises the value; the signature then recovers to an unrelated address.
        address recovered = recover(authDigest(TRANSFER_TYPEHASH, alice, bob, 900e6, 0, NOW + 1 hours, nonce), sig);
        assertTrue(recovered != alice);
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDInvalidSignature.selector, alice, recovered));
        token.transferWithAuthorization(alice, bob, 900e6, 0, NOW + 1 hours, nonce, sig);
    }

    function test_RevertWhen_TransferWithAuthorizationMalformedSignature() public {
        bytes32 nonce = keccak256("short");
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDInvalidSignature.selector, alice, address(0)));
        token.transferWithAuthorization(alice, bob, 1e6, 0, NOW + 1 hours, nonce, hex"1234");
    }

    function test_RevertWhen_TransferWithAuthorizationExceedsBalance() public {
        bytes32 nonce = keccak256("too-much");
        bytes memory sig = signTransfer(aliceKey, alice, bob, BALANCE + 1, 0, NOW + 1 hours, nonce);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, alice, BALANCE, BALANCE + 1)
        );
        token.transferWithAuthorization(alice, bob, BALANCE + 1, 0, NOW + 1 hours, nonce, sig);
        // The failed call rolled back, so the nonce is still free.
        assertFalse(token.authorizationState(alice, nonce));
    }

    function test_RevertWhen_TransferSignatureUsedForReceive() public {
        // The typehash separates the two kinds of authorization: a transfer signature is no
        // good to receiveWithAuthorization.
        bytes32 nonce = keccak256("kind");
        bytes memory sig = signTransfer(aliceKey, alice, bob, 1e6, 0, NOW + 1 hours, nonce);
        address recovered = recover(authDigest(RECEIVE_TYPEHASH, alice, bob, 1e6, 0, NOW + 1 hours, nonce), sig);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDInvalidSignature.selector, alice, recovered));
        token.receiveWithAuthorization(alice, bob, 1e6, 0, NOW + 1 hours, nonce, sig);
    }

    // ---------------------------------------------------------------- EIP-3009 receiveWithAuthorization

    function test_ReceiveWithAuthorization() public {
        bytes32 nonce = keccak256("receive");
        bytes memory sig = signReceive(aliceKey, alice, bob, 30e6, NOW - 100, NOW + 100, nonce);

        vm.expectEmit(address(token));
        emit AuthorizationUsed(alice, nonce);
        vm.expectEmit(address(token));
        emit Transfer(alice, bob, 30e6);
        vm.prank(bob);
        token.receiveWithAuthorization(alice, bob, 30e6, NOW - 100, NOW + 100, nonce, sig);

        assertTrue(token.authorizationState(alice, nonce));
        assertEq(token.balanceOf(bob), 30e6);
        assertEq(token.balanceOf(alice), BALANCE - 30e6);
    }

    function test_RevertWhen_ReceiveWithAuthorizationCallerNotPayee() public {
        bytes32 nonce = keccak256("front-run");
        bytes memory sig = signReceive(aliceKey, alice, bob, 30e6, 0, NOW + 100, nonce);
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDCallerMustBePayee.selector, relayer, bob));
        token.receiveWithAuthorization(alice, bob, 30e6, 0, NOW + 100, nonce, sig);
        assertFalse(token.authorizationState(alice, nonce));
        assertEq(token.balanceOf(bob), 0);
    }

    function test_RevertWhen_ReceiveWithAuthorizationNotYetValid() public {
        bytes32 nonce = keccak256("r-early");
        bytes memory sig = signReceive(aliceKey, alice, bob, 1e6, NOW + 5, NOW + 100, nonce);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDAuthorizationNotYetValid.selector, NOW + 5, NOW));
        token.receiveWithAuthorization(alice, bob, 1e6, NOW + 5, NOW + 100, nonce, sig);
    }

    function test_RevertWhen_ReceiveWithAuthorizationExpired() public {
        bytes32 nonce = keccak256("r-late");
        bytes memory sig = signReceive(aliceKey, alice, bob, 1e6, 0, NOW - 1, nonce);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDAuthorizationExpired.selector, NOW - 1, NOW));
        token.receiveWithAuthorization(alice, bob, 1e6, 0, NOW - 1, nonce, sig);
    }

    function test_RevertWhen_ReceiveWithAuthorizationNonceReused() public {
        bytes32 nonce = keccak256("r-once");
        bytes memory sig = signReceive(aliceKey, alice, bob, 1e6, 0, NOW + 100, nonce);
        vm.startPrank(bob);
        token.receiveWithAuthorization(alice, bob, 1e6, 0, NOW + 100, nonce, sig);
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDAuthorizationUsed.selector, alice, nonce));
        token.receiveWithAuthorization(alice, bob, 1e6, 0, NOW + 100, nonce, sig);
        vm.stopPrank();
        assertEq(token.balanceOf(bob), 1e6);
    }

    function test_RevertWhen_ReceiveWithAuthorizationWrongSigner() public {
        bytes32 nonce = keccak256("r-forged");
        bytes memory sig = signReceive(malloryKey, alice, mallory, 1e6, 0, NOW + 100, nonce);
        vm.prank(mallory);
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDInvalidSignature.selector, alice, mallory));
        token.receiveWithAuthorization(alice, mallory, 1e6, 0, NOW + 100, nonce, sig);
    }

    // ---------------------------------------------------------------- EIP-3009 cancelAuthorization

    function test_CancelAuthorization() public {
        bytes32 nonce = keccak256("cancel-me");
        bytes memory cancelSig = signCancel(aliceKey, alice, nonce);

        vm.expectEmit(address(token));
        emit AuthorizationCanceled(alice, nonce);
        vm.prank(relayer);
        token.cancelAuthorization(alice, nonce, cancelSig);
        assertTrue(token.authorizationState(alice, nonce));
    }

    function test_RevertWhen_TransferWithCancelledNonce() public {
        bytes32 nonce = keccak256("cancelled");
        bytes memory transferSig = signTransfer(aliceKey, alice, bob, 1e6, 0, NOW + 1 hours, nonce);
        bytes memory receiveSig = signReceive(aliceKey, alice, bob, 1e6, 0, NOW + 1 hours, nonce);
        token.cancelAuthorization(alice, nonce, signCancel(aliceKey, alice, nonce));

        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDAuthorizationUsed.selector, alice, nonce));
        token.transferWithAuthorization(alice, bob, 1e6, 0, NOW + 1 hours, nonce, transferSig);

        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDAuthorizationUsed.selector, alice, nonce));
        token.receiveWithAuthorization(alice, bob, 1e6, 0, NOW + 1 hours, nonce, receiveSig);
        assertEq(token.balanceOf(bob), 0);
    }

    function test_RevertWhen_CancelAuthorizationAlreadyUsed() public {
        bytes32 nonce = keccak256("spent");
        bytes memory sig = signTransfer(aliceKey, alice, bob, 1e6, 0, NOW + 1 hours, nonce);
        token.transferWithAuthorization(alice, bob, 1e6, 0, NOW + 1 hours, nonce, sig);

        bytes memory cancelSig = signCancel(aliceKey, alice, nonce);
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDAuthorizationUsed.selector, alice, nonce));
        token.cancelAuthorization(alice, nonce, cancelSig);
    }

    function test_RevertWhen_CancelAuthorizationTwice() public {
        bytes32 nonce = keccak256("twice");
        bytes memory cancelSig = signCancel(aliceKey, alice, nonce);
        token.cancelAuthorization(alice, nonce, cancelSig);
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDAuthorizationUsed.selector, alice, nonce));
        token.cancelAuthorization(alice, nonce, cancelSig);
    }

    function test_RevertWhen_CancelAuthorizationWrongSigner() public {
        // Mallory cannot grief Alice by burning her nonces.
        bytes32 nonce = keccak256("grief");
        bytes memory cancelSig = signCancel(malloryKey, alice, nonce);
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDInvalidSignature.selector, alice, mallory));
        token.cancelAuthorization(alice, nonce, cancelSig);
        assertFalse(token.authorizationState(alice, nonce));
    }

    // ---------------------------------------------------------------- fuzz

    function testFuzz_TransferWithAuthorization(uint256 value, bytes32 nonce, uint256 validAfter, uint256 window)
        public
    {
        value = bound(value, 0, BALANCE);
        validAfter = bound(validAfter, 0, NOW - 1);
        uint256 validBefore = NOW + bound(window, 1, 365 days);
        bytes memory sig = signTransfer(aliceKey, alice, bob, value, validAfter, validBefore, nonce);

        token.transferWithAuthorization(alice, bob, value, validAfter, validBefore, nonce, sig);

        assertEq(token.balanceOf(alice), BALANCE - value);
        assertEq(token.balanceOf(bob), value);
        assertTrue(token.authorizationState(alice, nonce));

        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDAuthorizationUsed.selector, alice, nonce));
        token.transferWithAuthorization(alice, bob, value, validAfter, validBefore, nonce, sig);
    }

    function testFuzz_ReceiveWithAuthorization(uint256 signerKey, uint256 value, bytes32 nonce) public {
        signerKey = boundPrivateKey(signerKey);
        address signer = vm.addr(signerKey);
        vm.assume(signer != bob && signer != alice);
        value = bound(value, 0, type(uint128).max);
        token.mint(signer, value);
        uint256 bobBefore = token.balanceOf(bob);
        bytes memory sig = signReceive(signerKey, signer, bob, value, 0, NOW + 1, nonce);

        vm.prank(bob);
        token.receiveWithAuthorization(signer, bob, value, 0, NOW + 1, nonce, sig);

        assertEq(token.balanceOf(signer), 0);
        assertEq(token.balanceOf(bob), bobBefore + value);
        assertTrue(token.authorizationState(signer, nonce));
    }

    function testFuzz_AuthorizationOutsideWindowReverts(uint256 validAfter, uint256 validBefore, bytes32 nonce)
        public
    {
        // Either the window has not opened yet, or it has closed.
        vm.assume(!(NOW > validAfter && NOW < validBefore));
        bytes memory sig = signTransfer(aliceKey, alice, bob, 1e6, validAfter, validBefore, nonce);

        if (NOW <= validAfter) {
            vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDAuthorizationNotYetValid.selector, validAfter, NOW));
        } else {
            vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDAuthorizationExpired.selector, validBefore, NOW));
        }
        token.transferWithAuthorization(alice, bob, 1e6, validAfter, validBefore, nonce, sig);
    }

    function testFuzz_TransferWithAuthorizationWrongSignerReverts(uint256 signerKey, uint256 value, bytes32 nonce)
        public
    {
        signerKey = boundPrivateKey(signerKey);
        address signer = vm.addr(signerKey);
        vm.assume(signer != alice);
        value = bound(value, 1, BALANCE);
        bytes memory sig = signTransfer(signerKey, alice, bob, value, 0, NOW + 1, nonce);
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDInvalidSignature.selector, alice, signer));
        token.transferWithAuthorization(alice, bob, value, 0, NOW + 1, nonce, sig);
    }

    function testFuzz_CancelThenTransferReverts(bytes32 nonce, uint256 value) public {
        value = bound(value, 0, BALANCE);
        bytes memory sig = signTransfer(aliceKey, alice, bob, value, 0, NOW + 1, nonce);
        token.cancelAuthorization(alice, nonce, signCancel(aliceKey, alice, nonce));
        vm.expectRevert(abi.encodeWithSelector(DevUSD.DevUSDAuthorizationUsed.selector, alice, nonce));
        token.transferWithAuthorization(alice, bob, value, 0, NOW + 1, nonce, sig);
        assertEq(token.balanceOf(alice), BALANCE);
    }

    function testFuzz_Permit(uint256 value, uint256 deadline) public {
        deadline = bound(deadline, NOW, type(uint256).max);
        bytes32 digest = typedDigest(keccak256(abi.encode(PERMIT_TYPEHASH, alice, bob, value, 0, deadline)));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, digest);
        token.permit(alice, bob, value, deadline, v, r, s);
        assertEq(token.allowance(alice, bob), value);
        assertEq(token.nonces(alice), 1);
    }
}
