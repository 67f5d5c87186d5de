"""Milvus: the collection (milvus.py), its schema, rows and filters, the client's retry policy and
what only a milvus-lite file needs (lite.py)."""

from .calls import GRPC_OPTIONS
from .filters import expression, scope_filter
from .milvus import MilvusStore
from .schema import server_version

__all__ = ["GRPC_OPTIONS", "MilvusStore", "expression", "scope_filter", "server_version"]
