"""The ``http`` import's parts: the allow-list and the transport.

The plugin always names the real vendor URLs. A tenant's
:class:`VendorRoutes` is the allow-list: each vendor origin it may reach
and the base URL the request is actually sent to (the origin itself in
production, the stub's loopback address in tests). The default,
:meth:`VendorRoutes.all_brands`, is every origin the component's brands
list (``admin.brands``): this module names no brand. Any other origin, scheme
or port, or credentials in the URL, is ``forbidden`` before a connection is
made. Requests that pass go to an :class:`HttpBackend`; :class:`HttpClient`
is the real one (the standard library's ``http.client``): a timeout for the
whole exchange, a cap on the response body, no proxy, no redirects, 4xx and
5xx returned as responses, header names lower-cased, nothing added but
``Host`` and ``Content-Length``. The same semantics as smartlock-host's
``VendorRoutes`` and ``UreqBackend`` and the Node host's.

Requests are logged (by the import) with method, origin, path, status and
time; never headers, query or bodies: the token request carries secrets.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, List, Literal, Optional, Protocol, Tuple
from urllib.parse import urlsplit

from .contract import BrandInfo
from .errors import HttpError

Method = Literal["GET", "POST", "PUT", "DELETE"]


@dataclass(frozen=True)
class Target:
    """An absolute URL split into what the allow-list and the log need."""

    #: ``scheme://host[:port]``, the default port left out.
    origin: str
    host: str
    path: str
    path_and_query: str


def _bad(reason: str) -> HttpError:
    return HttpError("transport", f"bad URL: {reason}")


def parse_target(url: str) -> Target:
    """Splits ``url``; raises :class:`HttpError` ``forbidden`` (another
    scheme, credentials in the URL) or ``transport`` (not an absolute URL)."""
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise _bad("invalid uri character")
    if "://" not in url:
        raise _bad("not absolute")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as e:
        raise _bad(str(e)) from e
    scheme = parts.scheme.lower()
    if not parts.netloc:
        raise _bad("not absolute")
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    if scheme not in ("http", "https"):
        raise HttpError("forbidden", f'scheme "{scheme}" is not allowed')
    if "@" in parts.netloc:
        raise HttpError("forbidden", f"credentials in the URL of host {host} are not allowed")
    default_port = 443 if scheme == "https" else 80
    origin = f"{scheme}://{host}" if port is None or port == default_port else f"{scheme}://{host}:{port}"
    rest = url.split("://", 1)[1][len(parts.netloc) :].split("#", 1)[0]
    if rest == "" or rest.startswith("?"):
        rest = "/" + rest
    return Target(origin=origin, host=host, path=parts.path or "/", path_and_query=rest)


class VendorRoutes:
    """The vendor origins a tenant may reach and where each one is sent.

    Empty allows nothing; a :class:`~smartlock_host.Tenant` starts with
    :meth:`all_brands`.
    """

    def __init__(self, routes: Iterable[Tuple[str, str]] = ()) -> None:
        self._routes: List[Tuple[str, str]] = []
        #: Every origin of the component's brands, each sent to itself, on
        #: top of ``_routes`` (spelled out by ``Runtime.tenant``).
        self._all_brands = False
        for origin, base in routes:
            self.insert(origin, base)

    @classmethod
    def all_brands(cls) -> "VendorRoutes":
        """Every origin of every brand the loaded component lists
        (``admin.brands``), each sent to itself (https, port 443 as listed);
        any other URL is ``forbidden``. Spelled out when a handle is made
        (:meth:`~smartlock_host.Runtime.tenant`)."""
        routes = cls()
        routes._all_brands = True
        return routes

    @classmethod
    def from_brands(
        cls, brands: Iterable[BrandInfo], base_of: Callable[[str], Optional[str]] = lambda _id: None
    ) -> "VendorRoutes":
        """Every origin of ``brands``, each sent to ``base_of(brand id)`` (a
        proxy, a stub: the brand's paths follow it), or to itself when that
        is ``None``."""
        routes = cls()
        for brand in brands:
            routes.route_brand(brand, base_of(brand.id))
        return routes

    def route_brand(self, brand: BrandInfo, base: Optional[str] = None) -> "VendorRoutes":
        """Allows every origin of ``brand``, sent to ``base`` or to itself
        (``None``). Returns ``self``."""
        for origin in brand.origins:
            self.insert(origin, origin if base is None else base)
        return self

    @property
    def is_all_brands(self) -> bool:
        """Whether this is (or starts from) :meth:`all_brands`, not yet spelled out."""
        return self._all_brands

    def expanded(self, brands: Iterable[BrandInfo]) -> "VendorRoutes":
        """These routes with :meth:`all_brands` spelled out for ``brands``
        (explicit routes win); themselves when they are not that default."""
        if not self._all_brands:
            return self
        out = VendorRoutes.from_brands(brands)
        for origin, base in self._routes:
            out.insert(origin, base)
        return out

    def insert(self, origin: str, base: str) -> "VendorRoutes":
        """Allows ``origin`` (``scheme://host[:port]``) and sends its requests
        to ``base`` (``scheme://host[:port][/prefix]``), replacing an earlier
        route of that origin. Returns ``self``."""
        try:
            o = parse_target(origin)
            b = parse_target(base)
        except HttpError as e:
            raise ValueError(f"vendor route {origin} -> {base}: {e}") from e
        if o.path_and_query != "/":
            raise ValueError(f"vendor origin {origin!r} must not have a path")
        if "?" in b.path_and_query:
            raise ValueError(f"route base {base!r} must not have a query")
        target = b.origin + b.path.rstrip("/")
        self._routes = [(existing, t) for existing, t in self._routes if existing != o.origin]
        self._routes.append((o.origin, target))
        return self

    def origins(self) -> List[str]:
        """The allowed origins."""
        return [origin for origin, _ in self._routes]

    def resolve(self, url: str) -> str:
        """The URL to send ``url`` to; :class:`HttpError` ``forbidden`` when
        its origin is not allowed."""
        return self.route(parse_target(url))

    def route(self, target: Target) -> str:
        for origin, base in self._routes:
            if origin == target.origin:
                return base + target.path_and_query
        raise HttpError("forbidden", f"host {target.host} is not allowed")

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, VendorRoutes)
            and self._routes == other._routes
            and self._all_brands == other._all_brands
        )

    def __repr__(self) -> str:
        if self._all_brands:
            return f"VendorRoutes.all_brands() + {self._routes!r}"
        return f"VendorRoutes({self._routes!r})"


@dataclass(frozen=True)
class HttpRequest:
    """A request that passed the allow-list, addressed to its routed URL."""

    method: Method
    #: The routed absolute URL (the route's base plus the plugin's path and query).
    url: str
    #: The plugin's headers as it wrote them; may hold credentials: never log them.
    headers: List[Tuple[str, str]]
    body: bytes
    #: The whole exchange must finish within this many seconds: what is left
    #: of the call's wall time (the backend may be stricter).
    timeout: float


@dataclass(frozen=True)
class HttpResponse:
    """A complete response, any status; header names lower-case."""

    status: int
    headers: List[Tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class HttpBackend(Protocol):
    """Sends requests the import has already checked and routed.

    Contract: finish within ``request.timeout`` (else ``HttpError("timeout")``),
    follow no redirects, return 4xx/5xx as responses, lower-case the response
    header names, never log headers or bodies. May be called from several
    threads at once.
    """

    def send(self, request: HttpRequest) -> HttpResponse: ...


#: The real client's defaults (smartlock-host's ``UreqConfig``): 10 s, 1 MiB.
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024


class _Exchange:
    """One request's connection and whether its deadline cut it off."""

    def __init__(self, conn: http.client.HTTPConnection) -> None:
        self.conn = conn
        self.expired = False

    def expire(self) -> None:
        self.expired = True
        sock = self.conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class HttpClient:
    """The real HTTP client on the standard library: one connection per
    request, TLS verified against the system's roots, the whole exchange
    bounded by ``min(request.timeout, timeout)`` and the body by
    ``max_response_bytes`` (more is ``too-large``)."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self._tls = ssl.create_default_context()

    def send(self, request: HttpRequest) -> HttpResponse:
        timeout = max(0.001, min(request.timeout, self.timeout))
        try:
            parts = urlsplit(request.url)
            port = parts.port
        except ValueError as e:
            raise HttpError("transport", f"bad URL: {e}") from e
        host = parts.hostname or ""
        scheme = parts.scheme.lower()
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=self._tls)
        elif scheme == "http":
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        else:
            raise HttpError("transport", f"unsupported scheme {scheme!r}")
        path = request.url.split("://", 1)[1][len(parts.netloc) :].split("#", 1)[0] or "/"
        if path.startswith("?"):
            path = "/" + path
        exchange = _Exchange(conn)
        timer = threading.Timer(timeout, exchange.expire)
        timer.daemon = True
        started = time.monotonic()
        timer.start()
        try:
            return self._exchange(conn, request, path, parts.netloc.rsplit("@", 1)[-1])
        except HttpError:
            raise
        except (socket.timeout, TimeoutError) as e:
            raise HttpError("timeout") from e
        except (OSError, http.client.HTTPException, ValueError, UnicodeError) as e:
            if exchange.expired or time.monotonic() - started >= timeout:
                raise HttpError("timeout") from e
            raise HttpError("transport", _describe(e)) from e
        finally:
            timer.cancel()
            conn.close()

    def _exchange(
        self, conn: http.client.HTTPConnection, request: HttpRequest, path: str, host_header: str
    ) -> HttpResponse:
        names = {name.lower() for name, _ in request.headers}
        conn.putrequest(request.method, path, skip_host=True, skip_accept_encoding=True)
        if "host" not in names:
            conn.putheader("Host", host_header)
        for name, value in request.headers:
            conn.putheader(name, value)
        body = bytes(request.body)
        if "content-length" not in names and (body or request.method in ("POST", "PUT")):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body if body else None)
        response = conn.getresponse()
        cap = self.max_response_bytes
        declared = response.getheader("content-length")
        if declared is not None and declared.isdigit() and int(declared) > cap:
            raise HttpError("too-large", cap)
        chunks: List[bytes] = []
        size = 0
        while True:
            chunk = response.read(min(64 * 1024, cap + 1 - size))
            if not chunk:
                break
            size += len(chunk)
            if size > cap:
                raise HttpError("too-large", cap)
            chunks.append(chunk)
        headers = [(name.lower(), _header_value(value)) for name, value in response.getheaders()]
        return HttpResponse(status=response.status, headers=headers, body=b"".join(chunks))


def _header_value(value: str) -> str:
    """A header value as UTF-8 (http.client reads them as Latin-1), lossy."""
    try:
        return value.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return value


def _describe(e: BaseException) -> str:
    if isinstance(e, http.client.IncompleteRead):
        return "the connection closed before the whole response"
    if isinstance(e, http.client.RemoteDisconnected):
        return "the connection closed without a response"
    text = str(e) or type(e).__name__
    return text

