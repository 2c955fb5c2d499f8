"""Error rules: a business failure crosses nameko RPC as its own class with its message and
details intact, every shared business error has its own HTTP status (never a bare 500), and
the error body has one stable shape."""

import inspect

import pytest
from nameko.exceptions import RemoteError, deserialize, serialize

from gateway import errors as gateway_errors
from gateway.errors import STATUS, error_body, status_of
from services.common import errors

SHARED = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, errors.BusinessError)
    and cls is not errors.BusinessError
    and cls.__module__ == errors.__name__
]


def round_trip(error: Exception) -> Exception:
    return deserialize(serialize(error))


def test_there_are_shared_errors_to_check():
    assert len(SHARED) >= 16


@pytest.mark.parametrize("cls", SHARED, ids=lambda c: c.__name__)
def test_business_errors_survive_nameko_serialisation_as_their_own_class(cls):
    sent = cls("something specific went wrong", {"field": "amount", "currency": "EUR"})
    received = round_trip(sent)
    assert type(received) is cls
    assert received.message == "something specific went wrong"
    assert received.details == {"field": "amount", "currency": "EUR"}
    assert received.code == cls.code


def test_an_error_without_details_still_has_no_details_after_serialisation():
    received = round_trip(errors.NotFound())
    assert received.message == errors.NotFound.default_message
    assert received.details is None


def test_an_unregistered_exception_arrives_as_a_remote_error():
    assert isinstance(round_trip(KeyError("boom")), RemoteError)


@pytest.mark.parametrize("cls", SHARED, ids=lambda c: c.__name__)
def test_every_shared_error_has_an_http_status(cls):
    status = status_of(cls())
    assert 400 <= status <= 599
    assert status != 500


@pytest.mark.parametrize("cls", SHARED, ids=lambda c: c.__name__)
def test_every_shared_error_is_listed_in_the_status_table(cls):
    assert cls in STATUS


@pytest.mark.parametrize("cls", SHARED, ids=lambda c: c.__name__)
def test_every_shared_error_has_its_own_code(cls):
    assert cls.code != errors.BusinessError.code


def test_error_codes_are_unique():
    classes = SHARED + [
        gateway_errors.AuthenticationRequired,
        gateway_errors.Forbidden,
        gateway_errors.IdempotencyKeyReused,
        gateway_errors.IdempotencyInProgress,
        gateway_errors.UpstreamError,
    ]
    codes = [cls.code for cls in classes]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (errors.InsufficientFunds(), 402),
        (errors.NotFound(), 404),
        (errors.InvalidCredentials(), 401),
        (errors.MixedCurrencies(), 422),
        (errors.OrderNotInvoiceable(), 409),
        (errors.ServiceUnavailable(), 503),
        (errors.ServiceTimeout(), 504),
        (gateway_errors.AuthenticationRequired(), 401),
        (gateway_errors.Forbidden(), 403),
        (gateway_errors.UpstreamError(), 502),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_well_known_failures_answer_with_the_expected_status(error, status):
    assert status_of(error) == status


def test_a_subclass_of_a_mapped_error_inherits_its_status():
    class OrderMissing(errors.NotFound):
        pass

    assert status_of(OrderMissing()) == 404


def test_an_error_message_defaults_to_the_class_message():
    assert str(errors.InsufficientFunds()) == errors.InsufficientFunds.default_message


def test_the_error_body_has_code_message_and_details():
    assert error_body("not_found", "no such order", {"id": "x"}) == {
        "error": {"code": "not_found", "message": "no such order", "details": {"id": "x"}}
    }
