"""The errors a call can end with, as smartlock-host and the Node host have them.

- :class:`PluginError`: the plugin refused the request (its WIT ``error``
  variant). ``str(e)`` is the plain sentence a dashboard can show, the same
  sentence the other hosts print (``margin_minutes must be between 0 and
  240``, ``no <brand name> account is connected``); one subclass per case.
- :class:`CallError`: a host-side failure, for operators: :class:`TrapError`
  (the plugin trapped: panic, time limit, memory, a failed host import) and
  :class:`InstantiateError` (no instance could be made). Only that call
  failed; the next one gets a fresh instance.
- :class:`StorageError` and :class:`HttpError`: what the ``storage`` and
  ``http`` backends raise; the imports hand them to the plugin as the WIT
  ``storage-error`` and ``http-error``.
"""

from __future__ import annotations

from typing import Any, Dict, Literal, Optional, Type

from .contract import FieldError, error_sentence, field_error_from_wit, field_name


class SmartlockError(Exception):
    """Base of every error this package raises for a plugin call."""


class PluginError(SmartlockError):
    """The export answered its ``error`` variant.

    ``variant`` is the case (``"invalid-input"``, ``"not-connected"``, ...),
    ``payload`` its value (a :class:`FieldError`, a string, a brand id or
    ``None``), ``field`` the refused field with underscores (for
    ``invalid-input`` and ``not-found``), ``tenant`` and ``export`` where
    the call was made.
    """

    variant: str = ""

    def __init__(self, payload: Any = None, *, tenant: Optional[str] = None, export: Optional[str] = None) -> None:
        self.payload = payload
        self.tenant = tenant
        self.export = export
        self.field: Optional[str] = field_name(payload.field) if isinstance(payload, FieldError) else None
        super().__init__(error_sentence(self.variant, payload))

    @staticmethod
    def from_wit(tag: str, payload: Any, *, tenant: Optional[str] = None, export: Optional[str] = None) -> "PluginError":
        """The error for a WIT ``error`` value (``Variant(tag, payload)``)."""
        cls = _BY_VARIANT.get(tag)
        if cls is None:
            error = PluginError(payload, tenant=tenant, export=export)
            error.variant = tag
            error.args = (error_sentence(tag, payload),)
            return error
        if cls in (InvalidInput, NotFound):
            payload = field_error_from_wit(payload)
        return cls(payload, tenant=tenant, export=export)


class InvalidInput(PluginError):
    """Bad input: ``payload`` is the :class:`FieldError`."""

    variant = "invalid-input"


class NotFound(PluginError):
    """An unknown property, lock or booking: ``payload`` is the :class:`FieldError`."""

    variant = "not-found"


class NotConnected(PluginError):
    """No account of this brand (``payload``, its id) is connected."""

    variant = "not-connected"


class CredentialsRejected(PluginError):
    """The vendor refused the credentials; nothing was stored."""

    variant = "credentials-rejected"


class LockNotRemote(PluginError):
    """Codes cannot reach the lock remotely; the sentence says what it needs."""

    variant = "lock-not-remote"


class OtherBrandAssigned(PluginError):
    """The property holds a lock of another brand."""

    variant = "other-brand-assigned"


class UnknownBrand(PluginError):
    """No brand of this id in this plugin version."""

    variant = "unknown-brand"


class VendorUnavailable(PluginError):
    """The vendor's API failed; the same call may succeed later."""

    variant = "vendor-unavailable"


class StorageFailed(PluginError):
    """The host's storage failed."""

    variant = "storage-failed"


_BY_VARIANT: Dict[str, Type[PluginError]] = {
    cls.variant: cls
    for cls in (
        InvalidInput,
        NotFound,
        NotConnected,
        CredentialsRejected,
        LockNotRemote,
        OtherBrandAssigned,
        UnknownBrand,
        VendorUnavailable,
        StorageFailed,
    )
}


class CallError(SmartlockError):
    """The call produced no answer (host side). ``detail`` is one line: the
    export and what stopped it; not for guests."""

    def __init__(self, tenant: str, detail: str) -> None:
        self.tenant = tenant
        self.detail = detail
        super().__init__(self._sentence(tenant, detail))

    @staticmethod
    def _sentence(tenant: str, detail: str) -> str:
        raise NotImplementedError


class TrapError(CallError):
    """The plugin trapped (panic, time limit, memory cap) or a host import
    failed (``host_failure``). Storage writes made before the trap remain."""

    def __init__(self, tenant: str, detail: str, *, host_failure: bool = False) -> None:
        self.host_failure = host_failure
        super().__init__(tenant, detail)

    @staticmethod
    def _sentence(tenant: str, detail: str) -> str:
        return f"plugin trapped (tenant {tenant}): {detail}"


class InstantiateError(CallError):
    """No instance could be made (no free slot, a limit hit while starting);
    the plugin did not run."""

    @staticmethod
    def _sentence(tenant: str, detail: str) -> str:
        return f"plugin could not be instantiated (tenant {tenant}): {detail}"


StorageErrorKind = Literal["unavailable", "too-large"]


class StorageError(Exception):
    """Why a storage operation did not happen (the WIT ``storage-error``)."""

    def __init__(self, kind: StorageErrorKind, detail: str) -> None:
        self.kind: StorageErrorKind = kind
        self.detail = detail
        super().__init__(f"storage unavailable: {detail}" if kind == "unavailable" else f"too large: {detail}")


HttpErrorKind = Literal["forbidden", "timeout", "too-large", "transport"]


class HttpError(Exception):
    """Why no response came back (the WIT ``http-error``); a 4xx or 5xx is a
    response. ``detail``: the reason, or the cap in bytes for ``too-large``."""

    def __init__(self, kind: HttpErrorKind, detail: Any = None) -> None:
        self.kind: HttpErrorKind = kind
        self.detail = detail
        if kind == "timeout":
            text = "timeout"
        elif kind == "too-large":
            text = f"response larger than {detail} bytes"
        else:
            text = f"{kind}: {detail}"
        super().__init__(text)
