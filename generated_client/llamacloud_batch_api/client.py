"""The clients every operation takes: where the API is, how to reach it, and the httpx
clients (sync and async) built from that on first use."""

import ssl
from typing import Any, Self

import httpx


class _BaseClient:
    """What both clients hold. Keyword arguments, used to build the httpx clients:

        ``base_url``: the API's root URL; every request goes to a path below it.
        ``cookies``: cookies sent with every request.
        ``headers``: headers sent with every request.
        ``timeout``: how long a request may take before httpx raises
            ``httpx.TimeoutException``.
        ``verify_ssl``: whether to check the server's TLS certificate (keep True outside tests).
        ``follow_redirects``: whether to follow redirects (default False).
        ``httpx_args``: further arguments for the ``httpx.Client`` and ``httpx.AsyncClient``.

    Attributes:
        raise_on_unexpected_status: raise ``errors.UnexpectedStatus`` when the API answers
            with a status the OpenAPI document does not list.
    """

    __slots__ = (
        "__weakref__",
        "raise_on_unexpected_status",
        "_base_url",
        "_cookies",
        "_headers",
        "_timeout",
        "_verify_ssl",
        "_follow_redirects",
        "_httpx_args",
        "_client",
        "_async_client",
    )

    def __init__(
        self,
        base_url: str,
        *,
        raise_on_unexpected_status: bool = False,
        cookies: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
        verify_ssl: str | bool | ssl.SSLContext = True,
        follow_redirects: bool = False,
        httpx_args: dict[str, Any] | None = None,
    ) -> None:
        self.raise_on_unexpected_status = raise_on_unexpected_status
        self._base_url = base_url
        self._cookies: dict[str, str] = {} if cookies is None else cookies
        self._headers: dict[str, str] = {} if headers is None else headers
        self._timeout = timeout
        self._verify_ssl = verify_ssl
        self._follow_redirects = follow_redirects
        self._httpx_args: dict[str, Any] = {} if httpx_args is None else httpx_args
        self._client: httpx.Client | None = None
        self._async_client: httpx.AsyncClient | None = None

    def _arguments(self) -> dict[str, Any]:
        """The constructor's arguments that would rebuild this client's settings."""
        return {
            "base_url": self._base_url,
            "raise_on_unexpected_status": self.raise_on_unexpected_status,
            "cookies": self._cookies,
            "headers": self._headers,
            "timeout": self._timeout,
            "verify_ssl": self._verify_ssl,
            "follow_redirects": self._follow_redirects,
            "httpx_args": self._httpx_args,
        }

    def _replace(self, **changes: Any) -> Self:
        """A new client with these settings changed; it builds its own httpx clients."""
        return type(self)(**{**self._arguments(), **changes})

    def _request_headers(self) -> dict[str, str]:
        """The headers the httpx clients send with every request."""
        return self._headers

    def _httpx_arguments(self) -> dict[str, Any]:
        return {
            "base_url": self._base_url,
            "cookies": self._cookies,
            "headers": self._request_headers(),
            "timeout": self._timeout,
            "verify": self._verify_ssl,
            "follow_redirects": self._follow_redirects,
            **self._httpx_args,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._base_url!r})"

    def with_headers(self, headers: dict[str, str]) -> Self:
        """A client like this one that also sends these headers (this one sends them too)."""
        if self._client is not None:
            self._client.headers.update(headers)
        if self._async_client is not None:
            self._async_client.headers.update(headers)
        return self._replace(headers={**self._headers, **headers})

    def with_cookies(self, cookies: dict[str, str]) -> Self:
        """A client like this one that also sends these cookies (this one sends them too)."""
        if self._client is not None:
            self._client.cookies.update(cookies)
        if self._async_client is not None:
            self._async_client.cookies.update(cookies)
        return self._replace(cookies={**self._cookies, **cookies})

    def with_timeout(self, timeout: httpx.Timeout) -> Self:
        """A client like this one with another timeout (this one takes it too)."""
        if self._client is not None:
            self._client.timeout = timeout
        if self._async_client is not None:
            self._async_client.timeout = timeout
        return self._replace(timeout=timeout)

    def set_httpx_client(self, client: httpx.Client) -> Self:
        """Use this httpx.Client; its own cookies, headers and timeout then apply."""
        self._client = client
        return self

    def get_httpx_client(self) -> httpx.Client:
        """The httpx.Client requests go through, built on first use."""
        if self._client is None:
            self._client = httpx.Client(**self._httpx_arguments())
        return self._client

    def __enter__(self) -> Self:
        """Enters the httpx.Client's context (which can be entered only once)."""
        self.get_httpx_client().__enter__()
        return self

    def __exit__(self, *args: Any, **kwargs: Any) -> None:
        """Exits the httpx.Client's context, closing its connections."""
        self.get_httpx_client().__exit__(*args, **kwargs)

    def set_async_httpx_client(self, async_client: httpx.AsyncClient) -> Self:
        """Use this httpx.AsyncClient; its own cookies, headers and timeout then apply."""
        self._async_client = async_client
        return self

    def get_async_httpx_client(self) -> httpx.AsyncClient:
        """The httpx.AsyncClient requests go through, built on first use."""
        if self._async_client is None:
            self._async_client = httpx.AsyncClient(**self._httpx_arguments())
        return self._async_client

    async def __aenter__(self) -> Self:
        """Enters the httpx.AsyncClient's context (which can be entered only once)."""
        await self.get_async_httpx_client().__aenter__()
        return self

    async def __aexit__(self, *args: Any, **kwargs: Any) -> None:
        """Exits the httpx.AsyncClient's context, closing its connections."""
        await self.get_async_httpx_client().__aexit__(*args, **kwargs)


class Client(_BaseClient):
    """A client for operations that need no authentication."""

    __slots__ = ()


class AuthenticatedClient(_BaseClient):
    """A client for secured operations: it sends ``token`` in a header on every request.

    Attributes:
        token: the token (never shown by ``repr``).
        prefix: what goes before the token in the header, or "" for the bare token.
        auth_header_name: the header's name.
    """

    __slots__ = ("token", "prefix", "auth_header_name")

    def __init__(
        self,
        base_url: str,
        token: str,
        prefix: str = "Bearer",
        auth_header_name: str = "Authorization",
        *,
        raise_on_unexpected_status: bool = False,
        cookies: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
        verify_ssl: str | bool | ssl.SSLContext = True,
        follow_redirects: bool = False,
        httpx_args: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            base_url,
            raise_on_unexpected_status=raise_on_unexpected_status,
            cookies=cookies,
            headers=headers,
            timeout=timeout,
            verify_ssl=verify_ssl,
            follow_redirects=follow_redirects,
            httpx_args=httpx_args,
        )
        self.token = token
        self.prefix = prefix
        self.auth_header_name = auth_header_name

    def _arguments(self) -> dict[str, Any]:
        return {
            **super()._arguments(),
            "token": self.token,
            "prefix": self.prefix,
            "auth_header_name": self.auth_header_name,
        }

    def _request_headers(self) -> dict[str, str]:
        credentials = f"{self.prefix} {self.token}" if self.prefix else self.token
        return {**self._headers, self.auth_header_name: credentials}

    def __repr__(self) -> str:
        return (
            f"AuthenticatedClient(base_url={self._base_url!r}, token=<hidden>, "
            f"prefix={self.prefix!r}, auth_header_name={self.auth_header_name!r})"
        )
