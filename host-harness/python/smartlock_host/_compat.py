"""What wasmtime-py 50 cannot do by itself, made good in one place.

wasmtime-py's component API converts WIT values to Python dynamically (there
is no typed bindgen yet). Two of its conversions do not serve this contract:

1. **An untagged ``result`` whose ``ok`` case accepts any value.** Results
   are untagged: a host function returns the ``ok`` value or the ``err``
   value, and wasmtime-py picks the case whose Python type matches, ``ok``
   first. For ``storage.get: result<option<list<u8>>, storage-error>`` the
   ``ok`` case (an option: ``None`` or ``bytes``) claims every value, so an
   error is taken for ``ok`` and refused ("value not valid for this
   variant"): the guest would trap instead of receiving ``storage-error``.
   :class:`WitErr` says "the ``err`` case" explicitly; a narrow wrapper of
   ``ResultType.convert_to_c`` lowers it as such and hands every other value
   to the original unchanged.

2. **``list<u8>`` one element at a time.** A byte list is lowered and lifted
   as one ``wasmtime_component_val_t`` per byte, each converted by Python
   code (about a microsecond per byte: 64 KiB of HTTP body ≈ 90 ms). The
   fast path below fills (and reads) the C array of values with two strided
   slice copies of a ``bytearray`` instead. It is checked against the
   original conversion when a runtime loads (:func:`verify_bytes_fast_path`)
   and switched off, with a warning, if the two ever disagree.

3. **Types are read anew for every value.** wasmtime-py's trampoline for
   host functions builds the function's type (its parameters' and result's
   types, a few C calls each) on every call, and each record, list or
   variant value asks its type for its fields or cases again: about 19 µs
   per import call, counted as the guest's time (it runs inside the call,
   outside the host function), and most of an idle tick. :func:`_func_impl`
   is the same trampoline with the types kept per host function (dropped
   when the function is, with its linker), and the type objects keep what
   they read (:data:`_MEMOIZED`; types never change): about 6 µs. Calls
   of exports likewise (:func:`call_export` with types read once per
   runtime).

The patches touch wasmtime-py's private modules (``_ffi``, the linker's
trampoline) and are tied to :data:`WASMTIME_VERSION` (the version
``pyproject.toml`` pins); :func:`install` refuses another version rather than
guess.
"""

from __future__ import annotations

import ctypes
import logging
import os
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Callable, Dict, List, Optional, Tuple

from wasmtime import _ffi as ffi
from wasmtime.component import (
    EnumType,
    FuncType,
    ListType,
    OptionType,
    RecordType,
    ResultType,
    TupleType,
    ValType,
    VariantType,
)
from wasmtime.component._types import VariantLikeType
from wasmtime.component import _linker as linker_module
from wasmtime.component._enter import catch_exceptions, enter_wasm

#: The wasmtime-py version these patches are written for (pinned in pyproject.toml).
WASMTIME_VERSION = "50.0.1"

_log = logging.getLogger("smartlock_host")


@dataclass(frozen=True)
class WitErr:
    """The ``err`` case of a WIT ``result``, returned by a host import.

    ``value`` is the error's Python value (a ``Variant`` for a WIT variant,
    a ``str`` for ``result<_, string>``).
    """

    value: Any


_ConvertToC = Callable[[Any, Any, Any, Any], None]
_ConvertFromC = Callable[[Any, Any], Any]

_original_result_to_c: Optional[_ConvertToC] = None
_original_list_to_c: Optional[_ConvertToC] = None
_original_list_from_c: Optional[_ConvertFromC] = None
_bytes_fast_path = False
_trampoline = False

_VAL_SIZE = ctypes.sizeof(ffi.wasmtime_component_val_t)
_KIND_OFFSET: int = ffi.wasmtime_component_val_t.kind.offset
_OF_OFFSET: int = ffi.wasmtime_component_val_t.of.offset
_U8_KIND: int = ffi.WASMTIME_COMPONENT_U8.value


def installed_version() -> str:
    """The installed wasmtime-py's version."""
    return metadata.version("wasmtime")


