"""`@slotted` makes a class's fields, slots and dataclass parameters itself
(dsl/slotted.py): the same as dataclass makes them, and the same refusals."""

from __future__ import annotations

import dataclasses
from dataclasses import InitVar, dataclass, field
from typing import ClassVar

import pytest
from flowc.dsl.slotted import slotted


@pytest.mark.parametrize("frozen", [False, True])
def test_class_variables_are_no_fields_and_the_parameters_are_dataclass_s(frozen):
    def make(decorate):
        @decorate
        class Base:
            KIND: ClassVar[str] = "base"
            span: str

        @decorate
        class Leaf(Base):
            COUNT: ClassVar = 0
            name: str = "n"

        return Leaf

    dc = make(dataclass(slots=True, frozen=frozen, init=False, repr=False, eq=False))
    sl = make(slotted(frozen=True) if frozen else slotted)
    assert [f.name for f in dataclasses.fields(sl)] == [f.name for f in dataclasses.fields(dc)] == ["span", "name"]
    assert sl.__slots__ == dc.__slots__ == ("name",)
    assert sl.KIND == "base" and sl.COUNT == 0
    assert repr(sl.__dataclass_params__) == repr(dc.__dataclass_params__)
    assert dataclasses.is_dataclass(sl) and dataclasses.replace(sl("s"), name="m").name == "m"

    # dataclass can subclass one, reading its fields and parameters
    @dataclass(frozen=frozen)
    class More(sl):
        more: int = 1

    assert [f.name for f in dataclasses.fields(More)] == ["span", "name", "more"]


def test_what_dataclass_refuses_of_fields_is_refused():
    with pytest.raises(ValueError, match="mutable default"):
        slotted(type("Mutable", (), {"__annotations__": {"x": "list"}, "x": []}))
    with pytest.raises(TypeError, match="no type annotation"):
        slotted(type("Bare", (), {"__annotations__": {}, "x": field(default=1)}))
    with pytest.raises(TypeError, match="InitVar is not supported"):
        slotted(type("Init", (), {"__annotations__": {"x": "InitVar[int]"}}))
    with pytest.raises(TypeError, match="InitVar is not supported"):
        slotted(type("Init", (), {"__annotations__": {"x": InitVar[int]}}))
    with pytest.raises(TypeError, match="KW_ONLY is not supported"):
        slotted(type("Kw", (), {"__annotations__": {"_": "dataclasses.KW_ONLY", "x": "int"}}))
    assert [
        f.name for f in dataclasses.fields(slotted(type("Var", (), {"__annotations__": {"x": ClassVar[int]}})))
    ] == []
