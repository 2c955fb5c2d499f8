"""Input refused at the edge: what no service ever receives.

Guarantees, for every route built with :class:`CheckedRoute`:

* A JSON body is strict UTF-8 JSON text (RFC 8259) or it is refused with **400
  ``malformed_json``**: invalid UTF-8, a byte order mark, truncated or trailing text, ``NaN`` /
  ``Infinity`` literals, a number that overflows a float or exceeds Python's integer digit
  limit, a key given twice in one object, and containers nested deeper than
  :data:`MAX_JSON_DEPTH`.  Depth is measured on the text, without recursion, *before* the JSON
  parser runs, so a ``[[[[…]]]]`` bomb costs a linear scan and never a ``RecursionError``.
* No string of a JSON body (object keys included), no path parameter and no query parameter
  carries a character from :func:`forbidden_character`'s list (NUL and other C0 controls except
  TAB/LF/CR, DEL and C1 controls, lone surrogates, bidi overrides and isolates, Unicode
  noncharacters); such input is refused with **422 ``validation_error``** whose ``details`` are
  FastAPI-shaped ``[{"loc", "msg", "type": "forbidden_character"}]`` naming the field, e.g.
  ``["body", "order_ids", 0]`` or ``["path", "order_id"]``.  A refused value is never echoed.
* The body FastAPI validates is the very object parsed here (stashed as the request's parsed
  JSON), so no second, laxer parse can disagree with this one.

And, for the models the gateway's schemas build on:

* :class:`MoneyIn` accepts only ``{"amount": "<decimal string>", "currency": "<known code>"}``,
  with no more decimals than the currency has and at most 12 integer digits;
  :class:`PositiveMoneyIn` also requires ``amount > 0``.
* :data:`StrictQuantity` accepts only a JSON integer (not ``true``, ``"2"`` or ``2.0``).
* :func:`Text` and its aliases are length-bounded strings kept exactly as sent (nothing is
  stripped) that refuse forbidden characters wherever the model is validated from.

Error ``type`` values are stable: ``forbidden_character``, ``money_not_an_object``,
``money_not_a_string``, ``money_format``, ``money_too_large``, ``money_precision``,
``money_not_positive``, ``currency_unknown``; and, inside a 400's details, ``json_empty``,
``json_bom``, ``json_not_utf8``, ``json_too_deep``, ``json_invalid``, ``json_non_finite_number``,
``json_number_too_large``, ``json_duplicate_key``.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Coroutine, Iterable, Mapping
from decimal import Decimal
from itertools import accumulate
from typing import Annotated, Any

from fastapi.routing import APIRoute
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    Strict,
    StringConstraints,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from gateway.errors import error_response
from services.common.money import CURRENCIES, Money, exponent

MAX_JSON_DEPTH = 32
MAX_REPORTED_PROBLEMS = 20  # a body full of bad strings answers with the first 20, not 20 000

# -- characters ----------------------------------------------------------------------------------

_NONCHARACTERS = "".join(
    rf"\U{plane:04X}FFFE\U{plane:04X}FFFF" for plane in range(1, 17)
)
_FORBIDDEN = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f"  # C0 controls except TAB, LF, CR
    r"\x7f-\x9f"  # DEL and the C1 controls
    r"\u202a-\u202e\u2066-\u2069"  # bidi embeddings, overrides and isolates ("Trojan Source")
    r"\ud800-\udfff"  # surrogates: only a lone one can survive decoding
    r"\ufdd0-\ufdef\ufffe\uffff" + _NONCHARACTERS + "]"
)
# JSON escapes that can produce a forbidden character: \b, \f and \uXXXX.  Text without them
# (and without a raw forbidden character) cannot hold one after parsing.
_RISKY_ESCAPE = re.compile(r"\\[bfu]")
_C0_NAMES = (
    "NUL SOH STX ETX EOT ENQ ACK BEL BS HT LF VT FF CR SO SI "
    "DLE DC1 DC2 DC3 DC4 NAK SYN ETB CAN EM SUB ESC FS GS RS US"
).split()


def forbidden_character(value: str) -> str | None:
    """Describe the first character of ``value`` the edge refuses (``"U+0000 (NUL)"``), or None."""
    found = _FORBIDDEN.search(value)
    if found is None:
        return None
    return _describe(found.group())


def _describe(char: str) -> str:
    point = ord(char)
    if point < 0x20:
        name = _C0_NAMES[point]
    elif point == 0x7F:
        name = "DEL"
    elif point <= 0x9F:
        name = "C1 control character"
    elif 0xD800 <= point <= 0xDFFF:
        name = "lone surrogate"
    elif 0xFDD0 <= point <= 0xFDEF or point & 0xFFFE == 0xFFFE:
        name = "noncharacter"
    else:
        name = unicodedata.name(char, "format character")
    return f"U+{point:04X} ({name})"


def _forbidden_message(description: str) -> str:
    return f"contains a forbidden character: {description}"


def check_text(value: str) -> str:
    """Return ``value`` unchanged, or raise a pydantic ``forbidden_character`` error."""
    description = forbidden_character(value)
    if description is not None:
        raise PydanticCustomError(
            "forbidden_character", "contains a forbidden character: {character}",
            {"character": description},
        )
    return value


def _safe_label(value: str) -> str:
    """A form of ``value`` fit to echo in an error's ``loc`` (forbidden characters escaped).

    A lone surrogate cannot even be encoded as UTF-8, so echoing one would turn a 422 into a 500.
    """
    return _FORBIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", value)


# -- the refusal -----------------------------------------------------------------------------------


class BodyRefused(Exception):
    """Input refused at the edge: 400 ``malformed_json`` or 422 ``validation_error``."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    @classmethod
    def malformed(cls, kind: str, message: str) -> BodyRefused:
        return cls(400, "malformed_json", "the request body is not valid JSON",
                   [{"loc": ["body"], "msg": message, "type": kind}])

    @classmethod
    def invalid(cls, problems: list[dict[str, Any]]) -> BodyRefused:
        return cls(422, "validation_error", "the request is not valid", problems)

    def response(self) -> JSONResponse:
        return error_response(self.status, self.code, self.message, self.details)


