"""Payment orders through HTTP: the customer uploads proof of a payment (a PDF, PNG or JPEG by
content, at most 10 MB), operators list it, read the file, and decide; the customer sees the
status and gets a mail (read from the SMTP sink)."""

from datetime import date

from services.common import testing
from tests.e2e.conftest import Api

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def upload(customer: Api, content: bytes, filename: str = "order.pdf", amount: str = "250.00"):
    return customer.http.post("/account/payment-orders", headers=customer.headers(), files={
        "file": (filename, content, "application/octet-stream")}, data={
        "amount": amount, "currency": "EUR", "paid_on": date.today().isoformat(),
        "note": "paid from our SEB account"})


def test_an_uploaded_payment_order_is_decided_by_an_operator_and_the_customer_is_told(
    product, customer, operator
):
    made = upload(customer, PDF)
    assert made.status_code == 201, made.text
    order = made.json()
    assert (order["status"], order["content_type"], order["amount"]["amount"]) == (
        "pending", "application/pdf", "250.00")

    listed = operator.items(f"/admin/payment-orders?account_id={order['account_id']}")
    assert [o["id"] for o in listed] == [order["id"]]
    file = operator.get(f"/admin/payment-orders/{order['id']}/file")
    assert (file.status_code, file.content, file.headers["content-type"]) == (200, PDF, "application/pdf")

    decided = operator.post(f"/admin/payment-orders/{order['id']}/decide",
                            {"decision": "rejected", "reason": "no such payment on our account"})
    assert decided.json()["status"] == "rejected"
    other = operator.post(f"/admin/payment-orders/{order['id']}/decide", {"decision": "matched"})
    assert (other.status_code, other.json()["error"]["code"]) == (409, "payment_order_decided")

    assert [o["status"] for o in customer.items("/account/payment-orders")] == ["rejected"]
    verification, notice = product.mail.wait_for_mail(customer.email, 2)
    assert notice["Subject"] == "Your payment order of €250.00 was not accepted"  # the locale writes it
    assert "no such payment on our account" in testing.text_of(notice)


def test_a_png_is_accepted_and_a_text_file_is_refused_whatever_its_name(customer):
    assert upload(customer, PNG, "scan.png").json()["content_type"] == "image/png"
    refused = upload(customer, b"just some text", "order.pdf")
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "invalid_request")
    assert refused.json()["error"]["details"] == {"field": "file"}


def test_a_file_over_10_mb_is_413(customer):
    answer = upload(customer, PDF + b"0" * (10 * 1024 * 1024))
    assert (answer.status_code, answer.json()["error"]["code"]) == (413, "payload_too_large")


def test_a_bad_amount_is_422_and_another_accounts_file_is_404(product, customer):
    assert upload(customer, PDF, amount="12,50").status_code == 422
    order = upload(customer, PDF).json()
    stranger = Api(product.url, product.mail)
    stranger.register("Mallory AB")
    answer = stranger.get(f"/account/payment-orders/{order['id']}/file")
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found")


def test_a_note_with_a_control_character_is_refused_and_a_filename_keeps_only_its_name(customer):
    refused = customer.http.post("/account/payment-orders", headers=customer.headers(), files={
        "file": ("order.pdf", PDF, "application/pdf")}, data={
        "amount": "10.00", "currency": "EUR", "paid_on": date.today().isoformat(),
        "note": "paid\x00 twice\u202e"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "validation_error")
    assert refused.json()["error"]["details"][0]["type"] == "forbidden_character"
    assert refused.json()["error"]["details"][0]["loc"] == ["body", "note"]

    kept = upload(customer, PDF, filename="..\\..\\etc/pass\u202ewd.pdf")
    assert kept.status_code == 201, kept.text
    assert kept.json()["filename"] == "passwd.pdf"
