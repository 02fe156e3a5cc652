"""The result cache: stable keys across processes, lineage, no false hits."""

from __future__ import annotations

import dataclasses
import enum
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from xetrack import Reader, Tracker
from xetrack.cache import Unhashable, token

#: the store contract: every engine, PostgreSQL included
pytestmark = pytest.mark.all_engines

CALLS: list[object] = []


@dataclasses.dataclass(frozen=True)
class Config:
    model: str
    lr: float
    tags: tuple[str, ...] = ()


class PConfig(BaseModel):
    name: str
    depth: int


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


class Keyed:
    """An object with its own __hash__ / __eq__."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __hash__(self) -> int:
        return hash(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Keyed) and other.value == self.value


def expensive(cfg: object, n: int = 1) -> dict[str, object]:
    CALLS.append(cfg)
    return {"score": n * 2}


@pytest.fixture(autouse=True)
def _reset_calls() -> None:
    CALLS.clear()


def test_second_equal_call_is_a_hit_with_lineage(
    tmp_path: Path, engine: str, new_db: Any
) -> None:
    db = new_db("c")
    first = Tracker(db, engine=engine, cache=tmp_path / "cache")
    first.track(expensive, args=[Config("bert", 0.1)], kwargs={"n": 2})
    first.close()
    second = Tracker(db, engine=engine, cache=tmp_path / "cache")
    assert second.track(expensive, kwargs={"cfg": Config("bert", 0.1), "n": 2}) == {
        "score": 4
    }
    assert len(CALLS) == 1  # positional vs keyword: the same call, not run again
    frame = Reader(db).to_df()
    assert frame["cache"].tolist() == ["", first.track_id]
    assert frame["cfg_model"].tolist() == [
        "bert",
        "bert",
    ]  # a hit still has the config columns
    assert frame["score"].tolist() == [4, 4]


@pytest.mark.parametrize(
    "argument",
    [
        Config("a", 0.1, ("x",)),
        PConfig(name="p", depth=2),
        Mode.FAST,
        (1, "a", None),
        "text",
        3,
        2.5,
        b"raw",
        Keyed("k"),
    ],
    ids=lambda a: type(a).__name__,
)
def test_cacheable_kinds_hit(tmp_path: Path, db_path: Path, argument: object) -> None:
    tracker = Tracker(db_path, cache=tmp_path / "cache")
    tracker.track(expensive, args=[argument])
    tracker.track(expensive, args=[argument])
    assert len(CALLS) == 1
    assert tracker.latest["cache"] == tracker.track_id


def test_unequal_arguments_never_share_a_key(tmp_path: Path, db_path: Path) -> None:
    tracker = Tracker(db_path, cache=tmp_path / "cache")
    variants = [
        Config("a", 0.1),
        Config("a", 0.2),
        Config("b", 0.1),
        1,
        1.0,
        True,
        "1",
        (1,),
        Mode.FAST,
        Mode.SLOW,
        Keyed("a"),
        Keyed("b"),
        None,
    ]
    for value in variants:
        tracker.track(expensive, args=[value])
    assert len(CALLS) == len(variants)


def test_two_functions_with_the_same_name_do_not_collide(
    tmp_path: Path, db_path: Path
) -> None:
    namespace_a: dict[str, object] = {}
    namespace_b: dict[str, object] = {}
    exec("def run(x):\n    return {'who': 'a'}", {"__name__": "mod_a"}, namespace_a)
    exec("def run(x):\n    return {'who': 'b'}", {"__name__": "mod_b"}, namespace_b)
    tracker = Tracker(db_path, cache=tmp_path / "cache")
    assert tracker.track(namespace_a["run"], args=[1]) == {"who": "a"}  # type: ignore[arg-type]
    assert tracker.track(namespace_b["run"], args=[1]) == {"who": "b"}  # type: ignore[arg-type]
    assert tracker.cache_key(namespace_a["run"], [1]) != tracker.cache_key(
        namespace_b["run"], [1]
    )  # type: ignore[arg-type]


def test_params_are_part_of_the_key(tmp_path: Path, db_path: Path) -> None:
    tracker = Tracker(
        tmp_path / "k.db", cache=tmp_path / "cache", params={"model": "v1"}
    )
    tracker.track(expensive, args=[1])
    tracker.track(expensive, args=[1], params={"stage": "b"})
    tracker.set_param("model", "v2")
    tracker.track(expensive, args=[1])
    assert len(CALLS) == 3


def test_unhashable_argument_skips_the_cache_with_one_warning(
    tmp_path: Path, db_path: Path
) -> None:
    tracker = Tracker(db_path, cache=tmp_path / "cache")
    with pytest.warns(UserWarning, match="builtins.list has no stable value") as record:
        tracker.track(expensive, args=[[1, 2]])
        tracker.track(expensive, args=[[1, 2]])
    assert len([w for w in record if "builtins.list" in str(w.message)]) == 1
    assert len(CALLS) == 2 and tracker.latest["cache"] == ""
    assert tracker.cache_key(expensive, [[1, 2]]) is None


def test_exceptions_are_not_cached(tmp_path: Path, db_path: Path) -> None:
    tracker = Tracker(db_path, cache=tmp_path / "cache")

    def flaky(x: int) -> int:  # CALLS is a global: not part of the key
        CALLS.append(x)
        if len(CALLS) == 1:
            raise RuntimeError("first time fails")
        return x

    with pytest.raises(RuntimeError):
        tracker.track(flaky, args=[1])
    assert tracker.track(flaky, args=[1]) == 1
    assert tracker.track(flaky, args=[1]) == 1
    assert len(CALLS) == 2


def test_cache_force_recomputes_and_overwrites(tmp_path: Path, db_path: Path) -> None:
    tracker = Tracker(db_path, cache=tmp_path / "cache")
    tracker.track(expensive, args=[1])
    tracker.track(expensive, args=[1], cache_force=True)
    assert len(CALLS) == 2 and tracker.latest["cache"] == ""
    key = tracker.cache_key(expensive, [1])
    assert key is not None and tracker._generate_cache_key(expensive, [1]) == key
    assert Reader.read_cache(tmp_path / "cache", key) == {
        "result": {"score": 2},
        "cache": tracker.track_id,
        "function": f"{__name__}.expensive",
    }


def test_scan_and_delete_cache_by_track_id(tmp_path: Path, db_path: Path) -> None:
    one = Tracker(db_path, cache=tmp_path / "cache")
    one.track(expensive, args=[1])
    one.track(expensive, args=[2])
    two = Tracker(db_path, cache=tmp_path / "cache")
    two.track(expensive, args=[3])
    one.close()
    two.close()
    entries = dict(Reader.scan_cache(tmp_path / "cache"))
    assert sorted(e["cache"] for e in entries.values()) == sorted(
        [one.track_id] * 2 + [two.track_id]
    )
    assert Reader.delete_cache_by_track_id(tmp_path / "cache", one.track_id) == 2
    assert [e["cache"] for _, e in Reader.scan_cache(tmp_path / "cache")] == [
        two.track_id
    ]
    assert Reader.read_cache(tmp_path / "cache", "0" * 32) is None


def test_hit_in_a_second_python_process(tmp_path: Path, db_path: Path) -> None:
    """A frozen dataclass of strings keys the same in another interpreter (str hashing differs)."""
    module = tmp_path / "work_mod.py"
    module.write_text(
        textwrap.dedent(
            """
            import dataclasses, os
            @dataclasses.dataclass(frozen=True)
            class Cfg:
                name: str
                kind: str
            def work(cfg):
                return {"pid": os.getpid(), "name": cfg.name}
            """
        )
    )
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from work_mod import Cfg, work
        from xetrack import Tracker
        t = Tracker({str(db_path)!r}, cache={str(tmp_path / "cache")!r})
        print(t.track(work, args=[Cfg("alpha", "beta")])["pid"], t.latest["cache"], t.track_id, sep="|")
        """
    )
    outputs = []
    for seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout.strip().split("|"))
    (pid1, lineage1, run1), (pid2, lineage2, _) = outputs
    assert pid1 == pid2  # the second process returned the first one's result
    assert lineage1 == "" and lineage2 == run1
    assert (
        len(Reader(db_path).to_df()) == 2
    )  # both calls are rows in this engine's file


