from contextvars import ContextVar

ctx_request_id = ContextVar("request_id")
