"""Pydantic models: they validate every API request and generate the OpenAPI document.

Validation is strict (no coercion: `"1"` is not a number, `1` is not a string) and every
string is checked for what a database cannot store (NUL bytes, lone surrogates), so bad
input is a 400 naming the field, never a 500 from the database driver.
"""

import json
import math
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from ..models import Channel, MessageRole, Priority, Status

UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
MAX_TEXT = 65536  # a description or message: 64 KiB of Markdown


class BadRequest(ValueError):
    """A request that cannot be used, with the fields at fault."""

    def __init__(self, details: list[dict]):
        super().__init__(details[0]["message"] if details else "Invalid request")
        self.details = details


def storable(text: str) -> str:
    """Refuse what neither SQLite's UTF-8 nor PostgreSQL's text can hold."""
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode (no lone surrogates)") from None
    return text


def not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be blank")
    return text


def lower(text: str) -> str:
    return text.lower()


def _check_json_value(value: Any, depth: int, max_depth: int) -> None:
    """Depth counts containers: `{}` is 1, `{"a": {"b": 1}}` is 2."""
    if isinstance(value, dict | list) and depth > max_depth:
        raise ValueError(f"must not nest deeper than {max_depth} levels")
    if isinstance(value, dict):
        for key, item in value.items():
            storable(key)
            _check_json_value(item, depth + 1, max_depth)
    elif isinstance(value, list):
        for item in value:
            _check_json_value(item, depth + 1, max_depth)
    elif isinstance(value, str):
        storable(value)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ValueError("numbers must be finite")


def bounded_metadata(value: dict, info: ValidationInfo) -> dict:
    """Metadata is a JSON object of bounded depth and size, storable on every database.

    The bounds come in the validation context (METADATA_MAX_DEPTH and METADATA_MAX_BYTES).
    """
    context = info.context or {}
    max_depth, max_bytes = context.get("metadata_depth", 8), context.get("metadata_bytes", 16384)
    _check_json_value(value, 1, max_depth)
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > max_bytes:
        raise ValueError(f"must not exceed {max_bytes} bytes as JSON")
    return value


def Text(max_length: int, *, blank: bool = False):  # noqa: N802 - reads as a type
    """A storable string of at most `max_length` characters, non-blank unless `blank`."""
    checks = [AfterValidator(storable)] + ([] if blank else [AfterValidator(not_blank)])
    return Annotated[str, StringConstraints(min_length=0 if blank else 1, max_length=max_length), *checks]


Email = Annotated[str, StringConstraints(max_length=254, pattern=EMAIL_PATTERN), AfterValidator(storable)]
Uuid = Annotated[str, StringConstraints(pattern=UUID_PATTERN), AfterValidator(lower)]
Metadata = Annotated[dict[str, Any], AfterValidator(bounded_metadata)]
DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]


class Request(BaseModel):
    """Strict: JSON types must match exactly; unknown fields are ignored, as both contracts do."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


# --- Requests -----------------------------------------------------------------------------


class ApiCreateTicket(Request):
    """Supportdesk's `POST /api/v1/tickets/api-create` body."""

    customerExternalId: Text(255) = Field(description="The customer's externalId")
    subject: Text(255) = Field(description="Ticket subject")
    description: Text(MAX_TEXT) = Field(description="Description (Markdown supported)")
    priority: Literal["LOW", "MEDIUM", "HIGH", "URGENT", "CRITICAL"] = "MEDIUM"
    category: Text(100) | None = Field(None, description="Free-form: an unknown name is created")
    metadata: Metadata | None = Field(None, description="Free-form data (orderId, errorCode, …)")
    tagIds: list[Uuid] | None = Field(None, max_length=50, description="Ids of the organization's tags")


class ConversationMessage(Request):
    role: Literal["customer", "agent", "bot"]
    content: Text(MAX_TEXT)


class ExtCreateTicket(Request):
    """Telemetron's `POST /api/ext-v1/ticket/createTicket` body."""

    title: Text(255) = Field(description="Ticket title")
    description: Text(MAX_TEXT, blank=True) | None = None
    priority: Literal["low", "medium", "high", "urgent"] = "medium"
    customerEmail: Email | None = Field(None, description="An unknown email creates the customer")
    customerId: Text(255) | None = Field(
        None, description="Our customer id (UUID) or the customer's externalId"
    )
    category: Text(100, blank=True) | None = Field(
        None, description="An existing category's name, any case; otherwise chosen automatically"
    )
    messages: list[ConversationMessage] | None = Field(None, max_length=100)

    @model_validator(mode="after")
    def names_a_customer(self):
        if not self.customerEmail and not self.customerId:
            raise ValueError("customerEmail or customerId is required")
        return self


