"""OAuth end to end against the sandbox's OAuth server, through the Python binding: PKCE
authorization, code exchange, Bearer calls, single-flight refresh (on expiry and after a
401) with the token store callback, revoke and ReauthorizationRequired."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, List, Tuple

import pytest

from klaviyo_bridge import AsyncClient, Client, ConfigurationError, ReauthorizationRequired, oauth

CLIENT_ID = "sandbox-client"
CLIENT_SECRET = "sandbox-client-secret-not-real"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _app(sandbox: Any) -> oauth.OAuthApp:
    return oauth.OAuthApp(CLIENT_ID, CLIENT_SECRET, "http://127.0.0.1:9/callback", host=sandbox.url)


def _approve(url: str) -> Tuple[str, str]:
    """Follows the authorize URL like a browser whose user approves; returns (code, state)."""
    with pytest.raises(urllib.error.HTTPError) as redirect:
        urllib.request.build_opener(_NoRedirect).open(url)
    assert redirect.value.code == 302
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(redirect.value.headers["Location"]).query))
    return query["code"], query["state"]


def _authorize(app: oauth.OAuthApp) -> oauth.Tokens:
    request = app.authorization_url(["accounts:read", "events:write"])
    code, state = _approve(request.url)
    assert state == request.state
    return app.exchange_code(code, request.code_verifier)


def test_pkce_flow_then_bearer_calls_with_no_secret_in_reprs(sandbox: Any) -> None:
    app = _app(sandbox)
    request = app.authorization_url(["accounts:read"])
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(request.url).query))
    assert (query["code_challenge_method"], query["scope"], query["client_id"]) == ("S256", "accounts:read", CLIENT_ID)
    assert 43 <= len(request.code_verifier) <= 128 and request.code_verifier not in request.url
    code, _ = _approve(request.url)
    tokens = app.exchange_code(code, request.code_verifier)
    assert tokens.expires_at > time.time() + 3000
    assert tokens.access_token not in repr(tokens) and CLIENT_SECRET not in repr(app)

    client = Client(oauth=app, tokens=tokens, base_url=sandbox.url)
    assert client.accounts.current().id == "SANDBX"
    assert sandbox.requests()[-1]["headers"]["authorization"] == "Bearer <redacted>"
    assert "auth=oauth" in repr(client)
    assert sandbox.state()["oauth"]["exchanges"] == 1


def test_fifty_threads_with_an_expired_token_cause_one_refresh_and_one_save(sandbox: Any) -> None:
    app = _app(sandbox)
    fresh = _authorize(app)
    expired = oauth.Tokens(fresh.access_token, fresh.refresh_token, expires_at=time.time() - 1)
    saved: List[oauth.Tokens] = []
    client = Client(oauth=app, tokens=expired, base_url=sandbox.url, on_token_refresh=saved.append, rate_limit=False)
    with ThreadPoolExecutor(max_workers=50) as pool:
        ids = list(pool.map(lambda _: client.accounts.current().id, range(50)))
    assert ids == ["SANDBX"] * 50
    assert len(saved) == 1 and sandbox.state()["oauth"]["refreshes"] == 1
    assert saved[0].access_token != fresh.access_token and saved[0].refresh_token == fresh.refresh_token
    assert saved[0].expires_at > time.time() + 3000


def test_fifty_async_calls_rejected_with_a_stale_token_cause_one_refresh(sandbox: Any) -> None:
    app = _app(sandbox)
    fresh = _authorize(app)
    # The store says the token is good for an hour; the server no longer accepts it.
    stale = oauth.Tokens("sbx_at_stale_token_value", fresh.refresh_token, expires_at=time.time() + 3600)
    saved: List[oauth.Tokens] = []

    async def save(tokens: oauth.Tokens) -> None:
        # An async store (say, an async database driver) is awaited on the caller's loop.
        await asyncio.sleep(0)
        saved.append(tokens)

    async def main() -> List[Any]:
        client = AsyncClient(oauth=app, tokens=stale, base_url=sandbox.url, on_token_refresh=save, rate_limit=False)
        return await asyncio.gather(*(client.accounts.current() for _ in range(50)))

    accounts = asyncio.run(main())
    assert [a.id for a in accounts] == ["SANDBX"] * 50
    assert len(saved) == 1 and sandbox.state()["oauth"]["refreshes"] == 1
    statuses = [r["status"] for r in sandbox.requests() if r["operation"] == "get_accounts"]
    assert statuses.count(401) >= 1 and statuses.count(200) == 50


def test_revoked_grant_raises_reauthorization_required(sandbox: Any) -> None:
    app = _app(sandbox)
    tokens = _authorize(app)
    assert tokens.refresh_token is not None
    app.revoke(tokens.refresh_token)
    with pytest.raises(ReauthorizationRequired):
        app.refresh(tokens.refresh_token)
    expired = oauth.Tokens(tokens.access_token, tokens.refresh_token, expires_at=None)
    with pytest.raises(ReauthorizationRequired) as raised:
        Client(oauth=app, tokens=expired, base_url=sandbox.url).accounts.current()
    assert raised.value.code == "reauthorization_required"
    assert tokens.refresh_token not in str(raised.value)


def test_async_exchange_and_a_failing_token_store(sandbox: Any) -> None:
    app = _app(sandbox)
    request = app.authorization_url(["accounts:read"])
    code, _ = _approve(request.url)
    tokens = asyncio.run(app.aexchange_code(code, request.code_verifier))
    expired = oauth.Tokens(tokens.access_token, tokens.refresh_token, expires_at=None)

    def broken_store(_: oauth.Tokens) -> None:
        raise OSError("database is down")

    client = Client(oauth=app, tokens=expired, base_url=sandbox.url, on_token_refresh=broken_store)
    with pytest.raises(ConfigurationError, match="database is down"):
        client.accounts.current()
    # The refreshed tokens are kept in memory even though saving failed.
    assert client.accounts.current().id == "SANDBX"
    assert sandbox.state()["oauth"]["refreshes"] == 1


def test_oauth_client_needs_app_and_tokens() -> None:
    with pytest.raises(ConfigurationError, match="both oauth="):
        Client(oauth=oauth.OAuthApp("id", "secret", "https://example.com/cb"))


def test_an_async_token_store_needs_the_async_client(sandbox: Any) -> None:
    app = _app(sandbox)
    tokens = _authorize(app)

    async def save(_: oauth.Tokens) -> None:
        pass

    client = Client(oauth=app, tokens=oauth.Tokens(tokens.access_token, tokens.refresh_token), base_url=sandbox.url, on_token_refresh=save)
    with pytest.raises(ConfigurationError, match="coroutine outside an event loop"):
        client.accounts.current()
