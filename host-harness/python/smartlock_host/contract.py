"""The contract (``wit/``, package ``pms:smartlock@0.3.0``) as Python types.

wasmtime-py has no typed bindgen: it hands a host WIT values as
``wasmtime.component.Record`` objects (attributes named as in the WIT, with
dashes), ``Variant(tag, payload)`` where a variant's cases need a tag, plain
``str`` for enums and ``None``/value for options. This module is the one
place that knows the shapes: dataclasses for every record and variant an
embedder meets, their conversions to and from wasmtime-py's values, the
interface names, and the plain sentence of each ``error`` case (the same sentences as smartlock-host's ``PluginError``
and the Node host's). A change of the contract is an edit here.

Brands are data (R30): this module names none. What a brand is — its id,
display name, connect form and origins — comes from the component itself
(``admin.brands``, :class:`BrandInfo`), so a new brand in the plugin needs no
change of this host.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Literal, Optional, Tuple, Union, cast

from wasmtime.component import Record, Variant

#: The contract's package version.
CONTRACT_VERSION = "0.3.0"


def interface(name: str) -> str:
    """The full name of a contract interface, e.g. ``pms:smartlock/http@0.3.0``."""
    return f"pms:smartlock/{name}@{CONTRACT_VERSION}"


#: The one WASI interface the component imports (R23).
WASI_RANDOM = "wasi:random/random@0.2.0"

#: Every interface the component may import: the contract's and wasi:random.
IMPORTS: Tuple[str, ...] = tuple(
    interface(n) for n in ("http", "storage", "email", "log", "clock", "scheduler", "code-events", "types")
) + (WASI_RANDOM,)

#: The exported interfaces and their functions.
EXPORTS: Dict[str, Tuple[str, ...]] = {
    interface("events"): ("on-booking-changed", "on-property-changed", "on-tick"),
    interface("messages"): ("render-variable",),
    interface("admin"): (
        "brands",
        "connect",
        "disconnect",
        "accounts",
        "list-locks",
        "assign",
        "unassign",
        "get-assignment",
        "share-door",
        "unshare-door",
        "shared-doors",
        "booking-status",
    ),
}

#: A brand (lock vendor) by its id, as ``admin.brands`` lists it (WIT ``brand-id``).
BrandId = str

LogLevel = Literal["trace", "debug", "info", "warn", "error"]
BookingStatus = Literal["confirmed", "cancelled"]
EventKind = Literal[
    "scheduled",
    "writing",
    "on-lock",
    "moved",
    "retrying",
    "failed",
    "fallback",
    "alert-sent",
    "deleted",
    "lock-unreachable",
    "lock-reachable",
]
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
class Credential:
    """One credential value by its field's name (WIT ``credential``): the
    names are those of the brand's connect form, :attr:`BrandInfo.credentials`."""

    name: str
    #: May be a secret: never log it.
    value: str = field(repr=False)


# ---- records the plugin answers -------------------------------------------------


@dataclass(frozen=True)
class FieldError:
    """Which input field was refused and why (names as in the contract, dashed)."""

    field: str
    reason: str


@dataclass(frozen=True)
class CredentialField:
    """One field of a brand's connect form (WIT ``credential-field``)."""

    #: The name :meth:`~smartlock_host.TenantHandle.connect` takes it under, e.g. "client_id".
    name: str
    label: str
    #: Where the manager finds the value.
    help: str
    #: A form masks it; it is never returned, logged or mailed (R2).
    secret: bool
    #: Filled in by the host from its own configuration, not typed by the manager.
    host_supplied: bool


@dataclass(frozen=True)
class BrandInfo:
    """A brand the plugin manages, as data (WIT ``brand-info``, R30): the
    connect form and the origins a host builds its forms and allow-list from."""

    id: BrandId
    #: Display name.
    name: str
    #: The connect form, in order.
    credentials: Tuple[CredentialField, ...]
    #: What a lock needs for codes to reach it remotely (R3).
    lock_needs: str
    #: Where the brand's API lives (``https://host``, no path): the default allow-list.
    origins: Tuple[str, ...]


@dataclass(frozen=True)
class Account:
    """A connected account of one brand."""

    brand: BrandId
    name: str


@dataclass(frozen=True)
class RemotePath:
    """How codes reach a lock, as the brand names it (``kind``), and the
    device carrying them when it is not the lock (``via``)."""

    kind: str
    via: Optional[str] = None


@dataclass(frozen=True)
class LockInfo:
    """A lock of a connected account; ``remote`` is ``None`` when codes cannot reach it."""

    brand: BrandId
    id: str
    name: str
    remote: Optional[RemotePath]
    needs: Optional[str]


@dataclass(frozen=True)
class Assignment:
    """A property's lock and its code settings."""

    property_id: str
    brand: BrandId
    lock_id: str
    lock_name: str
    remote: RemotePath
    days_before: int
    margin_minutes: int
    #: Spare codes kept on the lock while it can be reached (R25), 0 to 5.
    backup_codes: int = 0


