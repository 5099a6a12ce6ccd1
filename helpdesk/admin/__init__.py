"""Administration (`/admin/…`): a small team runs its helpdesk from here, one module per
section. Every page is for a signed-in admin of the organization; every change is one
transaction with its row in the admin audit log (helpdesk/admin_log.py)."""

from flask import Blueprint, abort
from flask_login import current_user

from ..auth import require_agent
from ..htmx import render

bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 50


@bp.app_context_processor
def admin_context():
    """`admin_endpoints()`: the sections that exist, so links never point at a missing one."""

    def admin_endpoints() -> set[str]:
        from flask import current_app

        url_rules = current_app.url_map.iter_rules()
        return {rule.endpoint for rule in url_rules if rule.endpoint.startswith("admin.")}

    return {"admin_endpoints": admin_endpoints}


@bp.before_request
def require_admin():
    """Every admin page is for a signed-in admin."""
    refused = require_agent()
    if refused is not None:
        return refused
    if not current_user.is_admin:
        abort(403)
    return None


def page(fragment_template: str, title: str, status: int = 200, **context):
    """A section: the full admin page (header, section links) or, on htmx, its fragment."""
    return render(
        "admin/page.html", fragment_template, status,
        section=fragment_template, title=title, **context,
    )


from . import agents, catalog, keys, mail, outbox, overview, rules, settings  # noqa: E402,F401  (the sections register their views on bp)
