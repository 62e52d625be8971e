"""klaviyo_bridge: a Klaviyo API client on a Rust core.

    from klaviyo_bridge import Client
    client = Client()  # KLAVIYO_API_KEY from the environment or a .env file
    client.events.create(email="a@b.com", metric="Placed Order", properties={"value": 99.99})
    for profile in client.profiles.list(max_items=100):
        print(profile.id, profile["email"])

Logging: the core's request logs go to the `klaviyo_bridge` logger (DEBUG: one record per
request with operation, attempt, status and timing; never a credential). Levels are cached;
after changing them at run time, call `klaviyo_bridge.refresh_logging()`.

Everything here forwards to the native module; the behaviour (rate limiting, retries,
pagination, errors) lives in the Rust core.
"""

from __future__ import annotations

import atexit
import os
import weakref
from typing import Any, Callable, Dict, Optional, Union

from . import _operations, errors, oauth, results, webhooks
from ._native import DEFAULT_REVISION, Export, NativeClient as _NativeClient, PageCursor as Pager, Resource, Tracker, __version__, refresh_logging
from .results import BulkFailure, BulkReport, JobRef, JobStatus, SyncReport, TrackerStats, TrackFailure

# One native pager serves `for`, `async for` and `.pages()`.
AsyncPager = PagePager = Pager
from .errors import (
    AuthenticationError,
    BulkPartialError,
    ConfigurationError,
    ConflictError,
    DecodeError,
    InvalidInputError,
    KlaviyoError,
    NetworkError,
    NotFoundError,
    PermissionDeniedError,
    QueueFullError,
    RateLimitError,
    ReauthorizationRequired,
    ServerError,
    TimeoutError,
    ValidationError,
    WebhookVerificationError,
)


# Trackers still open, closed (flushed) at interpreter exit.
_open_trackers: "weakref.WeakSet[Tracker]" = weakref.WeakSet()


@atexit.register
def _close_trackers() -> None:
    for tracker in list(_open_trackers):
        if not tracker.closed:
            try:
                tracker.close()
            except KlaviyoError as e:
                import sys

                print(f"klaviyo_bridge: tracker not fully flushed at exit: {e}", file=sys.stderr)


# Methods that return a pager (iterated with `async for`), not an awaitable.
_RETURNS_PAGER = frozenset({"list", "profiles", "import_errors"})


class _Coroutines:
    """Wraps an async namespace so that each call is a coroutine: the native call then runs
    inside the event loop, and `asyncio.run(...)`, `create_task(...)` accept it."""

    __slots__ = ("_native",)

    def __init__(self, native: Any) -> None:
        self._native = native

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._native, name)
        if name in _RETURNS_PAGER or not callable(method):
            return method

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await method(*args, **kwargs)

        call.__name__ = name
        call.__doc__ = method.__doc__
        call.__wrapped__ = method  # type: ignore[attr-defined]  # inspect.signature shows the native parameters
        return call

    def __repr__(self) -> str:
        return f"<async {type(self._native).__name__}>"


class _Catalog:
    """`catalog.items`, `catalog.variants`, `catalog.categories`."""

    def __init__(self, items: Any, variants: Any, categories: Any) -> None:
        self.items = items
        self.variants = variants
        self.categories = categories


