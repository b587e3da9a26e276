"""Typed shared state between processes, shared with Rust.

Declare a struct by the rules of ``#[repr(C)]`` (explicit padding, fixed
sizes), open it in a file or a POSIX shm object, and every process that
opens the same region, in Python or in Rust, reads and writes the same
fields::

    import shm

    class Foo(shm.Struct):
        bar: shm.i32
        baz: shm.i32

    foo = Foo.open_file("/tmp/suchfoo", initial=Foo(bar=42, baz=98))
    foo.bar = 31337                 # an atomic store, seen by every process
    print(foo)                      # Foo(bar=31337, baz=98)
    with foo.update() as f:         # all or nothing
        f.baz -= 1

The same struct declared in Rust (``#[derive(SharedState)] #[repr(C)]``,
same field names, types and order) has the same layout fingerprint, so
either language opens the other's regions. ``shm.open_file(path)`` opens any
region, typed by the schema it embeds.
"""

from __future__ import annotations

import inspect
import os
import sys
import types
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar, Union, get_args, get_origin

from . import _shm
from ._errors import (
    AlreadyExists,
    Error,
    ForkedUpdate,
    InvalidName,
    InvalidValue,
    Io,
    LayoutError,
    LayoutMismatch,
    NoSuchField,
    NotFound,
    NotSharedState,
    PermissionDenied,
    Timeout,
    Truncated,
    Unsupported,
    WrongSize,
)
from ._shm import ArrayType, ArrayView, Scalar, Shared, StructType, Update, remove_shm

if sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # pragma: no cover - the marker only matters to type checkers

    def dataclass_transform(**kwargs: Any) -> Any:
        def mark(cls: Any) -> Any:
            cls.__dataclass_transform__ = kwargs
            return cls

        return mark


# The scalar field types. To a type checker each is an `int` or a `float`;
# at run time the annotation carries the field's exact type.
u8 = Annotated[int, Scalar("u8")]
u16 = Annotated[int, Scalar("u16")]
u32 = Annotated[int, Scalar("u32")]
u64 = Annotated[int, Scalar("u64")]
i8 = Annotated[int, Scalar("i8")]
i16 = Annotated[int, Scalar("i16")]
i32 = Annotated[int, Scalar("i32")]
i64 = Annotated[int, Scalar("i64")]
f32 = Annotated[float, Scalar("f32")]
f64 = Annotated[float, Scalar("f64")]
# Rust's pointer-sized integers (8 bytes here), for regions made in Rust
# with `usize`/`isize` fields: their fingerprint differs from u64/i64.
usize = Annotated[int, Scalar("usize")]
isize = Annotated[int, Scalar("isize")]

_T = TypeVar("_T")
_N = TypeVar("_N", bound=int)

_SPECS = (Scalar, ArrayType, StructType)


def array(element: Any, length: int) -> Any:
    """An array field of `length` elements: ``samples: shm.array(shm.u16, 4)``
    (Rust's ``[u16; 4]``). For type checkers, which do not accept a call in
    an annotation, write ``shm.Array[shm.u16, Literal[4]]``."""
    if not isinstance(length, int) or isinstance(length, bool) or length < 0:
        raise TypeError(f"an array's length is an int >= 0, not {length!r}")
    return Annotated[ArrayView, ArrayType(_spec(element, "the array", "element"), length)]


class Array(Generic[_T, _N]):
    """An array field, spelled for type checkers:
    ``samples: shm.Array[shm.u16, Literal[4]]`` is ``[u16; 4]`` (so is
    ``shm.Array[shm.u16, 4]``, which Python accepts and type checkers do
    not). Reading such a field gives a :class:`shm.ArrayView`."""

    def __class_getitem__(cls, params: Any) -> Any:
        if not isinstance(params, tuple) or len(params) != 2:
            raise TypeError("write shm.Array[element, Literal[length]], e.g. shm.Array[shm.u16, Literal[4]]")
        element, length = params
        if get_origin(length) is Literal and len(get_args(length)) == 1:
            (length,) = get_args(length)
        try:
            return array(element, length)
        except (LayoutError, TypeError):
            # `Array[int, Literal[4]]`, the element as a type checker sees
            # it (inside `Annotated[..., shm.array(...)]`): a plain alias.
            return super().__class_getitem__(params)  # type: ignore[misc]


class Field:
    """What a struct class holds under a field's name: ``Foo.bar`` describes
    the field; on a value (``Foo(...).bar``) the name reads the field."""

    __slots__ = ("owner", "name", "offset", "type")

    def __init__(self, owner: str, name: str, offset: int, type: Any) -> None:
        self.owner = owner
        self.name = name
        self.offset = offset
        self.type = type

    def __repr__(self) -> str:
        return f"<shm field {self.owner}.{self.name}: {_type_text(self.type)} at offset {self.offset}>"


