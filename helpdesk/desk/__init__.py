"""The agent's desk: queues, tickets, and the header's availability and notifications."""

from flask import Blueprint

from ..auth import require_agent
from . import bulk, canned, header, new_ticket, profile, queue, search, ticket
from .pages import desk_header, when

bp = Blueprint("desk", __name__)
bp.before_request(require_agent)
bp.add_app_template_filter(when)
bp.add_app_template_global(desk_header)

bp.add_url_rule("/", view_func=queue.queue)
bp.add_url_rule("/tickets/new", "new_ticket", view_func=new_ticket.new_ticket_form)
bp.add_url_rule("/tickets/new", "open_ticket", view_func=new_ticket.open_from_form, methods=["POST"])
bp.add_url_rule("/tickets/<reference>", view_func=ticket.ticket)
bp.add_url_rule("/tickets/<reference>/parts/<part>", view_func=ticket.part)
bp.add_url_rule("/tickets/<reference>/fields/<field>", view_func=ticket.field)
bp.add_url_rule("/tickets/<reference>/fields/<field>/edit", view_func=ticket.edit_field)
bp.add_url_rule(
    "/tickets/<reference>/fields/<field>", view_func=ticket.save_field, methods=["POST"]
)
bp.add_url_rule("/tickets/<reference>/messages", view_func=ticket.post_message, methods=["POST"])
bp.add_url_rule(
    "/tickets/<reference>/deliveries/<int:delivery_id>/retry",
    view_func=ticket.retry_delivery, methods=["POST"],
)
bp.add_url_rule("/preview", view_func=ticket.preview, methods=["POST"])
bp.add_url_rule("/availability", view_func=header.availability, methods=["POST"])
bp.add_url_rule("/notifications", view_func=header.notifications)
bp.add_url_rule("/notifications/bell", view_func=header.bell)
bp.add_url_rule("/notifications/read", view_func=header.read_all, methods=["POST"])
bp.add_url_rule(
    "/notifications/<int:notification_id>/read", view_func=header.read_one, methods=["POST"]
)
bp.add_url_rule("/canned", "canned_replies", view_func=canned.index)
bp.add_url_rule("/canned", "create_canned_reply", view_func=canned.create, methods=["POST"])
bp.add_url_rule("/canned/<public_id>", "update_canned_reply", view_func=canned.update, methods=["POST"])
bp.add_url_rule(
    "/canned/<public_id>/delete", "delete_canned_reply", view_func=canned.delete, methods=["POST"]
)
bp.add_url_rule("/tickets/<reference>/canned", "canned_picker", view_func=canned.picker)
bp.add_url_rule("/profile", view_func=profile.profile)
bp.add_url_rule("/profile/name", "save_profile_name", view_func=profile.save_name, methods=["POST"])
bp.add_url_rule(
    "/profile/password", "save_profile_password", view_func=profile.save_password, methods=["POST"]
)
bp.add_url_rule("/tickets/bulk", view_func=bulk.bulk, methods=["POST"])
bp.add_url_rule("/tickets/<reference>/viewing", view_func=ticket.viewing, methods=["POST"])
bp.add_url_rule("/search", view_func=search.search_page)
bp.add_url_rule("/customers/<public_id>", view_func=search.customer)