class UpsertCustomer(Request):
    """`POST /api/v1/customers`: create or update by externalId, else by email."""

    externalId: Text(255) | None = None
    email: Email | None = None
    name: Text(255) | None = None

    @model_validator(mode="after")
    def names_a_customer(self):
        if not self.externalId and not self.email:
            raise ValueError("externalId or email is required")
        return self


class AddMessage(Request):
    """`POST /api/v1/tickets/<id>/messages`."""

    role: Literal["customer", "agent", "bot"]
    content: Text(MAX_TEXT)


class TicketQuery(Request):
    """`GET /api/v1/tickets` query parameters (strings, as a query string has them).

    Unknown parameters are refused: a misspelt filter must not silently list everything.
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    customerExternalId: Text(255) | None = None
    status: Literal["OPEN", "IN_PROGRESS", "WAITING", "RESOLVED", "CLOSED"] | None = None
    limit: Annotated[str, StringConstraints(pattern=r"^(100|[1-9][0-9]?)$")] = Field(
        "20", description="1 to 100"
    )
    cursor: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,11}$")] | None = Field(
        None, description="nextCursor of the previous page"
    )


class NewCategory(Request):
    """`POST /api/v1/categories`."""

    name: Text(100) = Field(description="Unique in the organization, ignoring case")


class NewTag(Request):
    """`POST /api/v1/tags`."""

    name: Text(60) = Field(description="Unique in the organization, ignoring case")


class Strict(Request):
    """A routing rule's parts: a misspelt field or action is refused, never ignored."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class RuleCondition(Strict):
    field: Literal["subject", "description", "priority", "category", "customerEmailDomain", "metadata"]
    op: Literal["contains", "equals"] = Field(description="Both ignore case")
    value: Text(200)
    key: Text(100) | None = Field(None, description="The metadata key (metadata conditions only)")


class RuleActions(Strict):
    setCategory: Text(100) | None = Field(None, description="An existing, unarchived category")
    setPriority: Literal["LOW", "MEDIUM", "HIGH", "URGENT", "CRITICAL"] | None = None
    addTags: list[Text(60)] | None = Field(None, max_length=20, description="Tag names; new ones are created")
    targetLevel: Literal["N1", "N2", "N3"] | None = Field(
        None, description="Assign among agents of this level"
    )
    assignAgent: Email | None = Field(None, description="An active agent's email")


Position = Annotated[int, Field(ge=0, le=10_000, description="0 is evaluated first; past the end means last")]


class NewRule(Strict):
    """`POST /api/v1/routing-rules`: added last unless `position` says where."""

    name: Text(120)
    position: Position | None = None
    active: bool = True
    stop: bool = Field(False, description="Evaluate no later rule once this one matches")
    conditions: list[RuleCondition] = Field(
        default_factory=list, max_length=20, description="All must match; none matches every ticket"
    )
    actions: RuleActions = Field(default_factory=RuleActions)


class RuleChange(Strict):
    """`PATCH /api/v1/routing-rules/<id>`: the fields given change, as a JSON merge patch:
    `conditions` replaces the list, `actions` changes the actions named (null removes one)."""

    name: Text(120) | None = None
    position: Position | None = None
    active: bool | None = None
    stop: bool | None = None
    conditions: list[RuleCondition] | None = Field(None, max_length=20)
    actions: RuleActions | None = None


# --- Responses ----------------------------------------------------------------------------


class Response(BaseModel):
    model_config = ConfigDict(frozen=True)


class CustomerRefOut(Response):
    id: str
    externalId: str | None
    email: str | None


class AgentOut(Response):
    id: str
    name: str
    email: str


class TicketOut(Response):
    id: str
    ticketNumber: str
    subject: str
    status: Status
    priority: Priority
    channel: Channel
    customer: CustomerRefOut
    assignedAgent: AgentOut | None
    createdAt: DateTime


class TagOut(Response):
    id: str
    name: str


class MessageOut(Response):
    id: str
    role: MessageRole
    content: str
    contentHtml: str
    createdAt: DateTime


class TicketDetailOut(TicketOut):
    description: str
    descriptionHtml: str
    category: str | None
    tags: list[TagOut]
    metadata: dict[str, Any]
    messages: list[MessageOut]
    updatedAt: DateTime


