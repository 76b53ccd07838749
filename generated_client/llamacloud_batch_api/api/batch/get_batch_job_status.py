from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.batch_get_status_response import BatchGetStatusResponse
from ...models.error_detail import ErrorDetail
from ...types import UNSET, Response, Unset


def _get_kwargs(
    job_id: str,
    *,
    organization_id: None | str | Unset = UNSET,
    project_id: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_organization_id: None | str | Unset
    if isinstance(organization_id, Unset):
        json_organization_id = UNSET
    else:
        json_organization_id = organization_id
    params["organization_id"] = json_organization_id

    json_project_id: None | str | Unset
    if isinstance(project_id, Unset):
        json_project_id = UNSET
    else:
        json_project_id = project_id
    params["project_id"] = json_project_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/beta/batch-processing/{job_id}".format(
            job_id=quote(str(job_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> BatchGetStatusResponse | ErrorDetail | None:
    if response.status_code == 200:
        response_200 = BatchGetStatusResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorDetail.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorDetail.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorDetail.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ErrorDetail.from_dict(response.json())

        return response_404

    if response.status_code == 422:
        response_422 = ErrorDetail.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = ErrorDetail.from_dict(response.json())

        return response_429

    if 500 <= response.status_code <= 599:
        response_5xx = ErrorDetail.from_dict(response.json())

        return response_5xx

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[BatchGetStatusResponse | ErrorDetail]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    organization_id: None | str | Unset = UNSET,
    project_id: None | str | Unset = UNSET,
) -> Response[BatchGetStatusResponse | ErrorDetail]:
    """Get batch job status

     Reads how far a batch job has come: its status, the percentage of
    items handled, the item counters and the job's timestamps.

    Args:
        job_id (str):
        organization_id (None | str | Unset):
        project_id (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BatchGetStatusResponse | ErrorDetail]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        organization_id=organization_id,
        project_id=project_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    organization_id: None | str | Unset = UNSET,
    project_id: None | str | Unset = UNSET,
) -> BatchGetStatusResponse | ErrorDetail | None:
    """Get batch job status

     Reads how far a batch job has come: its status, the percentage of
    items handled, the item counters and the job's timestamps.

    Args:
        job_id (str):
        organization_id (None | str | Unset):
        project_id (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BatchGetStatusResponse | ErrorDetail
    """

    return sync_detailed(
        job_id=job_id,
        client=client,
        organization_id=organization_id,
        project_id=project_id,
    ).parsed


async def asyncio_detailed(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    organization_id: None | str | Unset = UNSET,
    project_id: None | str | Unset = UNSET,
) -> Response[BatchGetStatusResponse | ErrorDetail]:
    """Get batch job status

     Reads how far a batch job has come: its status, the percentage of
    items handled, the item counters and the job's timestamps.

    Args:
        job_id (str):
        organization_id (None | str | Unset):
        project_id (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[BatchGetStatusResponse | ErrorDetail]
    """

    kwargs = _get_kwargs(
        job_id=job_id,
        organization_id=organization_id,
        project_id=project_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    job_id: str,
    *,
    client: AuthenticatedClient | Client,
    organization_id: None | str | Unset = UNSET,
    project_id: None | str | Unset = UNSET,
) -> BatchGetStatusResponse | ErrorDetail | None:
    """Get batch job status

     Reads how far a batch job has come: its status, the percentage of
    items handled, the item counters and the job's timestamps.

    Args:
        job_id (str):
        organization_id (None | str | Unset):
        project_id (None | str | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        BatchGetStatusResponse | ErrorDetail
    """

    return (
        await asyncio_detailed(
            job_id=job_id,
            client=client,
            organization_id=organization_id,
            project_id=project_id,
        )
    ).parsed
