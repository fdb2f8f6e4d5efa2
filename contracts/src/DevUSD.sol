// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title DevUSD
/// @notice The devnet's unit of account: a 6-decimal ERC-20 with EIP-2612 `permit` and EIP-3009
/// `transferWithAuthorization` / `receiveWithAuthorization`, so x402-style clients can pay with a
/// signature instead of a transaction. Production deployments use any ERC-20 (e.g. USDC).
contract DevUSD is ERC20, ERC20Permit, Ownable {
    /// @dev keccak256("TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)")
    bytes32 public constant TRANSFER_WITH_AUTHORIZATION_TYPEHASH =
        keccak256(
            "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
        );
    /// @dev keccak256("ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)")
    bytes32 public constant RECEIVE_WITH_AUTHORIZATION_TYPEHASH =
        keccak256(
            "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
        );
    /// @dev keccak256("CancelAuthorization(address authorizer,bytes32 nonce)")
    bytes32 public constant CANCEL_AUTHORIZATION_TYPEHASH =
        keccak256("CancelAuthorization(address authorizer,bytes32 nonce)");

    mapping(address authorizer => mapping(bytes32 nonce => bool used)) private _authorizationStates;

    /// @notice Emitted when an EIP-3009 authorization is used.
    event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce);
    /// @notice Emitted when an EIP-3009 authorization is cancelled before use.
    event AuthorizationCanceled(address indexed authorizer, bytes32 indexed nonce);

    /// @notice The authorization is not valid yet (`validAfter` is in the future).
    error DevUSDAuthorizationNotYetValid(uint256 validAfter, uint256 nowTimestamp);
    /// @notice The authorization has expired (`validBefore` has passed).
    error DevUSDAuthorizationExpired(uint256 validBefore, uint256 nowTimestamp);
    /// @notice The nonce was already used or cancelled for this authorizer.
    error DevUSDAuthorizationUsed(address authorizer, bytes32 nonce);
    /// @notice The signature was not made by the expected signer.
    error DevUSDInvalidSignature(address expected, address recovered);
    /// @notice `receiveWithAuthorization` must be called by the payee.
    error DevUSDCallerMustBePayee(address caller, address payee);

    /// @param initialOwner Account allowed to mint (the devnet deployer).
    constructor(address initialOwner) ERC20("Agora Dev USD", "DUSD") ERC20Permit("Agora Dev USD") Ownable(initialOwner) {}

    /// @notice 6 decimals, like the stablecoins production deployments use.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mints devnet tokens. Only the owner (the devnet deployer) can mint.
    /// @param to Receiver of the new tokens.
    /// @param amount Amount in base units (6 decimals).
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /// @notice Whether `nonce` has been used or cancelled by `authorizer` (EIP-3009).
    function authorizationState(address authorizer, bytes32 nonce) external view returns (bool) {
        return _authorizationStates[authorizer][nonce];
    }

    /// @notice Transfers `value` from `from` to `to` with `from`'s EIP-712 signature (EIP-3009).
    /// Anyone may submit it; front-running is harmless because the transfer is fixed by the signature.
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external {
        _useAuthorization(TRANSFER_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, signature);
        _transfer(from, to, value);
    }

    /// @notice `transferWithAuthorization` with the signature split into (v, r, s), the form USDC
    /// exposes and x402 facilitators call for signatures of plain accounts.
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        _useAuthorization(
            TRANSFER_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, abi.encodePacked(r, s, v)
        );
        _transfer(from, to, value);
    }

    /// @notice Like `transferWithAuthorization` but only the payee may submit it, which stops a
    /// front-runner from using the authorization outside the payee's contract call.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes calldata signature
    ) external {
        if (to != msg.sender) revert DevUSDCallerMustBePayee(msg.sender, to);
        _useAuthorization(RECEIVE_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, signature);
        _transfer(from, to, value);
    }

    /// @notice `receiveWithAuthorization` with the signature split into (v, r, s), as USDC exposes it.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        if (to != msg.sender) revert DevUSDCallerMustBePayee(msg.sender, to);
        _useAuthorization(
            RECEIVE_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, abi.encodePacked(r, s, v)
        );
        _transfer(from, to, value);
    }

    /// @notice Cancels an unused authorization so it can never be used.
    function cancelAuthorization(address authorizer, bytes32 nonce, bytes calldata signature) external {
        if (_authorizationStates[authorizer][nonce]) revert DevUSDAuthorizationUsed(authorizer, nonce);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(CANCEL_AUTHORIZATION_TYPEHASH, authorizer, nonce)));
        _checkSigner(digest, signature, authorizer);
        _authorizationStates[authorizer][nonce] = true;
        emit AuthorizationCanceled(authorizer, nonce);
    }

    function _useAuthorization(
        bytes32 typehash,
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        bytes memory signature
    ) private {
        if (block.timestamp <= validAfter) revert DevUSDAuthorizationNotYetValid(validAfter, block.timestamp);
        if (block.timestamp >= validBefore) revert DevUSDAuthorizationExpired(validBefore, block.timestamp);
        if (_authorizationStates[from][nonce]) revert DevUSDAuthorizationUsed(from, nonce);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(typehash, from, to, value, validAfter, validBefore, nonce))
        );
        _checkSigner(digest, signature, from);
        _authorizationStates[from][nonce] = true;
        emit AuthorizationUsed(from, nonce);
    }

    function _checkSigner(bytes32 digest, bytes memory signature, address expected) private pure {
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecover(digest, signature);
        if (err != ECDSA.RecoverError.NoError || recovered != expected) {
            revert DevUSDInvalidSignature(expected, recovered);
        }
    }
}
