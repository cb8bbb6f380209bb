// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title ERC6492Validator — checks a signature of a contract wallet that may not be deployed yet
///        (ERC-6492). Never deployed: its creation code runs inside an `eth_call`, so the wallet the
///        factory would create exists only in that call's throw-away state.
/// @notice The constructor answers one byte instead of deploying code: 0x01 valid, 0x00 not.
contract ERC6492Validator {
    bytes32 private constant _SUFFIX = 0x6492649264926492649264926492649264926492649264926492649264926492;
    bytes4 private constant _ERC1271_MAGIC = 0x1626ba7e;

    /// @notice Checks `signature` by `signer` over `hash` and returns the verdict as the call's output.
    /// @param signer The contract wallet's address (deployed or counterfactual).
    /// @param hash The digest the wallet signed (an EIP-191 personal-message hash for sign-in).
    /// @param signature `abi.encode(factory, factoryCalldata, innerSignature) ‖ suffix`, or a plain
    ///        EIP-1271 signature of a deployed wallet.
    constructor(address signer, bytes32 hash, bytes memory signature) {
        bool valid = _check(signer, hash, signature);
        assembly {
            mstore(0, valid)
            return(31, 1)
        }
    }

    function _check(address signer, bytes32 hash, bytes memory signature) private returns (bool) {
        bytes memory inner = signature;
        if (_wrapped(signature)) {
            assembly {
                mstore(signature, sub(mload(signature), 32)) // drop the suffix before decoding
            }
            (address factory, bytes memory factoryCalldata, bytes memory wrapped) =
                abi.decode(signature, (address, bytes, bytes));
            inner = wrapped;
            if (signer.code.length == 0) {
                // slither-disable-next-line low-level-calls,unused-return
                (bool deployed,) = factory.call(factoryCalldata);
                if (!deployed) return false;
            }
        }
        if (signer.code.length == 0) return false; // an EOA's signature is checked off-chain (ECDSA)
        // slither-disable-next-line low-level-calls
        (bool ok, bytes memory out) = signer.staticcall(abi.encodeWithSelector(_ERC1271_MAGIC, hash, inner));
        return ok && out.length >= 32 && bytes4(bytes32(out)) == _ERC1271_MAGIC;
    }

    function _wrapped(bytes memory s) private pure returns (bool tail) {
        if (s.length < 32) return false;
        bytes32 last;
        assembly {
            last := mload(add(s, mload(s))) // the final 32 bytes
        }
        return last == _SUFFIX;
    }
}
