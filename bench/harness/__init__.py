"""The loopback harness that benchmarks and tests share: the OpenAI-compatible model stub, the
real app started in a subprocess, PostgreSQL and a Milvus server in temporary folders, and a
socket.io chat client. Tests import it; nothing here imports tests."""
