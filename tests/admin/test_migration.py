"""The admin migration folds today's case-duplicate tags and categories into one each."""

from flask_migrate import upgrade
from sqlalchemy import text

from helpdesk import config
from helpdesk.extensions import db

from ..test_migrations import empty_app  # noqa: F401  (the fixture)

NOW = "2026-12-01 10:00:00"


def test_case_duplicates_merge_into_the_oldest(empty_app):  # noqa: F811
    with empty_app.app_context():
        upgrade(directory=str(config.MIGRATIONS), revision="5b1e0c7d9a21")
        run = lambda sql, **p: db.session.execute(text(sql), p)  # noqa: E731
        run(
            "INSERT INTO organizations (id, public_id, name, slug, ticket_prefix, ticket_seq, created_at)"
            " VALUES (1, 'o1', 'Org', 'org', 'T', 2, :now)",
            now=NOW,
        )
        run("INSERT INTO customers (id, public_id, org_id, created_at) VALUES (1, 'c1', 1, :now)", now=NOW)
        for category_id, name in ((1, "Refunds"), (2, "refunds")):
            run(
                "INSERT INTO categories (id, public_id, org_id, name, created_at)"
                " VALUES (:i, :p, 1, :n, :now)",
                i=category_id,
                p=f"k{category_id}",
                n=name,
                now=NOW,
            )
        for number, category in ((1, 1), (2, 2)):
            run(
                "INSERT INTO tickets (id, public_id, org_id, number, subject, description,"
                " description_html, status, priority, channel, level, metadata, customer_id,"
                " category_id, created_at, updated_at)"
                " VALUES (:n, :pid, 1, :n, 's', '', '', 'OPEN', 2, 'API', 'N1', '{}', 1, :c, :now, :now)",
                n=number,
                pid=f"t{number}",
                c=category,
                now=NOW,
            )
        for tag_id, name in ((1, "Billing"), (2, "billing"), (3, "BILLING "), (4, "Other")):
            run(
                "INSERT INTO tags (id, public_id, org_id, name, created_at) VALUES (:i, :p, 1, :n, :now)",
                i=tag_id,
                p=f"g{tag_id}",
                n=name,
                now=NOW,
            )
        # Ticket 1 has two spellings of the same tag; ticket 2 only the third one.
        for ticket_id, tag_id in ((1, 1), (1, 2), (2, 3), (2, 4)):
            run("INSERT INTO ticket_tags (ticket_id, tag_id) VALUES (:t, :g)", t=ticket_id, g=tag_id)
        db.session.commit()

        upgrade(directory=str(config.MIGRATIONS))

        tags = run("SELECT id, name, name_key FROM tags ORDER BY id").all()
        assert [tuple(t) for t in tags] == [(1, "Billing", "billing"), (4, "Other", "other")]
        links = run("SELECT ticket_id, tag_id FROM ticket_tags ORDER BY ticket_id, tag_id").all()
        assert [tuple(link) for link in links] == [(1, 1), (2, 1), (2, 4)]
        assert [tuple(c) for c in run("SELECT id, name_key FROM categories").all()] == [(1, "refunds")]
        assert run("SELECT category_id FROM tickets ORDER BY id").scalars().all() == [1, 1]
        assert run("SELECT scope FROM api_keys").all() == []
        db.session.commit()
        db.engine.dispose()


def test_former_prefixes_go_and_come_back(empty_app):  # noqa: F811
    from flask_migrate import downgrade
    from sqlalchemy import inspect

    def columns() -> set[str]:
        return {c["name"] for c in inspect(db.engine).get_columns("organizations")}

    with empty_app.app_context():
        upgrade(directory=str(config.MIGRATIONS))
        assert "former_prefixes" in columns()
        downgrade(directory=str(config.MIGRATIONS), revision="d13a0e000001")
        db.engine.dispose()
        assert "former_prefixes" not in columns() and "classifier_threshold" in columns()
        upgrade(directory=str(config.MIGRATIONS))
        assert "former_prefixes" in columns()
