"""`@slotted`: a slotted dataclass, the same as `@dataclass(slots=True)` (or
with `frozen=True`) to whoever uses it, made in a fraction of the time.

On Python 3.11 `dataclass` compiles every method it writes from source text,
one `exec` each: `__init__`, `__repr__` and `__eq__`, and for a frozen class
`__setattr__`, `__delattr__` and `__hash__` too (~0.6 ms a class, ~1 ms a
frozen one). The front end has ~90 such classes, and `flowc check` of a
small file makes instances of fewer than half of them. Here no method is
compiled as the class is made: a class's `__init__` is made when its first
instance is, from the code of an `__init__` of its shape (how many fields,
which have a default factory, frozen or not: written ahead of time for the
front end's shapes, dsl/slotted_shapes.py, else compiled once with one
`exec`) with its own names put in, and `__repr__`, `__eq__`, `__hash__` and
a frozen class's guards are closures over the field names that do what
dataclass's do: the same text, the same tuple comparison, unhashable unless
frozen, the same FrozenInstanceError. A class without a docstring gets
dataclass's, its signature (written when first read). `dataclass` itself is not called
either: its fields, slots and `__match_args__` are made here as it makes
them, without the checks and methods it would make and we would replace
(~2/3 of the time left).

Fields may have a default or a default factory; `init=False`, `kw_only`,
`InitVar` and `__post_init__` are refused (nothing here needs them)."""

from __future__ import annotations

import inspect
import reprlib
from collections.abc import Callable
from dataclasses import _FIELD, MISSING, Field, FrozenInstanceError, dataclass, field, fields  # type: ignore[attr-defined]
from operator import attrgetter
from types import CodeType, FunctionType
from typing import Any, TypeVar, dataclass_transform, get_origin, overload

from . import slotted_shapes

_C = TypeVar("_C", bound=type)


class _Factory:
    """The default of a parameter whose field has a default factory (shown
    as dataclass shows it)."""

    def __repr__(self) -> str:
        return "<factory>"


_FACTORY = _Factory()
#: The classes made with frozen=True (dataclass is told frozen=False: it
#: would write the guards with exec).
_frozen: set[type] = set()


class _Params:
    """A class's `__dataclass_params__` (what dataclass reads of a base it
    subclasses): those of `dataclass(init=False, repr=False, eq=False)`, the
    methods being ours, taken when first read from a class dataclass makes
    so (their type is private to it, and making the class costs an exec)."""

    _made: dict[bool, object] = {}

    def __get__(self, obj: object, owner: type[Any] | None = None) -> object:
        frozen = owner in _frozen
        if frozen not in self._made:
            made: type[Any] = dataclass(init=False, repr=False, eq=False, frozen=frozen)(type("_", (), {}))
            self._made[frozen] = made.__dataclass_params__
        return self._made[frozen]


_PARAMS = _Params()


#: What an instance's compared, hashed or shown fields are read with.
_Getter = Callable[[Any], tuple[object, ...]]


def _values(names: tuple[str, ...]) -> _Getter:
    """obj -> the tuple of its fields `names`, as dataclass compares them."""
    if len(names) == 1:
        get = attrgetter(names[0])
        return lambda obj: (get(obj),)
    if not names:
        return lambda obj: ()
    return attrgetter(*names)


