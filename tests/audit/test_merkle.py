"""RFC 6962 Merkle trees: the Certificate Transparency test vectors, the incremental
frontier against the textbook recursion, and inclusion proofs."""

from __future__ import annotations

import hashlib

import pytest

from gongshu.audit.merkle import (
    EMPTY_ROOT,
    Frontier,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_of,
    verify_inclusion,
)

# The leaves and roots of the RFC 6962 reference test data (certificate-transparency).
CT_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
             "606162636465666768696a6b6c6d6e6f"]  # fmt: skip
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


def _textbook(leaves: list[bytes]) -> bytes:
    """MTH as RFC 6962 §2.1 writes it."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(_textbook(leaves[:k]), _textbook(leaves[k:]))


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(hashlib.sha256(str(i).encode()).digest()) for i in range(n)]


def test_certificate_transparency_vectors() -> None:
    leaves = [leaf_hash(bytes.fromhex(d)) for d in CT_LEAVES]
    for size, expected in enumerate(CT_ROOTS, start=1):
        assert root_of(leaves[:size]).hex() == expected
    assert (
        root_of([])
        == EMPTY_ROOT
        == bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    )


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13, 31, 32, 33, 100, 257])
def test_frontier_matches_the_textbook_root_at_every_size(size: int) -> None:
    leaves = _leaves(size)
    frontier = Frontier()
    for i, leaf in enumerate(leaves, start=1):
        frontier.append(leaf)
        assert frontier.root() == _textbook(leaves[:i])
    assert len(frontier.nodes) == bin(size).count("1")


def test_frontier_resumes_from_its_stored_form() -> None:
    leaves = _leaves(77)
    first = Frontier()
    for leaf in leaves[:50]:
        first.append(leaf)
    resumed = Frontier.from_hex(first.size, first.to_hex())
    for leaf in leaves[50:]:
        resumed.append(leaf)
    assert resumed.root() == _textbook(leaves)
    with pytest.raises(ValueError, match="one node per set bit"):
        Frontier(5, [b"x" * 32])


def test_inclusion_proofs_verify_and_tampering_fails() -> None:
    for size in (1, 2, 3, 7, 8, 9, 20):
        leaves = _leaves(size)
        root = root_of(leaves)
        for index in range(size):
            proof = inclusion_proof(index, leaves)
            assert verify_inclusion(index, size, leaves[index], proof, root)
            assert not verify_inclusion(index, size, leaf_hash(b"forged"), proof, root)
            if proof:
                bad = [*proof[:-1], hashlib.sha256(proof[-1]).digest()]
                assert not verify_inclusion(index, size, leaves[index], bad, root)
            if size > 1:
                assert not verify_inclusion((index + 1) % size, size, leaves[index], proof, root)
    with pytest.raises(ValueError):
        inclusion_proof(3, _leaves(3))
