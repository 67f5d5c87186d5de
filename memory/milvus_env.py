"""Keep pymilvus from reading a milvus-lite path in MILVUS_URI.

pymilvus (3.0.2) reads MILVUS_URI when it is imported, from the environment or from a `.env` it
loads itself, and accepts only `http[s]://` there: `MILVUS_URI=./data/milvus.db`, the form this
project documented, made `import pymilvus` fail. The project's own variable is MEMORY_MILVUS_URI,
which pymilvus does not read. The old one keeps working: `shield()`, run before pymilvus is
imported, moves a value that is not `http[s]://` to MEMORY_MILVUS_URI (unless that is set) and
leaves MILVUS_URI empty, so pymilvus and its `.env` loading pass it by. We never use pymilvus's
own default URI: every client gets its URI from `MemoryConfig`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import MutableMapping

__all__ = ["URI_VARIABLE", "shield"]

URI_VARIABLE = "MEMORY_MILVUS_URI"
PYMILVUS_VARIABLE = "MILVUS_URI"

logger = logging.getLogger(__name__)


def shield(environ: MutableMapping[str, str] = os.environ) -> None:
    value = environ.get(PYMILVUS_VARIABLE)
    if value is None:
        environ[PYMILVUS_VARIABLE] = ""  # so pymilvus's load_dotenv() does not take one from ./.env
        return
    if not value or value.startswith(("http://", "https://")):
        return
    if not environ.get(URI_VARIABLE):
        environ[URI_VARIABLE] = value
    environ[PYMILVUS_VARIABLE] = ""
    logger.info(
        "%s=%s is read as %s (pymilvus accepts only http[s] URIs there)", PYMILVUS_VARIABLE, value, URI_VARIABLE
    )