def _methods(qualname: str, found: tuple[Field[Any], ...], frozen: bool) -> dict[str, Any]:
    """The methods of class `qualname` with these fields but the frozen
    guards (`_guards`): `__repr__`, `__eq__`, `__hash__`, and a frozen
    class's `__getstate__` and `__setstate__`."""
    shown = tuple(f.name for f in found if f.repr)
    compared = _values(tuple(f.name for f in found if f.compare))
    hashed = _values(tuple(f.name for f in found if (f.compare if f.hash is None else f.hash)))
    names = tuple(f.name for f in found)

    def __repr__(self: object) -> str:
        return type(self).__qualname__ + "(" + ", ".join(f"{n}={getattr(self, n)!r}" for n in shown) + ")"

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is self.__class__:
            return compared(self) == compared(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(hashed(self))

    # What dataclass gives a frozen slotted class, for pickle (whose default
    # would set the fields through the guards).
    def __getstate__(self: Any) -> list[object]:
        return [getattr(self, n) for n in names]

    def __setstate__(self: Any, state: list[object]) -> None:
        for name, value in zip(names, state, strict=False):
            object.__setattr__(self, name, value)

    made: dict[str, Any] = {"__repr__": __repr__, "__eq__": __eq__, "__hash__": __hash__ if frozen else None}
    if frozen:
        made.update(__getstate__=__getstate__, __setstate__=__setstate__)
    _name(made, qualname)
    made["__repr__"] = reprlib.recursive_repr()(__repr__)
    return made


def _guards(cls: type[Any], names: tuple[str, ...]) -> dict[str, Any]:
    """A frozen class's `__setattr__` and `__delattr__`."""

    def __setattr__(self: Any, name: str, value: object) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return _name({"__setattr__": __setattr__, "__delattr__": __delattr__}, cls.__qualname__)


def _name(methods: dict[str, Any], qualname: str) -> dict[str, Any]:
    """`methods` named as the methods of class `qualname`."""
    for name, fn in methods.items():
        if fn is not None:
            fn.__qualname__ = f"{qualname}.{name}"
    return methods


#: (frozen, which fields have a default factory) -> the code of an
#: `__init__` of that shape (`_template`), made once for every class of the
#: shape.
_templates: dict[tuple[bool, tuple[bool, ...]], CodeType] = {}


def _shape(found: tuple[Field[Any], ...], frozen: bool) -> tuple[bool, tuple[bool, ...]]:
    """The shape of a class with these fields: frozen or not, and which
    fields have a default factory."""
    return frozen, tuple(f.default_factory is not MISSING for f in found)


def _shape_name(frozen: bool, factories: tuple[bool, ...]) -> str:
    """A shape's name: `frozen_` or `plain_`, then a letter a field, `F` for
    one with a default factory, `v` for one without."""
    return ("frozen_" if frozen else "plain_") + "".join("F" if f else "v" for f in factories)


def _template_text(frozen: bool, factories: tuple[bool, ...]) -> str:
    """The source of an `__init__` of that shape, named for it, its names
    placeholders that `_init` renames: parameters `self, a0, a1, ...`;
    fields `f0, f1, ...`, attribute names, or constants passed to
    object.__setattr__ when frozen; field i's factory the global
    `__slotted_i__`. (`_init` gives the function the class's annotations.)"""
    params = ["self", *(f"a{i}" for i in range(len(factories)))]
    body: list[str] = []
    for i, factory in enumerate(factories):
        value = f"__slotted_{i}__() if a{i} is __slotted_factory__ else a{i}" if factory else f"a{i}"
        body.append(f'__slotted_set__(self, "f{i}", {value})' if frozen else f"self.f{i} = {value}")
    head = f"def {_shape_name(frozen, factories)}({', '.join(params)}):\n"
    return head + "".join(f"    {line}\n" for line in body or ["pass"])


def _template(frozen: bool, factories: tuple[bool, ...]) -> CodeType:
    """The code of an `__init__` of that shape: written ahead of time for
    the shapes of the front end's classes (dsl/slotted_shapes.py, loaded as
    bytecode), else compiled here from `_template_text`."""
    name = _shape_name(frozen, factories)
    made = getattr(slotted_shapes, name, None)
    if made is None:
        namespace: dict[str, Any] = {}
        exec(_template_text(frozen, factories), namespace)
        made = namespace[name]
    code: CodeType = made.__code__
    return code.replace(co_name="__init__", co_qualname="__init__")


def _init(cls: type[Any], frozen: bool) -> Any:
    """The `__init__` dataclass would write for `cls`: the same parameters,
    defaults and annotations, each field set in order (through
    object.__setattr__ when frozen), a factory called for each field whose
    argument is left out. Its code is its shape's template with the names
    put in: the parameters (the locals, in order), and the placeholder
    `fN` wherever the template has it, an attribute's name or a constant."""
    found = fields(cls)
    shape = _shape(found, frozen)
    template = _templates.get(shape)
    if template is None:
        template = _templates[shape] = _template(*shape)
    names = {f"f{i}": f.name for i, f in enumerate(found)}
    me = "__dataclass_self__" if "self" in cls.__dataclass_fields__ else "self"
    code = template.replace(
        co_varnames=(me, *names.values()),
        co_names=tuple(names.get(name, name) for name in template.co_names),
        co_consts=tuple(names.get(c, c) if isinstance(c, str) else c for c in template.co_consts),
    )
    namespace: dict[str, Any] = {"__slotted_factory__": _FACTORY, "__slotted_set__": object.__setattr__}
    defaults: list[object] = []
    for i, f in enumerate(found):
        if f.default_factory is not MISSING:
            namespace[f"__slotted_{i}__"] = f.default_factory
            defaults.append(_FACTORY)
        elif f.default is not MISSING:
            defaults.append(f.default)
    init = FunctionType(code, namespace, None, tuple(defaults) or None)
    init.__annotations__ = {**{f.name: f.type for f in found}, "return": None}
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    return init


class _LazyInit:
    """A class's `__init__` until its first instance: writes the real one
    into the class (so later instances call it directly) and hands it out.
    It learns its class as the class is made (`__set_name__`)."""

    cls: type[Any]

    def __init__(self, frozen: bool) -> None:
        self.frozen = frozen

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.cls = owner

    def __get__(self, obj: object, owner: type[Any] | None = None) -> Any:
        init = _init(self.cls, self.frozen)
        self.cls.__init__ = init
        return init if obj is None else init.__get__(obj, owner)


def _refuse(cls: type[Any], frozen: bool) -> None:
    """What dataclass would refuse, and what `_init` does not write."""
    for base in cls.__mro__[1:-1]:
        if "__dataclass_fields__" in base.__dict__ and (base in _frozen) != frozen:
            raise TypeError(
                f"cannot inherit {'' if frozen else 'non-'}frozen dataclass from a {'non-' if frozen else ''}frozen one"
            )
    if frozen and ("__setattr__" in cls.__dict__ or "__delattr__" in cls.__dict__):
        raise TypeError(f"Cannot overwrite attribute __setattr__ in class {cls.__name__}")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"@slotted class {cls.__name__}: __post_init__ is not supported")


