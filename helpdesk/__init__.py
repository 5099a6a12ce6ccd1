"""Helpdesk: a self-hosted helpdesk for small support teams."""

import contextlib
import os
from pathlib import Path

from flask import Flask

from . import config


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: config, extensions, blueprints, error handlers."""
    app = Flask(
        __name__,
        instance_path=config.instance_path(),
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    config.load(app, test_config)
    _private_files(app)

    from . import db, errors, security
    from .enums import label
    from .extensions import csrf, limiter, login_manager, migrate
    from .markdown import stored_html

    db.init_app(app)
    migrate.init_app(app, db.db, directory=str(config.MIGRATIONS))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    app.jinja_env.filters["stored_html"] = stored_html
    app.jinja_env.filters["label"] = label

    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .desk import bp as desk_bp
    from .events import bp as events_bp

    for blueprint in (auth_bp, desk_bp, events_bp, api_bp, admin_bp):
        app.register_blueprint(blueprint)
    proxies = int(app.config["PROXIES"])
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    return app


def _private_files(app: Flask) -> None:
    """The instance folder and a new SQLite database are created readable by their owner
    only (0700, 0600); SQLite gives its -wal and -shm files the database file's mode.
    Existing files keep the mode they have."""
    from sqlalchemy.engine import make_url

    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return
    if database.startswith("file:") or url.query.get("uri"):
        return  # a URI filename: SQLite opens it as it says
    with contextlib.suppress(FileExistsError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
