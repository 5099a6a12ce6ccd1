"""The worker keeps the live_events table small without breaking open pages' cursors."""

from datetime import timedelta

from helpdesk.db import write_transaction
from helpdesk.extensions import db
from helpdesk.models import LiveEvent, utcnow
from helpdesk.worker import prune_live_events

from .. import factories


def test_old_signals_go_but_recent_ones_and_the_newest_stay(org):
    old = utcnow() - timedelta(hours=3)
    with write_transaction():
        for minutes_ago in (300, 200, 100, 1):
            db.session.add(
                LiveEvent(org_id=org.id, kind="queue", created_at=utcnow() - timedelta(minutes=minutes_ago))
            )
    assert prune_live_events(3600) == 3
    remaining = db.session.scalars(db.select(LiveEvent.created_at)).all()
    assert len(remaining) == 1 and remaining[0] > old


def test_the_newest_signal_stays_even_when_old(org):
    with write_transaction():
        for _ in range(2):
            db.session.add(LiveEvent(org_id=org.id, kind="queue", created_at=utcnow() - timedelta(days=1)))
    newest = db.session.scalar(db.select(db.func.max(LiveEvent.id)))
    assert prune_live_events(3600) == 1
    factories.make_ticket(org)  # writes new signals
    db.session.rollback()
    ids = db.session.scalars(db.select(LiveEvent.id).order_by(LiveEvent.id)).all()
    assert ids[0] == newest and all(later > newest for later in ids[1:])
