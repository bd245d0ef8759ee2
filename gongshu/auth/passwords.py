"""Password hashing (Argon2id) and the password policy.

Hashes use argon2-cffi. ``GONGSHU_ARGON2_PROFILE=fast`` selects deliberately cheap
parameters so that the test suite stays quick; every other deployment uses the RFC 9106
low-memory profile (t=3, m=64 MiB, p=4). A hash made with other parameters still verifies
and is upgraded at the next successful login (``needs_rehash``).

The policy (all from settings): a minimum length, a minimum number of character classes
(lower case, upper case, digits, symbols), the username must not appear in the password,
and the last ``password_history`` passwords may not be used again.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from argon2.profiles import RFC_9106_LOW_MEMORY

from gongshu.errors import ValidationFailed
from gongshu.i18n import N_, translate
from gongshu.settings import Settings, get_settings

MSG_TOO_SHORT = N_("密码长度不能少于 {n} 个字符")
MSG_CLASSES = N_("密码需包含小写字母、大写字母、数字和符号中的至少 {n} 类")
MSG_CONTAINS_USERNAME = N_("密码不能包含用户名")
MSG_REUSED = N_("新密码不能与最近 {n} 次使用过的密码相同")
MSG_SUMMARY = N_("密码不符合安全要求")


@lru_cache
def _hasher(profile: str) -> PasswordHasher:
    if profile == "fast":
        return PasswordHasher(time_cost=1, memory_cost=64, parallelism=1, hash_len=32, salt_len=16)
    return PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)


def hasher(settings: Settings | None = None) -> PasswordHasher:
    """The Argon2 hasher for the configured profile."""
    return _hasher((settings or get_settings()).argon2_profile)


def hash_password(password: str, settings: Settings | None = None) -> str:
    """An Argon2id hash of ``password`` (salted; the parameters are stored in the hash)."""
    return hasher(settings).hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches the hash. Unreadable hashes never match."""
    try:
        return _hasher("default").verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str, settings: Settings | None = None) -> bool:
    """Whether the hash was made with other parameters than the configured ones."""
    try:
        return hasher(settings).check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


_DUMMY: dict[str, str] = {}


def dummy_verify(password: str, settings: Settings | None = None) -> None:
    """Spend the time of one verification, so unknown usernames cannot be told apart."""
    profile = (settings or get_settings()).argon2_profile
    if profile not in _DUMMY:
        _DUMMY[profile] = hash_password("gongshu-dummy-password", settings)
    verify_password(_DUMMY[profile], password)


def character_classes(password: str) -> int:
    """How many of the four classes (lower, upper, digit, symbol) the password uses.

    Letters and digits are the ASCII ones; anything else (punctuation, spaces, Chinese
    characters) counts as a symbol.
    """
    lower = any("a" <= c <= "z" for c in password)
    upper = any("A" <= c <= "Z" for c in password)
    digit = any("0" <= c <= "9" for c in password)
    symbol = any(not (c.isascii() and c.isalnum()) for c in password)
    return sum((lower, upper, digit, symbol))


def check_policy(
    password: str,
    *,
    username: str,
    previous_hashes: Iterable[str] = (),
    settings: Settings | None = None,
    field: str = "password",
) -> None:
    """Raise ``ValidationFailed`` (all broken rules, for ``field``) unless the password passes.

    ``previous_hashes`` are the user's most recent password hashes, newest first; only the
    first ``settings.password_history`` of them are compared.
    """
    settings = settings or get_settings()
    problems: list[str] = []
    if len(password) < settings.password_min_length:
        problems.append(translate(MSG_TOO_SHORT, n=settings.password_min_length))
    if character_classes(password) < settings.password_min_classes:
        problems.append(translate(MSG_CLASSES, n=settings.password_min_classes))
    name = username.strip().lower()
    if len(name) >= 3 and name in password.lower():
        problems.append(translate(MSG_CONTAINS_USERNAME))
    if not problems and settings.password_history > 0:
        recent = list(previous_hashes)[: settings.password_history]
        if any(verify_password(h, password) for h in recent):
            problems.append(translate(MSG_REUSED, n=settings.password_history))
    if problems:
        raise ValidationFailed(MSG_SUMMARY, {field: problems})