def test_missing_cache_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no cache directory at"):
        list(Reader.scan_cache(tmp_path / "nope"))


@settings(max_examples=200)
@given(
    a=st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text()
        | st.binary(),
        lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3),
        max_leaves=6,
    ),
    b=st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False)
        | st.text()
        | st.binary(),
        lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3),
        max_leaves=6,
    ),
)
def test_tokens_are_equal_only_for_equal_values_of_one_type(
    a: object, b: object
) -> None:
    if token(a) == token(b):
        assert a == b and type(a) is type(b)


def test_token_refuses_values_without_stable_identity() -> None:
    @dataclasses.dataclass
    class Mutable:
        x: int

    for value in ([1], {"a": 1}, {1}, Mutable(1), object()):
        with pytest.raises(Unhashable):
            token(value)


def test_lambdas_with_other_code_never_share_a_key(tmp_path: Path) -> None:
    tracker = Tracker(Tracker.IN_MEMORY, cache=tmp_path / "cache")
    assert tracker.track(lambda x: x + 1, [1]) == 2
    assert tracker.track(lambda x: x * 100, [1]) == 100
    assert tracker.track(lambda x: x * 100, [1]) == 100
    assert tracker.latest["cache"] == tracker.track_id  # the same code is a hit


def _scale(factor: object) -> object:
    def scaled(x: int) -> object:
        return (x, factor)

    return scaled


