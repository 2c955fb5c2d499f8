"""Business failures, one class per rule, shared by every service and the gateway.

A service raises one of these; nameko serialises it with its module path, and because every
class here is registered with ``deserialize_to_instance`` the caller receives the same class
back (not a ``RemoteError``).  The gateway maps classes to HTTP statuses in one table
(``gateway/errors.py``); ``code`` is the stable machine-readable name clients rely on.
"""

from __future__ import annotations

import json
from typing import Any

from nameko.exceptions import deserialize_to_instance

# nameko stringifies exception arguments that are not strings, lists or dicts (None becomes
# "None", 5 becomes "5"), so details travel as JSON text behind this prefix.
DETAILS_PREFIX = "json:"


class BusinessError(Exception):
    """Base of every failure a client can act on.  ``args`` are ``(message, details as JSON)``
    so the exception survives nameko's serialisation unchanged."""

    code = "business_error"
    default_message = "the request cannot be carried out"

    def __init__(self, message: str | None = None, details: Any = None) -> None:
        if not (isinstance(details, str) and details.startswith(DETAILS_PREFIX)):
            details = DETAILS_PREFIX + json.dumps(details, default=str)
        super().__init__(message or self.default_message, details)

    @property
    def message(self) -> str:
        return str(self.args[0])

    @property
    def details(self) -> Any:
        return json.loads(self.args[1][len(DETAILS_PREFIX):])

    def __str__(self) -> str:
        return self.message


def shared(cls: type[BusinessError]) -> type[BusinessError]:
    """Register a class so that it crosses RPC as itself."""
    return deserialize_to_instance(cls)


# -- generic --------------------------------------------------------------------------------


@shared
class NotFound(BusinessError):
    code = "not_found"
    default_message = "no such resource"


@shared
class InvalidRequest(BusinessError):
    code = "invalid_request"
    default_message = "the request is not valid"


@shared
class Conflict(BusinessError):
    code = "conflict"
    default_message = "the request conflicts with the current state"


@shared
class ServiceUnavailable(BusinessError):
    code = "service_unavailable"
    default_message = "a service needed for this request is not available"


@shared
class ServiceTimeout(BusinessError):
    code = "service_timeout"
    default_message = "a service did not answer in time"


# -- billing ----------------------------------------------------------------------------------


@shared
class EmailAlreadyRegistered(BusinessError):
    code = "email_already_registered"
    default_message = "an account with this e-mail address already exists"


@shared
class EmailNotVerified(BusinessError):
    code = "email_not_verified"
    default_message = "confirm your e-mail address first: open the link in the mail we sent"


@shared
class TokenInvalid(BusinessError):
    code = "token_invalid"
    default_message = "the link is not valid: it was used already, has expired, or is mistyped"


@shared
class TooManyAttempts(BusinessError):
    """``details.retry_after``: seconds until another attempt is counted."""

    code = "too_many_attempts"
    default_message = "too many failed sign-ins; try again later"


@shared
class PasswordRejected(BusinessError):
    code = "password_rejected"
    default_message = "choose another password"


@shared
class EinvoiceNotAvailable(BusinessError):
    code = "einvoice_not_available"
    default_message = ("the organisation number is not in the e-invoice directory: choose PDF by "
                       "e-mail or letter, or correct the organisation number")


@shared
class InvalidCredentials(BusinessError):
    code = "invalid_credentials"
    default_message = "e-mail address or password is wrong"


@shared
class InsufficientFunds(BusinessError):
    code = "insufficient_funds"
    default_message = "the balance does not cover this amount"


@shared
class RefundExceedsPayment(BusinessError):
    code = "refund_exceeds_payment"
    default_message = "the refund is more than what the order paid from that wallet"


@shared
class OwnerOnly(BusinessError):
    code = "owner_only"
    default_message = "only the account's owner may do this"


@shared
class PayloadTooLarge(BusinessError):
    code = "payload_too_large"
    default_message = "the file is too large"


@shared
class PaymentOrderDecided(BusinessError):
    code = "payment_order_decided"
    default_message = "this payment order has been decided already"


@shared
class StatementUnreadable(BusinessError):
    code = "statement_unreadable"
    default_message = "the file is not a camt.053 statement this console reads"


@shared
class StatementAccountMismatch(BusinessError):
    code = "statement_account_mismatch"
    default_message = "the statement is of another account than the seller's"


@shared
class BankTransactionMatched(BusinessError):
    code = "bank_transaction_matched"
    default_message = "this bank transaction is already matched to another account"


@shared
class CardDeclined(BusinessError):
    code = "card_declined"
    default_message = "the card was declined"


@shared
class PaymentExpired(BusinessError):
    code = "payment_expired"
    default_message = "the order was not paid in time and has expired; nothing was charged"


@shared
class PaymentInvoiceNotOpen(BusinessError):
    code = "payment_invoice_not_open"
    default_message = "this payment invoice is no longer open for payment"


@shared
class VoucherInvalid(BusinessError):
    code = "voucher_invalid"
    default_message = "no such voucher code"