class _BaseClient:
    _asynchronous = False

    def __init__(
        self,
        api_key: Optional[str] = None,
        *,
        base_url: Optional[str] = None,
        revision: Optional[str] = None,
        timeout: Optional[float] = None,
        connect_timeout: Optional[float] = None,
        max_retries: Optional[int] = None,
        max_delay: Optional[float] = None,
        rate_limit_wait: Optional[float] = None,
        rate_limit: bool = True,
        rate_limit_store: Optional[str] = None,
        public_key: Optional[str] = None,
        access_token: Optional[str] = None,
        user_agent_suffix: Optional[str] = None,
        oauth: Optional["oauth.OAuthApp"] = None,
        tokens: Optional["oauth.Tokens"] = None,
        on_token_refresh: Optional[Callable[["oauth.Tokens"], Any]] = None,
        refresh_margin: Optional[float] = None,
        sandbox: Optional[Any] = None,
    ) -> None:
        # A klaviyo_bridge.testing.Sandbox supplies the address and key it serves.
        if sandbox is not None:
            api_key = api_key if api_key is not None or access_token is not None else sandbox.api_key
            base_url = base_url if base_url is not None else sandbox.url
            public_key = public_key if public_key is not None else sandbox.public_key
        native = _NativeClient(
            api_key,
            base_url=base_url,
            revision=revision,
            timeout=timeout,
            connect_timeout=connect_timeout,
            max_retries=max_retries,
            max_delay=max_delay,
            rate_limit_wait=rate_limit_wait,
            rate_limit=rate_limit,
            rate_limit_store=rate_limit_store,
            public_key=public_key,
            access_token=access_token,
            user_agent_suffix=user_agent_suffix,
            oauth=None if oauth is None else oauth._native,
            tokens=tokens,
            on_token_refresh=on_token_refresh,
            refresh_margin=refresh_margin,
            asynchronous=self._asynchronous,
        )
        self._native = native
        wrap = self._wrap
        # Namespaces of the spec's tags are the generated `_operations` classes (cached
        # properties, listed by help()); `catalog` and `jobs` hold hand-written helpers only.
        self.catalog = _Catalog(wrap(native.catalog_items), wrap(native.catalog_variants), wrap(native.catalog_categories))
        self.jobs = wrap(native.jobs)
        self._request = wrap(native).request

    def request(
        self,
        operation_id: str,
        *,
        path: Optional[Dict[str, str]] = None,
        query: Optional[Dict[str, Any]] = None,
        body: Optional[Dict[str, Any]] = None,
        timeout: Optional[float] = None,
        revision: Optional[str] = None,
    ) -> Any:
        """Calls any operation by id, untyped: the response document as a dict (or None).
        Prefer the typed namespace methods (`client.campaigns.get_campaigns(...)`)."""
        return self._request(operation_id, path=path, query=query, body=body, timeout=timeout, revision=revision)

    def _wrap(self, namespace: Any) -> Any:
        return _Coroutines(namespace) if self._asynchronous else namespace

    # The namespaces whose hand-written verbs (create, list, upsert, bulk helpers...) sit
    # beside the generated operations.
    _HAND_VERBS = frozenset({"events", "profiles", "lists", "metrics", "catalogs", "webhooks", "accounts", "data_privacy"})

    def _verbs(self, namespace: str) -> Any:
        if namespace not in self._HAND_VERBS:
            return None
        return self._wrap(getattr(self._native, namespace))

    def tracker(
        self,
        *,
        flush_at: Optional[int] = None,
        flush_interval: Optional[float] = None,
        max_queue: Optional[int] = None,
        max_batch_bytes: Optional[int] = None,
        when_full: Optional[str] = None,
        max_in_flight: Optional[int] = None,
        spool_dir: Optional[Union[str, "os.PathLike[str]"]] = None,
        queue: Optional[str] = None,
        claim_after: Optional[float] = None,
        on_error: Optional[Callable[[Dict[str, Any]], None]] = None,
    ) -> Tracker:
        """A background event tracker: `track(...)` queues and returns at once; events go out
        in bulk jobs. Closed (flushed, up to 30 s) at interpreter exit, or use `with`.
        `queue="redis://host:port/db"` keeps events in a Redis stream that every process of
        the account delivers from (see the README's "Shared tracker queue")."""
        tracker = self._native.tracker(
            flush_at=flush_at,
            flush_interval=flush_interval,
            max_queue=max_queue,
            max_batch_bytes=max_batch_bytes,
            when_full=when_full,
            max_in_flight=max_in_flight,
            spool_dir=None if spool_dir is None else os.fspath(spool_dir),
            queue=queue,
            claim_after=claim_after,
            on_error=on_error,
        )
        _open_trackers.add(tracker)
        return tracker

    def export(
        self,
        stream: str,
        *,
        since: Optional[str] = None,
        state: Optional[Union[str, "os.PathLike[str]"]] = None,
        concurrency: Optional[int] = None,
        safety_margin: Optional[float] = None,
        conversion_metric: Optional[str] = None,
        lookback: Optional[float] = None,
        events_lookback: Optional[float] = None,
    ) -> Export:
        """One stream's records as they are read (`"profiles"`, `"events"`, ... as `--tool
        sync` names them): `pyarrow.table(export)`, `polars.from_arrow(export)` or duckdb read
        its Arrow batches without a copy; `for record in export` (and `async for`) gives dicts.
        Reads from `state`'s bookmark (or `since`, ISO 8601) to now minus `safety_margin`
        seconds; the bookmark is saved to `state` once the export is read to its end. The
        campaign and flow reports count conversions of `conversion_metric` (a metric id;
        default: the account's "Placed Order"). Report streams re-read `lookback` seconds
        before their bookmark (default 7 days: their numbers change for days); `events`
        re-reads `events_lookback` seconds (default 0), for events sent with a past time."""
        return self._native.export(  # type: ignore[no-any-return]
            stream,
            since=since,
            state=None if state is None else os.fspath(state),
            concurrency=concurrency,
            safety_margin=safety_margin,
            conversion_metric=conversion_metric,
            lookback=lookback,
            events_lookback=events_lookback,
        )

    @property
    def base_url(self) -> str:
        return str(self._native.base_url)

    @property
    def revision(self) -> str:
        return str(self._native.revision)

    @property
    def rate_limit_status(self) -> Optional[dict]:
        """The latest RateLimit-* reading: {"operation": ..., "headers": {...}}, or None."""
        return self._native.rate_limit_status  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return repr(self._native)


class Client(_BaseClient, _operations.Namespaces):
    """Blocking client. Calls release the GIL while they wait, so threads run in parallel."""

    def close(self) -> None:
        """Nothing to release eagerly: connections close when the client is collected."""

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_BaseClient, _operations.AsyncNamespaces):
    """asyncio client: every call returns an awaitable; lists support `async for`."""

    _asynchronous = True

    async def aclose(self) -> None:
        """Nothing to release eagerly: connections close when the client is collected."""

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


__all__ = [
    "Client",
    "AsyncClient",
    "Resource",
    "Pager",
    "AsyncPager",
    "results",
    *results.__all__,
    "Tracker",
    "Export",
    "webhooks",
    "oauth",
    "refresh_logging",
    "DEFAULT_REVISION",
    "__version__",
]
__all__ += errors.__all__
