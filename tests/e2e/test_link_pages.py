"""The pages the mails' links open, followed from the mail read back from the SMTP sink: opening
a link only shows a form (a mail scanner fetching it spends nothing); the person's button or new
password spends it once; a spent or mistyped link says so; a bad password is shown back on the
form."""

import re
import uuid

import httpx

from services.common import testing
from tests.e2e.conftest import PASSWORD, Api


def link_in(message) -> str:
    found = re.search(r"https?://\S+\?token=[A-Za-z0-9_-]+", testing.text_of(message))
    assert found, "the mail has no link"
    return found.group(0)


def token_of(link: str) -> str:
    return link.rsplit("token=", 1)[1]


def test_the_verification_link_opens_a_form_and_only_its_button_verifies(product):
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    api = Api(product.url, product.mail)
    assert api.post("/auth/register", {"email": email, "password": PASSWORD, "company_name": "Link AB",
                                       "country": "SE"}).status_code == 201
    link = link_in(product.mail.wait_for_mail(email)[0])
    assert link.startswith(product.url + "/verify?token=")

    for _ in range(2):  # a mail scanner, then the person
        opened = httpx.get(link)
        assert opened.status_code == 200 and 'method="post"' in opened.text
        assert opened.headers["cache-control"] == "no-store"
        assert opened.headers["referrer-policy"] == "no-referrer"
    assert api.post("/auth/login", {"email": email, "password": PASSWORD}).status_code == 403

    confirmed = httpx.post(product.url + "/verify", data={"token": token_of(link)})
    assert confirmed.status_code == 200 and email in confirmed.text
    assert api.post("/auth/login", {"email": email, "password": PASSWORD}).status_code == 200

    again = httpx.post(product.url + "/verify", data={"token": token_of(link)})
    assert again.status_code == 400 and "no longer valid" in again.text
    mistyped = httpx.get(product.url + "/verify?token=")
    assert mistyped.status_code == 400


def test_the_reset_link_sets_a_new_password_typed_twice(product):
    api = Api(product.url, product.mail)
    email = api.register("Reset Link AB")["email"]
    assert api.post("/auth/password-reset", {"email": email}).status_code == 202
    link = link_in(product.mail.wait_for_mail(email, 2)[-1])
    token = token_of(link.replace("https://console.example", product.url))
    form = product.url + "/reset-password"

    assert httpx.get(f"{form}?token={token}").status_code == 200
    differ = httpx.post(form, data={"token": token, "password": "a-new-long-one-1", "again": "other"})
    weak = httpx.post(form, data={"token": token, "password": "password1234", "again": "password1234"})
    assert (differ.status_code, "differ" in differ.text) == (422, True)
    assert weak.status_code == 422 and 'role="alert"' in weak.text
    done = httpx.post(form, data={"token": token, "password": "new-violet-lake-7",
                                  "again": "new-violet-lake-7"})
    assert done.status_code == 200 and email in done.text

    assert api.post("/auth/login", {"email": email, "password": "new-violet-lake-7"}).status_code == 200
    spent = httpx.post(form, data={"token": token, "password": "another-one-8888",
                                   "again": "another-one-8888"})
    assert spent.status_code == 400
    escaped = httpx.get(f"{form}?token=%22%3E%3Cscript%3Ealert(1)%3C/script%3E")
    assert "<script>alert" not in escaped.text
