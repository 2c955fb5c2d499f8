"""Credentials: argon2id password hashes, the password policy, and one-time mail tokens.

* Hashes are argon2id with argon2-cffi's recommended parameters (RFC 9106's low-memory
  profile); a hash made with other parameters, or by the earlier scrypt scheme, is replaced at
  the next successful sign-in.  Hashing is CPU-bound: callers run it in a thread pool.
* ``DUMMY_HASH`` is checked for an unknown address, so a sign-in costs the same either way.
* A new password has at least 12 characters, is not one of the 30,000 most common ones
  (``data/common-passwords.txt.gz``) and is not the e-mail address.
* A mail token is 256 random bits; only its SHA-256 is stored.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import secrets
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from services.common.errors import PasswordRejected

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200
COMMON_PASSWORDS = Path(__file__).resolve().parent / "data" / "common-passwords.txt.gz"
LEGACY_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}

HASHER = PasswordHasher()
DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(32))


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify_password(password: str, stored: str) -> tuple[bool, bool]:
    """(whether it matches, whether the stored hash should be replaced)."""
    if stored.startswith("scrypt$"):
        matches = _legacy_scrypt_matches(password, stored)
        return matches, matches
    try:
        HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False, False
    return True, HASHER.check_needs_rehash(stored)


def _legacy_scrypt_matches(password: str, stored: str) -> bool:
    try:
        _, salt_b64, digest_b64 = stored.split("$")
        digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), **LEGACY_SCRYPT)
        return hmac.compare_digest(digest, base64.b64decode(digest_b64))
    except ValueError:
        return False


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip().casefold() for line in lines if line.strip())


def check_new_password(password: str, email: str) -> None:
    """Refuse a password a guesser would try early; the reason names the rule."""
    folded = password.casefold()
    if len(password) < MIN_PASSWORD_LENGTH:
        reason = f"the password must have at least {MIN_PASSWORD_LENGTH} characters"
    elif len(password) > MAX_PASSWORD_LENGTH:
        reason = f"the password may have at most {MAX_PASSWORD_LENGTH} characters"
    elif folded in (email.casefold(), email.partition("@")[0].casefold()):
        reason = "the password must not be the e-mail address"
    elif folded in common_passwords():
        reason = "this password is one of the most common ones; choose another"
    else:
        return
    raise PasswordRejected(reason, {"field": "password"})


def new_mail_token() -> tuple[str, str]:
    """(the token for the link, the hash to store)."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
