"""What htmx asks for, and the headers that answer it."""

import json

from flask import Response, make_response, render_template, request


def is_partial() -> bool:
    """An htmx request that wants a fragment: not boosted, not a history restore."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def trigger(response: Response, event: str, detail: object = None) -> Response:
    """Add an event to HX-Trigger, keeping any the response already carries."""
    events: dict = {}
    current = response.headers.get("HX-Trigger")
    if current:
        try:
            events = json.loads(current)
        except ValueError:
            events = {name.strip(): None for name in current.split(",")}
    events[event] = detail
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def redirect(url: str, status: int = 200) -> Response:
    """Tell htmx to load a whole new page."""
    response = Response(status=status)
    response.headers["HX-Redirect"] = url
    return response


def add_vary(response: Response) -> Response:
    response.vary.add("HX-Request")
    return response


def fragment(template: str, status: int = 200, **context) -> Response:
    """A fragment response, varying on HX-Request."""
    return add_vary(make_response(render_template(template, **context), status))


def render(page: str, fragment_template: str, status: int = 200, **context) -> Response:
    """Render `page` (which includes the fragment) or, for an htmx request, the fragment alone.

    A page rendered here is a full page: `full_page` has base.html show the signed-in
    header (the bell, live updates), which the desk provides as `desk_header()`.
    """
    if is_partial():
        return fragment(fragment_template, status, **context)
    return add_vary(make_response(render_template(page, full_page=True, **context), status))
