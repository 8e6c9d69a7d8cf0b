"""Logs in real Chromium: the stored entries newest first, filtered by source and level,
and entries published while the page is open appearing at the top (only those the
filter lets through)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.client.test_dashboard import rest


def publish_log(appliance, source: str, level: str, msg: str) -> None:
    rest(
        appliance, "POST", "/api/channels/logs", {"entries": [{"source": source, "level": level, "msg": msg}]}
    )


def messages(page) -> list[str]:
    """The test's entries as listed, top first (the sample chamber logs too)."""
    texts = page.locator("#log-list .log .message").all_inner_texts()
    return [text for text in texts if text.startswith("test entry")]


def test_logs_are_newest_first_filtered_by_source_and_level_and_extended_live(page, appliance):
    page, _ = page
    publish_log(appliance, "test/a", "info", "test entry 1 alpha")
    publish_log(appliance, "test/b", "warning", "test entry 2 beta")
    publish_log(appliance, "test/a", "error", "test entry 3 alpha")
    page.goto("/#/logs")
    expect(page.locator("#log-list .log", has_text="test entry 1")).to_have_count(1)
    assert messages(page) == ["test entry 3 alpha", "test entry 2 beta", "test entry 1 alpha"]
    newest = page.locator("#log-list .log", has_text="test entry 3")
    expect(newest.locator(".level")).to_have_text("error")
    expect(newest.locator(".source")).to_have_text("test/a")

    publish_log(appliance, "test/b", "info", "test entry 4 beta live")
    expect(page.locator("#log-list .log").first).to_contain_text("test entry 4 beta live", timeout=3000)

    page.get_by_label("Source").select_option("test/a")
    expect(page.locator("#log-list .log", has_text="test entry 2")).to_have_count(0)
    assert messages(page) == ["test entry 3 alpha", "test entry 1 alpha"]
    sources = page.locator("#log-list .log").evaluate_all("rows => rows.map(row => row.dataset.source)")
    assert set(sources) == {"test/a"}, sources
    publish_log(appliance, "test/b", "error", "test entry 5 beta hidden")
    publish_log(appliance, "test/a", "info", "test entry 6 alpha live")
    expect(page.locator("#log-list .log").first).to_contain_text("test entry 6 alpha live", timeout=3000)
    assert "test entry 5 beta hidden" not in messages(page)

    page.get_by_label("Level").select_option("error")
    expect(page.locator("#log-list .log", has_text="test entry 1")).to_have_count(0)
    assert messages(page) == ["test entry 3 alpha"]

    page.get_by_label("Source").select_option("")
    expect(page.locator("#log-list .log", has_text="test entry 5")).to_have_count(1)
    assert messages(page) == ["test entry 5 beta hidden", "test entry 3 alpha"]
    levels = page.locator("#log-list .log").evaluate_all("rows => rows.map(row => row.dataset.level)")
    assert set(levels) == {"error"}, levels
