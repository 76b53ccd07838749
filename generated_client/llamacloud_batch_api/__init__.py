"""A client library for accessing LlamaCloud Batch Processing (job status)"""

from .client import AuthenticatedClient, Client

__all__ = (
    "AuthenticatedClient",
    "Client",
)
