"""The cart through the orders service: a user's own lines at today's prices; quantities
within limits; an uploaded order form (CSV with commas or semicolons, XLSX) adds its good rows
and reports each bad one by row number, and a file that is not an order form adds nothing;
checking out from the cart orders its lines and empties it, once per request key."""

import base64
import io
import uuid

import pytest
from openpyxl import Workbook

from services.common.errors import InvalidRequest, NotFound, OrderFormUnreadable, ProductInactive

ACCOUNT = "acc-" + "3" * 32
USER = "user-" + "3" * 31


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def skus(cart: dict) -> list[tuple[str, int]]:
    return [(item["sku"], item["quantity"]) for item in cart["items"]]


def test_a_cart_holds_a_users_lines_at_todays_prices(orders):
    orders.add_to_cart(ACCOUNT, USER, "VM-S-1M", 2)
    cart = orders.add_to_cart(ACCOUNT, USER, "VM-S-1M", 1)
    assert skus(cart) == [("VM-S-1M", 3)]
    assert cart["totals"]["total"] == {"amount": "75.00", "currency": "EUR"}
    assert orders.get_cart("someone-else")["items"] == []
    with pytest.raises(NotFound):
        orders.set_cart_quantity("someone-else", "VM-S-1M", 1)
    assert skus(orders.set_cart_quantity(USER, "VM-S-1M", 1)) == [("VM-S-1M", 1)]
    for bad in (0, -1, 10_001, True, "2"):
        with pytest.raises(InvalidRequest):
            orders.add_to_cart(ACCOUNT, USER, "VM-S-1M", bad)
    assert orders.remove_from_cart(USER, "VM-S-1M")["items"] == []


def test_an_inactive_product_cannot_be_put_in_the_cart(orders):
    orders.create_product({"sku": "GONE-1", "name": "Gone", "kind": "service", "active": False,
                           "price": {"amount": "1.00", "currency": "EUR"}, "vat_rate": "25"})
    with pytest.raises(ProductInactive):
        orders.add_to_cart(ACCOUNT, USER, "GONE-1", 1)


def test_a_csv_order_form_adds_its_good_rows_and_reports_each_bad_one(orders):
    form = (b"sku;quantity;comment\n"
            b"VM-S-1M;2;first\n"
            b"NO-SUCH;1;\n"
            b"LIC-SCHED-1Y;two;\n"
            b";;\n"
            b"backup-100g-1m;3;lower case is fine\n"
            b";5;\n")

    result = orders.upload_order_form(ACCOUNT, USER, b64(form))

    assert result["added"] == 2
    assert result["errors"] == [
        {"row": 3, "sku": "NO-SUCH", "reason": "product_not_found"},
        {"row": 4, "sku": "LIC-SCHED-1Y", "reason": "bad_quantity"},
        {"row": 7, "sku": None, "reason": "missing_sku"}]
    assert sorted(skus(result["cart"])) == [("BACKUP-100G-1M", 3), ("VM-S-1M", 2)]


def test_an_xlsx_order_form_is_read_from_its_first_sheet(orders):
    book = Workbook()
    sheet = book.active
    sheet.append(["Article", "Qty"])
    sheet.append(["VM-S-1M", 4])
    sheet.append(["LIC-SCHED-1Y", 1.0])
    sheet.append(["VM-S-1M", 0.5])
    out = io.BytesIO()
    book.save(out)

    result = orders.upload_order_form(ACCOUNT, USER, b64(out.getvalue()))

    assert (result["added"], result["errors"]) == (
        2, [{"row": 4, "sku": "VM-S-1M", "reason": "bad_quantity"}])
    assert sorted(skus(result["cart"])) == [("LIC-SCHED-1Y", 1), ("VM-S-1M", 4)]


@pytest.mark.parametrize("content", [
    b"",
    b"name,amount\nVM-S-1M,2\n",  # no sku / quantity header
    b"\x89PNG\r\n\x1a\n" + b"\x00" * 20,
    b"PK\x03\x04 not really a workbook",
    b"sku,quantity\n" + b"VM-S-1M,1\n" * 1001,
])
def test_a_file_that_is_not_an_order_form_adds_nothing(orders, content):
    with pytest.raises(OrderFormUnreadable):
        orders.upload_order_form(ACCOUNT, USER, b64(content))
    assert orders.get_cart(USER)["items"] == []


def test_checking_out_from_the_cart_orders_its_lines_and_empties_it_once(orders, billing):
    from service_fakes import charged

    billing.always("charge_order", charged)
    orders.add_to_cart(ACCOUNT, USER, "VM-S-1M", 2)
    key = uuid.uuid4().hex

    order = orders.place_order(ACCOUNT, {"from_cart": True, "po_number": "PO-9"}, key, USER)
    again = orders.place_order(ACCOUNT, {"from_cart": True, "po_number": "PO-9"}, key, USER)

    assert again["id"] == order["id"]
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [("VM-S-1M", 2)]
    assert orders.get_cart(USER)["items"] == []
    with pytest.raises(InvalidRequest):
        orders.place_order(ACCOUNT, {"from_cart": True}, uuid.uuid4().hex, USER)
    with pytest.raises(InvalidRequest):
        orders.place_order(ACCOUNT, {"from_cart": True, "lines": [{"sku": "VM-S-1M", "quantity": 1}]},
                           uuid.uuid4().hex, USER)
