"""Small TOML and field helpers shared by the classification and needs-profile loaders.

Every failure is an :class:`~tangguh.errors.InputError` naming the file and field, in
English and Bahasa Indonesia.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from tangguh.errors import InputError, NotFoundError

T = TypeVar("T")


def _as_number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(value)
    # JSON string escapes are valid TOML basic-string escapes.
    return json.dumps(str(value), ensure_ascii=False)


def _dump_toml(top: Mapping[str, Any], arrays: Mapping[str, list[dict[str, Any]]]) -> str:
    """Write flat top-level keys and arrays of tables; ``None`` values are omitted."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in top.items() if v is not None]
    for name, rows in arrays.items():
        for row in rows:
            lines += ["", f"[[{name}]]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in row.items() if v is not None]
    return "\n".join(lines) + "\n"


def _read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning read and syntax errors into :class:`InputError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read file: {exc}",
            where=str(path),
            hint="check the path and that the file is UTF-8 text",
            message_id=f"berkas tidak dapat dibaca: {exc}",
            hint_id="periksa path dan pastikan berkas berupa teks UTF-8",
        ) from exc
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(
            f"invalid TOML: {exc}",
            where=str(path),
            hint="check quotes, '=' signs and [[...]] headers",
            message_id=f"TOML tidak sah: {exc}",
            hint_id="periksa tanda kutip, tanda '=' dan judul [[...]]",
        ) from exc


def _fail(message: str, message_id: str, where: str, hint: str, hint_id: str) -> InputError:
    return InputError(message, where=where, hint=hint, message_id=message_id, hint_id=hint_id)


def _check_keys(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _fail(
            f"unknown field(s) {', '.join(unknown)}",
            f"kolom tidak dikenal: {', '.join(unknown)}",
            where,
            f"allowed fields: {', '.join(sorted(allowed))}",
            f"kolom yang diizinkan: {', '.join(sorted(allowed))}",
        )


def _text(data: Mapping[str, Any], name: str, where: str, *, required: bool = True) -> str | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(
            f"field {name!r} must be a non-empty text",
            f"kolom {name!r} harus berupa teks yang tidak kosong",
            f"{where}, field '{name}'",
            f'write {name} = "..."',
            f'tulis {name} = "..."',
        )
    return value.strip()


def _number(data: Mapping[str, Any], name: str, where: str, *, required: bool) -> float | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise _fail(
            f"field {name!r} must be a number, got {value!r}",
            f"kolom {name!r} harus berupa angka, bukan {value!r}",
            f"{where}, field '{name}'",
            f"write {name} = 1.5 (no quotes)",
            f"tulis {name} = 1.5 (tanpa tanda kutip)",
        )
    return float(value)


def _choice(data: Mapping[str, Any], name: str, options: tuple[str, ...], where: str) -> str:
    value = data.get(name)
    if value not in options:
        raise _fail(
            f"field {name!r} must be one of {', '.join(options)}, got {value!r}",
            f"kolom {name!r} harus salah satu dari {', '.join(options)}, bukan {value!r}",
            f"{where}, field '{name}'",
            f'write {name} = "{options[0]}"',
            f'tulis {name} = "{options[0]}"',
        )
    return str(value)


# --------------------------------------------------------------------------- validation


def load_builtin_or_file(
    path_or_key: str | Path,
    builtins: Mapping[str, T],
    validate: Callable[..., T],
    *,
    what: str,
    what_id: str,
) -> T:
    """A built-in by key, else a TOML file validated by ``validate(data, where=path)``."""
    if isinstance(path_or_key, str) and path_or_key in builtins:
        return builtins[path_or_key]
    path = Path(path_or_key)
    if not path.is_file():
        names = ", ".join(builtins)
        raise NotFoundError(
            f"no built-in {what} or file named {str(path_or_key)!r}",
            where=str(path_or_key),
            hint=f"give a TOML file path or one of: {names}",
            message_id=f"tidak ada {what_id} bawaan atau berkas bernama {str(path_or_key)!r}",
            hint_id=f"berikan path berkas TOML atau salah satu dari: {names}",
        )
    return validate(_read_toml(path), where=str(path))


def load_builtins(prefix: str, validate: Callable[..., T], key: Callable[[T], str]) -> dict[str, T]:
    """The data files ``tangguh/risk/data/<prefix>*.toml``, validated, keyed by ``key``."""
    from importlib import resources

    folder = resources.files("tangguh.risk").joinpath("data")
    out: dict[str, T] = {}
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.startswith(prefix) and item.name.endswith(".toml"):
            where = f"tangguh/risk/data/{item.name}"
            obj = validate(tomllib.loads(item.read_text(encoding="utf-8")), where=where)
            out[key(obj)] = obj
    return out
