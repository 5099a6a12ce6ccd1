"""The one error for a value that means nothing here, raised by every service."""


class InvalidValue(ValueError):
    """`field`'s value cannot be used; `message` says why, in words a user can act on.

    The API answers it with 400 `VALIDATION_ERROR` naming the field, the CLI prints it,
    and the desk and admin forms show it beside the control.
    """

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message
