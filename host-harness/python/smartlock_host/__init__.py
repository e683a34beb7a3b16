"""Embeds the smart-lock plugin component (``pms:smartlock@0.3.0``) in Python.

A third host besides smartlock-host (Rust) and the Node host (R22), on
wasmtime-py's component API: the component loaded once, a fresh store per
call with an epoch deadline and memory limits, the contract's imports and
``wasi:random`` and nothing else, SQLite storage with smartlock-host's
schema, an allow-listed HTTP client, an e-mail outbox and code events with de-duplication,
calls serialised per tenant, wake-ups, and errors with the same sentences
as the other hosts. See README.md beside this package.
"""

from .clock import Clock, SimClock, SystemClock
from .contract import (
    Account,
    Assignment,
    Booking,
    BookingEvent,
    BrandInfo,
    CodeEvent,
    CodeStatus,
    Credential,
    CredentialField,
    DoorCode,
    FallbackCode,
    FieldError,
    LockInfo,
    Property,
    RemotePath,
    SharedDoor,
    TickSummary,
    Window,
)
from .errors import (
    CallError,
    CredentialsRejected,
    HttpError,
    InstantiateError,
    InvalidInput,
    LockNotRemote,
    NotConnected,
    NotFound,
    OtherBrandAssigned,
    PluginError,
    SmartlockError,
    StorageError,
    StorageFailed,
    TrapError,
    UnknownBrand,
    VendorUnavailable,
)
from .http import HttpBackend, HttpClient, HttpRequest, HttpResponse, VendorRoutes
from .runtime import PluginInstance, Runtime, RuntimeConfig, Tenant, TenantHandle
from .storage import Email, KvStore, StoredEvent, MemoryStore, SqliteDb, SqliteStore, Write, WriteDelete, WriteSet
from .template import substitute
from .wakeups import WakeUps

__all__ = [
    "Account",
    "Assignment",
    "Booking",
    "BookingEvent",
    "BrandInfo",
    "CallError",
    "Clock",
    "CodeEvent",
    "CodeStatus",
    "Credential",
    "CredentialField",
    "CredentialsRejected",
    "DoorCode",
    "Email",
    "FallbackCode",
    "FieldError",
    "HttpBackend",
    "HttpClient",
    "HttpError",
    "HttpRequest",
    "HttpResponse",
    "InstantiateError",
    "InvalidInput",
    "KvStore",
    "LockInfo",
    "LockNotRemote",
    "MemoryStore",
    "NotConnected",
    "NotFound",
    "OtherBrandAssigned",
    "PluginError",
    "PluginInstance",
    "Property",
    "RemotePath",
    "Runtime",
    "RuntimeConfig",
    "SharedDoor",
    "SimClock",
    "SmartlockError",
    "SqliteDb",
    "SqliteStore",
    "StorageError",
    "StorageFailed",
    "StoredEvent",
    "SystemClock",
    "Tenant",
    "TenantHandle",
    "TickSummary",
    "TrapError",
    "UnknownBrand",
    "VendorRoutes",
    "VendorUnavailable",
    "WakeUps",
    "Window",
    "Write",
    "WriteDelete",
    "WriteSet",
    "substitute",
]
