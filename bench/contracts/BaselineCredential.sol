// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC721URIStorage} from "@openzeppelin/contracts/token/ERC721/extensions/ERC721URIStorage.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title BaselineCredential — a skill credential composed the usual way from OpenZeppelin, for the
///        gas benchmark only: ERC721URIStorage + AccessControl, a struct per token, `_safeMint`, and
///        the 66-byte `ipfs://bafkrei...` URI stored as a string.
contract BaselineCredential is ERC721URIStorage, AccessControl {
    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");

    struct Credential {
        bytes32 skillId;
        address issuer;
        uint64 issuedAt;
        uint64 expiresAt;
    }

    mapping(uint256 => Credential) public credentials;
    uint256 private _nextId;

    constructor() ERC721("Baseline Credential", "BASE") {
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
        _grantRole(ISSUER_ROLE, msg.sender);
    }

    /// @notice Issues a credential to `to`.
    function issue(address to, bytes32 skillId, string calldata uri, uint64 expiresAt)
        external
        onlyRole(ISSUER_ROLE)
        returns (uint256 id)
    {
        id = ++_nextId;
        credentials[id] = Credential(skillId, msg.sender, uint64(block.timestamp), expiresAt);
        _safeMint(to, id);
        _setTokenURI(id, uri);
    }

    /// @inheritdoc ERC721
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC721URIStorage, AccessControl)
        returns (bool)
    {
        return super.supportsInterface(interfaceId);
    }
}
