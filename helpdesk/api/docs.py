"""The OpenAPI 3.1 document, generated from the models that validate requests, and a page
that presents it to people."""

from functools import cache

from flask import Blueprint, jsonify, render_template
from pydantic.json_schema import models_json_schema

from . import schemas

bp = Blueprint("docs", __name__, url_prefix="/v1")

REF = "#/components/schemas/{model}"
V1_ERRORS = {
    400: "VALIDATION_ERROR: invalid JSON, a missing field, a wrong type or value",
    401: "UNAUTHORIZED: missing, invalid or revoked API key",
    413: "PAYLOAD_TOO_LARGE: the body exceeds the configured size",
    429: "RATE_LIMITED: too many requests for this key; see Retry-After",
}
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A retry with the same key and body returns the first response and "
    "creates nothing; the same key with another body is 409 IDEMPOTENCY_CONFLICT.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^\S(.*\S)?$"},
}


def _json(ref: str) -> dict:
    return {"application/json": {"schema": {"$ref": REF.format(model=ref)}}}


def _responses(ok: dict[int, tuple[str, str]], errors: dict[int, str], envelope: str) -> dict:
    responses = {
        str(status): {"description": text, "content": _json(model)}
        for status, (model, text) in ok.items()
    }
    for status, text in errors.items():
        responses[str(status)] = {"description": text, "content": _json(envelope)}
    return responses


def _body(model: type) -> dict:
    return {"required": True, "content": _json(model.__name__)}


def _path_param(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string", "minLength": 1}}  # fmt: skip


def _query_params() -> list[dict]:
    schema = schemas.TicketQuery.model_json_schema()
    return [
        {"name": name, "in": "query", "required": False, "schema": {
            key: value for key, value in field.items() if key != "title"
        }}
        for name, field in schema["properties"].items()
    ]  # fmt: skip


@cache
def openapi() -> dict:
    """The whole document; models give every schema, this adds paths and responses."""
    models = [
        (schemas.ApiCreateTicket, "validation"),
        (schemas.ExtCreateTicket, "validation"),
        (schemas.UpsertCustomer, "validation"),
        (schemas.AddMessage, "validation"),
        (schemas.CreatedTicket, "serialization"),
        (schemas.OneTicket, "serialization"),
        (schemas.TicketPage, "serialization"),
        (schemas.OneCustomer, "serialization"),
        (schemas.OneMessage, "serialization"),
        (schemas.Error, "serialization"),
        (schemas.ExtCreated, "serialization"),
        (schemas.ExtError, "serialization"),
        (schemas.NewCategory, "validation"),
        (schemas.NewTag, "validation"),
        (schemas.NewRule, "validation"),
        (schemas.RuleChange, "validation"),
        (schemas.OneCategory, "serialization"),
        (schemas.CategoryList, "serialization"),
        (schemas.OneTag, "serialization"),
        (schemas.TagList, "serialization"),
        (schemas.OneRule, "serialization"),
        (schemas.RuleList, "serialization"),
        (schemas.DeletedRule, "serialization"),
    ]
    _, definitions = models_json_schema(models, ref_template=REF)
    not_found = {404: "NOT_FOUND: no ticket with that id or number in your organization"}
    paths = {
        "/api/v1/tickets/api-create": {"post": {
            "operationId": "apiCreateTicket",
            "summary": "Create a ticket for a customer named by externalId",
            "description": "Supportdesk's contract. The ticket is routed, categorised and "
            "auto-assigned to an available N1 agent (status IN_PROGRESS); with nobody "
            "available it stays OPEN with assignedAgent null. Channel is API.",
            "tags": ["Tickets"],
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": _body(schemas.ApiCreateTicket),
            "responses": _responses(
                {201: ("CreatedTicket", "Created")},
                V1_ERRORS | {
                    403: "PLAN_LIMIT_REACHED: the monthly ticket quota is reached",
                    404: "CUSTOMER_NOT_FOUND: no customer has that externalId",
                    409: "IDEMPOTENCY_CONFLICT: the key was used with another body",
                },
                "Error",
            ),
        }},
        "/api/v1/tickets": {"get": {
            "operationId": "listTickets",
            "summary": "List tickets, newest first",
            "tags": ["Tickets"],
            "parameters": _query_params(),
            "responses": _responses(
                {200: ("TicketPage", "A page of tickets; nextCursor is null on the last")},
                (V1_ERRORS | {404: "CUSTOMER_NOT_FOUND: no customer has that externalId"}),
                "Error",
            ),
        }},
        "/api/v1/tickets/{reference}": {"get": {
            "operationId": "getTicket",
            "summary": "One ticket by UUID, PREFIX-NUMBER or number",
            "tags": ["Tickets"],
            "parameters": [_path_param("reference", "UUID, PREFIX-NUMBER or number")],
            "responses": _responses(
                {200: ("OneTicket", "The ticket with its conversation")},
                V1_ERRORS | not_found,
                "Error",
            ),
        }},
        "/api/v1/tickets/{reference}/messages": {"post": {
            "operationId": "addMessage",
            "summary": "Add a message to a ticket's conversation",
            "tags": ["Tickets"],
            "parameters": [_path_param("reference", "UUID, PREFIX-NUMBER or number")],
            "requestBody": _body(schemas.AddMessage),
            "responses": _responses(
                {201: ("OneMessage", "Added")}, V1_ERRORS | not_found, "Error"
            ),
        }},
        "/api/v1/customers": {"post": {
            "operationId": "upsertCustomer",
            "summary": "Create a customer, or update the one with that externalId or email",
            "tags": ["Customers"],
            "requestBody": _body(schemas.UpsertCustomer),
            "responses": _responses(
                {201: ("OneCustomer", "Created"), 200: ("OneCustomer", "Updated")},
                V1_ERRORS | {409: "CONFLICT: the email belongs to another customer"},
                "Error",
            ),
        }},
        "/api/v1/customers/{externalId}": {"get": {
            "operationId": "getCustomer",
            "summary": "A customer by externalId",
            "tags": ["Customers"],
            "parameters": [_path_param("externalId", "The customer's externalId")],
            "responses": _responses(
                {200: ("OneCustomer", "The customer")},
                V1_ERRORS | {404: "CUSTOMER_NOT_FOUND: no customer has that externalId"},
                "Error",
            ),
        }},
        "/api/ext-v1/ticket/createTicket": {"post": {
            "operationId": "extCreateTicket",
            "summary": "Create a ticket for a customer named by email or id",
            "description": "Telemetron's contract. customerId is our customer id (UUID) "
            "or the customer's externalId; an unknown customerEmail creates the customer. "
            "category must name an existing category (any case); otherwise the ticket is "
            "categorised automatically.",
            "tags": ["Telemetron"],
            "parameters": [IDEMPOTENCY_KEY],
            "requestBody": _body(schemas.ExtCreateTicket),
            "responses": _responses(
                {200: ("ExtCreated", "Ticket created successfully")},
                {
                    400: "Missing fields, invalid JSON payload, or invalid priority",
                    401: "Invalid or missing API key",
                    403: "Monthly ticket quota reached",
                    404: "Customer not found (when using customerId)",
                    409: "The Idempotency-Key was used with another body",
                    413: "The body exceeds the configured size",
                    429: "Too many requests for this key; see Retry-After",
                },
                "ExtError",
            ),
        }},
    }
    paths |= admin_paths()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Helpdesk API",
            "version": "1.0.0",
            "description": "Serves Supportdesk's and Telemetron's create contracts exactly, "
            "and a native v1 around them. Every request but this document carries X-API-Key.",
        },
        "servers": [{"url": "/"}],
        "security": [{"apiKey": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
            "schemas": definitions["$defs"],
        },
    }