def _kind(annotation: object) -> str:
    """What an annotation makes of its name, as dataclass reads it: a
    "ClassVar" (no field), an "InitVar" or "KW_ONLY" (refused here), or a
    "field". The annotations are text (`from __future__ import
    annotations`): the name before any `[`, with or without its module
    (the text of most fields names none of the three: told at once)."""
    if isinstance(annotation, str):
        if "Var" not in annotation and "KW_ONLY" not in annotation:
            return "field"
        head = annotation.split("[", 1)[0].strip().rsplit(".", 1)[-1]
    else:
        head = getattr(get_origin(annotation) or annotation, "_name", None) or type(annotation).__name__
    return head if head in ("ClassVar", "InitVar", "KW_ONLY") else "field"


def _fields(cls: type[Any]) -> dict[str, Field[Any]]:
    """The class's fields, its bases' first, as dataclass collects them
    (a ClassVar is not kept: only dataclass's own functions read one, and
    they skip it)."""
    found: dict[str, Field[Any]] = {}
    for base in cls.__mro__[-1:0:-1]:
        found.update(base.__dict__.get("__dataclass_fields__", {}))
    # Read as dataclass reads them: inspect.get_annotations costs ~1 us more a class.
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():  # noqa: RUF063
        kind = _kind(annotation)
        if kind == "ClassVar":
            continue
        if kind != "field":
            raise TypeError(f"@slotted class {cls.__name__}: {kind} is not supported")
        default = cls.__dict__.get(name, MISSING)
        f: Field[Any] = default if isinstance(default, Field) else field(default=default)
        if f.default is not MISSING and f.default.__class__.__hash__ is None:
            raise ValueError(f"mutable default {type(f.default)} for field {name} is not allowed: use default_factory")
        f.name, f.type = name, annotation
        f._field_type = _FIELD  # type: ignore[attr-defined]  # what dataclasses.fields() keeps
        if f.kw_only is MISSING:
            f.kw_only = False  # dataclass's default: not keyword-only
        found[name] = f
    for name, value in cls.__dict__.items():
        if isinstance(value, Field) and name not in found:
            raise TypeError(f"{name!r} is a field but has no type annotation")
    return found


def _with_slots(cls: type[Any], found: dict[str, Field[Any]], methods: dict[str, Any]) -> type[Any]:
    """`cls` made again with its own fields as slots (a class's slots are
    fixed when it is made), as dataclass(slots=True) makes it, and these
    methods (in its namespace: each set on the class afterwards would cost
    an update of the type's slots)."""
    inherited: set[str] = set()
    for base in cls.__mro__[1:-1]:
        slots = base.__dict__.get("__slots__", ())
        inherited.update((slots,) if isinstance(slots, str) else slots)
    namespace = dict(cls.__dict__)
    for name in found:
        namespace.pop(name, None)
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    namespace["__slots__"] = tuple(name for name in found if name not in inherited)
    namespace["__dataclass_fields__"] = found
    namespace["__dataclass_params__"] = _PARAMS
    namespace["__match_args__"] = tuple(found)
    namespace["__qualname__"] = cls.__qualname__
    namespace.update(methods)
    metaclass: Any = type(cls)
    made: type[Any] = metaclass(cls.__name__, cls.__bases__, namespace)
    return made


