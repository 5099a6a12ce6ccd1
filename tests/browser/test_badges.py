"""Every priority and status badge, as the browser paints them: distinct, and readable."""

import re

import pytest

from helpdesk.models import Priority, Status

from .. import factories
from .conftest import sign_in

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def rgb(css: str) -> tuple[float, ...]:
    return tuple(float(part) for part in re.findall(r"[\d.]+", css)[:3])


def luminance(colour: tuple[float, ...]) -> float:
    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(value) for value in colour)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(one, other) -> float:
    lighter, darker = sorted((luminance(one), luminance(other)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_badges_are_distinct_and_pass_wcag_aa(live_server, page, org):
    nina = factories.make_agent(org, name="Nina", email="nina@example.com")
    sign_in(page, live_server.url, nina.email, factories.PASSWORD)
    classes = [f"priority-{p.lower()}" for p in Priority] + [f"status-{s.lower()}" for s in Status]
    painted = page.evaluate(
        """(classes) => classes.map((name) => {
             const badge = document.createElement("span");
             badge.className = "badge " + name;
             badge.textContent = name;
             document.querySelector("main").append(badge);
             const style = getComputedStyle(badge);
             return [name, style.color, style.backgroundColor];
           })""",
        classes,
    )
    grounds = {}
    for name, colour, ground in painted:
        assert "0, 0, 0, 0" not in ground, f"{name} has no background"
        ratio = contrast(rgb(colour), rgb(ground))
        assert ratio >= 4.5, f"{name}: contrast {ratio:.2f} is below 4.5"
        grounds[name] = rgb(ground)
    names = list(grounds)
    for index, one in enumerate(names):
        for other in names[index + 1 :]:
            distance = sum((a - b) ** 2 for a, b in zip(grounds[one], grounds[other], strict=True)) ** 0.5
            assert distance > 12, f"{one} and {other} look the same"
