"""Alembic environment: runs against the app's engine and its model metadata."""

import logging

from alembic import context
from flask import current_app

from helpdesk.search_index import include_name

logger = logging.getLogger("alembic.env")


def _skip_empty_revisions(migration_context, revision, directives):
    """`helpdesk db migrate` writes no file when the models did not change."""
    if getattr(context.config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def run_migrations_offline() -> None:
    context.configure(
        url=current_app.config["SQLALCHEMY_DATABASE_URI"],
        target_metadata=current_app.extensions["migrate"].db.metadata,
        literal_binds=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    migrate = current_app.extensions["migrate"]
    options = dict(migrate.configure_args)
    options.setdefault("process_revision_directives", _skip_empty_revisions)
    # The full-text index is made by its own DDL, not the models: never drop it.
    options.setdefault("include_name", include_name)
    with migrate.db.engine.connect() as connection:
        context.configure(connection=connection, target_metadata=migrate.db.metadata, **options)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