def _type_text(spec: Any) -> str:
    if isinstance(spec, Scalar):
        return spec.name
    if isinstance(spec, ArrayType):
        return f"[{_type_text(spec.element)}; {spec.len}]"
    return spec.name


def _why_not(t: Any) -> str:
    """Why `t` cannot be a field type, and what to use instead (the
    derive's advice, in Python's names)."""
    origin = get_origin(t)
    if t is bool:
        return "`bool` can hold invalid bit patterns when another process writes it; use `shm.u8`"
    if t is int:
        return "`int` has no fixed size; use a sized integer: `shm.i8` .. `shm.i64`, `shm.u8` .. `shm.u64`"
    if t is float:
        return "`float` needs a width to be shared; use `shm.f64` (or `shm.f32`)"
    if t in (str, bytes, bytearray):
        return f"`{t.__name__}` has no fixed size; use a fixed-size byte array such as `shm.array(shm.u8, N)`"
    if t in (list, tuple) or origin in (list, tuple):
        return "a list or tuple has no fixed size; use an array: `shm.array(element, N)` or `shm.Array[element, Literal[N]]`"
    if origin is Union or (sys.version_info >= (3, 10) and isinstance(t, types.UnionType)):
        return (
            "`Optional` and unions cannot be shared: their tag can hold invalid bit patterns when "
            "another process writes it; use a value plus an explicit `shm.u8` flag field"
        )
    if t is Struct:
        return "`shm.Struct` itself has no fields; use a class derived from it"
    return (
        f"{t!r} is not a type shm can share; use a scalar (`shm.u8` .. `shm.u64`, `shm.i8` .. "
        "`shm.i64`, `shm.f32`, `shm.f64`), an array (`shm.array(shm.u16, 4)`) or a nested "
        "`shm.Struct` class"
    )


def _spec(t: Any, owner: str, field: str) -> Any:
    """The field type an annotation stands for."""
    if isinstance(t, _SPECS):
        return t
    if get_origin(t) is Annotated:
        for meta in reversed(t.__metadata__):
            if isinstance(meta, _SPECS):
                return meta
            # `Annotated[Sequence[int], shm.array(shm.u16, 4)]`: the
            # metadata is itself an annotated field type.
            if get_origin(meta) is Annotated:
                return _spec(meta, owner, field)
        return _spec(get_args(t)[0], owner, field)
    if isinstance(t, type) and issubclass(t, Struct) and t is not Struct:
        declared = t.__dict__.get("__shm_type__")
        if declared is not None:
            return declared
    raise LayoutError(f"field `{field}` of `{owner}`: {_why_not(t)}")


def _own_annotations(cls: type) -> dict[str, Any]:
    try:
        return dict(inspect.get_annotations(cls, eval_str=True))
    except NameError as e:
        raise LayoutError(
            f"cannot read the field types of `{cls.__name__}` ({e}); a nested struct must be "
            "defined before the struct that uses it"
        ) from e


