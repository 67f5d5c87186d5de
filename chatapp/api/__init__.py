"""Other apps on the same memories: per-user tokens (tokens.py), the source a change is recorded
with and the access log (sources.py, access.py), one service over AsyncMemory that both the REST
API (rest.py, /api/v1) and the MCP server (mcp_server.py, /memory/mcp) use (service.py), and the
panel's "Connect an app" (panel.py). chatapp/routes.py mounts them into Chainlit's server."""
