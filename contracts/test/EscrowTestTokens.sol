// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Misbehaving tokens and recipients for escrow tests. Never deployed outside tests.

/// @notice Keeps 1% of every transfer (fee-on-transfer).
contract FeeOnTransferToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    /// @notice Mints freely (tests only).
    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    /// @notice Approves `spender`.
    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        return true;
    }

    /// @notice Transfers 99% of `amount`.
    function transfer(address to, uint256 amount) external returns (bool) {
        _move(msg.sender, to, amount);
        return true;
    }

    /// @notice Transfers 99% of `amount` from `from`.
    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        allowance[from][msg.sender] -= amount;
        _move(from, to, amount);
        return true;
    }

    function _move(address from, address to, uint256 amount) private {
        balanceOf[from] -= amount;
        balanceOf[to] += amount - amount / 100;
    }
}

/// @notice An ERC-20 whose transfer functions return nothing (like USDT).
contract NoReturnToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    /// @notice Mints freely (tests only).
    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    /// @notice Approves `spender`; returns nothing.
    function approve(address spender, uint256 amount) external {
        allowance[msg.sender][spender] = amount;
    }

    /// @notice Transfers; returns nothing.
    function transfer(address to, uint256 amount) external {
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount;
    }

    /// @notice Transfers from `from`; returns nothing.
    function transferFrom(address from, address to, uint256 amount) external {
        allowance[from][msg.sender] -= amount;
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
    }
}

/// @notice An ERC-20 that returns false instead of moving tokens once `failing` is set.
contract FalseReturnToken {
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    bool public failing;

    /// @notice Mints freely (tests only).
    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
    }

    /// @notice Makes every later transfer return false.
    function setFailing(bool failing_) external {
        failing = failing_;
    }

    /// @notice Approves `spender`.
    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        return true;
    }

    /// @notice Transfers unless failing.
    function transfer(address to, uint256 amount) external returns (bool) {
        if (failing) return false;
        balanceOf[msg.sender] -= amount;
        balanceOf[to] += amount;
        return true;
    }

    /// @notice Transfers from `from` unless failing.
    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        if (failing) return false;
        allowance[from][msg.sender] -= amount;
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        return true;
    }
}

interface IEscrowForAttack {
    function withdraw(address token) external;
    function approveMilestone(uint256 id, uint256 index) external;
    function cancel(uint256 id) external;
}

/// @notice A party whose ETH receive hook re-enters the escrow, trying to be paid twice.
contract ReentrantParty {
    IEscrowForAttack public immutable escrow;
    uint256 public reentryAttempts;
    bool public reentrySucceeded;
    uint256 public received;

    constructor(IEscrowForAttack escrow_) {
        escrow = escrow_;
    }

    /// @notice Calls any function of the escrow as this contract (to create, approve, cancel...).
    function call(bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory out) = address(escrow).call{value: msg.value}(data);
        if (!ok) {
            assembly {
                revert(add(out, 32), mload(out))
            }
        }
        return out;
    }

    /// @notice Withdraws ETH owed to this contract.
    function withdrawEth() external {
        escrow.withdraw(address(0));
    }

    receive() external payable {
        received += msg.value;
        if (reentryAttempts < 3) {
            reentryAttempts += 1;
            try escrow.withdraw(address(0)) {
                reentrySucceeded = true;
            } catch {}
        }
    }
}

/// @notice A recipient that refuses ETH.
contract RevertingRecipient {
    /// @notice Calls any function of `target` as this contract.
    function call(address target, bytes calldata data) external payable returns (bytes memory) {
        (bool ok, bytes memory out) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly {
                revert(add(out, 32), mload(out))
            }
        }
        return out;
    }

    receive() external payable {
        revert("no ETH, thanks");
    }
}
