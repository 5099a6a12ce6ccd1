"""How a delivery can fail: worth retrying, or never going to work."""


class DeliveryError(Exception):
    """A failure worth retrying later: a server down, a timeout, a 5xx answer."""


class PermanentError(DeliveryError):
    """A failure no retry will fix: a refused recipient, a blocked URL, a deleted ticket."""
