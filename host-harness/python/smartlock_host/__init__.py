"""Embeds the smart-lock plugin component (``pms:smartlock@0.2.0``) in Python.

A third host besides smartlock-host (Rust) and the Node host (R22), on
wasmtime-py's component API: the component loaded once, a fresh store per
call with an epoch deadline and memory limits, the contract's imports and
``wasi:random`` and nothing else, SQLite storage with smartlock-host's
schema, an allow-listed HTTP client, an e-mail outbox with de-duplication,
calls serialised per tenant, wake-ups, and errors with the same sentences
as the other hosts. See README.md beside this package.
"""

from .clock import Clock, SimClock, SystemClock
from .contract import (
    Account,
    Assignment,
    Booking,
    BookingEvent,
    CodeStatus,
    Credentials,
    FieldError,
    IgloohomeCredentials,
    LockInfo,
    NukiCredentials,
    Property,
    RemotePath,
    TickSummary,
    TtlockCredentials,
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
    OtherProviderAssigned,
    PluginError,
    ProviderUnsupported,
    SmartlockError,
    StorageError,
    StorageFailed,
    TrapError,
    VendorUnavailable,
)
from .http import HttpBackend, HttpClient, HttpRequest, HttpResponse, VendorRoutes
from .runtime import PluginInstance, Runtime, RuntimeConfig, Tenant, TenantHandle
from .storage import Email, KvStore, MemoryStore, SqliteDb, SqliteStore, Write, WriteDelete, WriteSet
from .template import substitute
from .wakeups import WakeUps

__all__ = [
    "Account",
    "Assignment",
    "Booking",
    "BookingEvent",
    "CallError",
    "Clock",
    "CodeStatus",
    "Credentials",
    "CredentialsRejected",
    "Email",
    "FieldError",
    "HttpBackend",
    "HttpClient",
    "HttpError",
    "HttpRequest",
    "HttpResponse",
    "IgloohomeCredentials",
    "InstantiateError",
    "InvalidInput",
    "KvStore",
    "LockInfo",
    "LockNotRemote",
    "MemoryStore",
    "NotConnected",
    "NotFound",
    "NukiCredentials",
    "OtherProviderAssigned",
    "PluginError",
    "PluginInstance",
    "Property",
    "ProviderUnsupported",
    "RemotePath",
    "Runtime",
    "RuntimeConfig",
    "SimClock",
    "SmartlockError",
    "SqliteDb",
    "SqliteStore",
    "StorageError",
    "StorageFailed",
    "SystemClock",
    "Tenant",
    "TenantHandle",
    "TickSummary",
    "TrapError",
    "TtlockCredentials",
    "VendorRoutes",
    "VendorUnavailable",
    "WakeUps",
    "Window",
    "Write",
    "WriteDelete",
    "WriteSet",
    "substitute",
]
