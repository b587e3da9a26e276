"""The exceptions of ``shm``: one class per variant of the Rust
``shm_runtime::Error``, all subclasses of :class:`Error`, each carrying the
runtime's message unchanged. Where a builtin exception means the same thing,
the class also derives from it (``NotFound`` is a ``FileNotFoundError``).
"""

import errno as _errno


class Error(Exception):
    """Base of every error raised by the ``shm`` runtime."""


class NotFound(Error, FileNotFoundError):
    """The region does not exist and the call may not create it."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.errno = _errno.ENOENT


class AlreadyExists(Error, FileExistsError):
    """``create_new=True`` found the region already there."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.errno = _errno.EEXIST


class InvalidName(Error, ValueError):
    """A shm name that POSIX does not allow."""


class NotSharedState(Error):
    """The file or object is not a region of this library; it was left
    untouched."""


class LayoutMismatch(Error):
    """The region holds a struct of another layout; the message names what
    differs."""


class PermissionDenied(Error, PermissionError):
    """The caller may not open the region as asked (or writes through a
    read-only handle)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.errno = _errno.EACCES


class Truncated(Error):
    """The file or object is shorter than its header records."""


class Timeout(Error, TimeoutError):
    """A bounded wait ran out (for a change, or for a region's creator)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.errno = _errno.ETIMEDOUT


class Io(Error, OSError):
    """A system call failed; ``errno`` says which error."""


class NoSuchField(Error, KeyError):
    """A field path that names no field (item access, ``fetch_add``, ...)."""

    def __str__(self) -> str:
        # KeyError would quote the message.
        return str(self.args[0]) if self.args else ""


class InvalidValue(Error, ValueError):
    """A value that the field cannot hold."""


class Unsupported(Error):
    """The region cannot be created as asked; nothing was created."""


class ForkedUpdate(Error):
    """An update block (or ``update`` callback) left in a process forked
    inside it: the child publishes nothing and releases nothing, since the
    update and the writer lock are its parent's, whose block goes on."""


class WrongSize(Error, ValueError):
    """Bytes of the wrong length for the struct (``from_bytes``)."""


class LayoutError(Error, TypeError):
    """A struct declaration that cannot be shared: implicit padding, a field
    type with no fixed layout. The messages are the Rust derive's."""


__all__ = [
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