def install() -> None:
    """Installs both patches (once per process).

    Raises ``RuntimeError`` when the installed wasmtime-py is not
    :data:`WASMTIME_VERSION`: the patches reach into its private C bindings.
    ``SMARTLOCK_PY_BYTES_FAST_PATH=0`` leaves ``list<u8>`` to wasmtime-py.
    """
    global _original_result_to_c, _original_list_to_c, _original_list_from_c, _bytes_fast_path, _trampoline
    version = installed_version()
    if version != WASMTIME_VERSION:
        raise RuntimeError(
            f"smartlock_host needs wasmtime {WASMTIME_VERSION} (its conversions are patched for it), "
            f"found {version}: install the version pyproject.toml pins"
        )
    if _original_result_to_c is None:
        _original_result_to_c = ResultType.convert_to_c
        setattr(ResultType, "convert_to_c", _result_to_c)
    if _original_list_to_c is None and os.environ.get("SMARTLOCK_PY_BYTES_FAST_PATH", "1") != "0":
        _original_list_to_c = ListType.convert_to_c
        _original_list_from_c = ListType.convert_from_c
        setattr(ListType, "convert_to_c", _list_to_c)
        setattr(ListType, "convert_from_c", _list_from_c)
        _bytes_fast_path = True
    if not _trampoline:
        for cls, names in _MEMOIZED:
            for name in names:
                _memoize(cls, name)
        # Looked up by `LinkerInstance.add_func` when it defines a function.
        setattr(linker_module, "func_impl", _func_impl)
        setattr(linker_module, "func_finalize", _func_finalize)
        _trampoline = True


def bytes_fast_path() -> bool:
    """Whether ``list<u8>`` takes the fast path."""
    return _bytes_fast_path


def _result_to_c(self: ResultType, store: Any, val: Any, ptr: Any) -> None:
    if not isinstance(val, WitErr):
        assert _original_result_to_c is not None
        _original_result_to_c(self, store, val, ptr)
        return
    err_type = self.err
    boxed = None
    if err_type is not None:
        raw = ffi.wasmtime_component_val_t()
        err_type.convert_to_c(store, val.value, ctypes.pointer(raw))
        boxed = ffi.wasmtime_component_val_new(ctypes.byref(raw))
    elif val.value is not None:
        raise TypeError("this result's err case has no payload")
    ptr.contents.kind = ffi.WASMTIME_COMPONENT_RESULT
    ptr.contents.of.result.is_ok = False
    ptr.contents.of.result.val = boxed


def _is_bytes(list_type: ListType) -> bool:
    return list_type._is_bytes()


def _list_to_c(self: ListType, store: Any, val: Any, ptr: Any) -> None:
    if not (_bytes_fast_path and isinstance(val, bytes) and _is_bytes(self)):
        assert _original_list_to_c is not None
        _original_list_to_c(self, store, val, ptr)
        return
    lower_bytes(val, ptr)


def lower_bytes(val: bytes, ptr: Any) -> None:
    """Writes ``val`` as a ``list<u8>`` component value into ``*ptr``."""
    n = len(val)
    raw = ffi.wasmtime_component_vallist_t()
    ffi.wasmtime_component_vallist_new_uninit(raw, n)
    if n:
        buf = bytearray(n * _VAL_SIZE)
        buf[_KIND_OFFSET::_VAL_SIZE] = bytes((_U8_KIND,)) * n
        buf[_OF_OFFSET::_VAL_SIZE] = val
        ctypes.memmove(raw.data, (ctypes.c_char * len(buf)).from_buffer(buf), len(buf))
    ptr.contents.kind = ffi.WASMTIME_COMPONENT_LIST
    ptr.contents.of.list = raw


def _list_from_c(self: ListType, c: Any) -> Any:
    if not (_bytes_fast_path and _is_bytes(self)):
        assert _original_list_from_c is not None
        return _original_list_from_c(self, c)
    return lift_bytes(c)


def lift_bytes(c: Any) -> bytes:
    """Reads (and frees) the ``list<u8>`` component value ``c``."""
    assert c.kind == ffi.WASMTIME_COMPONENT_LIST.value
    values = c.of.list
    try:
        n = int(values.size)
        if n == 0:
            return b""
        raw = ctypes.string_at(values.data, n * _VAL_SIZE)
        if raw[_KIND_OFFSET::_VAL_SIZE].count(_U8_KIND) != n:
            raise TypeError("a list<u8> holds a value that is not a u8")
        return raw[_OF_OFFSET::_VAL_SIZE]
    finally:
        ffi.wasmtime_component_vallist_delete(ctypes.byref(values))


def verify_bytes_fast_path(list_u8: ListType) -> bool:
    """Checks the fast path against wasmtime-py's own conversion for a few
    byte strings (both directions); switches it off when they disagree.
    ``list_u8`` is a ``list<u8>`` type taken from the loaded component."""
    global _bytes_fast_path
    if not _bytes_fast_path:
        return False
    assert _original_list_to_c is not None and _original_list_from_c is not None
    samples = [b"", b"\x00", bytes(range(256)), os.urandom(4099)]
    try:
        for sample in samples:
            slow = ffi.wasmtime_component_val_t()
            _original_list_to_c(list_u8, None, sample, ctypes.pointer(slow))
            fast_read = lift_bytes(slow)
            fast = ffi.wasmtime_component_val_t()
            lower_bytes(sample, ctypes.pointer(fast))
            slow_read = _original_list_from_c(list_u8, fast)
            if fast_read != sample or slow_read != sample:
                raise ValueError("the fast path and wasmtime-py disagree")
    except Exception as e:  # noqa: BLE001 - any disagreement switches it off
        _log.warning("list<u8> fast path switched off: %s", e)
        _bytes_fast_path = False
    return _bytes_fast_path