def _problem(loc: list[str | int], description: str, subject: str = "") -> dict[str, Any]:
    """One FastAPI-shaped problem; ``subject`` ("the key ", "the name ") when not a value."""
    return {"loc": loc, "msg": subject + _forbidden_message(description), "type": "forbidden_character"}


# -- JSON bodies -----------------------------------------------------------------------------------

_UTF8_BOM = b"\xef\xbb\xbf"
# A JSON string literal, unrolled so that long strings do not backtrack; the closing quote is
# optional so that an unterminated string matches to the end instead of failing there, which
# would make every later quote a new start and the scan quadratic.
_STRING_LITERAL = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


class _Malformed(ValueError):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def _refuse_constant(name: str) -> Any:
    raise _Malformed("json_non_finite_number", f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise _Malformed("json_number_too_large", f"the number {text[:40]} is out of range")
    return number


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Malformed("json_duplicate_key", f"the key {_safe_label(key)[:100]!r} appears twice")
            seen.add(key)
    return obj


# A decoder of our own: strict (no raw control characters inside strings), and immune to anyone
# swapping ``json.loads`` (tests do, to prove FastAPI never parses a second time).
_DECODER = json.JSONDecoder(
    parse_constant=_refuse_constant, parse_float=_finite_float, object_pairs_hook=_unique_keys,
)


def json_depth(text: str) -> int:
    """How deeply the arrays and objects of JSON ``text`` nest, counted without recursion.

    Brackets inside string literals do not count.  On malformed text the answer is only an
    estimate; the parser refuses such text anyway.
    """
    brackets = _NOT_A_BRACKET.sub("", _STRING_LITERAL.sub("", text))
    return max(accumulate(_DEPTH_STEP[b] for b in brackets), default=0)


def parse_json_body(raw: bytes) -> Any:
    """Parse a request body, or raise :class:`BodyRefused` (400 malformed, 422 forbidden text)."""
    if not raw:
        raise BodyRefused.malformed("json_empty", "the body is empty")
    if raw.startswith(_UTF8_BOM):
        raise BodyRefused.malformed("json_bom", "the body starts with a byte order mark; send plain UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BodyRefused.malformed(
            "json_not_utf8", f"the body is not UTF-8: invalid byte at offset {error.start}"
        ) from None
    # Fewer opening brackets than the limit cannot nest deeper than it: the usual body skips the scan.
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and (depth := json_depth(text)) > MAX_JSON_DEPTH:
        raise BodyRefused.malformed(
            "json_too_deep", f"arrays and objects nest {depth} deep; at most {MAX_JSON_DEPTH} are allowed"
        )
    try:
        value = _DECODER.decode(text)
    except _Malformed as error:
        raise BodyRefused.malformed(error.kind, str(error)) from None
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise BodyRefused.malformed("json_invalid", f"{error.msg} at {where}") from None
    except ValueError:  # an integer literal over Python's digit limit (4300)
        raise BodyRefused.malformed("json_number_too_large", "an integer has too many digits") from None
    if _FORBIDDEN.search(text) or _RISKY_ESCAPE.search(text):
        problems = forbidden_in(value, ["body"])
        if problems:
            raise BodyRefused.invalid(problems)
    return value


def forbidden_in(value: Any, root: list[str | int]) -> list[dict[str, Any]]:
    """Every string of a parsed JSON value (keys too) holding a forbidden character, in document
    order, as FastAPI-shaped problems; iterative, so any depth is safe."""
    problems: list[dict[str, Any]] = []
    stack: list[tuple[Any, list[str | int]]] = [(value, root)]
    while stack and len(problems) < MAX_REPORTED_PROBLEMS:
        item, loc = stack.pop()
        if isinstance(item, str):
            description = forbidden_character(item)
            if description is not None:
                problems.append(_problem(loc, description))
        elif isinstance(item, dict):
            children: list[tuple[Any, list[str | int]]] = []
            for key, child in item.items():
                label = _safe_label(key)
                description = forbidden_character(key)
                if description is not None:
                    children.append((_KeyProblem(description), [*loc, label, "[key]"]))
                children.append((child, [*loc, label]))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend((item[i], [*loc, i]) for i in range(len(item) - 1, -1, -1))
        elif isinstance(item, _KeyProblem):
            problems.append(_problem(loc, item.description, "the key "))
    return problems


class _KeyProblem:
    """A forbidden character in an object key, queued so that problems come in document order."""

    __slots__ = ("description",)

    def __init__(self, description: str) -> None:
        self.description = description


# -- path and query parameters ---------------------------------------------------------------------


def _check_pairs(where: str, pairs: Iterable[tuple[str, Any]]) -> None:
    problems: list[dict[str, Any]] = []
    for name, value in pairs:
        description = forbidden_character(name)
        if description is not None:
            problems.append(_problem([where, _safe_label(name), "[key]"], description, "the name "))
        if isinstance(value, str):
            description = forbidden_character(value)
            if description is not None:
                problems.append(_problem([where, _safe_label(name)], description))
    if problems:
        raise BodyRefused.invalid(problems[:MAX_REPORTED_PROBLEMS])


def check_path_params(params: Mapping[str, Any]) -> None:
    """Refuse (422, loc ``["path", name]``) a path parameter holding a forbidden character."""
    _check_pairs("path", params.items())


def check_query_params(pairs: Iterable[tuple[str, str]]) -> None:
    """Refuse (422, loc ``["query", name]``) a query parameter holding a forbidden character."""
    _check_pairs("query", pairs)


# -- the route class -------------------------------------------------------------------------------

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _is_json_or_unlabelled(content_type: str | None) -> bool:
    """A body FastAPI would treat as JSON, or one that says nothing about itself.

    Forms and uploads (``multipart/form-data``, ``application/x-www-form-urlencoded``, files)
    are left to their route.
    """
    if content_type is None:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


class CheckedRoute(APIRoute):
    """An ``APIRoute`` that refuses bad input before FastAPI parses or validates anything.

    Use it as ``APIRouter(route_class=CheckedRoute)``.  Per request: path parameters are
    checked when the route has any, query parameters when the URL has a query string, and a
    non-empty JSON (or unlabelled) body of a POST/PUT/PATCH/DELETE is parsed once by
    :func:`parse_json_body` and handed to FastAPI as the request's parsed JSON.  A GET with
    neither path nor query parameters pays three dictionary look-ups.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            try:
                if request.scope.get("path_params"):
                    check_path_params(request.path_params)
                if request.scope.get("query_string"):
                    check_query_params(request.query_params.multi_items())
                if request.method in _BODY_METHODS and _is_json_or_unlabelled(
                    request.headers.get("content-type")
                ):
                    try:
                        raw = await request.body()
                    except ClientDisconnect as error:  # as FastAPI itself answers
                        raise HTTPException(400, "There was an error parsing the body") from error
                    if raw:
                        # Starlette's Request.json() returns this cached value: FastAPI
                        # validates exactly what was checked here and never parses again.
                        request._json = parse_json_body(raw)
            except BodyRefused as refused:
                return refused.response()
            return await handler(request)

        return checked


# -- models and types for bodies -------------------------------------------------------------------


class Body(BaseModel):
    """Base of every request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


def Text(max_length: int, *, min_length: int = 0) -> Any:  # noqa: N802 - reads as a type
    """A string of ``min_length``..``max_length`` characters, kept exactly as sent, that refuses
    forbidden characters (also when validated from a form or from Python, not only from JSON)."""
    return Annotated[
        str,
        Strict(),
        StringConstraints(min_length=min_length, max_length=max_length),
        AfterValidator(check_text),
    ]


Name = Annotated[str, Strict(), StringConstraints(min_length=1, max_length=200), AfterValidator(check_text)]
ShortText = Annotated[str, Strict(), StringConstraints(max_length=200), AfterValidator(check_text)]
LongText = Annotated[str, Strict(), StringConstraints(max_length=2000), AfterValidator(check_text)]

StrictQuantity = Annotated[int, Strict(), Field(gt=0, le=10_000)]

MAX_INTEGER_DIGITS = 12
MAX_DECIMALS = max(exponent(currency) for currency in CURRENCIES)
AMOUNT_PATTERN = r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$"
_AMOUNT = re.compile(r"-?(0|[1-9][0-9]*)(?:\.([0-9]+))?")


def parse_amount(value: Any) -> Decimal:
    """A money amount from its decimal string, or a pydantic error with a ``money_*`` type.

    The per-currency number of decimals is checked by the model that knows the currency; here
    only the most any currency allows.  Also usable on a multipart form's ``amount`` field.
    """
    if not isinstance(value, str):
        raise PydanticCustomError(
            "money_not_a_string", 'the amount is a decimal string such as "12.50", not a JSON {kind}',
            {"kind": _json_kind(value)},
        )
    found = _AMOUNT.fullmatch(value)
    if found is None:
        raise PydanticCustomError(
            "money_format",
            'the amount must be a plain decimal string such as "12.50": digits, one optional "." '
            'and a leading "-" only; no exponent, spaces, "+" or leading zeros',
        )
    if len(found.group(1)) > MAX_INTEGER_DIGITS:
        raise PydanticCustomError(
            "money_too_large", "the amount has more than {digits} digits before the decimal point",
            {"digits": MAX_INTEGER_DIGITS},
        )
    if found.group(2) is not None and len(found.group(2)) > MAX_DECIMALS:
        raise PydanticCustomError(
            "money_precision", "the amount has more than {decimals} decimals", {"decimals": MAX_DECIMALS},
        )
    return Decimal(value)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float | Decimal):
        return "number"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _known_currency(value: str) -> str:
    if value not in CURRENCIES:
        raise PydanticCustomError(
            "currency_unknown", "unknown currency; one of {currencies}",
            {"currencies": ", ".join(sorted(CURRENCIES))},
        )
    return value


