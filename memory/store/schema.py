"""The collection's fixed schema and indexes (milvus-lite cannot alter a collection later), and
which servers can hold it whole.

- A collection with a partition key makes every filter of milvus-lite 2.5.1 fail
  ("primary_key_offset == -1"), so `user_id` is the partition key on a Milvus server only.
- Hybrid search needs a BM25 field and function, which Milvus has since 2.5: an older server
  gets a vector-only collection (creating one with BM25 there failed halfway and left a
  collection whose next load crashed the server).
"""

from __future__ import annotations

import re
from typing import Any

from pymilvus import DataType, Function, FunctionType, MilvusClient

from ..models import MAX_VARCHAR

__all__ = ["BM25_SINCE", "KEYWORD_ANALYZER", "build_schema", "index_params", "server_version"]

# The first Milvus release with BM25 full-text search (milvus-lite's own versions are 2.5 and up).
BM25_SINCE = (2, 5)
# jieba splits Chinese and Japanese into words (the standard tokenizer keeps a whole Japanese
# sentence as one token) and splits English on spaces like the standard one; the stemmer makes
# "plays" match "playing". Chosen on LoCoMo's dev split (bench/locomo.py).
KEYWORD_ANALYZER: dict[str, Any] = {
    "tokenizer": "jieba",
    "filter": ["lowercase", {"type": "stemmer", "language": "english"}],
}


def build_schema(dims: int, on_server: bool, keyword_search: bool) -> Any:
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.VARCHAR, max_length=64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dims)
    schema.add_field("user_id", DataType.VARCHAR, max_length=MAX_VARCHAR, is_partition_key=on_server)
    schema.add_field("agent_id", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("run_id", DataType.VARCHAR, max_length=MAX_VARCHAR)
    if keyword_search:
        schema.add_field(
            "memory", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True, analyzer_params=KEYWORD_ANALYZER
        )
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    else:
        schema.add_field("memory", DataType.VARCHAR, max_length=MAX_VARCHAR)
    schema.add_field("hash", DataType.VARCHAR, max_length=64)
    schema.add_field("created_at", DataType.VARCHAR, max_length=64)
    schema.add_field("updated_at", DataType.VARCHAR, max_length=64)
    schema.add_field("category", DataType.VARCHAR, max_length=256)
    schema.add_field("metadata", DataType.JSON)
    if keyword_search:
        schema.add_function(
            Function(
                name="memory_bm25",
                function_type=FunctionType.BM25,
                input_field_names=["memory"],
                output_field_names=["sparse"],
            )
        )
    return schema


def index_params(metric_type: str, on_server: bool, keyword_search: bool) -> Any:
    index = MilvusClient.prepare_index_params()
    index.add_index("vector", index_type="AUTOINDEX" if on_server else "FLAT", metric_type=metric_type)
    if keyword_search:
        index.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    return index


def server_version(text: str) -> tuple[int, int] | None:
    """(major, minor) of a Milvus server's version string, such as "v2.3.5-lite" or "2.5.4";
    None when it is not one (milvus-lite 3's "milvus_lite-3.2.2" is a lite engine, with BM25)."""
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+].*)?", text.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None
