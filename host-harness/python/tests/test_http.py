"""The allow-list and the HTTP client: smartlock-host's semantics (vendor
origins only, routed to themselves or to the stubs; refused URLs never
connect), and the client's timeout, size cap, no redirects, no added headers."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import List, Tuple

import pytest

from smartlock_host import BrandInfo, HttpClient, HttpError, HttpRequest, MemoryStore, Runtime, Tenant, VendorRoutes
from smartlock_host.http import parse_target
from smartlock_host.scenario import stub_layout, stub_routes
from support import stub_world

#: A brand as the component lists it, with two origins.
IGLOO = BrandInfo(
    id="igloohome",
    name="igloohome",
    credentials=(),
    lock_needs="a bridge",
    origins=("https://auth.igloohome.co", "https://api.igloodeveloper.co"),
)

#: A stub world of one vendor: its layout places every brand all the same.
ONE_VENDOR = {"start": "2026-03-01T08:00:00Z", "nuki": {"accounts": [{"api_token": "t", "name": "Acct"}], "locks": []}}


def test_routes_rewrite_vendor_origins_and_refuse_others() -> None:
    routes = VendorRoutes.from_brands([IGLOO], lambda _id: "http://127.0.0.1:9/")
    assert (
        routes.resolve("https://api.igloodeveloper.co/igloohome/devices?page=2")
        == "http://127.0.0.1:9/igloohome/devices?page=2"
    )
    assert routes.resolve("https://AUTH.igloohome.co:443/oauth2/token") == "http://127.0.0.1:9/oauth2/token"
    for refused in [
        "https://evil.example/oauth2/token",
        "http://api.igloodeveloper.co/igloohome/devices",  # wrong scheme
        "https://api.igloodeveloper.co:8443/igloohome/devices",  # wrong port
        "https://api.igloodeveloper.co@evil.example/",
        "https://evil.example@api.igloodeveloper.co/",
        "http://127.0.0.1:9/igloohome/devices",  # the stub itself is not a vendor origin
        "ftp://api.igloodeveloper.co/x",
    ]:
        with pytest.raises(HttpError) as e:
            routes.resolve(refused)
        assert e.value.kind == "forbidden", refused
    with pytest.raises(HttpError) as bad:
        routes.resolve("not a url")
    assert bad.value.kind == "transport"
    with pytest.raises(HttpError):
        VendorRoutes().resolve("https://api.igloodeveloper.co/")
    assert str(pytest.raises(HttpError, VendorRoutes.from_brands([IGLOO]).resolve, "https://evil.example.com/x").value) == (
        "forbidden: host evil.example.com is not allowed"
    )


def test_the_default_allow_list_is_every_origin_the_components_brands_list() -> None:
    assert VendorRoutes.all_brands().is_all_brands
    assert VendorRoutes.all_brands().origins() == []  # spelled out only against a component's brands
    spelled = VendorRoutes.all_brands().insert("https://api.nuki.io", "http://127.0.0.1:9/nuki").expanded([IGLOO])
    assert spelled.origins() == ["https://auth.igloohome.co", "https://api.igloodeveloper.co", "https://api.nuki.io"]
    assert spelled.resolve("https://api.nuki.io/x") == "http://127.0.0.1:9/nuki/x"


def test_every_vendor_routes_to_itself_or_to_its_place_in_the_stub(runtime: Runtime, harness: Path, tmp_path: Path) -> None:
    brands = list(runtime.brands())
    real = runtime.tenant(Tenant("routes", MemoryStore())).tenant.routes
    assert real.origins() == [origin for brand in brands for origin in brand.origins]
    assert {"https://auth.igloohome.co", "https://api.nuki.io", "https://euapi.ttlock.com"} <= set(real.origins())
    for url in [
        "https://auth.igloohome.co/oauth2/token",
        "https://api.igloodeveloper.co/igloohome/devices",
        "https://api.nuki.io/smartlock/18205286116/auth",
        "https://euapi.ttlock.com/v3/lock/list?pageNo=1",
    ]:
        assert real.resolve(url) == url
    # Where the world tells it serves each brand (GET /_admin/layout).
    with stub_world(harness, tmp_path, ONE_VENDOR) as world:
        base = world.base
        stub = stub_routes(brands, base + "/")
    for url, sent in [
        ("https://auth.igloohome.co/oauth2/token", f"{base}/oauth2/token"),
        ("https://api.nuki.io/smartlock?x=1", f"{base}/nuki/smartlock?x=1"),
        ("https://api.nuki.io", f"{base}/nuki/"),
        ("https://EUAPI.ttlock.com:443/v3/lock/list?pageNo=1", f"{base}/ttlock/v3/lock/list?pageNo=1"),
    ]:
        assert stub.resolve(url) == sent, url
    for refused in ["http://api.nuki.io/smartlock", "https://euapi.ttlock.com:8443/x", "https://api.nuki.io.evil.example/"]:
        with pytest.raises(HttpError):
            stub.resolve(refused)


def test_a_brand_the_stub_world_does_not_list_goes_to_its_own_origins(harness: Path, tmp_path: Path) -> None:
    other = BrandInfo(id="not-a-stub-brand", name="Other", credentials=(), lock_needs="", origins=("https://api.example.com",))
    with stub_world(harness, tmp_path, ONE_VENDOR) as world:
        assert other.id not in stub_layout(world.base)
        routes = stub_routes([other], world.base)
    assert routes.resolve("https://api.example.com/x") == "https://api.example.com/x"


def test_a_world_that_does_not_tell_its_layout_is_refused_naming_the_command_that_rebuilds_it() -> None:
    body = b'{"error": "no such admin route"}'
    base, seen, server = serve(
        [b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)]
    )
    with pytest.raises(RuntimeError, match=r"GET /_admin/layout answered 404.*cargo build -p host-harness"):
        stub_routes([IGLOO], base)
    server.join(timeout=5)
    assert seen[0].startswith(b"GET /_admin/layout HTTP/1.1\r\n")


def test_a_target_keeps_path_and_query_for_the_route_and_the_path_alone_for_the_log() -> None:
    t = parse_target("https://euapi.ttlock.com/v3/lock/list?pageNo=1#frag")
    assert (t.origin, t.host, t.path, t.path_and_query) == (
        "https://euapi.ttlock.com",
        "euapi.ttlock.com",
        "/v3/lock/list",
        "/v3/lock/list?pageNo=1",
    )


def serve(responses: List[bytes]) -> Tuple[str, List[bytes], threading.Thread]:
    """Serves one canned response per connection; returns what arrived."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    seen: List[bytes] = []

    def run() -> None:
        for response in responses:
            conn, _ = listener.accept()
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(8192)
                if not chunk:
                    break
                data += chunk
            seen.append(data)
            conn.sendall(response)
            conn.close()
        listener.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", seen, thread


