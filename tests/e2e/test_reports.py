"""Reports and lists (seed 003's Documents section) through the gateway, against the real
services: each asked for, produced in the background with its progress, mailed (attached),
listed in Files and downloaded; its text read back with pdftotext."""

import csv
import io
import subprocess
import uuid
from datetime import date, timedelta

from services.common import testing
from services.documents.reports import months_before


def pdf_text(content: bytes) -> str:
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True,
                          check=True).stdout.decode()


def ask(api, body, key=None):
    return api.post("/reports", body, headers={"Idempotency-Key": key or uuid.uuid4().hex})


def ready(api, body, timeout: float = 60):
    """Ask for a report and wait until it is ready; the job and its file's bytes."""
    asked = ask(api, body)
    assert asked.status_code == 202, asked.text
    assert asked.json()["status"] == "queued"
    job = finished(api, asked.json()["id"], timeout)
    assert job["status"] == "ready", job
    assert job["progress"] == 100
    content = api.get(f"/files/{job['file_id']}/content")
    assert content.status_code == 200, content.text
    return job, content


def finished(api, report_id, timeout: float = 60):
    def done():
        job = api.get(f"/reports/{report_id}").json()
        return job if job["status"] in ("ready", "failed") else None

    return testing.wait_for(done, timeout, message=f"report {report_id} never finished")


def shipped_goods_order(operator, customer, certificates=True):
    """A goods order of two articles packed into boxes and shipped; (order, shipment, skus)."""
    skus = [f"E2E-R-{uuid.uuid4().hex[:6].upper()}" for _ in range(2)]
    for sku, name, per_box in zip(skus, ("Rack rail kit", "Patch cable"), (4, 10), strict=True):
        created = operator.post("/admin/products", {
            "sku": sku, "name": name, "kind": "goods", "vat_rate": "25",
            "price": {"amount": "10.00", "currency": "EUR"}, "units_per_box": per_box,
            "characteristics": {"colour": "black", "length": f"{per_box} m"},
            "certificates": [{"name": "CE declaration", "number": f"CE-{sku}", "issued_by": "Intertek",
                              "valid_until": "2030-01-31"}] if certificates else []})
        assert created.status_code == 201, created.text
        operator.http.put(f"/admin/products/{sku}/stock", json={"on_hand": 50},
                          headers=operator.headers())
    order = customer.post("/orders", {"lines": [{"sku": skus[0], "quantity": 6},
                                                {"sku": skus[1], "quantity": 10}]},
                          headers={"Idempotency-Key": uuid.uuid4().hex}).json()
    assert customer.post(f"/orders/{order['id']}/send-for-confirmation").status_code == 200
    assert customer.post(f"/orders/{order['id']}/send-for-shipment").status_code == 200
    (shipment,) = customer.items(f"/shipments?order_id={order['id']}")
    for status in ("assembled", "shipped"):
        moved = operator.post(f"/admin/shipments/{shipment['id']}/status", {"status": status})
        assert moved.status_code == 200, moved.text
    return order, customer.get(f"/shipments/{shipment['id']}").json(), skus


def test_a_settlements_report_lists_opening_movements_and_closing_and_arrives_by_mail(customer, operator):
    account = customer.get("/account").json()
    operator.top_up(account["id"], "100.00")
    customer.order()
    today = date.today()
    job, content = ready(customer, {"kind": "settlements", "from": (today - timedelta(days=30)).isoformat(),
                                    "to": today.isoformat()})
    assert content.headers["content-type"] == "application/pdf"
    text = pdf_text(content.content)
    for words in ("Mutual settlements", "Opening balance", "Top-up", "Order charge", "Closing balance",
                  "Page 1 of 1"):
        assert words in text, text
    (mail,) = customer.mail.wait_for_mail(customer.email, count=3)[-1:]
    assert mail["Subject"] == "Your report is ready: Mutual settlements"
    (attached,) = [part for part in mail.iter_attachments()]
    assert attached.get_filename().startswith("settlements-") and attached.get_content() == content.content

    (listed,) = [f for f in customer.items("/files") if f["id"] == job["file_id"]]
    assert listed["kind"] == "settlements" and listed["size"] == len(content.content)
    assert listed["period"] == {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()}


