"""The models the library calls: embedders behind one Protocol, and the chat model's JSON call."""

from .chat import ChatClient, parse_json_object
from .clients import OpenAIClients, requests_on
from .embeddings import Embedder, LocalE5Embedder, OpenAIEmbedder, Purpose, build_embedder

__all__ = [
    "ChatClient",
    "Embedder",
    "LocalE5Embedder",
    "OpenAIClients",
    "OpenAIEmbedder",
    "Purpose",
    "build_embedder",
    "parse_json_object",
    "requests_on",
]
