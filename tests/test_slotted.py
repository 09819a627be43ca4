"""`@slotted` classes behave as `@dataclass(slots=True)` ones do: the same
repr, equality, hashing, immutability, fields and pattern matching."""

from __future__ import annotations

import copy
import dataclasses
import dis
import inspect
import pickle
from dataclasses import dataclass, field

import pytest
from flowc.dsl import ast
from flowc.dsl.slotted import slotted
from flowc.dsl.source import Span
from hypothesis import given, settings
from hypothesis import strategies as st


def _pair(frozen: bool):
    """The same classes made both ways: a base, a subclass with defaults,
    a field left out of the repr and one left out of comparisons."""

    def make(decorate):
        @decorate
        class Base:
            span: str

        @decorate
        class Leaf(Base):
            """A documented class."""

            name: str
            items: tuple = field(default_factory=tuple)
            hidden: bool = field(default=False, repr=False)
            ignored: int = field(default=0, compare=False)

        return Base, Leaf

    return (make(dataclass(slots=True, frozen=frozen)), make(slotted(frozen=True) if frozen else slotted))


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
    for dc, sl in ((dc_base, sl_base), (dc_leaf, sl_leaf)):
        # the docstring dataclass writes for an undocumented class is its signature
        assert sl.__doc__ == dc.__doc__
        assert str(inspect.signature(sl)) == str(inspect.signature(dc))
        assert sl.__init__.__qualname__ == dc.__init__.__qualname__
    assert sl_leaf("s", "n", items=(1,)).items == (1,)
    assert sl_leaf("s", "n").items == () and sl_leaf("s", "n").items is not None
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'name'"):
        sl_leaf("s")
    with pytest.raises(TypeError, match="unexpected keyword argument"):
        sl_leaf("s", "n", other=1)
    leaf = sl_leaf("s", "n", (1,), True, 3)
    assert dataclasses.replace(leaf, name="m") == sl_leaf("s", "m", (1,), True, 3)
    # (what pickle does: a local class cannot be pickled)
    assert copy.deepcopy(leaf) == leaf and copy.copy(leaf) == leaf
    if frozen:
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'name'"):
            del leaf.name
        with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'other'"):
            leaf.other = 1


def test_default_factories_make_a_new_value_each_time():
    @slotted
    class Holder:
        items: list = field(default_factory=list)

    assert Holder().items is not Holder().items
    assert Holder([1]).items == [1]


@pytest.mark.parametrize("frozen", [False, True])
def test_what_dataclass_refuses_is_refused(frozen):
    @slotted(frozen=frozen)
    class Base:
        span: str

    with pytest.raises(TypeError, match="cannot inherit"):
        slotted(frozen=not frozen)(type("Other", (Base,), {"__annotations__": {"x": "int"}}))
    with pytest.raises(TypeError, match="non-default argument 'y' follows default argument"):
        slotted(frozen=frozen)(type("Late", (), {"__annotations__": {"x": "int", "y": "int"}, "x": 0}))
    with pytest.raises(TypeError, match="not supported"):
        slotted(frozen=frozen)(type("Post", (), {"__annotations__": {"x": "int"}, "__post_init__": lambda self: None}))
    with pytest.raises(TypeError, match="kw_only"):
        slotted(frozen=frozen)(type("Kw", (), {"__annotations__": {"x": "int"}, "x": field(kw_only=True)}))


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


#: Field names, some of them those the `__init__` templates use for their
#: placeholders (dsl/slotted.py `_template`), and `self`.
_NAMES = ["self", "f0", "f1", "a0", "a1", "name", "span", "items"]


@st.composite
def _shapes(draw):
    """(frozen, [(name, kind)]): the fields in order, those with neither a
    default nor a factory first."""
    names = draw(st.lists(st.sampled_from(_NAMES), unique=True, max_size=len(_NAMES)))
    kinds = sorted(
        draw(st.lists(st.sampled_from(["plain", "default", "factory"]), min_size=len(names), max_size=len(names))),
        key=lambda k: k != "plain",
    )
    return draw(st.booleans()), list(zip(names, kinds, strict=True))


def _class(decorate, shape):
    annotations, namespace = {}, {}
    for name, kind in shape:
        annotations[name] = "list" if kind == "factory" else "int"
        if kind == "default":
            namespace[name] = len(name)
        elif kind == "factory":
            namespace[name] = field(default_factory=list)
    return decorate(type("Shape", (), {"__annotations__": annotations, "__module__": __name__, **namespace}))