def test_a_settlements_report_as_csv_has_a_row_per_movement(customer, operator):
    account = customer.get("/account").json()
    tricky = 'bank line "7", Ada\nAB'  # a comma, quotes and a line break stay in one cell
    for amount, reference in (("40.00", tricky), ("2.50", "bank line 8")):
        answer = operator.post(f"/admin/accounts/{account['id']}/top-ups",
                               {"amount": {"amount": amount, "currency": "EUR"}, "reference": reference},
                               headers={"Idempotency-Key": uuid.uuid4().hex})
        assert answer.status_code == 201, answer.text
    today = date.today().isoformat()
    job, content = ready(customer, {"kind": "settlements", "format": "csv", "from": today, "to": today})
    assert content.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(content.content.decode("utf-8-sig"), newline="")))
    assert rows[0] == ["Posting", "Time", "Movement", "Reference", "Order", "Amount", "Balance"]
    assert [(row[2], row[3], row[5], row[6]) for row in rows[1:]] == [
        ("top_up", tricky, "40.00", "40.00"), ("top_up", "bank line 8", "2.50", "42.50")]


def test_a_period_further_back_than_the_report_allows_is_refused_with_the_range(customer):
    today = date.today()
    year_back = months_before(today, 12)
    too_long = ask(customer, {"kind": "settlements", "from": (year_back - timedelta(days=1)).isoformat(),
                              "to": today.isoformat()})
    assert too_long.status_code == 422, too_long.text
    assert too_long.json()["error"]["code"] == "period_too_long"
    assert too_long.json()["error"]["details"] == {"max_from": year_back.isoformat(), "to": today.isoformat()}
    half_year = ask(customer, {"kind": "sales", "from": (months_before(today, 6) - timedelta(days=1))
                               .isoformat(), "to": today.isoformat()})
    assert half_year.json()["error"]["details"]["max_from"] == months_before(today, 6).isoformat()
    assert ask(customer, {"kind": "settlements", "from": year_back.isoformat(),
                          "to": today.isoformat()}).status_code == 202
    assert [job["kind"] for job in customer.items("/reports")] == ["settlements"]  # the refused: none


def test_an_empty_period_gives_a_valid_report_that_says_so(customer):
    today = date.today().isoformat()
    _, content = ready(customer, {"kind": "sales", "from": today, "to": today})
    assert "Nothing to report for this period." in pdf_text(content.content)


def test_packing_lists_in_three_layouts_print_shipment_and_box_numbers(customer, operator):
    order, shipment, skus = shipped_goods_order(operator, customer)
    boxes = [box["number"] for box in shipment["boxes"]]
    texts = {}
    for layout in ("by_article", "box_nomenclature", "box_characteristic"):
        _, content = ready(customer, {"kind": "packing_list", "shipment_ids": [shipment["id"]],
                                      "layout": layout})
        texts[layout] = pdf_text(content.content)
        assert shipment["number"] in texts[layout] and skus[0] in texts[layout]
    assert "Boxes" in texts["by_article"] and ", ".join(map(str, boxes[:2])) in texts["by_article"]
    assert "colour: black" in texts["box_characteristic"]
    assert "colour: black" not in texts["box_nomenclature"]


def test_inventory_and_certificates_of_a_shipped_order_arrive_by_mail(customer, operator):
    order, shipment, skus = shipped_goods_order(operator, customer)
    job, content = ready(customer, {"kind": "inventory_certificates", "order_id": order["id"]})
    text = pdf_text(content.content)
    assert f"CE-{skus[0]}" in text and "Intertek" in text and shipment["number"] in text
    mails = customer.mail.wait_for_mail(customer.email, count=2)
    assert any(m["Subject"] == "Your report is ready: Inventory and certificates" for m in mails)


def test_inventory_of_an_order_not_shipped_is_refused_at_once(customer, operator):
    operator.top_up(customer.get("/account").json()["id"], "50.00")
    order = customer.order()
    refused = ask(customer, {"kind": "inventory_certificates", "order_id": order["id"]})
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "order_not_shipped")
    assert customer.items("/reports") == []