def test_the_client_returns_statuses_caps_bodies_follows_no_redirects_and_adds_nothing() -> None:
    big = b"HTTP/1.1 200 OK\r\nContent-Length: 2048\r\nConnection: close\r\n\r\n" + b"x" * 2048
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"400\r\n" + b"y" * 1024 + b"\r\n400\r\n" + b"y" * 1024 + b"\r\n0\r\n\r\n"
    base, seen, server = serve(
        [
            b"HTTP/1.1 404 Not Found\r\nX-Thing: Yes\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno",
            b"HTTP/1.1 302 Found\r\nLocation: http://example.com/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            big,
            chunked,
        ]
    )
    client = HttpClient(timeout=5, max_response_bytes=1024)

    def request(path: str) -> HttpRequest:
        return HttpRequest(
            method="POST",
            url=base + path,
            headers=[("authorization", "Basic c2VjcmV0")],
            body=b"grant_type=client_credentials",
            timeout=5,
        )

    not_found = client.send(request("/a"))
    assert (not_found.status, not_found.body) == (404, b"no")
    assert ("x-thing", "Yes") in not_found.headers
    assert client.send(request("/b")).status == 302
    for path in ("/c", "/d"):
        with pytest.raises(HttpError) as e:
            client.send(request(path))
        assert (e.value.kind, e.value.detail, str(e.value)) == ("too-large", 1024, "response larger than 1024 bytes")
    server.join(timeout=5)
    first = seen[0].lower()
    assert first.startswith(b"post /a http/1.1\r\n"), first
    assert b"authorization: basic c2vjcmv0" in first
    assert b"content-length: 29" in first and b"host: 127.0.0.1:" in first
    for added in (b"user-agent", b"accept:", b"accept-encoding", b"connection"):
        assert added not in first, f"the client added {added!r}: {first!r}"


def test_the_client_times_out_within_the_request_timeout() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        started = time.monotonic()
        with pytest.raises(HttpError) as e:
            HttpClient().send(
                HttpRequest(method="GET", url=f"http://127.0.0.1:{listener.getsockname()[1]}/slow", headers=[], body=b"", timeout=0.3)
            )
        assert e.value.kind == "timeout"
        assert time.monotonic() - started < 3
    finally:
        listener.close()


def test_a_refused_connection_is_a_transport_error() -> None:
    port_holder = socket.socket()
    port_holder.bind(("127.0.0.1", 0))
    port = port_holder.getsockname()[1]
    port_holder.close()
    with pytest.raises(HttpError) as e:
        HttpClient().send(HttpRequest(method="GET", url=f"http://127.0.0.1:{port}/", headers=[], body=b"", timeout=2))
    assert e.value.kind == "transport"
