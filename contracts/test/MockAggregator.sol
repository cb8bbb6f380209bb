// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title MockAggregator — a price feed with Chainlink's AggregatorV3Interface whose answer its deployer
/// sets. `skillchain up` and the tests deploy it (ETH/USD and fiat/USD); real chains use Chainlink's feeds.
contract MockAggregator {
    /// @notice Only the deployer may set answers.
    error NotOwner(address caller);
    /// @notice No round with this id was recorded.
    error NoSuchRound(uint80 roundId);
    /// @notice A round cannot be dated in the future.
    error UpdatedInFuture(uint256 updatedAt);

    /// @notice Chainlink's event for a new answer.
    event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);

    struct Round {
        int256 answer;
        uint256 updatedAt;
    }

    address public immutable owner;
    uint8 public immutable decimals;
    string public description;
    uint80 public latestRound;
    mapping(uint80 roundId => Round) private _rounds;

    /// @param decimals_ digits of the answer (Chainlink's USD feeds use 8)
    /// @param description_ the pair, e.g. "ETH / USD"
    /// @param answer the first answer, scaled by 10**decimals_
    constructor(uint8 decimals_, string memory description_, int256 answer) {
        owner = msg.sender;
        decimals = decimals_;
        description = description_;
        _record(answer, block.timestamp);
    }

    /// @notice The interface version Chainlink's current aggregators report.
    function version() external pure returns (uint256) {
        return 4;
    }

    /// @notice Records a new round with `answer` (scaled by 10**decimals), updated now.
    function setAnswer(int256 answer) external {
        _onlyOwner();
        _record(answer, block.timestamp);
    }

    /// @notice Records a new round updated at `updatedAt` (tests of stale feeds date it in the past).
    function setRound(int256 answer, uint256 updatedAt) external {
        _onlyOwner();
        if (updatedAt > block.timestamp) revert UpdatedInFuture(updatedAt);
        _record(answer, updatedAt);
    }

    /// @notice The latest round, as Chainlink's AggregatorV3Interface returns it.
    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        return _round(latestRound);
    }

    /// @notice A past round, as Chainlink's AggregatorV3Interface returns it.
    function getRoundData(uint80 roundId)
        external
        view
        returns (uint80, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        if (roundId == 0 || roundId > latestRound) revert NoSuchRound(roundId);
        return _round(roundId);
    }

    function _onlyOwner() private view {
        if (msg.sender != owner) revert NotOwner(msg.sender);
    }

    function _record(int256 answer, uint256 updatedAt) private {
        uint80 roundId = ++latestRound;
        _rounds[roundId] = Round(answer, updatedAt);
        emit AnswerUpdated(answer, roundId, updatedAt);
    }

    function _round(uint80 roundId)
        private
        view
        returns (uint80, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        Round storage r = _rounds[roundId];
        return (roundId, r.answer, r.updatedAt, r.updatedAt, roundId);
    }
}
