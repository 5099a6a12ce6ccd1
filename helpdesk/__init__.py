"""Helpdesk: a self-hosted helpdesk for small support teams."""

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

    from . import db, errors, security
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

    from .admin import bp as admin_bp
    from .api import bp as api_bp
    from .auth import bp as auth_bp
    from .desk import bp as desk_bp
    from .events import bp as events_bp

    for blueprint in (auth_bp, desk_bp, events_bp, api_bp, admin_bp):
        app.register_blueprint(blueprint)
    return app
