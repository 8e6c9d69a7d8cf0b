"""Tablet first, in real Chromium: at 1280×800, 800×1280 and a 390×844 phone, every view
(each module in app/static/js/views/) reflows without horizontal scroll, and every visible
control is at least 44×44 CSS px with an accessible name; the dark theme's text keeps
4.5:1 contrast. Also writes the README's dashboard screenshot."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.client.conftest import open_page
from tests.client.test_alarms import raise_alarms
from tests.client.test_dashboard import card, rest
from tests.client.test_sensors import feed, wait_for_series

ROOT = Path(__file__).resolve().parents[2]
VIEWS = sorted(path.stem for path in (ROOT / "app/static/js/views").glob("*.js"))
VIEWPORTS = {"landscape": (1280, 800), "portrait": (800, 1280), "phone": (390, 844)}
MIN_TARGET_PX = 44
SCREENSHOT = ROOT / "docs/screenshots/dashboard.png"
# what shows once a view has its data (a view not named here: anything in #view)
READY = {
    "dashboard": 'section.chamber [data-field="beer"]:text-matches("\\\\d °C")',
    "alarms": "#open-alarms .alarm",
    "logs": "#log-list .log",
    "profiles": "tr[data-profile]",
    "sensors": 'button.sensor[data-series="test/cellar"] [data-field="value"]:text-matches("\\\\d")',
    "settings": 'section.tokens button:text("Log in to see tokens")',
}

# Every visible control: its box, its accessible name; and the page's horizontal overflow.
AUDIT_JS = """() => {
  const nameOf = (el) => {
    const label = el.getAttribute('aria-label');
    if (label && label.trim()) return label.trim();
    const by = el.getAttribute('aria-labelledby');
    if (by) {
      return by.split(/\\s+/).map((id) => document.getElementById(id)?.textContent || '').join(' ').trim();
    }
    if (el.labels && el.labels.length) return [...el.labels].map((l) => l.textContent).join(' ').trim();
    if (el.matches('input[type=submit], input[type=button]')) return (el.value || '').trim();
    return (el.textContent || '').trim() || (el.getAttribute('title') || '').trim();
  };
  const controls = [];
  const selector = 'button, a[href], input:not([type=hidden]), select, textarea, [role=button]';
  for (const el of document.querySelectorAll(selector)) {
    const style = getComputedStyle(el);
    if (!el.getClientRects().length || style.visibility === 'hidden') continue;
    const box = el.getBoundingClientRect();
    const classes = el.className ? '.' + String(el.className).split(' ').join('.') : '';
    const what = el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + classes;
    // a label wider than its control spills over its neighbours (a squeezed tab)
    const spills = el.matches('button, a') && style.overflowX === 'visible'
      && el.scrollWidth > el.clientWidth + 1;
    controls.push({what, name: nameOf(el), width: box.width, height: box.height, spills});
  }
  return {scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth, controls};
}"""


def audit(page, where: str) -> list[str]:
    found = page.evaluate(AUDIT_JS)
    wrong = []
    if found["scrollWidth"] > found["innerWidth"]:
        wrong.append(f"{where}: scrolls sideways ({found['scrollWidth']} > {found['innerWidth']} px)")
    for control in found["controls"]:
        label = f"{where}: {control['what']} {control['name']!r}"
        if control["width"] < MIN_TARGET_PX - 0.5 or control["height"] < MIN_TARGET_PX - 0.5:
            wrong.append(f"{label} is {control['width']:.0f}×{control['height']:.0f} px")
        if control["spills"]:
            wrong.append(f"{label}: its text is wider than the control")
        if not control["name"]:
            wrong.append(f"{label} has no accessible name")
    assert found["controls"], f"{where}: no controls found"
    return wrong


def arrange(appliance) -> None:
    """Something in every list: a sensor, an alarm, a log entry."""
    feed(appliance, "test/cellar", [(1800, 19.5), (60, 20.0)], "°C")
    raise_alarms(appliance, ("script/layout", "L1", "a rather long alarm message " * 4))
    rest(
        appliance, "POST", "/api/channels/logs", {"entries": [{"source": "script/layout", "msg": "x" * 300}]}
    )
    wait_for_series(appliance, "test/cellar")


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=list(VIEWPORTS))
def test_every_view_reflows_without_side_scroll_with_labelled_44px_controls(browser, appliance, viewport):
    width, height = VIEWPORTS[viewport]
    arrange(appliance)
    page, problems = open_page(browser, appliance.base_url, {"width": width, "height": height})
    problems.expect(401)  # Settings asks whether this page may list tokens
    wrong: list[str] = []
    try:
        for view in VIEWS:
            page.goto(f"/#/{view}")
            page.locator(READY.get(view, "#view > *")).first.wait_for(timeout=5000)
            wrong += audit(page, f"{viewport} {view}")
        # the dialogs: a sensor's chart and the login
        page.goto("/#/sensors")
        page.locator('button.sensor[data-series="test/cellar"]').click()
        chart = page.get_by_role("dialog", name="Chart of test/cellar")
        expect(chart.locator("canvas")).to_have_count(1)
        wrong += audit(page, f"{viewport} sensor chart")
        chart.get_by_role("button", name="Close").click()
        page.goto("/#/settings")
        page.get_by_role("button", name="Log in to see tokens").click()
        expect(page.locator("dialog#login")).to_be_visible()
        wrong += audit(page, f"{viewport} login")
    finally:
        page.context.close()
    assert list(problems) == [], problems
    assert wrong == [], "\n".join(wrong)


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    light, dark = sorted((_luminance(one), _luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_dark_theme_text_keeps_four_and_a_half_to_one_contrast(page, appliance):
    page, _ = page
    page.goto("/")
    expect(page.locator("body")).to_have_attribute("data-theme", "dark")
    names = [
        "--text",
        "--muted",
        "--bg",
        "--panel",
        "--panel-2",
        "--accent",
        "--accent-text",
        "--bad",
        "--warn",
    ]
    colours = page.evaluate(
        "names => { const style = getComputedStyle(document.body);"
        " return Object.fromEntries(names.map(n => [n, style.getPropertyValue(n).trim()])); }",
        names,
    )
    assert all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in colours.values()), colours
    pairs = [(text, ground) for text in ("--text", "--muted") for ground in ("--bg", "--panel", "--panel-2")]
    pairs += [("--accent-text", "--accent"), ("--bad", "--panel-2"), ("--warn", "--panel-2")]
    low = {f"{t} on {g}": round(contrast(colours[t], colours[g]), 2) for t, g in pairs}
    assert all(ratio >= 4.5 for ratio in low.values()), low
    # and the page really paints body text in them
    body = page.evaluate(
        "[getComputedStyle(document.body).color, getComputedStyle(document.body).backgroundColor]"
    )
    assert body == [_rgb(colours["--text"]), _rgb(colours["--bg"])], body


def _rgb(hex_colour: str) -> str:
    return "rgb({}, {}, {})".format(*(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)))


def test_the_readme_screenshot_shows_the_dashboard_with_live_values(page, appliance):
    page, _ = page
    page.goto("/")
    chamber = card(page)
    expect(chamber.locator('[data-field="beer"]')).to_have_text(re.compile(r"^\d+\.\d °C$"), timeout=3000)
    expect(chamber).to_have_attribute("data-stale", "false")
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    page.wait_for_timeout(1500)  # a tick or two more, so the state and holds show too
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), animations="disabled")
    header = SCREENSHOT.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1280, 800)
