"""Declaring structs in Python: the #[repr(C)] layout rules and the derive's
messages, the field type spellings, and plain values."""

import copy
import math
import pickle
from typing import Annotated, Literal, Optional

import pytest

import shm
from peer import TELEMETRY, Foo, Point, Telemetry


def test_scalars_have_their_rust_sizes():
    class All(shm.Struct):
        a: shm.u64
        b: shm.i64
        c: shm.f64
        d: shm.u32
        e: shm.i32
        f: shm.f32
        g: shm.u16
        h: shm.i16
        i: shm.u8
        j: shm.i8
        _pad: shm.array(shm.u8, 6)

    layout = shm.layout_of(All)
    assert (layout.size, layout.align) == (48, 8)
    offsets = [offset for _, offset, _ in layout.fields]
    assert offsets == [0, 8, 16, 24, 28, 32, 36, 38, 40, 41, 42]
    assert [t.name for _, _, t in layout.fields[:10]] == [
        "u64", "i64", "f64", "u32", "i32", "f32", "u16", "i16", "u8", "i8"
    ]


def test_padding_is_refused_with_the_derives_message():
    with pytest.raises(shm.LayoutError) as before:

        class Gap(shm.Struct):
            a: shm.u8
            x: shm.u32

    assert str(before.value) == (
        "`Gap` has implicit padding before field `x`: add an explicit field such as "
        "`_pad: [u8; N]` in front of it to fill the gap"
    )
    assert isinstance(before.value, TypeError) and isinstance(before.value, shm.Error)

    with pytest.raises(shm.LayoutError) as after:

        class Tail(shm.Struct):
            x: shm.u32
            a: shm.u8

    assert str(after.value) == (
        "`Tail` has implicit padding after its last field `a`: add an explicit trailing field "
        "such as `_pad: [u8; N]`"
    )

    class Filled(shm.Struct):
        a: shm.u8
        _pad: shm.array(shm.u8, 3)
        x: shm.u32

    assert shm.layout_of(Filled).size == 8


def test_empty_and_unshareable_fields_are_refused():
    with pytest.raises(shm.LayoutError, match="zero-sized"):

        class Empty(shm.Struct):
            pass

    for annotation, advice in [
        (bool, "use `shm.u8`"),
        (int, "sized integer"),
        (float, "shm.f64"),
        (str, "byte array"),
        (list, "array"),
        (Optional[int], "flag field"),
        (dict, "not a type shm can share"),
    ]:
        with pytest.raises(shm.LayoutError, match="field `x` of `Bad`") as refused:
            type("Bad", (shm.Struct,), {"__annotations__": {"x": annotation}})
        assert advice in str(refused.value)


def test_a_struct_cannot_extend_another():
    with pytest.raises(shm.LayoutError, match="cannot extend another"):

        class More(Foo):
            extra: shm.i32


def test_array_spellings_are_one_layout():
    class A(shm.Struct):
        s: shm.array(shm.u16, 4)

    class B(shm.Struct):
        s: shm.Array[shm.u16, Literal[4]]

    class C(shm.Struct):
        s: shm.Array[shm.u16, 4]

    class D(shm.Struct):
        s: Annotated[shm.Array[int, Literal[4]], shm.array(shm.u16, 4)]  # noqa: F821

    prints = {shm.layout_of(c).fingerprint for c in (A, B, C, D)}
    assert len(prints) == 1
    assert shm.layout_of(A).size == 8
    with pytest.raises(TypeError):
        shm.array(shm.u8, -1)


def test_align_is_repr_c_align():
    class Wide(shm.Struct, align=16):
        a: shm.u64
        b: shm.u64

    assert (shm.layout_of(Wide).size, shm.layout_of(Wide).align) == (16, 16)
    with pytest.raises(shm.LayoutError, match="padding after"):

        class Short(shm.Struct, align=16):
            a: shm.u64


def test_values_are_built_like_dataclasses():
    assert Foo() == Foo(bar=0, baz=0)
    assert Foo(1, 2) == Foo(bar=1, baz=2)
    assert Foo(1, baz=2).baz == 2
    assert repr(Foo(bar=31337, baz=98)) == "Foo(bar=31337, baz=98)"
    with pytest.raises(TypeError, match="unexpected keyword argument 'bax'"):
        Foo(bax=1)
    with pytest.raises(TypeError, match="multiple values"):
        Foo(1, bar=2)
    with pytest.raises(TypeError, match="at most 2 positional"):
        Foo(1, 2, 3)
    with pytest.raises(TypeError):
        shm.Struct()


def test_defaults():
    class Config(shm.Struct):
        rate: shm.u32 = 100
        gain: shm.f32 = 0.5
        origin: Point = Point(x=1, y=2)

    class Outer(shm.Struct):
        config: Config
        configs: shm.array(Config, 2)

    assert Config() == Config(rate=100, gain=0.5, origin=Point(x=1, y=2))
    assert Outer().config.rate == 100
    assert Outer().configs[1].origin.y == 2
    assert Config.rate.offset == 0 and "rate" in repr(Config.rate)


