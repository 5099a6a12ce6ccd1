"""Desk fixtures: an organization with agents, a second organization, HTML parsing."""

from html.parser import HTMLParser

import pytest
from flask import g

from helpdesk.models import Availability

from .. import factories

HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def forget_user_between_requests(app):
    """The tests keep an app context open, which Flask reuses for each request; Flask-Login
    caches the user in `g` there. Forget it after every request, as a real server does."""

    @app.teardown_request
    def forget(_error):
        g.pop("_login_user", None)


@pytest.fixture
def available_agent(org):
    return factories.make_agent(org, name="Nina", availability=Availability.AVAILABLE)


@pytest.fixture
def nina_client(app, available_agent):
    return app.test_client(user=available_agent)


@pytest.fixture
def other_org(app):
    return factories.make_org(name="Elsewhere", slug="elsewhere", prefix="ELS")


class Node:
    """An element of a parsed page: tag, attributes, children, text."""

    def __init__(self, tag: str, attrs: list, parent: "Node | None"):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node] = []
        self.text: list[str] = []

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.attrs if key == name), None)

    def has(self, name: str) -> bool:
        return any(key == name for key, _ in self.attrs)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def find_all(self, predicate) -> list["Node"]:
        return [node for node in self.walk() if predicate(node)]

    def all_text(self) -> str:
        return "".join(node_text for node in self.walk() for node_text in node.text)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class TreeBuilder(HTMLParser):
    """The browser's view of a page, close enough: a tree of elements with unescaped attributes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", [], None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, attrs, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.text.append(data)


def parse(html: str) -> Node:
    builder = TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def by_id(root: Node, element_id: str) -> Node:
    found = root.find_all(lambda node: node.get("id") == element_id)
    assert len(found) == 1, f"expected one #{element_id}, found {len(found)}"
    return found[0]
