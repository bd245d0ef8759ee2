"""The domain's exceptions. Services raise them; the web layer maps them to responses.

    GongshuError
    ├── NotFound            → 404
    ├── PermissionDenied    → 403
    │   └── NotAuthenticated → 401
    ├── Conflict            → 409 (a concurrent change, or a duplicate)
    ├── ValidationFailed    → 422, with per-field messages
    └── AuthenticationFailed → 401 (wrong credentials, locked account, second factor)

Messages are in Chinese, the interface's first language; the web layer translates them
through the message catalog when the reader chose English.
"""

from __future__ import annotations


class GongshuError(Exception):
    """Base of every error a service raises on purpose."""

    status_code = 400
    code = "error"

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message.format(**params) if params else message)
        self.message = message
        self.params = params

    def localized(self, lang: str | None = None) -> str:
        """The message in the reader's language (the message is its own msgid)."""
        from gongshu.i18n import pick_language, translate

        return translate(self.message, pick_language(lang) if lang else None, **self.params)


class NotFound(GongshuError):
    status_code = 404
    code = "not_found"


class PermissionDenied(GongshuError):
    status_code = 403
    code = "permission_denied"


class NotAuthenticated(PermissionDenied):
    status_code = 401
    code = "not_authenticated"


class Conflict(GongshuError):
    status_code = 409
    code = "conflict"


class AuthenticationFailed(GongshuError):
    status_code = 401
    code = "authentication_failed"


class ValidationFailed(GongshuError):
    """Input that breaks a rule. ``errors`` maps a field name to its messages."""

    status_code = 422
    code = "validation_failed"

    def __init__(
        self, message: str, errors: dict[str, list[str]] | None = None, **params: object
    ) -> None:
        super().__init__(message, **params)
        self.errors = errors or {}

    def localized_errors(self) -> dict[str, list[str]]:
        """Per-field messages in the current language (each message is its own msgid)."""
        from gongshu.i18n import translate

        return {k: [translate(m) for m in v] for k, v in self.errors.items()}

    @classmethod
    def single(cls, field: str, message: str) -> ValidationFailed:
        return cls(message, {field: [message]})