AmountString = Annotated[
    Decimal,
    PlainValidator(parse_amount, json_schema_input_type=str),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["12.50"],
                    "description": "a decimal string; never a JSON number"}),
]
KnownCurrency = Annotated[
    str, Strict(), AfterValidator(_known_currency),
    WithJsonSchema({"type": "string", "enum": sorted(CURRENCIES), "examples": ["EUR"]}),
]


class MoneyIn(Body):
    """Money in a request: ``{"amount": "12.50", "currency": "EUR"}``, exact to the minor unit."""

    amount: AmountString
    currency: KnownCurrency

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, data: Any) -> Any:
        if not isinstance(data, dict | BaseModel):
            raise PydanticCustomError(
                "money_not_an_object", 'money is an object with "amount" (a decimal string) and "currency"',
            )
        return data

    @model_validator(mode="after")
    def _decimals_of_the_currency(self) -> MoneyIn:
        decimals = -int(self.amount.as_tuple().exponent)
        if decimals > exponent(self.currency):
            raise self._amount_error(PydanticCustomError(
                "money_precision", "{currency} amounts have at most {decimals} decimals",
                {"currency": self.currency, "decimals": exponent(self.currency)},
            ))
        return self

    def _amount_error(self, error: PydanticCustomError) -> ValidationError:
        """An error located at ``amount`` (a model validator's own would name only the object)."""
        return ValidationError.from_exception_data(
            type(self).__name__, [InitErrorDetails(type=error, loc=("amount",), input=str(self.amount))],
        )

    def money(self) -> Money:
        return Money(self.amount, self.currency)


class PositiveMoneyIn(MoneyIn):
    """Money that must be more than zero (a top-up, a payment, a price)."""

    @model_validator(mode="after")
    def _positive(self) -> PositiveMoneyIn:
        if self.amount <= 0:
            raise self._amount_error(
                PydanticCustomError("money_not_positive", "the amount must be more than zero")
            )
        return self
