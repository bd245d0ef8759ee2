"""Argon2 hashing and the password policy."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from gongshu.auth import passwords
from gongshu.errors import ValidationFailed
from gongshu.settings import Settings


def test_hash_and_verify(settings: Settings) -> None:
    hashed = passwords.hash_password("Gongshu-Test-2026", settings)
    assert hashed.startswith("$argon2id$")
    assert "Gongshu-Test-2026" not in hashed
    assert passwords.verify_password(hashed, "Gongshu-Test-2026")
    assert not passwords.verify_password(hashed, "gongshu-test-2026")
    assert not passwords.verify_password("not-a-hash", "x")
    # Each hash is salted.
    assert passwords.hash_password("Gongshu-Test-2026", settings) != hashed


def test_profiles_and_rehash(settings: Settings) -> None:
    assert settings.argon2_profile == "fast"
    fast = passwords.hash_password("Abcdefgh-123", settings)
    assert "m=64,t=1,p=1" in fast
    default = settings.model_copy(update={"argon2_profile": "default"})
    strong = passwords.hash_password("Abcdefgh-123", default)
    assert "m=65536,t=3,p=4" in strong
    assert passwords.verify_password(strong, "Abcdefgh-123")
    assert passwords.needs_rehash(fast, default)
    assert not passwords.needs_rehash(strong, default)
    assert passwords.needs_rehash(strong, settings)
    legacy = PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1).hash("x")
    assert passwords.needs_rehash(legacy, default)


def _errors(password: str, settings: Settings, **kw: object) -> list[str]:
    with pytest.raises(ValidationFailed) as info:
        passwords.check_policy(password, username="zhangsan", settings=settings, **kw)  # type: ignore[arg-type]
    return info.value.errors["password"]


def test_policy_length_and_classes(settings: Settings) -> None:
    assert "10" in _errors("Ab1-", settings)[0]
    errors = _errors("abcdefghijkl", settings)
    assert any("3" in e and "类" in e for e in errors)
    passwords.check_policy("abcdefgh12-X", username="zhangsan", settings=settings)
    passwords.check_policy("abcdefgh12-x", username="zhangsan", settings=settings)  # 3 classes
    strict = settings.model_copy(update={"password_min_classes": 4})
    with pytest.raises(ValidationFailed):
        passwords.check_policy("abcdefgh12-x", username="zhangsan", settings=strict)


def test_policy_username(settings: Settings) -> None:
    errors = _errors("My-ZhangSan-2026", settings)
    assert errors == ["密码不能包含用户名"]


def test_policy_history(settings: Settings) -> None:
    old = [passwords.hash_password(f"Old-Password-{i}", settings) for i in range(7)]
    errors = _errors("Old-Password-4", settings, previous_hashes=old)
    assert errors == ["新密码不能与最近 5 次使用过的密码相同"]
    # Older than the last five: allowed again.
    passwords.check_policy(
        "Old-Password-5", username="zhangsan", previous_hashes=old, settings=settings
    )
    off = settings.model_copy(update={"password_history": 0})
    passwords.check_policy("Old-Password-0", username="zhangsan", previous_hashes=old, settings=off)


def test_policy_messages_in_english(settings: Settings) -> None:
    from gongshu.i18n import current_language

    token = current_language.set("en")
    try:
        errors = _errors("short", settings)
    finally:
        current_language.reset(token)
    assert errors[0] == "The password must be at least 10 characters long"


def test_character_classes() -> None:
    assert passwords.character_classes("abc") == 1
    assert passwords.character_classes("aB1") == 3
    assert passwords.character_classes("aB1 ") == 4
    assert passwords.character_classes("密码Ab1") == 4
