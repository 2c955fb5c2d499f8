"""Credentials: passwords are argon2id hashes (salted, never in clear, replaced when made with
older parameters or the earlier scrypt scheme), new passwords follow the policy, and mail
tokens are long, random and stored only as hashes."""

import base64
import hashlib
import os

import pytest
from argon2 import PasswordHasher

from services.billing import credentials
from services.billing.credentials import (
    check_new_password,
    hash_password,
    new_mail_token,
    token_hash,
    verify_password,
)
from services.common.errors import PasswordRejected

GOOD = "violet-anchor-92-lake"


def test_a_password_is_stored_as_a_salted_argon2id_hash():
    first, second = hash_password(GOOD), hash_password(GOOD)
    assert first.startswith("$argon2id$")
    assert GOOD not in first
    assert first != second


def test_the_right_password_matches_and_a_wrong_one_does_not():
    stored = hash_password(GOOD)
    assert verify_password(GOOD, stored) == (True, False)
    assert verify_password(GOOD.upper(), stored) == (False, False)


@pytest.mark.parametrize("stored", ["", "plain-text", "md5$abc$def", "scrypt$only-two", "$argon2id$x"])
def test_a_malformed_stored_hash_never_matches(stored):
    assert verify_password("whatever", stored)[0] is False


def test_a_hash_made_with_weaker_parameters_is_due_for_replacement():
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(GOOD)
    assert verify_password(GOOD, weak) == (True, True)


def test_a_legacy_scrypt_hash_still_matches_and_is_due_for_replacement():
    salt = os.urandom(16)
    digest = hashlib.scrypt(GOOD.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    legacy = f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    assert verify_password(GOOD, legacy) == (True, True)
    assert verify_password("not-" + GOOD, legacy) == (False, False)


def test_the_dummy_hash_of_unknown_addresses_matches_nothing():
    assert verify_password(GOOD, credentials.DUMMY_HASH) == (False, False)


@pytest.mark.parametrize("password, rule", [
    ("short-pass1", "at least 12"),
    ("x" * 201, "at most 200"),
    ("ada@example.com", "e-mail address"),
    ("ADA@EXAMPLE.COM", "e-mail address"),
    ("password1234", "most common"),
    ("PASSWORD1234", "most common"),
])
def test_a_new_password_is_refused_naming_the_rule(password, rule):
    with pytest.raises(PasswordRejected) as refused:
        check_new_password(password, "ada@example.com")
    assert rule in refused.value.message
    assert refused.value.details == {"field": "password"}


def test_a_twelve_character_uncommon_password_is_accepted():
    check_new_password("violet-anch9", "ada@example.com")


def test_the_common_password_list_is_shipped_whole():
    assert len(credentials.common_passwords()) > 25_000


def test_a_mail_token_has_256_random_bits_and_only_its_hash_is_kept():
    token, digest = new_mail_token()
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    assert digest == token_hash(token) == hashlib.sha256(token.encode()).hexdigest()
    assert token not in digest
    assert new_mail_token()[0] != token
