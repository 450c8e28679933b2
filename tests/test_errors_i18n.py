"""Every user-facing error of Tangguh speaks Bahasa Indonesia and English.

Three checks: a static scan of ``src/tangguh`` so no error is raised without an
Indonesian text, the CLI output in both languages (order set by TANGGUH_LANG),
and :meth:`TangguhError.text` itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tangguh.cli.main import app
from tangguh.errors import (
    ImportError_,
    InputError,
    TangguhError,
    exit_code_for,
)

SRC = Path(__file__).resolve().parents[1] / "src" / "tangguh"

#: The classes whose construction must carry an Indonesian text.
ERROR_CLASSES = {
    "TangguhError",
    "InputError",
    "ImportError_",
    "NotFoundError",
    "BankError",
    "BankVersionError",
    "FetchError",
}


def _called_name(call: ast.Call) -> str | None:
    """The class name of ``InputError(...)`` or ``errors.InputError(...)``."""
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _untranslated(path: Path, root: Path = SRC.parent) -> list[str]:
    """``file:line: what is missing`` for each error built without its Indonesian text.

    ``file`` is relative to ``root`` (the ``src`` folder).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    problems: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or _called_name(node) not in ERROR_CLASSES:
            continue
        keywords = {kw.arg for kw in node.keywords}
        if None in keywords:
            # ``**kwargs``: cannot be checked statically; make the call explicit.
            problems.append(f"{path.relative_to(root)}:{node.lineno}: **kwargs")
            continue
        where = f"{path.relative_to(root)}:{node.lineno}"
        if "message_id" not in keywords:
            problems.append(f"{where}: {_called_name(node)}(...) lacks message_id=")
        if "hint" in keywords and "hint_id" not in keywords:
            problems.append(f"{where}: {_called_name(node)}(...) has hint= but lacks hint_id=")
    return problems


def test_every_error_in_src_has_an_indonesian_text() -> None:
    files = sorted(SRC.rglob("*.py"))
    assert files, f"no source files under {SRC}"
    calls = 0
    problems: list[str] = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls += sum(
            1
            for node in ast.walk(tree)
            if isinstance(node, ast.Call) and _called_name(node) in ERROR_CLASSES
        )
        problems.extend(_untranslated(path))
    # The scan must actually see the errors, or it would pass vacuously.
    assert calls > 50, f"only {calls} error constructions found under {SRC}"
    assert not problems, "errors without Bahasa Indonesia:\n" + "\n".join(problems)


def test_scanner_flags_a_missing_translation(tmp_path: Path) -> None:
    # The scanner itself is checked on a small file so a bug in it cannot hide gaps.
    fake_src = tmp_path / "src" / "tangguh"
    fake_src.mkdir(parents=True)
    bad = fake_src / "bad.py"
    bad.write_text(
        "raise InputError('x', hint='y')\n"
        "raise FetchError('x', message_id='x_id', hint='y')\n"
        "raise NotFoundError('x', message_id='x_id', hint='y', hint_id='y_id')\n",
        encoding="utf-8",
    )
    problems = _untranslated(bad, root=fake_src.parent)
    assert problems == [
        "tangguh/bad.py:1: InputError(...) lacks message_id=",
        "tangguh/bad.py:1: InputError(...) has hint= but lacks hint_id=",
        "tangguh/bad.py:2: FetchError(...) has hint= but lacks hint_id=",
    ]


def test_text_picks_the_language() -> None:
    err = ImportError_(
        "the data have no CRS",
        where="a.geojson",
        hint="pass --crs EPSG:XXXX",
        message_id="data tidak memiliki CRS",
        hint_id="berikan --crs EPSG:XXXX",
    )
    assert err.text("id") == ("data tidak memiliki CRS", "berikan --crs EPSG:XXXX")
    assert err.text("en") == ("the data have no CRS", "pass --crs EPSG:XXXX")
    # Any other language code falls back to English.
    assert err.text("fr") == ("the data have no CRS", "pass --crs EPSG:XXXX")
    # str() stays English so logs and pytest.raises(match=...) are stable.
    assert str(err) == "the data have no CRS | where: a.geojson | what to do: pass --crs EPSG:XXXX"
    assert isinstance(err, TangguhError)
    assert exit_code_for(err) == 3


def test_text_falls_back_to_english_when_indonesian_is_missing() -> None:
    err = InputError("bad value", hint="use a number")
    assert err.text("id") == ("bad value", "use a number")
    no_hint = InputError("bad value", message_id="nilai salah")
    assert no_hint.text("id") == ("nilai salah", None)
    assert no_hint.text("en") == ("bad value", None)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_cli_prints_both_languages_user_language_first(
    lang: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TANGGUH_LANG", lang)
    monkeypatch.setenv("COLUMNS", "400")  # one line per message: no Rich wrapping
    missing = tmp_path / "tidak_ada.geojson"
    bank = tmp_path / "bank.gpkg"
    result = CliRunner().invoke(
        app, ["import", str(missing), "--layer", "jalan", "--bank", str(bank)]
    )
    assert result.exit_code == 3, result.output
    # Click >= 8.2 keeps stderr apart; older versions mix it into output.
    err = getattr(result, "stderr", "") or result.output
    lines = [line.strip() for line in err.splitlines() if line.strip()]
    en_label, id_label = "Error / Galat:", "Galat / Error:"
    assert lines[0].startswith(id_label if lang == "id" else en_label), err
    message_en, message_id = _missing_file_messages(missing)
    where_en = next(i for i, line in enumerate(lines) if message_en in line)
    where_id = next(i for i, line in enumerate(lines) if message_id in line)
    if lang == "id":
        assert where_id == 0 and where_en == 1, err
    else:
        assert where_en == 0 and where_id == 1, err
    todo = next(i for i, line in enumerate(lines) if "yang perlu dilakukan" in line)
    assert todo + 1 < len(lines), err  # the hint in the second language follows


def _missing_file_messages(missing: Path) -> tuple[str, str]:
    """English and Indonesian texts of the error for a file that does not exist."""
    from tangguh.io.vector import read_vector

    with pytest.raises(ImportError_) as info:
        read_vector(missing)
    message_en, _ = info.value.text("en")
    message_id, _ = info.value.text("id")
    assert message_en != message_id, "the missing-file error has no Indonesian text"
    return message_en, message_id