ADMIN_ERRORS = V1_ERRORS | {403: "FORBIDDEN: the route needs an API key with scope admin"}
NO_RULE = {404: "NOT_FOUND: no routing rule with that id in your organization"}
TAKEN = {409: "CONFLICT: the name is taken (names ignore case)"}


def _admin(operation: str, summary: str, ok: dict, errors: dict, body: type | None = None, **more) -> dict:
    described = {
        "operationId": operation,
        "summary": summary,
        "tags": ["Admin"],
        "responses": _responses(ok, ADMIN_ERRORS | errors, "Error"),
        **more,
    }
    if body is not None:
        described["requestBody"] = _body(body)
    return described


def admin_paths() -> dict:
    """The admin API: categories, tags and routing rules (keys with scope admin)."""
    rule_id = [_path_param("id", "The rule's id")]
    return {
        "/api/v1/categories": {
            "get": _admin("listCategories", "The categories, archived ones last",
                          {200: ("CategoryList", "Every category")}, {}),
            "post": _admin("createCategory", "Create a category", {201: ("OneCategory", "Created")},
                           TAKEN, schemas.NewCategory),
        },
        "/api/v1/tags": {
            "get": _admin("listTags", "The tags with the ids tagIds takes (any key)",
                          {200: ("TagList", "Every tag")}, {}),
            "post": _admin("createTag", "Create a tag", {201: ("OneTag", "Created")},
                           TAKEN, schemas.NewTag),
        },
        "/api/v1/routing-rules": {
            "get": _admin("listRoutingRules", "The routing rules in evaluation order",
                          {200: ("RuleList", "Every rule")}, {}),
            "post": _admin("createRoutingRule", "Create a routing rule",
                           {201: ("OneRule", "Created")}, {}, schemas.NewRule,
                           description="Validated as the admin page validates: an unknown "
                           "category, an inactive agent or a misspelt field is a 400 naming it."),
        },
        "/api/v1/routing-rules/{id}": {
            "get": _admin("getRoutingRule", "One routing rule", {200: ("OneRule", "The rule")},
                          NO_RULE, parameters=rule_id),
            "patch": _admin("changeRoutingRule", "Change a routing rule (a JSON merge patch)",
                            {200: ("OneRule", "The rule as it is now")}, NO_RULE, schemas.RuleChange,
                            parameters=rule_id),
            "delete": _admin("deleteRoutingRule", "Delete a routing rule",
                             {200: ("DeletedRule", "Deleted")}, NO_RULE, parameters=rule_id),
        },
    }  # fmt: skip


@bp.get("/openapi.json")
def openapi_document():
    """The OpenAPI 3.1 document of the whole API."""
    return jsonify(openapi())


@bp.get("/docs")
def page():
    """The API documented for people, from the same document."""
    return render_template("api/docs.html", spec=openapi())
