"""Stock codes as sortable integers: the market store and the corporate-action detector match codes this way."""

from __future__ import annotations

import numpy as np

_POWERS = 36 ** np.arange(5, -1, -1, dtype=np.int64)


def code_keys(codes: np.ndarray) -> np.ndarray:
    """Stock codes (6 chars of 0-9A-Z) as int64 keys with the same order: sorting and matching integers is
    several times faster than strings."""
    arr = np.ascontiguousarray(np.asarray(codes).astype("U6"))
    chars = arr.view(np.uint32).reshape(-1, 6).astype(np.int64)
    values = np.where(chars >= 65, chars - 55, chars - 48)
    return values @ _POWERS