@dataclass_transform(eq_default=True, kw_only_default=False)
class Struct(_shm.StructBase):
    """Base of shared struct classes. Annotated class attributes are the
    fields, laid out in order by the rules of ``#[repr(C)]``; padding must be
    explicit (``_pad: shm.array(shm.u8, 4)``), as the Rust derive requires.
    ``class Foo(shm.Struct, align=16)`` is ``#[repr(C, align(16))]``.

    ``Foo(bar=1)`` is a plain value (fields left out take their default,
    zero unless the class gives one); ``Foo.open_file(path)`` and
    ``Foo.open_shm(name)`` return a :class:`shm.Shared` handle on a region.
    """

    __slots__ = ()
    __shm_type__: ClassVar[StructType]

    def __init_subclass__(cls, *, align: int = 1, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in cls.__mro__[1:]:
            if base is not Struct and issubclass(base, Struct) and "__shm_type__" in base.__dict__:
                raise LayoutError(
                    f"`{cls.__name__}` derives from the struct `{base.__name__}`, but a shared "
                    f"struct cannot extend another (`#[repr(C)]` has no inheritance); make it a "
                    f"field instead, e.g. `base: {base.__name__}`"
                )
        fields = []
        for name, annotation in _own_annotations(cls).items():
            if annotation is ClassVar or get_origin(annotation) is ClassVar:
                continue
            default = cls.__dict__.get(name)
            if isinstance(default, Field):
                default = None
            fields.append((name, _spec(annotation, cls.__name__, name), default))
        cls.__shm_type__ = StructType(cls, cls.__name__, fields, align)
        for name, offset, spec in cls.__shm_type__.fields:
            # A method of the class (`open_file`, ...) keeps its name; the
            # field stays reachable on values.
            if not hasattr(Struct, name):
                setattr(cls, name, Field(cls.__name__, name, offset, spec))

    @classmethod
    def open_file(
        cls,
        path: str | os.PathLike[str],
        *,
        initial: Any = None,
        create: bool = True,
        create_new: bool = False,
        mode: int = 0o600,
        timeout: float | None = 5.0,
        read_only: bool = False,
    ) -> Shared:
        """Opens the region of this struct in the file at `path`, creating
        it (with `initial`, or the struct's defaults) when it is missing,
        unless ``create=False``. ``create_new=True`` requires creating it.
        ``timeout`` (seconds, ``None``: no deadline) bounds the wait for a
        concurrent creator, with the interpreter released."""
        return _shm.open(
            path,
            "file",
            cls.__shm_type__,
            initial=cls._initial(initial, create or create_new),
            create=create,
            create_new=create_new,
            mode=mode,
            timeout=timeout,
            read_only=read_only,
        )

    @classmethod
    def open_shm(
        cls,
        name: str,
        *,
        initial: Any = None,
        create: bool = True,
        create_new: bool = False,
        mode: int = 0o600,
        timeout: float | None = 5.0,
        read_only: bool = False,
    ) -> Shared:
        """Opens the POSIX shm region `name` (a leading ``/`` is optional);
        otherwise as :meth:`open_file`."""
        return _shm.open(
            name,
            "shm",
            cls.__shm_type__,
            initial=cls._initial(initial, create or create_new),
            create=create,
            create_new=create_new,
            mode=mode,
            timeout=timeout,
            read_only=read_only,
        )

    @classmethod
    def _initial(cls, initial: Any, creating: bool) -> Any:
        # A class with defaults creates its regions holding them, as
        # `Foo()` does.
        if initial is None and creating and any(cls.__shm_type__.defaults):
            return cls()
        return initial


def _class_for(description: tuple) -> type:
    """The class of a region's struct, from its embedded schema
    (``("struct", name, align, [(field, type), ...])``); one per layout."""
    key = _freeze(description)
    cls = _CLASSES.get(key)
    if cls is None:
        _, name, align, fields = description
        annotations = {field: _annotation(ty) for field, ty in fields}

        def body(ns: dict[str, Any]) -> None:
            ns["__annotations__"] = annotations
            ns["__module__"] = __name__
            ns["__doc__"] = f"`{name}`, as the schema of a region describes it."

        cls = types.new_class(name, (Struct,), {"align": align}, body)
        _CLASSES[key] = cls
    return cls


_CLASSES: dict[Any, type] = {}


def _annotation(ty: Any) -> Any:
    if isinstance(ty, str):
        return Scalar(ty)
    if ty[0] == "array":
        return ArrayType(_spec(_annotation(ty[1]), "the array", "element"), ty[2])
    return _class_for(ty)


def _freeze(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def open_file(path: str | os.PathLike[str], *, read_only: bool = False, timeout: float | None = 5.0) -> Shared:
    """Opens the existing region in the file at `path`, whatever its struct:
    the handle's class is built from the schema the region embeds."""
    return _shm.open(path, "file", None, create=False, read_only=read_only, timeout=timeout, class_for=_class_for)


def open_shm(name: str, *, read_only: bool = False, timeout: float | None = 5.0) -> Shared:
    """Opens the existing POSIX shm region `name`, whatever its struct."""
    return _shm.open(name, "shm", None, create=False, read_only=read_only, timeout=timeout, class_for=_class_for)


def layout_of(cls: type[Struct]) -> StructType:
    """The layout of a struct class: ``size``, ``align``, ``fingerprint``
    (equal to the Rust derive's for the same struct), ``schema`` (JSON),
    ``fields``."""
    return cls.__shm_type__


__all__ = [
    "Struct",
    "Shared",
    "Update",
    "ArrayView",
    "Array",
    "array",
    "Field",
    "Scalar",
    "ArrayType",
    "StructType",
    "layout_of",
    "open_file",
    "open_shm",
    "remove_shm",
    "u8",
    "u16",
    "u32",
    "u64",
    "i8",
    "i16",
    "i32",
    "i64",
    "f32",
    "f64",
    "usize",
    "isize",
    "Error",
    "NotFound",
    "AlreadyExists",
    "InvalidName",
    "NotSharedState",
    "LayoutMismatch",
    "PermissionDenied",
    "Truncated",
    "Timeout",
    "Io",
    "NoSuchField",
    "InvalidValue",
    "Unsupported",
    "ForkedUpdate",
    "WrongSize",
    "LayoutError",
]
