"""What can be wrong with an uploaded dataset file, each with the HTTP status it earns."""

from __future__ import annotations


class ProfileError(Exception):
    """A file that cannot be profiled. `code` is stable for clients, `message` for people."""

    status = 400
    code = "invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EmptyFile(ProfileError):
    code = "empty"


class WrongType(ProfileError):
    status = 415
    code = "wrong_type"


class RaggedRow(ProfileError):
    code = "ragged_row"


class TooLarge(ProfileError):
    status = 413
    code = "too_large"


class Bomb(ProfileError):
    """A small file that expands far beyond what it looks like (gzip or Parquet bomb)."""

    status = 413
    code = "bomb"


class Unreadable(ProfileError):
    code = "unreadable"