def _check_fields(cls: type[Any], found: tuple[Field[Any], ...]) -> None:
    """Fields `_init` can write (dataclass checks the order as it writes
    `__init__`, which it does not here)."""
    seen_default = False
    for f in found:
        if not f.init or f.kw_only is True:
            raise TypeError(f"@slotted class {cls.__name__}: field {f.name!r} has init=False or kw_only=True")
        if f.default is not MISSING or f.default_factory is not MISSING:
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")


def _default(f: Field[Any]) -> object:
    """A field's default as its __init__ parameter has it."""
    if f.default_factory is not MISSING:
        return _FACTORY
    return inspect.Parameter.empty if f.default is MISSING else f.default


class _Signature:
    """The docstring dataclass gives a class without one: its name and
    signature, written when first read (inspect's Signature costs more than
    the rest of making the class, and hardly anyone reads it)."""

    def __get__(self, obj: object, owner: type[Any] | None = None) -> str:
        assert owner is not None  # a class's __doc__ is read through its type
        return owner.__name__ + str(
            inspect.Signature(
                [
                    inspect.Parameter(
                        f.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=f.type, default=_default(f)
                    )
                    for f in fields(owner)
                ]
            )
        )


@overload
def slotted(cls: _C, /) -> _C: ...
@overload
def slotted(*, frozen: bool = False) -> Callable[[_C], _C]: ...


# Type checkers see the constructors, fields and frozenness that dataclass
# would make (PEP 681), since they cannot read what this function writes.
@dataclass_transform(field_specifiers=(field, Field))
def slotted(cls=None, /, *, frozen: bool = False):  # type: ignore[no-untyped-def]  # the overloads type it
    """Use as `@slotted` or `@slotted(frozen=True)`."""

    def make(cls: type[Any]) -> type[Any]:
        _refuse(cls, frozen)
        # What the class body defines itself, dataclass leaves alone: so do we.
        own = {
            name for name in ("__init__", "__repr__", "__eq__", "__getstate__", "__setstate__") if name in cls.__dict__
        }
        explicit_hash = cls.__dict__.get("__hash__", MISSING)
        if explicit_hash is not MISSING and not (explicit_hash is None and "__eq__" in cls.__dict__):
            own.add("__hash__")
        found = _fields(cls)
        # What dataclasses.fields() gives (a dataclass base may have ClassVars).
        init_fields = tuple(f for f in found.values() if f._field_type is _FIELD)  # type: ignore[attr-defined]
        _check_fields(cls, init_fields)
        methods = _methods(cls.__qualname__, init_fields, frozen)
        methods["__init__"] = _LazyInit(frozen)
        if not cls.__dict__.get("__doc__"):
            methods["__doc__"] = _Signature()
        cls = _with_slots(cls, found, {name: fn for name, fn in methods.items() if name not in own})
        if frozen:
            _frozen.add(cls)
            for name, fn in _guards(cls, tuple(f.name for f in init_fields)).items():
                setattr(cls, name, fn)
        return cls

    return make if cls is None else make(cls)


def shapes_module() -> str:
    """The text of dsl/slotted_shapes.py: an `__init__` template for each
    shape of the @slotted classes of the front end's modules."""
    import importlib
    import pkgutil

    from flowc import dsl

    shapes = set()
    for info in pkgutil.walk_packages(dsl.__path__, "flowc.dsl."):
        for value in vars(importlib.import_module(info.name)).values():
            if isinstance(value, type) and value.__dict__.get("__dataclass_params__") is _PARAMS:
                shapes.add(_shape(fields(value), value in _frozen))
    head = (
        '"""The `__init__` of each shape of @slotted class in the front end (what\n'
        "a shape is: dsl/slotted.py), written ahead of time so that start-up loads\n"
        "them as bytecode instead of compiling each (~55 us a shape). Made by\n"
        "`python -m flowc.dsl.slotted`; tests/test_slotted.py fails when it is not\n"
        'current. The globals they name are those of the function `_init` makes."""\n\n'
        "# ruff: noqa: F821\n"
        "# mypy: ignore-errors\n"
        "from __future__ import annotations\n"
    )
    return head + "".join(f"\n\n{_template_text(*shape)}" for shape in sorted(shapes))


def main() -> None:
    from pathlib import Path

    path = Path(slotted_shapes.__file__)
    text = shapes_module()
    if path.read_text(encoding="utf-8") == text:
        print(f"{path} is up to date")
        return
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    # The module the classes were made by, not this copy run as a script.
    from flowc.dsl.slotted import main as write

    write()
