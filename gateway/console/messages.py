"""The API's refusals and the console's notices as a person reads them, in their language.

A refusal is shown by its stable ``code``; the API's own English ``message`` is the fallback
for a code this table does not know yet.  Field problems (422 ``validation_error``) are shown
next to their field by the kind of problem.
"""

from __future__ import annotations

from gateway.console.inner import ApiError
from services.documents.i18n import gettext


def N_(message: str) -> str:
    return message


CODES = {
    "not_found": N_("It does not exist, or it is not yours."),
    "invalid_request": N_("This request cannot be done as it is."),
    "conflict": N_("This cannot be done in its present state."),
    "service_unavailable": N_("A part of the service is not available right now. Nothing was "
                              "changed; please try again in a minute."),
    "service_timeout": N_("This is taking longer than usual. It is still being processed: look "
                          "again in a minute before trying again."),
    "service_error": N_("Something went wrong on our side. Nothing was changed; please try again."),
    "email_already_registered": N_("An account with this e-mail address exists already. Sign "
                                   "in, or reset the password."),
    "email_not_verified": N_("Confirm your e-mail address first: open the link we mailed you."),
    "token_invalid": N_("This link is no longer valid. Ask for a new one."),
    "too_many_attempts": N_("Too many attempts. Wait a while before trying again."),
    "password_rejected": N_("Choose another password: at least 12 characters, not a common "
                            "one and not your e-mail address."),
    "einvoice_not_available": N_("Your company is not registered to receive e-invoices, so "
                                 "they cannot be chosen."),
    "invalid_credentials": N_("The e-mail address or the password is wrong."),
    "insufficient_funds": N_("The balance is not enough for this. Top up first, or choose "
                             "another way to pay."),
    "refund_exceeds_payment": N_("That is more than was paid."),
    "owner_only": N_("Only the account's owner can do this."),
    "payload_too_large": N_("The file is too large."),
    "payment_order_decided": N_("This payment order was decided already."),
    "statement_unreadable": N_("The statement file cannot be read as camt.053."),
    "statement_account_mismatch": N_("The statement is for another bank account than ours."),
    "bank_transaction_matched": N_("This transaction is matched already."),
    "card_declined": N_("The card was declined."),
    "payment_expired": N_("The payment expired. Start it again."),
    "payment_invoice_not_open": N_("Nothing remains to be paid on this invoice."),
    "voucher_invalid": N_("There is no voucher with this code."),
    "voucher_expired": N_("This voucher has expired."),
    "voucher_used": N_("This voucher was redeemed already."),
    "voucher_code_taken": N_("A voucher with this code exists already."),
    "currency_not_supported": N_("This currency is not the account's."),
    "payment_conflict": N_("Another payment is under way. Wait for it to finish."),
    "product_inactive": N_("This product is no longer sold."),
    "product_sku_taken": N_("A product with this SKU exists already."),
    "order_form_unreadable": N_("The order form cannot be read. Use the CSV template: sku, "
                                "quantity."),
    "order_locked": N_("The order is being confirmed by the seller and cannot be changed now."),
    "order_changed_reconfirm": N_("The order was changed: send it for confirmation again."),
    "order_not_editable": N_("This order can no longer be changed."),
    "order_not_mergeable": N_("These orders cannot be merged: choose at least two goods orders "
                              "that are still being put together."),
    "order_not_cancellable": N_("This order can no longer be cancelled."),
    "insufficient_stock": N_("Not enough in stock."),
    "product_not_found": N_("There is no product with this SKU."),
    "mixed_currencies": N_("The chosen items are in different currencies."),
    "order_not_invoiceable": N_("This order cannot be invoiced."),
    "order_already_invoiced": N_("This order is on an invoice or an application already."),
    "billing_info_missing": N_("Fill in the billing information in your profile first: the "
                               "invoice is made out to it."),
    "mailing_info_missing": N_("Fill in the mailing information in your profile first: it "
                               "says where the invoice goes."),
    "account_in_arrears": N_("Your account is in arrears. Pay what is overdue first; then "
                             "invoices can be applied for again."),
    "order_paid_with_voucher": N_("Paid with a voucher: voucher payments are not invoiced."),
    "order_implementation_failed": N_("Its implementation failed. It can be invoiced once it "
                                      "is cancelled and refunded."),
    "application_not_pending": N_("This application was decided already."),
    "invoice_already_credited": N_("This invoice was credited already."),
    "letter_not_queued": N_("This letter is not waiting to be posted."),
    "document_not_ready": N_("The document is being made. Look again in a moment."),
    "document_failed": N_("The document could not be made."),
    "period_too_long": N_("The period is too long for this report."),
    "order_not_shipped": N_("This order has not been shipped yet."),
    "shipment_not_packed": N_("This shipment has not been packed yet."),
    "file_corrupt": N_("The file was damaged in storage. Ask for it again."),
    "authentication_required": N_("Sign in again: the session has ended."),
    "forbidden": N_("This needs the operator role."),
    "idempotency_key_reused": N_("This form was sent already with other values. Reload the page."),
    "idempotency_request_in_progress": N_("This is being done already. Look again in a moment."),
    "card_payment_closed": N_("This card payment is no longer open."),
    "validation_error": N_("Some fields need attention."),
    "malformed_json": N_("This request cannot be done as it is."),
}

# what is wrong with one field, by pydantic's error type
FIELDS = {
    "missing": N_("Required."),
    "string_too_short": N_("Required."),
    "string_too_long": N_("Too long."),
    "string_pattern_mismatch": N_("Not in the expected format."),
    "literal_error": N_("Choose one of the offered values."),
    "value_error": N_("Not a valid value."),
    "int_parsing": N_("Give a whole number."),
    "greater_than_equal": N_("Too small."),
    "greater_than": N_("Too small."),
    "less_than_equal": N_("Too large."),
    "too_short": N_("Choose at least one."),
    "too_long": N_("Too many."),
}
FIELD_DEFAULT = N_("Not a valid value.")

NOTICES = {
    "signed_out": N_("You are signed out."),
    "saved": N_("Saved."),
    "added": N_("Added to the cart."),
    "removed": N_("Removed."),
    "order_placed": N_("The order is placed."),
    "sent": N_("Sent."),
    "merged": N_("The orders are merged."),
    "cancelled": N_("The order is cancelled."),
    "redeemed": N_("The voucher is redeemed."),
    "uploaded": N_("The payment order is uploaded. We check it and tell you."),
    "requested": N_("The report is requested. It appears below when it is ready."),
    "confirmed": N_("Confirmed."),
    "withdrawn": N_("Withdrawn."),
    "invited": N_("The invitation is sent."),
    "done": N_("Done."),
    "pending": N_("It is being processed. Look again in a minute."),
}


def message_of(language: str, error: ApiError) -> str:
    text = CODES.get(error.code)
    return gettext(language, text) if text else error.message


def field_messages(language: str, error: ApiError) -> dict[str, str]:
    return {field: gettext(language, FIELDS.get(kind, FIELD_DEFAULT))
            for field, kind in error.field_problems().items()}


def notice(language: str, key: str | None) -> str | None:
    text = NOTICES.get(key or "")
    return gettext(language, text) if text else None
