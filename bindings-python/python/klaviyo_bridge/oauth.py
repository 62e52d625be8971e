"""OAuth 2.0 for apps installed on many Klaviyo accounts.

    from klaviyo_bridge import Client, oauth

    app = oauth.OAuthApp(CLIENT_ID, CLIENT_SECRET, "https://app.example.com/callback")
    request = app.authorization_url(["profiles:read", "events:write"])
    # send the user to request.url; keep request.state and request.code_verifier
    tokens = app.exchange_code(code_from_redirect, request.code_verifier)
    client = Client(oauth=app, tokens=tokens, on_token_refresh=save_tokens)

The client refreshes the access token when less than `refresh_margin` (60 s) remains and
once after a 401, one refresh at a time however many calls are waiting; each refresh calls
`on_token_refresh(tokens)` so you can persist them: a plain function runs on a worker
thread; with AsyncClient it may be `async def`, awaited on the caller's event loop. A revoked or expired grant raises ReauthorizationRequired. Async code awaits
`aexchange_code`, `arefresh` and `arevoke`.
"""

from __future__ import annotations

from typing import Optional, Sequence

from ._native import AuthorizationRequest, OAuthApp as _NativeOAuthApp, Tokens


class OAuthApp:
    """An OAuth app's settings; `host` points every endpoint elsewhere (e.g. a sandbox)."""

    __slots__ = ("_native",)

    def __init__(self, client_id: str, client_secret: str, redirect_uri: str, *, host: Optional[str] = None) -> None:
        self._native = _NativeOAuthApp(client_id, client_secret, redirect_uri, host=host)

    def authorization_url(self, scopes: Sequence[str]) -> AuthorizationRequest:
        """The authorize URL (PKCE S256, random state) for `scopes`."""
        return self._native.authorization_url(list(scopes))

    def exchange_code(self, code: str, code_verifier: str) -> Tokens:
        """Exchanges the redirect's code (with the request's verifier) for Tokens."""
        return self._native.exchange_code(code, code_verifier)

    async def aexchange_code(self, code: str, code_verifier: str) -> Tokens:
        return await self._native.aexchange_code(code, code_verifier)

    def refresh(self, refresh_token: str) -> Tokens:
        """New Tokens from a refresh token; ReauthorizationRequired if the grant is gone."""
        return self._native.refresh(refresh_token)

    async def arefresh(self, refresh_token: str) -> Tokens:
        return await self._native.arefresh(refresh_token)

    def revoke(self, token: str) -> None:
        """Revokes a token (a refresh token ends the whole grant)."""
        self._native.revoke(token)

    async def arevoke(self, token: str) -> None:
        await self._native.arevoke(token)

    def __repr__(self) -> str:
        return repr(self._native)

__all__ = ["OAuthApp", "AuthorizationRequest", "Tokens"]
