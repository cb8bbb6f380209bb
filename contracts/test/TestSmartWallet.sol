// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title TestSmartWallet — a minimal Safe-like contract wallet for tests: EIP-1271 by its owner's key.
contract TestSmartWallet {
    bytes4 private constant _MAGIC = 0x1626ba7e;
    address public owner;

    constructor(address owner_) {
        owner = owner_;
    }

    /// @notice EIP-1271: valid when the owner's key signed `hash` (low-s ECDSA). A 66-byte signature
    ///         (65 bytes + a wallet-specific type byte, as Loopring sends) is checked on its first 65.
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        bytes calldata sig = signature.length == 66 ? signature[:65] : signature;
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(hash, sig);
        return err == ECDSA.RecoverError.NoError && signer == owner ? _MAGIC : bytes4(0xffffffff);
    }

    /// @notice Lets the owner act as the wallet (e.g. cancel a voucher nonce).
    function execute(address target, bytes calldata data) external returns (bytes memory) {
        require(msg.sender == owner, "not owner");
        (bool ok, bytes memory out) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(out, 32), mload(out))
            }
        }
        return out;
    }
}
