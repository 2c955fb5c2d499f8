"""The sign-up story through HTTP, with the mails read back from the product's SMTP sink:
register → the verification mail in the account's language → its link verifies the address →
sign in → sign out ends the token at once; a forgotten password is reset through a mailed link,
which signs out every earlier token; failed sign-ins are throttled per client and address.

On a product of its own: 5 failed sign-ins in 5 s throttle (the default is 100 an hour, which a
shared product's tests, all from 127.0.0.1, would run into)."""

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.common import testing
from tests.e2e.conftest import PASSWORD, Api

SUBJECTS = {"en": "Confirm your e-mail address for", "sv": "Bekräfta din e-postadress för",
            "ru": "Подтвердите адрес электронной почты для"}


@pytest.fixture(scope="module")
def identity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[testing.Product]:
    tmp: Path = tmp_path_factory.mktemp("identity")
    try:
        with testing.running_product(tmp, LOGIN_FAILURE_LIMIT="5", LOGIN_FAILURE_WINDOW_SECONDS="5",
                                     CONSOLE_URL="https://console.example") as running:
            yield running
    except testing.MissingInfrastructure as error:
        pytest.fail(str(error), pytrace=False)


def sign_up(product: testing.Product, language: str = "en") -> tuple[Api, str]:
    api = Api(product.url, product.mail)
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    answer = api.post("/auth/register", {"email": email, "password": PASSWORD, "country": "SE",
                                         "company_name": "Ada <Cloud> AB", "language": language})
    assert answer.status_code == 201, answer.text
    assert set(answer.json()) == {"account_id", "user_id"}
    return api, email


def error_code(answer) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["code"]


@pytest.mark.parametrize("language", ["en", "sv", "ru"])
def test_sign_up_mails_a_link_in_the_accounts_language_that_verifies_once_and_lets_the_owner_in(
    identity, language
):
    api, email = sign_up(identity, language)
    assert error_code(api.post("/auth/login", {"email": email, "password": PASSWORD})) == (
        403, "email_not_verified")

    (mail,) = identity.mail.wait_for_mail(email)
    assert mail["Subject"] == f"{SUBJECTS[language]} Ada <Cloud> AB"
    assert mail["Content-Language"] == language
    token = testing.link_token(mail)
    assert f"https://console.example/verify?token={token}" in testing.text_of(mail)
    assert f'href="https://console.example/verify?token={token}"' in testing.html_of(mail)

    assert api.post("/auth/verify", {"token": token}).status_code == 200
    assert error_code(api.post("/auth/verify", {"token": token})) == (400, "token_invalid")
    api.login(email, PASSWORD)
    assert api.get("/account").status_code == 200


def test_a_new_verification_mail_can_be_asked_for_and_answers_the_same_for_a_stranger(identity):
    api, email = sign_up(identity)
    identity.mail.wait_for_mail(email)

    mine = api.post("/auth/verification-mail", {"email": email})
    stranger = api.post("/auth/verification-mail", {"email": "nobody-here@example.com"})

    assert (mine.status_code, stranger.status_code) == (202, 202)
    assert mine.content == stranger.content == b""
    first, second = identity.mail.wait_for_mail(email, 2)
    assert error_code(api.post("/auth/verify", {"token": testing.link_token(first)})) == (
        400, "token_invalid")
    assert api.post("/auth/verify", {"token": testing.link_token(second)}).status_code == 200


def test_signing_out_ends_the_token_at_once(identity):
    api = Api(identity.url, identity.mail)
    api.register()
    assert api.get("/account").status_code == 200

    assert api.post("/auth/logout").status_code == 204

    assert error_code(api.get("/account")) == (401, "authentication_required")


def test_a_password_reset_by_mail_signs_out_every_earlier_token(identity):
    api = Api(identity.url, identity.mail)
    email = api.register()["email"]
    other_device = Api(identity.url)
    other_device.login(email, PASSWORD)

    assert api.post("/auth/password-reset", {"email": email}).status_code == 202
    assert api.post("/auth/password-reset", {"email": "nobody-here@example.com"}).status_code == 202
    reset = identity.mail.wait_for_mail(email, 2)[-1]
    assert reset["Subject"] == "Reset your password"
    token = testing.link_token(reset)
    assert "https://console.example/reset-password?token=" in testing.text_of(reset)

    weak = api.post("/auth/password-reset/confirm", {"token": token, "password": "password1234"})
    assert error_code(weak) == (422, "password_rejected")
    done = api.post("/auth/password-reset/confirm", {"token": token, "password": "new-violet-lake-7"})
    assert done.status_code == 204

    for device in (api, other_device):
        assert error_code(device.get("/account")) == (401, "authentication_required")
    assert error_code(api.post("/auth/login", {"email": email, "password": PASSWORD})) == (
        401, "invalid_credentials")
    api.login(email, "new-violet-lake-7")
    assert api.get("/account").status_code == 200
    again = api.post("/auth/password-reset/confirm", {"token": token, "password": "x-violet-lake-8"})
    assert error_code(again) == (400, "token_invalid")


