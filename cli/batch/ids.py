"""`IdSet`: a set of custom_ids that stays small however long the ids and however many lines.

A batch run keeps custom_ids in three places: the check pass (a duplicate is an error), the ids a
resumed OUTPUT already has, and the ids this run wrote (the `stopped` lines of a run cut short). As
Python strings in a set each id costs about 100 bytes; here it costs 16 to 32 (an 8-byte fingerprint
in a table kept between a quarter and half full), in one flat array, with no Python object per id:
200,000 ids take 4 MB instead of 20 (benchmarks/batch.py measures peak RSS at 20k and 200k lines).

Two different ids share a fingerprint with a chance of 2^-64 per pair; where that would matter (a
duplicate reported as an error), the caller confirms with the ids themselves.
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable, Iterator

__all__ = ["IdSet"]

_EMPTY = 0
_INITIAL = 1024  # slots; a power of two


def fingerprint(custom_id: str) -> int:
    value = int.from_bytes(hashlib.blake2b(custom_id.encode(), digest_size=8).digest(), "little")
    return value or 1  # 0 marks an empty slot


class IdSet:
    __slots__ = ("_count", "_mask", "_slots")

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self._slots = array("Q", bytes(8 * _INITIAL))
        self._mask = _INITIAL - 1
        self._count = 0
        for custom_id in ids:
            self.add(custom_id)

    def add(self, custom_id: str) -> bool:
        """Adds `custom_id`; False when it (or an id with its fingerprint) was there already."""
        return self._insert(fingerprint(custom_id))

    def __contains__(self, custom_id: object) -> bool:
        if not isinstance(custom_id, str):
            return False
        return self._find(fingerprint(custom_id))

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def keep_only(self, other: IdSet) -> None:
        """Forget every id `other` does not have."""
        kept = [fp for fp in self._fingerprints() if other._find(fp)]
        self._slots = array("Q", bytes(8 * _INITIAL))
        self._mask, self._count = _INITIAL - 1, 0
        for fp in kept:
            self._insert(fp)

    def _fingerprints(self) -> Iterator[int]:
        return (fp for fp in self._slots if fp != _EMPTY)

    def _find(self, fp: int) -> bool:
        slots, mask = self._slots, self._mask
        index = fp & mask
        while (found := slots[index]) != _EMPTY:
            if found == fp:
                return True
            index = (index + 1) & mask
        return False

    def _insert(self, fp: int) -> bool:
        slots, mask = self._slots, self._mask
        index = fp & mask
        while (found := slots[index]) != _EMPTY:
            if found == fp:
                return False
            index = (index + 1) & mask
        slots[index] = fp
        self._count += 1
        if self._count * 2 > len(slots):
            self._grow()
        return True

    def _grow(self) -> None:
        old = self._slots
        self._slots = array("Q", bytes(16 * len(old)))
        self._mask = len(self._slots) - 1
        self._count = 0
        for fp in old:
            if fp != _EMPTY:
                self._insert(fp)
