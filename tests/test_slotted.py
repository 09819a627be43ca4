"""`@slotted` classes behave as `@dataclass(slots=True)` ones do: the same
repr, equality, hashing, immutability, fields and pattern matching."""
from __future__ import annotations

import dataclasses
import pickle
from dataclasses import dataclass, field

import pytest

from flowc.dsl import ast
from flowc.dsl.slotted import slotted
from flowc.dsl.source import Span


def _pair(frozen: bool):
    """The same classes made both ways: a base, a subclass with defaults,
    a field left out of the repr and one left out of comparisons."""

    def make(decorate):
        @decorate
        class Base:
            span: str

        @decorate
        class Leaf(Base):
            name: str
            items: tuple = field(default_factory=tuple)
            hidden: bool = field(default=False, repr=False)
            ignored: int = field(default=0, compare=False)

        return Base, Leaf

    return (make(dataclass(slots=True, frozen=frozen)),
            make(slotted(frozen=True) if frozen else slotted))


@pytest.mark.parametrize("frozen", [False, True])
def test_slotted_matches_dataclass(frozen):
    (dc_base, dc_leaf), (sl_base, sl_leaf) = _pair(frozen)
    nan = float("nan")
    for args in [("s", "n"), ("s", "n", (1, nan), True, 3), ("s", "", (), False, 1)]:
        a, b = dc_leaf(*args), sl_leaf(*args)
        assert repr(a) == repr(b)
        assert (a == dc_leaf(*args)) == (b == sl_leaf(*args))
        assert (a == dc_leaf(*args[:2])) == (b == sl_leaf(*args[:2]))
        if frozen:
            assert hash(a) == hash(b)
            with pytest.raises(dataclasses.FrozenInstanceError):
                b.name = "other"
        else:
            with pytest.raises(TypeError):
                hash(b)
    assert repr(dc_base("x")) == repr(sl_base("x"))
    # A subclass instance is never equal to a base instance with the same fields.
    assert (sl_base("s") == sl_leaf("s", "n")) is (dc_base("s") == dc_leaf("s", "n")) is False
    assert sl_base("s").__eq__(1) is NotImplemented
    assert [f.name for f in dataclasses.fields(sl_leaf)] == [f.name for f in dataclasses.fields(dc_leaf)]
    assert sl_leaf.__match_args__ == dc_leaf.__match_args__
    assert sl_leaf.__slots__ == dc_leaf.__slots__
    assert not hasattr(sl_leaf("s", "n"), "__dict__")


def test_nan_in_a_field_compares_as_dataclass_does():
    nan = float("nan")
    (_, dc_leaf), (_, sl_leaf) = _pair(frozen=True)
    assert (dc_leaf("s", nan) == dc_leaf("s", nan)) == (sl_leaf("s", nan) == sl_leaf("s", nan))
    assert (dc_leaf("s", float("nan")) == dc_leaf("s", nan)) == (sl_leaf("s", float("nan")) == sl_leaf("s", nan))


def test_the_front_ends_classes_keep_their_behaviour():
    span = Span("f.flow", 1, 1, 1, 4)
    assert repr(span) == "Span(path='f.flow', line=1, column=1, end_line=1, end_column=4)"
    assert hash(span) == hash(("f.flow", 1, 1, 1, 4))
    assert pickle.loads(pickle.dumps(span)) == span
    node = ast.Ident(span, "bob")
    assert repr(node) == f"Ident(span={span!r}, name='bob')"
    assert node == ast.Ident(span, "bob") and node != ast.Address(span, "bob")
    with pytest.raises(TypeError):
        hash(node)
