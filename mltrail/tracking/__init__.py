"""Tracking: the fluent API, the client and the choice of store."""

from mltrail.tracking.client import Client, MlflowClient

__all__ = ["Client", "MlflowClient"]
