"""RFC 6962 Merkle trees over the audit chain's entry hashes.

Leaves are entries in ``seq`` order: ``leaf = SHA-256(0x00 || entry_hash)`` where
``entry_hash`` is the entry's 32-byte SHA-256 (its hex column decoded), and inner nodes
are ``SHA-256(0x01 || left || right)``. A tree of ``n`` leaves splits at the largest
power of two below ``n`` (RFC 6962 §2.1), so a root is the same whoever computes it.

:class:`Frontier` holds the roots of the perfect subtrees a prefix of ``n`` leaves
decomposes into (one per set bit of ``n``): appending a leaf costs one hash plus one per
subtree it completes, and the root of the whole prefix folds them right to left. A
checkpoint stores its frontier, so the next checkpoint hashes only the new entries.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

_sha = hashlib.sha256
LEAF = b"\x00"
NODE = b"\x01"
EMPTY_ROOT = _sha(b"").digest()  # RFC 6962: the hash of an empty tree


def leaf_hash(entry_digest: bytes) -> bytes:
    return _sha(LEAF + entry_digest).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha(NODE + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class Frontier:
    """The compact state of a growing tree: perfect-subtree roots, largest first."""

    __slots__ = ("nodes", "size")

    def __init__(self, size: int = 0, nodes: Iterable[bytes] = ()) -> None:
        self.size = size
        self.nodes = list(nodes)
        if len(self.nodes) != bin(size).count("1"):
            raise ValueError("a frontier holds one node per set bit of its size")

    def append(self, leaf: bytes) -> None:
        """Add the next leaf hash."""
        node = leaf
        n = self.size
        nodes = self.nodes
        while n & 1:
            node = _sha(NODE + nodes.pop() + node).digest()
            n >>= 1
        nodes.append(node)
        self.size += 1

    def root(self) -> bytes:
        """The RFC 6962 root of the leaves appended so far."""
        if not self.nodes:
            return EMPTY_ROOT
        acc = self.nodes[-1]
        for node in reversed(self.nodes[:-1]):
            acc = node_hash(node, acc)
        return acc

    def copy(self) -> Frontier:
        return Frontier(self.size, self.nodes)

    def to_hex(self) -> list[str]:
        return [n.hex() for n in self.nodes]

    @classmethod
    def from_hex(cls, size: int, nodes: Sequence[str]) -> Frontier:
        return cls(size, [bytes.fromhex(n) for n in nodes])


def root_of(leaves: Iterable[bytes]) -> bytes:
    """MTH(D[n]) of RFC 6962 §2.1 over leaf hashes."""
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 §2.1.1: the audit path of leaf ``index`` (0-based)."""
    n = len(leaves)
    if not 0 <= index < n:
        raise ValueError("leaf index outside the tree")
    if n == 1:
        return []
    k = _split(n)
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), root_of(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), root_of(leaves[:k])]


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """Check an audit path (RFC 9162 §2.1.3.2) against a root."""
    if not 0 <= index < size:
        return False
    fn, sn = index, size - 1
    acc = leaf
    for sibling in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            acc = node_hash(sibling, acc)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            acc = node_hash(acc, sibling)
        fn >>= 1
        sn >>= 1
    return sn == 0 and acc == root
