"""Settings and login in real Chromium: API tokens created (shown once, copied), listed and
revoked; °F everywhere; the theme, name and logo applied at once in every open page;
public_read off asking for the password at load; a 401 after a password change or a
logout bringing the login back and then doing what the brewer asked."""

from __future__ import annotations

import json
import os
import re
import struct
import time
import urllib.error
import urllib.request
import zlib

from playwright.sync_api import expect

from tests.client.conftest import open_page
from tests.client.test_dashboard import card, log_in_when_asked, rest
from tests.client.test_sensors import feed, sensor, wait_for_series

NEW_PASSWORD = "a-new-cellar-password"


def call(appliance, method: str, path: str, *, token: str | None = None, body=None) -> int:
    """The status of a request with `token` (or none), without raising on 4xx."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(appliance.base_url + path, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def log_in_with(page, password: str) -> None:
    dialog = page.locator("dialog#login")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Password").fill(password)
    dialog.get_by_role("button", name="Log in").click()
    expect(dialog).to_be_hidden()


def png(width: int, height: int, noise: bool = False) -> bytes:
    """A PNG of random pixels (incompressible) or of one colour."""
    rows = b"".join(
        b"\x00" + (os.urandom(width * 3) if noise else b"\x20\x80\xc0" * width) for _ in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_a_token_is_created_shown_once_copied_listed_and_revoked(page, appliance):
    page, problems = page
    problems.expect(401)  # the token list needs a login
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/#/settings")
    page.get_by_role("button", name="Log in to see tokens").click()
    log_in_when_asked(page, appliance)
    tokens = page.locator("#tokens")
    before = tokens.locator(".token").count()
    assert before == len(rest(appliance, "GET", "/api/tokens"))

    page.get_by_label("New token's name").fill("cellar-script")
    page.get_by_role("button", name="Create token").click()
    shown = page.get_by_role("region", name="New token")
    expect(shown).to_contain_text("it is not shown again")
    token = shown.get_by_label("Token cellar-script").input_value()
    assert len(token) >= 20, token
    shown.get_by_role("button", name="Copy").click()
    expect(page.locator("#toast")).to_have_text("Token copied")
    assert page.evaluate("navigator.clipboard.readText()") == token
    assert call(appliance, "GET", "/api/status", token=token) == 200
    expect(tokens.locator(".token", has_text="cellar-script")).to_have_count(1)
    expect(tokens.locator(".token")).to_have_count(before + 1)
    shown.get_by_role("button", name="Done").click()
    expect(shown).to_be_hidden()

    page.reload()  # shown once: the list names it, nothing on the page holds it
    expect(page.locator("#tokens .token", has_text="cellar-script")).to_be_visible()
    assert token not in page.content()

    page.get_by_role("button", name="Revoke token cellar-script").click()
    confirm = page.get_by_role("dialog", name=re.compile("Revoke the token"))
    confirm.get_by_role("button", name="Revoke").click()
    expect(page.locator("#tokens .token", has_text="cellar-script")).to_have_count(0)
    assert call(appliance, "GET", "/api/status", token=token) == 401
    assert "cellar-script" not in {t["name"] for t in rest(appliance, "GET", "/api/tokens")}


def test_fahrenheit_changes_every_temperature_on_the_dashboard_and_sensors(page, appliance):
    page, problems = page
    problems.expect(401)
    feed(appliance, "test/cellar", [(600, 19.0), (60, 20.0)], "°C")
    wait_for_series(appliance, "test/cellar")
    page.goto("/#/settings")
    page.get_by_role("button", name="Fahrenheit (°F)").click()
    log_in_when_asked(page, appliance)
    expect(page.get_by_role("button", name="Fahrenheit (°F)")).to_have_attribute("aria-pressed", "true")
    assert rest(appliance, "GET", "/api/settings/units")["value"] == "F"

    page.get_by_role("link", name="Dashboard").click()
    chamber = card(page)
    expect(chamber.locator('[data-field="beer"]')).to_have_text(re.compile(r"^\d+\.\d °F$"))
    temperatures = chamber.locator(".value .number").all_inner_texts()
    assert temperatures and all(t.endswith("°F") or t == "—" for t in temperatures), temperatures
    assert "°C" not in chamber.inner_text()

    page.get_by_role("link", name="Sensors").click()
    expect(sensor(page, "test/cellar").locator('[data-field="value"]')).to_have_text("68.0 °F")
    assert "°C" not in page.locator("#sensors").inner_text()
    sensor(page, "test/cellar").click()
    chart = page.get_by_role("dialog", name="Chart of test/cellar")
    expect(chart.locator(".u-legend")).to_contain_text("test/cellar (°F)")
    chart.get_by_role("button", name="Close").click()

    page.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="Celsius (°C)").click()
    page.get_by_role("link", name="Sensors").click()
    expect(sensor(page, "test/cellar").locator('[data-field="value"]')).to_have_text("20.0 °C")


def test_theme_name_and_logo_apply_at_once_in_every_open_page(page, appliance, browser):
    page, problems = page
    problems.expect(401)
    other, other_problems = open_page(browser, appliance.base_url)  # another tablet on the wall
    try:
        other.goto("/")
        expect(other.locator("body")).to_have_attribute("data-theme", "dark")
        page.goto("/#/settings")
        dark_bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
        page.get_by_role("button", name="Light").click()
        log_in_when_asked(page, appliance)
        expect(page.locator("body")).to_have_attribute("data-theme", "light")
        expect(page.get_by_role("button", name="Light")).to_have_attribute("aria-pressed", "true")
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") != dark_bg
        expect(other.locator("body")).to_have_attribute("data-theme", "light")

        page.get_by_label("Brewery name").fill("Hopfenhaus")
        page.get_by_role("button", name="Save name").click()
        expect(page.locator("#brewery")).to_have_text("Hopfenhaus")
        expect(other.locator("#brewery")).to_have_text("Hopfenhaus")
        expect(other).to_have_title(re.compile("^Hopfenhaus"))

        page.get_by_label("Logo image file").set_input_files(
            {"name": "logo.png", "mimeType": "image/png", "buffer": png(40, 20)}
        )
        expect(other.locator("#logo")).to_be_visible()
        assert other.locator("#logo").get_attribute("src").startswith("data:image/png;base64,")
        # an image over 64 KiB is made smaller to fit the setting
        big = png(400, 100, noise=True)
        assert len(big) > 64 * 1024
        page.get_by_label("Logo image file").set_input_files(
            {"name": "big.png", "mimeType": "image/png", "buffer": big}
        )
        expect(page.locator("#toast")).to_have_text("Logo saved")
        logo = rest(appliance, "GET", "/api/settings/logo")["value"]
        assert logo.startswith("data:image/") and len(logo) <= 64 * 1024, len(logo)
        expect(page.locator("#logo")).to_have_attribute("src", logo)
        page.get_by_role("button", name="Remove logo").click()
        expect(other.locator("#logo")).to_be_hidden()

        page.get_by_role("button", name="Dark").click()
        expect(other.locator("body")).to_have_attribute("data-theme", "dark")
    finally:
        other.context.close()
    assert list(other_problems) == [], other_problems


def test_with_public_read_off_the_page_asks_for_the_password_at_load_then_shows_live_data(page, appliance):
    page, problems = page
    problems.expect(401)
    rest(appliance, "PUT", "/api/settings/public_read", {"value": False})
    page.goto("/")
    log_in_when_asked(page, appliance)
    chamber = card(page)
    expect(chamber.locator('[data-field="beer"]')).to_have_text(re.compile(r"^\d+\.\d °C$"), timeout=5000)
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(chamber).to_have_attribute("data-stale", "false")  # ticks arrive over the WebSocket
    page.get_by_role("link", name="Settings").click()
    expect(page.get_by_role("button", name="Off")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#tokens .token")).to_have_count(len(rest(appliance, "GET", "/api/tokens")))


def test_a_401_after_a_password_change_elsewhere_brings_the_login_back_and_retries(page, appliance):
    page, problems = page
    problems.expect(401)
    page.goto("/#/settings")
    page.get_by_role("button", name="Light").click()
    log_in_when_asked(page, appliance)
    expect(page.locator("body")).to_have_attribute("data-theme", "light")

    old = appliance.password
    rest(appliance, "POST", "/api/password", {"old": old, "new": NEW_PASSWORD})  # another browser
    page.get_by_role("button", name="Dark").click()
    log_in_with(page, NEW_PASSWORD)  # the session ended: the login, then the same change
    expect(page.locator("body")).to_have_attribute("data-theme", "dark")
    assert rest(appliance, "GET", "/api/settings/theme")["value"] == "dark"


def test_the_password_changed_in_settings_keeps_this_page_logged_in_until_it_logs_out(page, appliance):
    page, problems = page
    problems.expect(401)
    problems.expect(403)  # a wrong current password
    old = appliance.password
    page.goto("/#/settings")
    form = page.locator("form.password-form")
    form.get_by_label("Current password").fill("not the password")
    form.get_by_label("New password (at least 8 characters)").fill(NEW_PASSWORD)
    form.get_by_label("New password again").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Change password").click()
    log_in_when_asked(page, appliance)  # changing it needs a login first
    expect(page.locator("#password-error")).to_have_text("the old password is wrong")

    form.get_by_label("Current password").fill(old)
    form.get_by_label("New password (at least 8 characters)").fill(NEW_PASSWORD)
    form.get_by_label("New password again").fill(NEW_PASSWORD + "x")
    form.get_by_role("button", name="Change password").click()
    expect(page.locator("#password-error")).to_have_text("the new passwords differ")
    form.get_by_label("New password again").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Change password").click()
    expect(page.locator("#toast")).to_contain_text("Password changed")
    time.sleep(1.1)  # past the throttle's delay after the wrong password
    assert call(appliance, "POST", "/api/login", body={"password": NEW_PASSWORD}) == 200
    assert call(appliance, "POST", "/api/login", body={"password": old}) == 401

    page.get_by_role("button", name="Light").click()  # still logged in: no dialog
    expect(page.locator("body")).to_have_attribute("data-theme", "light")
    expect(page.locator("dialog#login")).to_be_hidden()

    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#toast")).to_have_text("Logged out")
    page.get_by_role("button", name="Dark").click()
    log_in_with(page, NEW_PASSWORD)
    expect(page.locator("body")).to_have_attribute("data-theme", "dark")
