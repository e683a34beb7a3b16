"""The contract (``wit/``, package ``pms:smartlock@0.2.0``) as Python types.

wasmtime-py has no typed bindgen: it hands a host WIT values as
``wasmtime.component.Record`` objects (attributes named as in the WIT, with
dashes), ``Variant(tag, payload)`` where a variant's cases need a tag, plain
``str`` for enums and ``None``/value for options. This module is the one
place that knows the shapes: dataclasses for every record and variant an
embedder meets, their conversions to and from wasmtime-py's values, the
interface names, the vendors and their origins, and the plain sentence of
each ``error`` case (the same sentences as smartlock-host's ``PluginError``
and the Node host's). A change of the contract is an edit here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Literal, Optional, Tuple, Union, cast

from wasmtime.component import Record, Variant

#: The contract's package version.
CONTRACT_VERSION = "0.2.0"


def interface(name: str) -> str:
    """The full name of a contract interface, e.g. ``pms:smartlock/http@0.2.0``."""
    return f"pms:smartlock/{name}@{CONTRACT_VERSION}"


#: The one WASI interface the component imports (R23).
WASI_RANDOM = "wasi:random/random@0.2.0"

#: Every interface the component may import: the contract's and wasi:random.
IMPORTS: Tuple[str, ...] = tuple(
    interface(n) for n in ("http", "storage", "email", "log", "clock", "scheduler", "types")
) + (WASI_RANDOM,)

#: The exported interfaces and their functions.
EXPORTS: Dict[str, Tuple[str, ...]] = {
    interface("events"): ("on-booking-changed", "on-property-changed", "on-tick"),
    interface("messages"): ("render-variable",),
    interface("admin"): (
        "connect",
        "disconnect",
        "accounts",
        "list-locks",
        "assign",
        "unassign",
        "get-assignment",
        "booking-status",
    ),
}

Provider = Literal["igloohome", "nuki", "ttlock"]
#: The lock vendors (the WIT ``provider`` enum).
PROVIDERS: Tuple[Provider, ...] = ("igloohome", "nuki", "ttlock")
#: Brand names as sentences show them.
PROVIDER_NAMES: Dict[str, str] = {"igloohome": "igloohome", "nuki": "Nuki", "ttlock": "TTLock"}

#: Every origin the component sends requests to: (vendor, origin, the path
#: under which a ``host-harness stub`` world serves it). The one list the
#: allow-list is made from.
VENDOR_ORIGINS: Tuple[Tuple[Provider, str, str], ...] = (
    ("igloohome", "https://auth.igloohome.co", ""),
    ("igloohome", "https://api.igloodeveloper.co", ""),
    ("nuki", "https://api.nuki.io", "/nuki"),
    ("ttlock", "https://euapi.ttlock.com", "/ttlock"),
)

LogLevel = Literal["trace", "debug", "info", "warn", "error"]
BookingStatus = Literal["confirmed", "cancelled"]
CodeState = Literal[
    "none",
    "scheduled",
    "creating",
    "on-lock",
    "moving",
    "deleting",
    "retrying",
    "failed",
    "removed",
    "left-to-expire",
]


# ---- records the host sends -------------------------------------------------


@dataclass(frozen=True)
class Property:
    """A rental property as the PMS knows it (WIT ``property``)."""

    id: str
    name: str
    #: IANA timezone name, e.g. "Europe/Paris".
    timezone: str
    #: Default check-in time "HH:MM" local; ``None``: 15:00.
    check_in_time: Optional[str] = None
    #: Default check-out time "HH:MM" local; ``None``: 11:00.
    check_out_time: Optional[str] = None


@dataclass(frozen=True)
class Booking:
    """A guest booking (WIT ``booking``); dates "YYYY-MM-DD", property-local."""

    id: str
    property_id: str
    check_in: str
    check_out: str
    status: BookingStatus = "confirmed"
    guest_name: Optional[str] = None
    check_in_time: Optional[str] = None
    check_out_time: Optional[str] = None


@dataclass(frozen=True)
class BookingEvent:
    """A booking was created or changed, with its property's facts."""

    booking: Booking
    property: Property


@dataclass(frozen=True)
class IgloohomeCredentials:
    """igloohome's API client, made in its developer portal."""

    client_id: str
    client_secret: str


@dataclass(frozen=True)
class NukiCredentials:
    """One API token generated in Nuki Web."""

    api_token: str


@dataclass(frozen=True)
class TtlockCredentials:
    """The TTLock app account and the TTLock application (usually the PMS's own)."""

    username: str
    password: str
    client_id: str
    client_secret: str


#: What the manager enters to connect one vendor (WIT ``credentials``).
Credentials = Union[IgloohomeCredentials, NukiCredentials, TtlockCredentials]


# ---- records the plugin answers -------------------------------------------------


@dataclass(frozen=True)
class FieldError:
    """Which input field was refused and why (names as in the contract, dashed)."""

    field: str
    reason: str


@dataclass(frozen=True)
class Account:
    """A connected vendor account."""

    provider: Provider
    name: str


@dataclass(frozen=True)
class RemotePath:
    """How codes reach a lock: ``bridge``/``gateway`` (with their id), ``keypad`` or ``wifi``."""

    kind: Literal["bridge", "keypad", "gateway", "wifi"]
    id: Optional[str] = None


@dataclass(frozen=True)
class LockInfo:
    """A lock of a connected account; ``remote`` is ``None`` when codes cannot reach it."""

    provider: Provider
    id: str
    name: str
    remote: Optional[RemotePath]
    needs: Optional[str]


@dataclass(frozen=True)
class Assignment:
    """A property's lock and its code settings."""

    property_id: str
    provider: Provider
    lock_id: str
    lock_name: str
    remote: RemotePath
    days_before: int
    margin_minutes: int


