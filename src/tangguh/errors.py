"""Error hierarchy of Tangguh and the CLI exit code of each error class.

Every message says what was wrong, where (file, row, field) and what to do.
"""

from __future__ import annotations

__all__ = [
    "EXIT_CODES",
    "BankError",
    "BankVersionError",
    "FetchError",
    "ImportError_",
    "InputError",
    "NotFoundError",
    "TangguhError",
    "exit_code_for",
]


class TangguhError(Exception):
    """Base of all errors Tangguh raises on purpose.

    Parameters
    ----------
    message:
        What was wrong.
    where:
        File, row, field or object the error is about (optional).
    hint:
        What the user can do about it (optional).
    message_id:
        ``message`` in Bahasa Indonesia ("id", as in the catalogue's ``title_id``).
        Every error Tangguh raises carries one, so the CLI can show both languages.
    hint_id:
        ``hint`` in Bahasa Indonesia (optional; expected whenever ``hint`` is given).

    Notes
    -----
    ``str(error)`` stays English (message, ``where:``, ``what to do:`` joined by
    " | ") so logs and ``pytest.raises(match=...)`` are stable; :meth:`text` picks
    the language for people.
    """

    def __init__(
        self,
        message: str,
        *,
        where: str | None = None,
        hint: str | None = None,
        message_id: str | None = None,
        hint_id: str | None = None,
    ):
        self.message = message
        self.where = where
        self.hint = hint
        self.message_id = message_id
        self.hint_id = hint_id
        super().__init__(self.__str__())

    def text(self, lang: str) -> tuple[str, str | None]:
        """Return ``(message, hint)`` in ``lang``.

        Parameters
        ----------
        lang:
            ``"id"`` for Bahasa Indonesia; anything else gives English. An
            Indonesian text that is missing falls back to the English one.

        Returns
        -------
        tuple[str, str | None]
            The message and the hint (``None`` when the error has no hint).
        """
        if lang == "id":
            hint = self.hint_id if self.hint_id is not None else self.hint
            return (self.message_id or self.message, hint)
        return (self.message, self.hint)

    def __str__(self) -> str:
        parts = [self.message]
        if self.where:
            parts.append(f"where: {self.where}")
        if self.hint:
            parts.append(f"what to do: {self.hint}")
        return " | ".join(parts)


class InputError(TangguhError):
    """Bad user input: options, values, a file that cannot be used as given."""


class ImportError_(InputError):
    """A file could not be imported; the bank was left unchanged."""


class NotFoundError(TangguhError):
    """A layer, unit, station or source that does not exist."""


class BankError(TangguhError):
    """The bank cannot be opened or written."""


class BankVersionError(BankError):
    """The bank's schema is older or newer than this software."""


class FetchError(TangguhError):
    """A named source could not be downloaded or failed verification."""


#: CLI exit codes, documented in the README. 0 = success, 1 = unexpected error.
EXIT_CODES: dict[type[TangguhError], int] = {
    InputError: 2,
    ImportError_: 3,
    NotFoundError: 4,
    BankError: 5,
    BankVersionError: 6,
    FetchError: 7,
}


def exit_code_for(error: BaseException) -> int:
    """Return the CLI exit code for ``error`` (the most specific class wins)."""
    for cls in type(error).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]  # type: ignore[index,unused-ignore]
    return 1