@dataclass(frozen=True)
class SharedDoor:
    """A lock several properties use besides their own (a building entrance,
    a gate), of any connected brand: every booking of the property also
    gets a code on it (WIT ``shared-door``, R26)."""

    property_id: str
    brand: BrandId
    lock_id: str
    #: The door's name as its brand lists it; the guest's message and the alert name the door with it.
    lock_name: str
    remote: RemotePath


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
    #: The brand of the lock the code is (or will be) on.
    brand: Optional[BrandId]
    lock_id: Optional[str]
    window: Optional[Window]
    create_at: Optional[int]
    last_error: Optional[str]
    next_attempt: Optional[int]
    alert_sent: bool
    #: The fallback code the guest got instead (R24, R25), if any.
    fallback: Optional["FallbackCode"] = None
    #: The booking's codes on the property's shared doors (R26), in the
    #: order the doors were added; empty when it has none.
    doors: Tuple["DoorCode", ...] = ()


@dataclass(frozen=True)
class FallbackCode:
    """A code the guest got instead of the regular one (R24, R25). ``kind``:
    "offline" (computed by the brand's cloud, checked by the lock itself) or
    "backup" (a spare code of the lock's pool)."""

    kind: str
    pin: str
    window: Window
    rule: Optional[str]
    revocable: bool


@dataclass(frozen=True)
class DoorCode:
    """A booking's code on one shared door (WIT ``door-code``, R26): each
    door has its own writes, retries and alert."""

    brand: BrandId
    lock_id: str
    #: The door's name, as the guest's message shows it.
    door_name: str
    state: CodeState
    #: The booking's own PIN wherever the door takes it.
    pin: Optional[str]
    window: Optional[Window]
    last_error: Optional[str]
    next_attempt: Optional[int]
    alert_sent: bool
    fallback: Optional[FallbackCode]


@dataclass(frozen=True)
class CodeEvent:
    """A change of a code's state or of a lock's health, as the plugin
    reports it (WIT ``code-event``, R27, R28). ``id`` is unique per tenant."""

    id: str
    at: int
    kind: EventKind
    booking_id: Optional[str]
    property_id: Optional[str]
    brand: Optional[BrandId]
    lock_id: Optional[str]
    #: For ``lock-unreachable``: the bookings with a code due within three days.
    at_risk: Optional[int]
    #: A plain sentence for the PMS's staff.
    detail: str
    #: The door's name when the lock is one of the property's shared doors (R26).
    door: Optional[str] = None


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


def field_of(value: Any, name: str) -> Any:
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


def credentials_to_wit(credentials: List[Credential]) -> List[Record]:
    return [record(name=c.name, value=c.value) for c in credentials]


def settings_to_wit(days_before: Optional[int], margin_minutes: Optional[int], backup_codes: Optional[int] = None) -> Record:
    return record(days_before=days_before, margin_minutes=margin_minutes, backup_codes=backup_codes)


def brand_from_wit(r: Any) -> BrandInfo:
    return BrandInfo(
        id=r.id,
        name=r.name,
        credentials=tuple(
            CredentialField(
                name=f.name, label=f.label, help=f.help, secret=f.secret, host_supplied=field_of(f, "host-supplied")
            )
            for f in r.credentials
        ),
        lock_needs=field_of(r, "lock-needs"),
        origins=tuple(r.origins),
    )


def account_from_wit(r: Any) -> Account:
    return Account(brand=r.brand, name=r.name)


def remote_from_wit(r: Any) -> RemotePath:
    return RemotePath(kind=r.kind, via=r.via)


def lock_from_wit(r: Any) -> LockInfo:
    remote = r.remote
    return LockInfo(
        brand=r.brand,
        id=r.id,
        name=r.name,
        remote=None if remote is None else remote_from_wit(remote),
        needs=r.needs,
    )


def assignment_from_wit(r: Any) -> Assignment:
    return Assignment(
        property_id=field_of(r, "property-id"),
        brand=r.brand,
        lock_id=field_of(r, "lock-id"),
        lock_name=field_of(r, "lock-name"),
        remote=remote_from_wit(r.remote),
        days_before=field_of(r, "days-before"),
        margin_minutes=field_of(r, "margin-minutes"),
        backup_codes=field_of(r, "backup-codes"),
    )


def shared_door_from_wit(r: Any) -> SharedDoor:
    return SharedDoor(
        property_id=field_of(r, "property-id"),
        brand=r.brand,
        lock_id=field_of(r, "lock-id"),
        lock_name=field_of(r, "lock-name"),
        remote=remote_from_wit(r.remote),
    )


def code_event_from_wit(r: Any) -> CodeEvent:
    return CodeEvent(
        id=r.id,
        at=r.at,
        kind=cast(EventKind, r.kind),
        booking_id=field_of(r, "booking-id"),
        property_id=field_of(r, "property-id"),
        brand=r.brand,
        lock_id=field_of(r, "lock-id"),
        door=r.door,
        at_risk=field_of(r, "at-risk"),
        detail=r.detail,
    )