def _straight_line_init(frozen, shape):
    """The instructions of the `__init__` written out for these fields (as
    dsl/slotted.py wrote one a class before it had templates): one
    statement a field, the factory of field i the global `__slotted_i__`."""
    me = "__dataclass_self__" if any(name == "self" for name, _ in shape) else "self"
    body = []
    for i, (name, kind) in enumerate(shape):
        value = f"__slotted_{i}__() if {name} is __slotted_factory__ else {name}" if kind == "factory" else name
        body.append(f"__slotted_set__({me}, {name!r}, {value})" if frozen else f"{me}.{name} = {value}")
    namespace = {}
    exec(f"def __init__({', '.join([me, *(n for n, _ in shape)])}):\n " + "\n ".join(body or ["pass"]), namespace)
    return namespace["__init__"]


def _instructions(fn):
    # Lines counted from the function's first: a template written ahead of
    # time stands further down its file than one compiled alone.
    first = fn.__code__.co_firstlineno
    return [(i.opname, i.argval, (i.positions.lineno or first) - first) for i in dis.get_instructions(fn)]


@settings(max_examples=300, deadline=None)
@given(_shapes())
def test_each_shape_of_fields_makes_dataclass_s_init(frozen_and_shape):
    frozen, shape = frozen_and_shape
    dc = _class(dataclass(slots=True, frozen=frozen), shape)
    sl = _class(slotted(frozen=True) if frozen else slotted, shape)
    init, dc_init = sl.__init__, dc.__init__
    assert str(inspect.signature(sl)) == str(inspect.signature(dc))
    assert str(inspect.signature(init)) == str(inspect.signature(dc_init))
    assert repr(init.__defaults__) == repr(dc_init.__defaults__)
    assert init.__annotations__ == dc_init.__annotations__
    for attribute in ("__name__", "__qualname__", "__module__", "__doc__", "__kwdefaults__"):
        assert getattr(init, attribute) == getattr(dc_init, attribute)
    # The code is straight-line, the names where they belong.
    assert _instructions(init) == _instructions(_straight_line_init(frozen, shape))
    assert init.__code__.co_varnames == _straight_line_init(frozen, shape).__code__.co_varnames

    required = [name for name, kind in shape if kind == "plain"]
    values = {name: 100 + i for i, (name, _) in enumerate(shape)}
    for args, kwargs in [([values[n] for n, _ in shape], {}), ([], values), ([values[n] for n in required], {})]:
        a, b = dc(*args, **kwargs), sl(*args, **kwargs)
        assert repr(a) == repr(b)
        assert [getattr(b, n) for n, _ in shape] == [getattr(a, n) for n, _ in shape]
        for name, kind in shape:
            if kind == "factory" and name not in kwargs and len(args) <= [n for n, _ in shape].index(name):
                assert getattr(b, name) == [] and getattr(b, name) is not getattr(sl(*args, **kwargs), name)
            if frozen:
                with pytest.raises(dataclasses.FrozenInstanceError):
                    setattr(b, name, 0)
            else:
                setattr(b, name, 0)
                assert getattr(b, name) == 0
    if required:
        with pytest.raises(TypeError) as dc_error:
            dc()
        with pytest.raises(TypeError) as sl_error:
            sl()
        assert str(sl_error.value) == str(dc_error.value)
    with pytest.raises(TypeError) as dc_error:
        dc(*range(len(shape) + 1))
    with pytest.raises(TypeError) as sl_error:
        sl(*range(len(shape) + 1))
    assert str(sl_error.value) == str(dc_error.value)


def test_the_front_end_s_shapes_are_written_ahead_of_time_and_current():
    """dsl/slotted_shapes.py is what `python -m flowc.dsl.slotted` writes
    today; a class of a shape it has takes that code (no compile), and a
    class of another shape gets one compiled, the same instructions."""
    from pathlib import Path

    from flowc.dsl import slotted_shapes
    from flowc.dsl.slotted import shapes_module

    assert Path(slotted_shapes.__file__).read_text(encoding="utf-8") == shapes_module()
    Span("x.flow", 1, 1, 1, 2)
    assert Span.__init__.__code__.co_filename == slotted_shapes.__file__
    assert Span.__init__.__name__ == "__init__"

    odd = _class(slotted, [(f"x{i}", "plain") for i in range(20)])
    odd(*range(20))
    assert odd.__init__.__code__.co_filename == "<string>"
    assert _instructions(odd.__init__) == _instructions(
        _straight_line_init(False, [(f"x{i}", "plain") for i in range(20)])
    )