#: Each host function's parameter and result types, by its slot in
#: wasmtime-py's table of host functions (a slot is reused only after its
#: function is finalized, which drops the entry). A linker serves one
#: component (as `Runtime` uses it), so a function's types never change.
_TYPES: Dict[int, Tuple[List[ValType], Optional[ValType]]] = {}


@ffi.wasmtime_component_func_callback_t  # type: ignore[untyped-decorator]
def _func_impl(idx: Any, context: Any, ty_raw: Any, args: Any, nargs: Any, results: Any, nresults: Any) -> Any:
    def run(store: Any) -> None:
        key = int(idx or 0)
        types = _TYPES.get(key)
        if types is None:
            with FuncType._from_ptr(ty_raw, owner=store) as fty:
                types = ([ty for _, ty in fty.params], fty.result)
            _TYPES[key] = types
        params, result_type = types
        assert len(params) == nargs
        func = linker_module.FUNCTIONS.get(key)
        result = func(store, *[ty.convert_from_c(args[i]) for i, ty in enumerate(params)])
        if result_type is None:
            assert result is None
        else:
            result_type.convert_to_c(store, result, results)

    return catch_exceptions(context, run)


@ctypes.CFUNCTYPE(None, ctypes.c_void_p)  # type: ignore[untyped-decorator]
def _func_finalize(idx: Any) -> None:
    _TYPES.pop(int(idx or 0), None)
    if linker_module.FUNCTIONS:
        linker_module.FUNCTIONS.deallocate(idx or 0)


#: The type properties (and methods without arguments) whose answer a type
#: object keeps: each reads the C type again (and makes new child type
#: objects) on every access otherwise.
_MEMOIZED: Tuple[Tuple[type, Tuple[str, ...]], ...] = (
    (RecordType, ("fields",)),
    (ListType, ("element", "_is_bytes")),
    (VariantType, ("cases",)),
    (OptionType, ("payload",)),
    (ResultType, ("ok", "err")),
    (TupleType, ("elements",)),
    (EnumType, ("names",)),
    (VariantLikeType, ("_tagged",)),
)


def _memoize(cls: type, name: str) -> None:
    original = cls.__dict__.get(name)
    read = original.fget if isinstance(original, property) else original
    if not callable(read):
        raise RuntimeError(f"wasmtime-py's {cls.__name__}.{name} is not what smartlock_host expects")
    slot = "_smartlock_" + name

    def kept(self: Any) -> Any:
        try:
            return self.__dict__[slot]
        except KeyError:
            value = self.__dict__[slot] = read(self)
            return value

    setattr(cls, name, property(kept, doc=original.__doc__) if isinstance(original, property) else kept)


#: An export's parameter types and result type, read once per runtime.
ExportTypes = Tuple[List[ValType], Optional[ValType]]


def export_types(func: Any, store: Any) -> ExportTypes:
    """The parameter and result types of an export (``wasmtime.component.Func``)."""
    fty = func.type(store)
    return [ty for _, ty in fty.params], fty.result


def call_export(func: Any, store: Any, types: ExportTypes, args: Tuple[Any, ...]) -> Any:
    """``Func.__call__`` with the export's types given (read once by the caller)."""
    params, result_type = types
    if len(args) != len(params):
        raise TypeError(f"wrong number of parameters provided: given {len(args)}, expected {len(params)}")
    values = (ffi.wasmtime_component_val_t * len(args))()
    lowered = 0
    try:
        for ty, value in zip(params, args):
            ty.convert_to_c(store, value, ctypes.pointer(values[lowered]))
            lowered += 1
        result = ffi.wasmtime_component_val_t() if result_type is not None else None
        result_ref = ctypes.byref(result) if result is not None else None

        def run() -> Any:
            return ffi.wasmtime_component_func_call(
                ctypes.byref(func._func), store._context(), values, lowered, result_ref, 0 if result is None else 1
            )

        enter_wasm(run)
        if result_type is None or result is None:
            return None
        return result_type.convert_from_c(result)
    finally:
        for i in range(lowered):
            ffi.wasmtime_component_val_delete(ctypes.byref(values[i]))