class CustomerOut(Response):
    id: str
    externalId: str | None
    email: str | None
    name: str | None
    createdAt: DateTime


class CreatedTicket(Response):
    success: Literal[True] = True
    data: TicketOut
    timestamp: DateTime


class OneTicket(Response):
    success: Literal[True] = True
    data: TicketDetailOut


class TicketPage(Response):
    success: Literal[True] = True
    data: list[TicketDetailOut]
    nextCursor: str | None


class OneCustomer(Response):
    success: Literal[True] = True
    data: CustomerOut


class OneMessage(Response):
    success: Literal[True] = True
    data: MessageOut


class CategoryOut(Response):
    id: str
    name: str
    archived: bool
    createdAt: DateTime


class TagListItem(Response):
    id: str
    name: str
    createdAt: DateTime


class RuleOut(Response):
    id: str
    name: str
    position: int
    active: bool
    stop: bool
    conditions: list[RuleCondition]
    actions: RuleActions
    createdAt: DateTime


class OneCategory(Response):
    success: Literal[True] = True
    data: CategoryOut


class CategoryList(Response):
    success: Literal[True] = True
    data: list[CategoryOut]


class OneTag(Response):
    success: Literal[True] = True
    data: TagListItem


class TagList(Response):
    success: Literal[True] = True
    data: list[TagListItem]


class OneRule(Response):
    success: Literal[True] = True
    data: RuleOut


class RuleList(Response):
    success: Literal[True] = True
    data: list[RuleOut]


class DeletedRule(Response):
    success: Literal[True] = True
    data: TagOut = Field(description="The deleted rule's id and name")


class ErrorDetail(Response):
    field: str
    message: str


class ErrorBody(Response):
    code: Literal[
        "VALIDATION_ERROR", "UNAUTHORIZED", "FORBIDDEN", "PLAN_LIMIT_REACHED", "CUSTOMER_NOT_FOUND",
        "NOT_FOUND", "METHOD_NOT_ALLOWED", "CONFLICT", "IDEMPOTENCY_CONFLICT",
        "PAYLOAD_TOO_LARGE", "RATE_LIMITED", "INTERNAL_ERROR",
    ]  # fmt: skip
    message: str
    details: list[ErrorDetail]


class Error(Response):
    """Supportdesk's error envelope, used by all of /api/v1."""

    success: Literal[False] = False
    error: ErrorBody
    timestamp: DateTime


class ExtCreated(Response):
    success: Literal[True] = True
    ticketId: str
    message: str


class ExtError(Response):
    """Telemetron's error envelope, used by /api/ext-v1."""

    success: Literal[False] = False
    message: str


# --- Reading a request --------------------------------------------------------------------


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise BadRequest([{"field": key, "message": "duplicate key in JSON object"}])
            seen.add(key)
    return result


def _no_constant(name: str):
    raise BadRequest([{"field": "body", "message": f"{name} is not valid JSON"}])


def parse_json(raw: bytes) -> Any:
    """Decode a JSON body strictly: no duplicate keys, no NaN/Infinity, bounded nesting."""
    if not raw.strip():
        raise BadRequest([{"field": "body", "message": "request body must be a JSON object"}])
    try:
        return json.loads(raw, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    except RecursionError:
        raise BadRequest([{"field": "body", "message": "JSON nests too deeply"}]) from None
    except BadRequest:
        raise
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, over-long integers
        message = f"invalid JSON: {getattr(error, 'msg', None) or 'cannot be decoded'}"
        raise BadRequest([{"field": "body", "message": message}]) from None


def field_name(location: tuple) -> str:
    return ".".join(str(part) for part in location) or "body"


def validate(model: type[BaseModel], data: Any, context: dict | None = None) -> BaseModel:
    """The model made from decoded JSON, or BadRequest naming each bad field."""
    if not isinstance(data, dict):
        raise BadRequest([{"field": "body", "message": "request body must be a JSON object"}])
    try:
        return model.model_validate(data, context=context)
    except ValidationError as error:
        details = []
        for problem in error.errors(include_url=False, include_input=False):
            message = problem["msg"].removeprefix("Value error, ")
            location = problem["loc"]
            if not location and model in (ExtCreateTicket, UpsertCustomer):
                location = ("customerEmail",) if model is ExtCreateTicket else ("externalId",)
            details.append({"field": field_name(location), "message": message})
        raise BadRequest(details) from None
