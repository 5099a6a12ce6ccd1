"""Admin fixtures: an admin and a plain agent of one organization, and a second organization."""

import pytest
from flask import g

from helpdesk.extensions import db
from helpdesk.models import AdminEvent, Role

from .. import factories

HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def forget_user_between_requests(app):
    """As in the desk tests: Flask-Login caches the user in `g`, which the test's app context keeps."""

    @app.teardown_request
    def forget(_error):
        g.pop("_login_user", None)


@pytest.fixture
def admin(org):
    return factories.make_agent(org, name="Ada Admin", role=Role.ADMIN, availability="available")


@pytest.fixture
def admin_client(app, admin):
    return app.test_client(user=admin)


@pytest.fixture
def other_org(app):
    return factories.make_org(name="Elsewhere", slug="elsewhere", prefix="ELS")


def admin_events(**filters) -> list[AdminEvent]:
    db.session.rollback()
    query = db.select(AdminEvent).filter_by(**filters).order_by(AdminEvent.id)
    return list(db.session.scalars(query))
