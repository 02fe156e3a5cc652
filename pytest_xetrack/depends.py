"""What a cached test's result depends on, for the shared cache's key.

A ``@track(cache=True)`` result may be served only while nothing it depends on
changed: the test's own source and parameters, the source of the project's modules
its test module imports (followed transitively, within the rootdir), and what
``@track(depends=[...])`` names (files by content, other strings as they are).
"""

from __future__ import annotations

import ast
import hashlib
import sys
from collections.abc import Iterable
from pathlib import Path, PurePath
from types import ModuleType

#: (file, size, mtime_ns) -> (digest, project modules it imports): each file is read
#: and parsed once per session, however many tests import it.
_FILES: dict[tuple[str, int, int], tuple[str, tuple[str, ...]]] = {}


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _outside_project(path: Path, root: Path) -> bool:
    """Installed code (a virtualenv inside the rootdir too) is not the project's."""
    if not path.is_relative_to(root):
        return True
    return "site-packages" in path.parts or path.is_relative_to(Path(sys.prefix))


def _module_file(name: str) -> Path | None:
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None) if isinstance(module, ModuleType) else None
    return Path(file).resolve() if file else None


def _imported_names(tree: ast.AST, package: str) -> Iterable[str]:
    """Module names the file's imports may bring in; a submodule's packages too
    (importing ``a.b`` runs ``a/__init__.py``)."""
    for name in _named_imports(tree, package):
        parts = name.split(".")
        for end in range(1, len(parts) + 1):
            yield ".".join(parts[:end])


def _named_imports(tree: ast.AST, package: str) -> Iterable[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".") if package else []
                parts = (
                    parts[: len(parts) - node.level + 1] if node.level > 1 else parts
                )
                base = ".".join([*parts, base] if base else parts)
            if base:
                yield base
            for alias in node.names:  # `from pkg import module`
                yield f"{base}.{alias.name}" if base else alias.name


def _scan(path: Path, package: str) -> tuple[str, tuple[str, ...]]:
    stat = path.stat()
    cache_key = (str(path), stat.st_size, stat.st_mtime_ns)
    found = _FILES.get(cache_key)
    if found is None:
        data = path.read_bytes()
        try:
            tree = ast.parse(data, filename=str(path))
            names = tuple(dict.fromkeys(_imported_names(tree, package)))
        except SyntaxError:
            names = ()
        found = _FILES[cache_key] = (_digest(data), names)
    return found


def project_modules(module: ModuleType, rootdir: Path) -> dict[str, str]:
    """Relative path -> digest of every project file ``module`` imports, transitively.

    Only modules already imported are followed (the test module was, and with it
    everything it imports at module level); the test module itself is left out,
    as the test's own source is a part of its own.
    """
    root = rootdir.resolve()
    start = getattr(module, "__file__", None)
    if not start:
        return {}
    found: dict[str, str] = {}
    first = Path(start).resolve()
    todo = [(first, module.__name__)]
    seen = {first}
    while todo:
        path, name = todo.pop()
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        digest, names = _scan(path, package)
        if path != first:
            found[path.relative_to(root).as_posix()] = digest
        for imported in names:
            target = _module_file(imported)
            if (
                target is None
                or target in seen
                or target.suffix != ".py"
                or _outside_project(target, root)
            ):
                continue
            seen.add(target)
            todo.append((target, imported))
    return dict(sorted(found.items()))


def declared(depends: Iterable[object], rootdir: Path) -> dict[str, str]:
    """``@track(depends=[...])``: a file (a Path, or a str naming one) -> its
    content's digest; any other str -> itself. A Path that is not a file raises
    FileNotFoundError naming it."""
    out: dict[str, str] = {}
    for entry in depends:
        path = Path(entry) if isinstance(entry, (str, PurePath)) else None
        if path is not None and not path.is_absolute():
            path = rootdir / path
        if path is not None and path.is_file():
            out[f"file:{entry}"] = _digest(path.read_bytes())
        elif isinstance(entry, PurePath):
            raise FileNotFoundError(
                f"@track(depends=[...]): {str(entry)!r} is not a file (relative paths "
                f"start at the rootdir {rootdir})"
            )
        else:
            out[f"text:{entry}"] = str(entry)
    return out