def from_client(address: str) -> dict[str, str]:
    """The gateway trusts X-Forwarded-For from loopback (uvicorn's FORWARDED_ALLOW_IPS)."""
    return {"X-Forwarded-For": address}


def test_failed_sign_ins_throttle_the_address_for_every_client_until_the_window_passes(identity):
    api = Api(identity.url, identity.mail)
    email = api.register()["email"]
    wrong = {"email": email, "password": "wrong-password-9"}
    for _ in range(5):
        assert error_code(api.post("/auth/login", wrong, headers=from_client("203.0.113.5"))) == (
            401, "invalid_credentials")

    throttled = api.post("/auth/login", {"email": email, "password": PASSWORD},
                         headers=from_client("198.51.100.23"))

    assert error_code(throttled) == (429, "too_many_attempts")
    assert 1 <= int(throttled.headers["Retry-After"]) <= 5
    time.sleep(int(throttled.headers["Retry-After"]) + 0.5)
    api.login(email, PASSWORD)


def test_failed_sign_ins_from_one_client_throttle_it_for_every_address(identity):
    client = from_client("203.0.113.77")
    for n in range(5):
        answer = Api(identity.url).post(
            "/auth/login", {"email": f"nobody-{n}@example.com", "password": "x" * 12}, headers=client)
        assert error_code(answer) == (401, "invalid_credentials")
    api = Api(identity.url, identity.mail)
    email = api.register()["email"]

    assert error_code(api.post("/auth/login", {"email": email, "password": PASSWORD},
                               headers=client)) == (429, "too_many_attempts")
    api.login(email, PASSWORD)  # from another client


def test_a_weak_password_is_refused_at_sign_up_naming_the_field(identity):
    api = Api(identity.url)
    answer = api.post("/auth/register", {"email": f"{uuid.uuid4().hex[:8]}@example.com",
                                         "password": "qwertyuiop12", "company_name": "Weak AB",
                                         "country": "SE"})
    assert error_code(answer) == (422, "password_rejected")
    assert answer.json()["error"]["details"] == {"field": "password"}


def test_me_says_who_is_signed_in_and_for_which_account(identity):
    api = Api(identity.url, identity.mail)
    registered = api.register("Me AB")
    me = api.get("/me").json()
    assert (me["user_id"], me["email"], me["role"], me["account_role"], me["email_verified"]) == (
        registered["user_id"], registered["email"], "customer", "owner", True)
    assert me["account"]["id"] == registered["account_id"]
    assert Api(identity.url).get("/me").status_code == 401


def test_the_owner_invites_a_member_who_joins_through_the_mailed_link_and_can_be_removed(identity):
    owner = Api(identity.url, identity.mail)
    owner.register("Team AB")
    email = f"{uuid.uuid4().hex[:10]}@example.com"

    invited = owner.post("/account/members", {"email": email})

    assert invited.status_code == 201, invited.text
    assert (invited.json()["role"], invited.json()["status"]) == ("member", "invited")
    (mail,) = identity.mail.wait_for_mail(email)
    assert mail["Subject"] == f"{owner.email} invites you to Team AB"
    token = testing.link_token(mail)
    assert "https://console.example/accept-invite?token=" in testing.text_of(mail)
    member = Api(identity.url)
    joined = member.post("/auth/accept-invite", {"token": token, "password": "member-violet-42"})
    assert joined.status_code == 200
    assert error_code(member.post("/auth/accept-invite", {"token": token, "password": "x" * 14})) == (
        400, "token_invalid")
    member.login(email, "member-violet-42")
    assert member.get("/account").json()["id"] == owner.get("/account").json()["id"]
    assert error_code(member.post("/account/members", {"email": "x@example.com"})) == (403, "owner_only")
    statuses = {m["email"]: m["status"] for m in owner.items("/account/members")}
    assert statuses == {owner.email: "active", email: "active"}

    user_id = invited.json()["user_id"]
    assert owner.http.delete(f"/account/members/{user_id}", headers=owner.headers()).status_code == 204

    assert error_code(member.get("/account")) == (401, "authentication_required")
    assert error_code(member.post("/auth/login", {"email": email, "password": "member-violet-42"})) == (
        401, "invalid_credentials")
    assert {m["email"]: m["status"] for m in owner.items("/account/members")}[email] == "removed"


def test_a_stranger_cannot_remove_another_accounts_member(identity):
    owner, stranger = Api(identity.url, identity.mail), Api(identity.url, identity.mail)
    owner.register("Own AB")
    stranger.register("Other AB")
    member = owner.post("/account/members", {"email": f"{uuid.uuid4().hex[:10]}@example.com"}).json()
    answer = stranger.http.delete(f"/account/members/{member['user_id']}", headers=stranger.headers())
    assert error_code(answer) == (404, "not_found")
