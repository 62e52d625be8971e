"""A local Klaviyo for your tests, from the installed package (no cargo, no binary, no account).

    from klaviyo_bridge.testing import Sandbox

    with Sandbox(rate_limits="off") as sandbox:
        client = Client(sandbox=sandbox)
        client.profiles.upsert(email="a@example.com")
        assert sandbox.state()["profiles"] == 1

With pytest, the `klaviyo_sandbox` fixture (registered by this package) gives a fresh sandbox
per test with rate limits off; `klaviyo_sandbox_client` a `Client` pointed at it.
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional

from klaviyo_bridge import AsyncClient, Client
from klaviyo_bridge._native import SandboxServer

__all__ = ["Sandbox"]


class Sandbox:
    """A running klaviyo-sandbox on a free 127.0.0.1 port, inside this process.

    rate_limits: "real" (the spec's), "off", or "scale=N". latency: seconds added to every
    response. faults: e.g. "429:0.05,500:0.02,reset:0.01" (seeded by `seed`). seed_profiles /
    seed_events: deterministic data for load tests. seed_data="demo": a ready-made account
    (profiles with consent, lists, catalog, six months of events, sent campaigns with
    engagement, a flow, templates, a segment, coupons). The server stops with `stop()`, at the end
    of a `with` block, or when the object is collected.
    """

    def __init__(
        self,
        *,
        api_key: Optional[str] = None,
        rate_limits: str = "real",
        latency: float = 0.0,
        faults: str = "",
        seed: int = 0,
        seed_profiles: int = 0,
        seed_events: int = 0,
        seed_data: Optional[str] = None,
        request_log: Optional[int] = None,
    ) -> None:
        self._server = SandboxServer(
            api_key=api_key, rate_limits=rate_limits, latency=latency, faults=faults, seed=seed,
            seed_profiles=seed_profiles, seed_events=seed_events, seed_data=seed_data, request_log=request_log,
        )

    @property
    def url(self) -> str:
        """The base URL to give clients (`base_url=`, `KLAVIYO_BASE_URL`)."""
        return str(self._server.url)

    @property
    def api_key(self) -> str:
        """The key clients must send."""
        return str(self._server.api_key)

    @property
    def public_key(self) -> str:
        """The account's public key (`company_id` of the `/client/*` operations)."""
        return str(self._server.public_key)

    def example_body(self, operation_id: str) -> Optional[Dict[str, Any]]:
        """A request body for the operation that fits its schema, every required field filled
        (placeholders where real values, such as ids, are wanted); None if it takes none."""
        return self._server.example_body(operation_id)  # type: ignore[no-any-return]

    def client(self, **options: Any) -> Client:
        """A blocking client pointed at this sandbox."""
        return Client(sandbox=self, **options)

    def async_client(self, **options: Any) -> AsyncClient:
        """An asyncio client pointed at this sandbox."""
        return AsyncClient(sandbox=self, **options)

    def state(self) -> Dict[str, Any]:
        """Counts per resource, events per metric, jobs and webhook deliveries."""
        return self._server.state()  # type: ignore[no-any-return]

    def settled(self) -> Dict[str, Any]:
        """The state once every bulk job is complete and every webhook delivered."""
        return self._server.settled()  # type: ignore[no-any-return]

    def requests(self) -> List[Dict[str, Any]]:
        """The latest requests received, credentials redacted."""
        return self._server.requests()  # type: ignore[no-any-return]

    def reset(self) -> None:
        """Empties the store and the request log."""
        self._server.reset()

    def issue_token(self) -> str:
        """A Bearer token the sandbox accepts like the API key (`Client(access_token=...)`)."""
        return str(self._server.issue_token())

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"Sandbox(url={self.url!r})"


try:
    import pytest
except ImportError:  # pytest is optional: the fixtures exist only where it is installed.
    pass
else:

    @pytest.fixture
    def klaviyo_sandbox() -> Iterator[Sandbox]:
        """A fresh sandbox for one test, rate limits off."""
        with Sandbox(rate_limits="off") as sandbox:
            yield sandbox

    @pytest.fixture
    def klaviyo_sandbox_client(klaviyo_sandbox: Sandbox) -> Client:
        """A blocking client pointed at `klaviyo_sandbox`."""
        return klaviyo_sandbox.client()

    __all__ += ["klaviyo_sandbox", "klaviyo_sandbox_client"]
