"""Key handles resist leaking: no key bytes in repr, no pickling, no copying."""

from __future__ import annotations

import copy
import pickle

import pytest

from vault.crypto.keys import DataKey, WrappedKey


def test_repr_and_str_hide_the_key() -> None:
    """Neither repr nor str nor an f-string of a DataKey shows its bytes."""
    key = DataKey.generate()
    for shown in (repr(key), str(key), f"{key}", repr([key])):
        assert key.material.hex() not in shown
        assert repr(key.material) not in shown
        assert "hidden" in shown


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickling_raises(protocol: int) -> None:
    """A DataKey refuses to be pickled under every protocol."""
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(DataKey.generate(), protocol=protocol)


def test_getstate_and_copy_raise() -> None:
    """__getstate__, copy and deepcopy all refuse."""
    key = DataKey.generate()
    with pytest.raises(TypeError):
        key.__getstate__()
    with pytest.raises(TypeError):
        copy.copy(key)
    with pytest.raises(TypeError):
        copy.deepcopy(key)


def test_keys_are_32_random_bytes_and_compare_by_value() -> None:
    """Generated keys are 32 bytes, distinct, equal only to the same material."""
    a, b = DataKey.generate(), DataKey.generate()
    assert len(a.material) == 32
    assert a != b
    assert a == DataKey(a.material)
    with pytest.raises(ValueError, match="32 bytes"):
        DataKey(b"short")


def test_wrapped_key_validates() -> None:
    """A wrapped key needs a positive version and a bounded blob."""
    with pytest.raises(ValueError, match="start at 1"):
        WrappedKey(0, b"x")
    with pytest.raises(ValueError, match="1 to 1024"):
        WrappedKey(1, b"")
