"""The Debugger tab: a message published from its form is seen in its own watch of every
channel, with its channel and seq; JSON that does not parse is refused in the form."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.client.test_dashboard import log_in_when_asked


def test_a_message_published_from_the_debugger_shows_in_its_watch(page, appliance):
    page, problems = page
    problems.expect(401)  # publishing asks for the password
    page.goto("/#/debugger")
    watch = page.locator("ol.frames")
    expect(watch.locator("li").first).to_be_visible(timeout=5000)  # the sample chamber's ticks on `#`
    page.get_by_label("Channel pattern to watch").fill("brewhouse/notes")
    page.get_by_role("button", name="Watch").click()
    expect(page.locator('[data-field="frame-count"]')).to_have_text("0 frames")
    page.get_by_label("Channel to publish to").fill("brewhouse/notes")
    page.get_by_label("Message (JSON)").fill('{"note": "dry hopped 50 g Citra"}')
    page.get_by_role("button", name="Publish").click()
    log_in_when_asked(page, appliance)
    frame = watch.locator("li").first
    expect(frame).to_contain_text("brewhouse/notes")
    expect(frame).to_contain_text('{"note":"dry hopped 50 g Citra"}')
    expect(frame).to_contain_text(re.compile(r"#\d+"))
    expect(page.locator('[data-field="frame-count"]')).to_have_text("1 frame")


def test_a_message_that_is_not_json_is_refused_in_the_form(page, appliance):
    page, _ = page
    page.goto("/#/debugger")
    page.get_by_label("Message (JSON)").fill("{not json")
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("alert").filter(has_text="not JSON")).to_be_visible()