def test_sales_and_realizations_cover_the_shipped_order(customer, operator):
    order, shipment, skus = shipped_goods_order(operator, customer)
    today = date.today().isoformat()
    _, sales = ready(customer, {"kind": "sales", "from": today, "to": today})
    text = pdf_text(sales.content)
    assert skus[0] in text and "Month total" in text and date.today().strftime("%Y-%m") in text
    _, realizations = ready(customer, {"kind": "realizations", "from": today, "to": today, "format": "csv"})
    rows = list(csv.reader(io.StringIO(realizations.content.decode("utf-8-sig"))))
    assert rows[1][0].startswith(shipment["number"])
    assert [row[0] for row in rows[2:4]] == sorted(skus) or {row[0] for row in rows[2:4]} == set(skus)


def test_receivables_show_what_is_owed_and_operators_see_every_account(customer, operator):
    account = customer.get("/account").json()
    operator.top_up(account["id"], "12.00")
    _, content = ready(customer, {"kind": "receivables"})
    text = pdf_text(content.content)
    assert "Receivables" in text and "You are owed" in text and "€12.00" in text
    every = operator.get("/admin/reports/receivables?limit=200")
    assert every.status_code == 200, every.text
    assert "over_90" in every.json()["items"][0]["buckets"]
    assert customer.get("/admin/reports/receivables").status_code == 403


def test_another_accounts_report_and_file_answer_404_like_missing_ones(product, customer):
    from tests.e2e.conftest import Api

    job, _ = ready(customer, {"kind": "receivables"})
    stranger = Api(product.url, product.mail)
    stranger.register(company="Other AB")
    for path in (f"/reports/{job['id']}", f"/files/{job['file_id']}", f"/files/{job['file_id']}/content",
                 f"/files/{uuid.uuid4()}/content"):
        answer = stranger.get(path)
        assert answer.status_code == 404, (path, answer.text)
        assert answer.json()["error"]["code"] == "not_found"


def test_a_packing_list_of_another_accounts_shipment_is_404_like_a_missing_one(product, customer, operator):
    from tests.e2e.conftest import Api

    _, shipment, _ = shipped_goods_order(operator, customer)
    stranger = Api(product.url, product.mail)
    stranger.register(company="Other AB")
    for shipment_id in (shipment["id"], str(uuid.uuid4())):
        answer = ask(stranger, {"kind": "packing_list", "shipment_ids": [shipment_id]})
        assert (answer.status_code, answer.json()["error"]["code"]) == (404, "not_found")
    assert stranger.items("/reports") == []


def test_the_same_request_key_answers_the_first_job(customer):
    key = uuid.uuid4().hex
    first = ask(customer, {"kind": "receivables"}, key)
    again = ask(customer, {"kind": "receivables"}, key)
    assert first.json()["id"] == again.json()["id"]  # a 202 is not the last word: asked again
    assert [job["id"] for job in customer.items("/reports")] == [first.json()["id"]]


def test_a_report_asked_for_is_mailed_in_the_accounts_language_even_with_notifications_off(product):
    from tests.e2e.conftest import Api

    swede = Api(product.url, product.mail)
    swede.register(company="Svensk AB", language="sv")
    off = swede.http.put("/account/notifications", json={"enabled": False}, headers=swede.headers())
    assert off.status_code == 200, off.text
    _, content = ready(swede, {"kind": "receivables"})
    text = pdf_text(content.content)
    assert "Kundfordringar" in text and "Sida 1 av 1" in text and "Ni är skyldiga" not in text, text

    def report_mail():
        return [m for m in product.mail.to(swede.email) if "rapport" in m["Subject"]]

    (mail,) = testing.wait_for(report_mail, 20, message="the report was not mailed")
    assert mail["Subject"] == "Din rapport är klar: Kundfordringar"
    assert mail["Content-Language"] == "sv" and mail["To"] == swede.email
    (attached,) = mail.iter_attachments()
    assert attached.get_content_type() == "application/pdf" and attached.get_content() == content.content


def test_a_sales_report_as_a_workbook_keeps_amounts_exact(customer, operator):
    from openpyxl import load_workbook

    order, shipment, skus = shipped_goods_order(operator, customer)
    today = date.today().isoformat()
    _, content = ready(customer, {"kind": "sales", "from": today, "to": today, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(content.content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == ["Article", "Name", "Quantity", "Net", "VAT", "Gross"]
    (rail,) = [row for row in rows if row[0] == skus[0]]
    assert rail[2:] == [6, 60, 15, 75]  # 6 × 10.00 EUR, VAT 25 %
