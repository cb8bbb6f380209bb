// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestSmartWallet} from "./TestSmartWallet.sol";

/// @title TestWalletFactory — CREATE2 factory of TestSmartWallet, for counterfactual (ERC-6492) tests.
contract TestWalletFactory {
    /// @notice Deploys the wallet of `owner` with `salt` (the address `walletOf` predicts).
    function deploy(address owner, bytes32 salt) external returns (address) {
        return address(new TestSmartWallet{salt: salt}(owner));
    }

    /// @notice The address `deploy(owner, salt)` creates, before it exists.
    function walletOf(address owner, bytes32 salt) external view returns (address) {
        bytes32 code = keccak256(abi.encodePacked(type(TestSmartWallet).creationCode, abi.encode(owner)));
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), address(this), salt, code)))));
    }
}
