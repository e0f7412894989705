"""The error page of a request that failed because PostgreSQL is unreachable (restarting).

Django calls `handler500` for any exception a request did not handle, inside the `except` block,
so the exception is at hand. A lost or refused database connection answers 503 with a page
saying the database is restarting and that nothing was saved (ATOMIC_REQUESTS rolled the request
back), and `Retry-After`. Nothing here touches the database. Other errors keep Django's 500.
Connections recover by themselves: CONN_HEALTH_CHECKS drops a broken one at the next request.
"""

import logging
import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.defaults import server_error

logger = logging.getLogger(__name__)

# SQLSTATEs of a server going away or not accepting connections yet: connection exceptions
# (class 08), admin/crash shutdown, cannot connect now (starting up or shutting down).
UNAVAILABLE_STATES = ("57P01", "57P02", "57P03")


def database_unavailable(error: BaseException | None) -> bool:
    """Whether `error` (or what caused it) says the database cannot be reached right now."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, InterfaceError):
            return True
        if isinstance(error, OperationalError):
            cause = error.__cause__
            state = getattr(cause, "sqlstate", None)
            if state is None or state.startswith("08") or state in UNAVAILABLE_STATES:
                return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def server_error_page(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    error = sys.exc_info()[1]
    if not database_unavailable(error):
        return server_error(request, template_name)
    logger.error("database unavailable during %s %s: %s", request.method, request.path, error)
    response = HttpResponse(render_to_string("503_database.html"), status=503)
    response["Retry-After"] = "60"
    response["Cache-Control"] = "no-store"
    return response
