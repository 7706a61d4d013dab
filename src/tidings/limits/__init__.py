"""Limits the HTTP server enforces before any edge sees a request: body sizes while they stream,
deadlines for a request's headers, connections per client address and in all.
docs/operations.md lists each limit and its setting."""