@shared
class VoucherExpired(BusinessError):
    code = "voucher_expired"
    default_message = "the voucher has expired"


@shared
class VoucherUsed(BusinessError):
    code = "voucher_used"
    default_message = "the voucher has been used"


@shared
class VoucherCodeTaken(BusinessError):
    code = "voucher_code_taken"
    default_message = "a voucher with this code exists already"


@shared
class CurrencyNotSupported(BusinessError):
    code = "currency_not_supported"
    default_message = "this currency is not supported for the account"


@shared
class PaymentConflict(BusinessError):
    code = "payment_conflict"
    default_message = "this payment reference was already used with different details"


# -- orders -----------------------------------------------------------------------------------


@shared
class ProductInactive(BusinessError):
    code = "product_inactive"
    default_message = "this product is not sold any more"


@shared
class ProductSkuTaken(BusinessError):
    code = "product_sku_taken"
    default_message = "a product with this SKU exists already"


@shared
class OrderFormUnreadable(BusinessError):
    code = "order_form_unreadable"
    default_message = "the file is not an order form (CSV or XLSX with columns sku and quantity)"


@shared
class OrderLocked(BusinessError):
    code = "order_locked"
    default_message = "the order was sent for shipment: it cannot be changed any more"


@shared
class OrderChangedReconfirm(BusinessError):
    code = "order_changed_reconfirm"
    default_message = "the order was changed (stock or prices): send it for confirmation again"


@shared
class OrderNotEditable(BusinessError):
    code = "order_not_editable"
    default_message = "an order in this status cannot be changed this way"


@shared
class OrderNotMergeable(BusinessError):
    code = "order_not_mergeable"
    default_message = "only your goods orders not yet sent for shipment can be merged"


@shared
class OrderNotCancellable(BusinessError):
    code = "order_not_cancellable"
    default_message = "only a failed or partially failed order's failed part can be cancelled"


@shared
class InsufficientStock(BusinessError):
    code = "insufficient_stock"
    default_message = "there is not enough stock for this"


@shared
class ProductNotFound(BusinessError):
    code = "product_not_found"
    default_message = "no such product in the catalogue"


@shared
class MixedCurrencies(BusinessError):
    code = "mixed_currencies"
    default_message = "all lines of an order must be in one currency"


# -- invoicing --------------------------------------------------------------------------------


@shared
class OrderNotInvoiceable(BusinessError):
    code = "order_not_invoiceable"
    default_message = "the order cannot be invoiced"


@shared
class OrderAlreadyInvoiced(OrderNotInvoiceable):
    code = "order_already_invoiced"
    default_message = "the order is already on an invoice application or an invoice"


@shared
class BillingInfoMissing(BusinessError):
    code = "billing_info_missing"
    default_message = "add your billing information (PUT /account/billing-info) before applying"


@shared
class MailingInfoMissing(BusinessError):
    code = "mailing_info_missing"
    default_message = "add your mailing information (PUT /account/mailing-info) before applying"


@shared
class AccountInArrears(BusinessError):
    code = "account_in_arrears"
    default_message = "the account is in arrears: pay what is overdue before applying for invoices"


@shared
class OrderPaidWithVoucher(OrderNotInvoiceable):
    code = "order_paid_with_voucher"
    default_message = "the order was paid with a voucher only: there is nothing to invoice"


@shared
class OrderImplementationFailed(OrderNotInvoiceable):
    code = "order_implementation_failed"
    default_message = ("the order failed to be implemented (in part) and is not cancelled yet; "
                       "once it is, its successful part can be invoiced")


@shared
class ApplicationNotPending(BusinessError):
    code = "application_not_pending"
    default_message = "the invoice application is not awaiting confirmation"


@shared
class InvoiceAlreadyCredited(BusinessError):
    code = "invoice_already_credited"
    default_message = "the invoice already has credit notes; it is not credited in full again"


@shared
class LetterNotQueued(BusinessError):
    code = "letter_not_queued"
    default_message = "the letter is not waiting in the print queue"


# -- documents --------------------------------------------------------------------------------


@shared
class DocumentNotReady(BusinessError):
    code = "document_not_ready"
    default_message = "the document is still being produced; try again shortly"


@shared
class DocumentFailed(BusinessError):
    code = "document_failed"
    default_message = "the document could not be produced"


@shared
class PeriodTooLong(BusinessError):
    """A report's period reaches further back than the report allows (``details``: the
    earliest ``max_from`` and the latest ``to`` it takes)."""

    code = "period_too_long"
    default_message = "the period reaches further back than this report allows"


@shared
class OrderNotShipped(BusinessError):
    code = "order_not_shipped"
    default_message = "the order has not been shipped yet"


@shared
class ShipmentNotPacked(BusinessError):
    code = "shipment_not_packed"
    default_message = "a packing list needs shipments that are packed into boxes"


@shared
class FileCorrupt(BusinessError):
    """The stored bytes no longer match their checksum: the file is not served."""

    code = "file_corrupt"
    default_message = "the stored file is damaged; ask for the document again"