def test_fields_are_typed_and_ranged():
    v = Telemetry()
    for name, bad in [("count", -1), ("small", [0, 0, 0, 256]), ("level", 40000), ("sign", 2**31)]:
        with pytest.raises(OverflowError):
            setattr(v, name, bad)
    with pytest.raises(OverflowError):
        v.temps[0] = 1e300
    v.temps[0] = math.inf
    assert v.temps[0] == math.inf
    with pytest.raises(TypeError):
        v.count = 1.5
    with pytest.raises(TypeError):
        v.count = "1"
    with pytest.raises(TypeError):
        v.ratio = "0.5"
    with pytest.raises(ValueError, match="expected 4 elements"):
        v.small = [1, 2, 3]
    with pytest.raises(TypeError):
        v.origin = (1, 2)
    with pytest.raises(AttributeError, match="has no field `cuont`"):
        v.cuont = 1
    with pytest.raises(AttributeError):
        del v.count
    v.count = 2**64 - 1
    v.offset = -(2**63)
    assert (v.count, v.offset) == (2**64 - 1, -(2**63))
    assert v == Telemetry.from_bytes(v.as_bytes())


def test_nested_values_are_views_of_the_same_bytes():
    v = Telemetry()
    corner = v.corners[1]
    corner.y = 9
    v.origin.x = -3
    v.grid[1][0] = 5
    assert (v.corners[1].y, v.origin.x, v.grid[1][0]) == (9, -3, 5)
    v.origin = Point(x=4, y=5)
    assert v.origin == Point(x=4, y=5)
    v.corners = [Point(x=1, y=1), Point(x=2, y=2)]
    assert v.corners[1] == Point(x=2, y=2)
    assert v.corners[-1] == Point(x=2, y=2)
    assert v.small[1:3] == [0, 0]
    v.small[1:3] = [7, 8]
    assert list(v.small) == [0, 7, 8, 0] and v.small == [0, 7, 8, 0]
    assert v.grid.tolist() == [[0, 0], [5, 0]]
    assert len(v.temps) == 2
    with pytest.raises(IndexError):
        v.temps[2]


def test_value_equality_bytes_and_copies():
    assert TELEMETRY == Telemetry.from_bytes(TELEMETRY.as_bytes())
    assert len(TELEMETRY.as_bytes()) == shm.layout_of(Telemetry).size == 64
    assert TELEMETRY != Telemetry()
    nan = Telemetry(ratio=math.nan)
    assert nan != Telemetry.from_bytes(nan.as_bytes())
    assert Telemetry(ratio=0.0) == Telemetry(ratio=-0.0)
    assert pickle.loads(pickle.dumps(TELEMETRY)) == TELEMETRY
    twin = copy.copy(TELEMETRY)
    twin.count = 99
    assert TELEMETRY.count == 1
    with pytest.raises(TypeError):
        hash(Foo())
    with pytest.raises(shm.WrongSize, match="expected exactly 8"):
        Foo.from_bytes(b"\0" * 7)
    assert Foo.from_bytes(bytearray(8)) == Foo()


def test_repr_of_nested_values():
    assert repr(TELEMETRY) == (
        "Telemetry(count=1, temps=[1.5, -0.25], corners=[Point(x=1, y=-2), Point(x=30, y=40)], "
        "id=7, small=[1, 2, 3, 255], grid=[[-1, 2], [-3, 4]], level=-5, flags=48879, "
        "ratio=0.1, offset=-9000000000, origin=Point(x=-7, y=8), sign=-1)"
    )


def test_sizes_past_memory_or_the_format_are_errors_not_crashes():
    with pytest.raises(shm.LayoutError, match="too large"):
        shm.array(shm.array(shm.u64, 2**40), 2**40)
    with pytest.raises(shm.LayoutError, match="too large"):
        shm.array(shm.u64, 2**62)
    with pytest.raises(MemoryError):

        class Vast(shm.Struct):
            a: shm.array(shm.u8, 2**46)


def test_no_input_crashes_the_interpreter(region_path):
    import random

    rng = random.Random(7)
    t = Telemetry.open_file(region_path, initial=TELEMETRY)
    v = Telemetry()
    junk = [None, "", "x", -1, 2**70, -(2**70), 1.5, math.nan, [], [1] * 9, b"\xff" * 3, object(), Point()]
    paths = ["", ".", "[", "]", "count.", "corners[", "corners[99]", "corners[-1]", "grid[1][2]",
             "grid.1.1", "a" * 5000, "small[18446744073709551616]", "origin..x", "\0", "é"]
    for _ in range(300):
        value = rng.choice(junk)
        for attempt in (
            lambda: t[rng.choice(paths)],
            lambda: t.__setitem__(rng.choice(paths), value),
            lambda: t.fetch_add(rng.choice(paths + ["count", "ratio"]), value),
            lambda: t.compare_exchange(rng.choice(paths + ["id"]), value, value),
            lambda: setattr(v, rng.choice(["count", "temps", "origin", "grid", "nope"]), value),
            lambda: v.small[rng.choice([-(2**63), 2**63, -5, 4, 2**70, "1", 1.0])],
            lambda: Telemetry.from_bytes(bytes(rng.randrange(256) for _ in range(rng.choice([0, 63, 64, 65])))),
            lambda: t.wait_for_change(value, timeout=0),
        ):
            try:
                attempt()
            except Exception:
                pass
    # Still working.
    t.sign = 5
    assert t.sign == 5
