"""Passwords: argon2id (argon2-cffi, the reference implementation's binding), a policy,
and a hash to check unknown names against so that a wrong name costs what a wrong
password costs (no timing tells which names exist)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from utilipay.errors import DomainError, ErrorCode

MIN_LENGTH = 12
MAX_LENGTH = 256  # argon2 takes any length; a megabyte "password" is an attack on the CPU
_HASHER = PasswordHasher()  # argon2id with the library's current (RFC 9106) parameters
_UNKNOWN_USER = _HASHER.hash("a password no one has, checked for names no one has")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify(stored_hash: str | None, password: str) -> bool:
    """Constant work whether or not the user exists (``stored_hash`` None)."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(stored_hash or _UNKNOWN_USER, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _HASHER.check_needs_rehash(stored_hash)


def check_policy(password: str, username: str) -> None:
    """A password people cannot guess: long, not the name, not one repeated character."""
    if len(password) < MIN_LENGTH:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, f"a password has at least {MIN_LENGTH} characters"
        )
    if len(password) > MAX_LENGTH:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST, f"a password has at most {MAX_LENGTH} characters"
        )
    if username.lower() in password.lower() or len(set(password)) < 4:
        raise DomainError(
            ErrorCode.MALFORMED_REQUEST,
            "a password may not hold the user name, and needs at least 4 different characters",
        )
