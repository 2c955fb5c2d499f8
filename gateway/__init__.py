"""The HTTP gateway: REST API (/api/v1) with OpenAPI, authentication, tenant isolation,
idempotency keys, and the mapping of business failures to HTTP answers."""
