"""The two error envelopes: Supportdesk's (native v1) and Telemetron's (ext-v1)."""

from datetime import UTC, datetime

from flask import jsonify, request

CODES = {
    400: "VALIDATION_ERROR",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
}
MESSAGES = {
    400: "Invalid request",
    401: "Invalid or missing API key",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body is too large",
    415: "Content-Type must be application/json",
    429: "Too many requests",
    500: "Internal server error",
}


def timestamp() -> str:
    """Now, as the API writes every time: ISO-8601 UTC with Z."""
    return isoformat(datetime.now(UTC))


def isoformat(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def is_ext() -> bool:
    return request.path.startswith("/api/ext-v1/")


def v1_error(status: int, code: str, message: str, details: list[dict] | None = None):
    """Supportdesk's envelope: success false, error {code, message, details}, timestamp."""
    body = {
        "success": False,
        "error": {"code": code, "message": message, "details": details or []},
        "timestamp": timestamp(),
    }
    return jsonify(body), status


def ext_error(status: int, message: str):
    """Telemetron's envelope: success false and a message."""
    return jsonify({"success": False, "message": message}), status


def for_status(status: int, message: str | None = None):
    """An error in the envelope of the contract the request path belongs to."""
    message = message or MESSAGES.get(status, "Error")
    if is_ext():
        return ext_error(status, message)
    return v1_error(status, CODES.get(status, "ERROR"), message)


class ApiError(Exception):
    """An error answered in the envelope of the contract the request came through."""

    def __init__(self, status: int, code: str, message: str, details: list[dict] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or []

    @classmethod
    def invalid(cls, details: list[dict]) -> "ApiError":
        """400 VALIDATION_ERROR naming each bad field."""
        return cls(400, "VALIDATION_ERROR", "Invalid or missing fields", details)

    def response(self):
        if is_ext():
            # Telemetron's envelope has one message: it names the fields at fault.
            named = "; ".join(f"{d['field']}: {d['message']}" for d in self.details)
            return ext_error(self.status, named or self.message)
        return v1_error(self.status, self.code, self.message, self.details)
