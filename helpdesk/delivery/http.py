"""Outgoing HTTP POSTs to addresses that admins typed in, guarded against SSRF.

A Slack or webhook URL is checked before every delivery: only http/https, and every
address the host resolves to must be public (no loopback, private, link-local, shared,
reserved or multicast range, nor site-local IPv6; an IPv6 address that carries an IPv4 one --
IPv4-mapped, -compatible, -translated, NAT64, 6to4 -- is judged by that IPv4 address)
unless WEBHOOK_ALLOW_PRIVATE is on. The connection then
goes to the address that was checked, so a DNS answer that changes between the check
and the connect (rebinding) cannot redirect it. Redirects are not followed.
"""

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import DeliveryError, PermanentError

MAX_RESPONSE_BYTES = 64 * 1024


class BlockedURL(PermanentError):
    """The URL is not one we send to."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str


# IPv6 ranges whose last 32 bits are an IPv4 address that the packets end up at:
# IPv4-compatible (::a.b.c.d), IPv4-mapped (::ffff:a.b.c.d), IPv4-translated
# (::ffff:0:a.b.c.d) and the well-known NAT64 prefix (64:ff9b::a.b.c.d).
_EMBEDDING_IPV4 = tuple(
    ipaddress.IPv6Network(net) for net in ("::/96", "::ffff:0:0/96", "::ffff:0:0:0/96", "64:ff9b::/96")
)
# Not global, though Python's `is_global` may say so: local-use NAT64, and site-local space.
_NOT_PUBLIC_V6 = tuple(ipaddress.IPv6Network(net) for net in ("64:ff9b:1::/48", "fec0::/10"))


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Whether the address, and any IPv4 address it carries, is global unicast."""
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in net for net in _NOT_PUBLIC_V6):
            return False
        if any(address in net for net in _EMBEDDING_IPV4):
            address = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        elif address.sixtofour is not None:  # 6to4, 2002:aabb:ccdd::/48
            address = address.sixtofour
    return address.is_global and not address.is_multicast


def parse_url(url: str) -> tuple[str, str, int, str]:
    """Scheme, host, port and path of an http(s) URL, or BlockedURL saying what is wrong."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        raise BlockedURL(f"not a valid URL: {error}") from None
    if parts.scheme not in ("http", "https"):
        raise BlockedURL("only http:// and https:// URLs are allowed")
    if not parts.hostname:
        raise BlockedURL("the URL has no host")
    if parts.username or parts.password:
        raise BlockedURL("credentials in the URL are not allowed")
    port = port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, path


def resolve(url: str, *, allow_private: bool) -> Target:
    """Check the URL and pick the address to connect to; raise BlockedURL if refused."""
    scheme, host, port, path = parse_url(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise DeliveryError(f"cannot resolve {host}: {error}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not allow_private:
        refused = [a for a in addresses if not _is_public(a)]
        if refused:
            raise BlockedURL(
                f"{host} resolves to {refused[0]}, a private or local address "
                "(set WEBHOOK_ALLOW_PRIVATE to allow it)"
            )
    return Target(scheme, host, port, path, str(addresses[0]))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address while the request still names the host."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """As above, with TLS verified against the host name (SNI and certificate)."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self._address = target.address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float, allow_private: bool) -> int:
    """POST `body`; returns the 2xx status, or raises DeliveryError / PermanentError."""
    target = resolve(url, allow_private=allow_private)
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        status = response.status
    except (OSError, http.client.HTTPException) as error:
        raise DeliveryError(f"{target.host}: {error.__class__.__name__}: {error}") from None
    finally:
        connection.close()
    if 200 <= status < 300:
        return status
    if status in (408, 425, 429) or status >= 500:
        raise DeliveryError(f"{target.host} answered HTTP {status}")
    raise PermanentError(f"{target.host} answered HTTP {status}")