@dataclass(frozen=True)
class Window:
    """A validity window: instants (seconds) and RFC 3339 local times."""

    start: int
    end: int
    start_local: str
    end_local: str


@dataclass(frozen=True)
class CodeStatus:
    """Where a booking's code is, for the dashboard."""

    booking_id: str
    state: CodeState
    pin: Optional[str]
    lock_id: Optional[str]
    window: Optional[Window]
    create_at: Optional[int]
    last_error: Optional[str]
    next_attempt: Optional[int]
    alert_sent: bool


@dataclass(frozen=True)
class TickSummary:
    """What one ``on-tick`` did; call again at once while ``more_due``."""

    processed: int
    vendor_requests: int
    more_due: bool


# ---- wasmtime-py values -------------------------------------------------------


def record(**fields: Any) -> Record:
    """A ``wasmtime.component.Record`` with the given fields (``_`` becomes ``-``)."""
    r = Record()
    for name, value in fields.items():
        setattr(r, name.replace("_", "-"), value)
    return r


def field(value: Any, name: str) -> Any:
    """A record's field by its WIT name (dashes)."""
    return getattr(value, name)


def property_to_wit(p: Property) -> Record:
    return record(
        id=p.id,
        name=p.name,
        timezone=p.timezone,
        check_in_time=p.check_in_time,
        check_out_time=p.check_out_time,
    )


def booking_event_to_wit(e: BookingEvent) -> Record:
    b = e.booking
    booking = record(
        id=b.id,
        property_id=b.property_id,
        guest_name=b.guest_name,
        check_in=b.check_in,
        check_out=b.check_out,
        check_in_time=b.check_in_time,
        check_out_time=b.check_out_time,
        status=b.status,
    )
    return record(booking=booking, property=property_to_wit(e.property))


def credentials_to_wit(c: Credentials) -> Variant:
    if isinstance(c, IgloohomeCredentials):
        return Variant("igloohome", record(client_id=c.client_id, client_secret=c.client_secret))
    if isinstance(c, NukiCredentials):
        return Variant("nuki", c.api_token)
    if isinstance(c, TtlockCredentials):
        return Variant(
            "ttlock",
            record(username=c.username, password=c.password, client_id=c.client_id, client_secret=c.client_secret),
        )
    raise TypeError(f"not credentials: {c!r}")


def account_from_wit(r: Any) -> Account:
    return Account(provider=cast(Provider, r.provider), name=r.name)


def remote_from_wit(v: Any) -> RemotePath:
    if not isinstance(v, Variant) or v.tag not in ("bridge", "keypad", "gateway", "wifi"):
        raise TypeError(f"not a remote-path: {v!r}")
    return RemotePath(kind=cast(Any, v.tag), id=v.payload)


def lock_from_wit(r: Any) -> LockInfo:
    remote = field(r, "remote")
    return LockInfo(
        provider=cast(Provider, r.provider),
        id=r.id,
        name=r.name,
        remote=None if remote is None else remote_from_wit(remote),
        needs=r.needs,
    )


def assignment_from_wit(r: Any) -> Assignment:
    return Assignment(
        property_id=field(r, "property-id"),
        provider=cast(Provider, r.provider),
        lock_id=field(r, "lock-id"),
        lock_name=field(r, "lock-name"),
        remote=remote_from_wit(r.remote),
        days_before=field(r, "days-before"),
        margin_minutes=field(r, "margin-minutes"),
    )


def status_from_wit(r: Any) -> CodeStatus:
    w = r.window
    window = (
        None
        if w is None
        else Window(start=w.start, end=w.end, start_local=field(w, "start-local"), end_local=field(w, "end-local"))
    )
    return CodeStatus(
        booking_id=field(r, "booking-id"),
        state=cast(CodeState, r.state),
        pin=r.pin,
        lock_id=field(r, "lock-id"),
        window=window,
        create_at=field(r, "create-at"),
        last_error=field(r, "last-error"),
        next_attempt=field(r, "next-attempt"),
        alert_sent=field(r, "alert-sent"),
    )


def tick_summary_from_wit(r: Any) -> TickSummary:
    return TickSummary(
        processed=r.processed, vendor_requests=field(r, "vendor-requests"), more_due=field(r, "more-due")
    )


# ---- the error variant ------------------------------------------------------------


def field_name(name: str) -> str:
    """A contract field name as sentences write it (underscores)."""
    return name.replace("-", "_")


def brand(provider: str) -> str:
    """The brand as managers know it ("Nuki", "TTLock", "igloohome")."""
    return PROVIDER_NAMES.get(provider, provider)


def error_sentence(tag: str, payload: Any) -> str:
    """The plain sentence of a WIT ``error`` case, as smartlock-host's
    ``PluginError`` writes it."""
    if tag in ("invalid-input", "not-found"):
        return f"{field_name(payload.field)} {payload.reason}"
    if tag == "not-connected":
        return f"no {brand(payload)} account is connected"
    if tag == "credentials-rejected":
        return f"the credentials were refused: {payload}"
    if tag == "vendor-unavailable":
        return f"the lock vendor is unavailable: {payload}"
    if tag == "storage-failed":
        return f"storage failed: {payload}"
    if tag in ("lock-not-remote", "other-provider-assigned", "provider-unsupported"):
        return str(payload)
    return tag if payload is None else f"{tag}: {payload}"


def field_error_from_wit(payload: Any) -> FieldError:
    return FieldError(field=payload.field, reason=payload.reason)


def list_of(values: Any) -> List[Any]:
    """A WIT list as a Python list (wasmtime-py gives ``list``)."""
    return list(values)