def _with_default(x: int, offset: int = 1) -> int:
    return x + offset


def test_closures_and_defaults_are_part_of_the_key(tmp_path: Path) -> None:
    tracker = Tracker(Tracker.IN_MEMORY, cache=tmp_path / "cache")
    assert tracker.track(_scale(2), [5]) == (5, 2)
    assert tracker.track(_scale(3), [5]) == (5, 3)
    assert tracker.track(_scale(frozenset({"a", "b"})), [5])[1] == {"a", "b"}
    assert tracker.latest["cache"] == ""
    assert tracker.track(_scale(3), [5]) == (5, 3)
    assert tracker.latest["cache"] == tracker.track_id
    key = tracker.cache_key(_with_default, [1])
    _with_default.__defaults__ = (10,)
    try:
        assert tracker.cache_key(_with_default, [1]) != key
    finally:
        _with_default.__defaults__ = (1,)
    # a closure over a function follows that function's code
    assert tracker.cache_key(_scale(lambda: 1), [1]) != tracker.cache_key(
        _scale(lambda: 2), [1]
    )


def test_a_closure_over_an_unhashable_value_skips_the_cache(tmp_path: Path) -> None:
    tracker = Tracker(Tracker.IN_MEMORY, cache=tmp_path / "cache")
    with pytest.warns(UserWarning, match="closure variable 'factor' of .*scaled"):
        assert tracker.track(_scale([1, 2]), [5]) == (5, [1, 2])
    assert "cache" not in tracker.latest or tracker.latest["cache"] == ""


def test_code_keys_are_the_same_in_two_processes(tmp_path: Path) -> None:
    """Bytecode, constants and closure values tokenise alike under any hash seed."""
    module = tmp_path / "keyed_mod.py"
    module.write_text(
        textwrap.dedent(
            """
            def factory(words):
                def inner(x, sep=", "):
                    return sep.join(sorted(words)) + str(x) + "const"
                return inner
            lam = lambda x: {"a": x, "b": frozenset({"p", "q", "r"})}
            """
        )
    )
    script = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        from keyed_mod import factory, lam
        from xetrack import Tracker
        t = Tracker(Tracker.IN_MEMORY, cache={str(tmp_path / "cache")!r})
        print(t.cache_key(factory(frozenset({{"x", "y", "z"}})), [1]), t.cache_key(lam, [2]))
        """
    )
    keys = []
    for seed in ("1", "2", "3"):
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        )
        assert done.returncode == 0, done.stderr
        keys.append(done.stdout.split())
    assert keys[0] == keys[1] == keys[2] and keys[0][0] != keys[0][1]


def test_objects_of_a_class_defined_in_a_function_are_cache_hits(
    tmp_path: Path, db_path: Path
) -> None:
    """The reference's promise for objects with their own __hash__/__eq__, without
    requiring them to be picklable (a local class is not)."""

    class Local:
        __slots__ = ("name",)

        def __init__(self, name: str) -> None:
            self.name = name

        def __hash__(self) -> int:
            return hash(self.name)

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Local) and other.name == self.name

    class Holder:
        def __init__(self, items: list[int], inner: Local) -> None:
            self.items, self.inner = items, inner

        def __hash__(self) -> int:
            return hash((tuple(self.items), self.inner))

        def __eq__(self, other: object) -> bool:
            return isinstance(other, Holder) and vars(other) == vars(self)

    tracker = Tracker(db_path, cache=tmp_path / "cache")
    for value in (Local("a"), Local("a"), Local("b"), Holder([1], Local("a"))):
        tracker.track(expensive, args=[value])
    tracker.track(expensive, args=[Holder([1], Local("a"))])
    tracker.track(expensive, args=[Holder([2], Local("a"))])
    assert [type(c).__name__ for c in CALLS] == ["Local", "Local", "Holder", "Holder"]
    assert tracker.to_df()["cache"].tolist() == [
        "",
        tracker.track_id,
        "",
        "",
        tracker.track_id,
        "",
    ]


def test_an_object_with_its_own_hash_keys_alike_in_another_process(
    tmp_path: Path, db_path: Path
) -> None:
    module = tmp_path / "keyed_mod.py"
    module.write_text(
        "class Key:\n"
        "    def __init__(self, name):\n        self.name = name\n"
        "    def __hash__(self):\n        return hash(self.name)\n"
        "    def __eq__(self, other):\n        return other.name == self.name\n"
    )
    script = (
        f"import sys\nsys.path.insert(0, {str(tmp_path)!r})\n"
        "from keyed_mod import Key\nfrom xetrack import Tracker\n"
        f"t = Tracker({str(db_path)!r}, cache={str(tmp_path / 'cache')!r})\n"
        "print(t.cache_key(len, [Key('alpha')]))\n"
    )
    keys = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert len(keys) == 1 and None not in keys and "None" not in keys