def _pascal(kind: str) -> str:
    return "".join(part.capitalize() for part in kind.split("-"))


#: Event kinds as smartlock-host stores them (serde's names of its enum).
_KIND_BY_STORED: Dict[str, EventKind] = {_pascal(k): cast(EventKind, k) for k in EventKind.__args__}  # type: ignore[attr-defined]


def code_event_to_json(e: CodeEvent) -> str:
    """The event as smartlock-host records it in the ``events`` table (its
    serde form), so a database written by one host reads in the other."""
    return json.dumps(
        {
            "id": e.id,
            "at": e.at,
            "kind": _pascal(e.kind),
            "booking_id": e.booking_id,
            "property_id": e.property_id,
            "brand": e.brand,
            "lock_id": e.lock_id,
            "door": e.door,
            "at_risk": e.at_risk,
            "detail": e.detail,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def code_event_from_json(text: str) -> CodeEvent:
    """An event as recorded in the ``events`` table (:func:`code_event_to_json`)."""
    d = json.loads(text)
    kind = _KIND_BY_STORED.get(d["kind"])
    if kind is None:
        raise ValueError(f"unknown code event kind {d['kind']!r}")
    return CodeEvent(
        id=d["id"],
        at=int(d["at"]),
        kind=kind,
        booking_id=d.get("booking_id"),
        property_id=d.get("property_id"),
        brand=d.get("brand"),
        lock_id=d.get("lock_id"),
        door=d.get("door"),
        at_risk=d.get("at_risk"),
        detail=d["detail"],
    )


def window_from_wit(w: Any) -> Window:
    return Window(start=w.start, end=w.end, start_local=field_of(w, "start-local"), end_local=field_of(w, "end-local"))


def fallback_from_wit(f: Any) -> Optional[FallbackCode]:
    if f is None:
        return None
    return FallbackCode(kind=f.kind, pin=f.pin, window=window_from_wit(f.window), rule=f.rule, revocable=f.revocable)


def door_code_from_wit(r: Any) -> DoorCode:
    w = r.window
    return DoorCode(
        brand=r.brand,
        lock_id=field_of(r, "lock-id"),
        door_name=field_of(r, "door-name"),
        state=cast(CodeState, r.state),
        pin=r.pin,
        window=None if w is None else window_from_wit(w),
        last_error=field_of(r, "last-error"),
        next_attempt=field_of(r, "next-attempt"),
        alert_sent=field_of(r, "alert-sent"),
        fallback=fallback_from_wit(r.fallback),
    )


def status_from_wit(r: Any) -> CodeStatus:
    w = r.window
    window = None if w is None else window_from_wit(w)
    return CodeStatus(
        booking_id=field_of(r, "booking-id"),
        state=cast(CodeState, r.state),
        pin=r.pin,
        brand=r.brand,
        lock_id=field_of(r, "lock-id"),
        window=window,
        create_at=field_of(r, "create-at"),
        last_error=field_of(r, "last-error"),
        next_attempt=field_of(r, "next-attempt"),
        alert_sent=field_of(r, "alert-sent"),
        fallback=fallback_from_wit(r.fallback),
        doors=tuple(door_code_from_wit(d) for d in r.doors),
    )


def tick_summary_from_wit(r: Any) -> TickSummary:
    return TickSummary(
        processed=r.processed, vendor_requests=field_of(r, "vendor-requests"), more_due=field_of(r, "more-due")
    )


# ---- the error variant ------------------------------------------------------------


def field_name(name: str) -> str:
    """A contract field name as sentences write it (underscores)."""
    return name.replace("-", "_")



#: Display names of the brands loaded components listed (R30), by id, for
#: sentences, as smartlock-host keeps them.
BRAND_NAMES: Dict[str, str] = {}


def learn_brand_names(brands: Any) -> None:
    """Remembers the display names of ``brands`` (each with ``id`` and ``name``)."""
    for b in brands:
        BRAND_NAMES.setdefault(b.id, b.name)

def error_sentence(tag: str, payload: Any) -> str:
    """The plain sentence of a WIT ``error`` case, as smartlock-host's
    ``PluginError`` writes it."""
    if tag in ("invalid-input", "not-found"):
        return f"{field_name(payload.field)} {payload.reason}"
    if tag == "not-connected":
        return f"no {BRAND_NAMES.get(payload, payload)} account is connected"
    if tag == "credentials-rejected":
        return f"the credentials were refused: {payload}"
    if tag == "vendor-unavailable":
        return f"the lock vendor is unavailable: {payload}"
    if tag == "storage-failed":
        return f"storage failed: {payload}"
    if tag in ("lock-not-remote", "other-brand-assigned", "unknown-brand"):
        return str(payload)
    return tag if payload is None else f"{tag}: {payload}"


def field_error_from_wit(payload: Any) -> FieldError:
    return FieldError(field=payload.field, reason=payload.reason)


def list_of(values: Any) -> List[Any]:
    """A WIT list as a Python list (wasmtime-py gives ``list``)."""
    return list(values)
