import pytest

from app.pubsub import channels
from app.pubsub.errors import PubSubError


@pytest.mark.parametrize("name", ["data", "chamber/1/data", "a.b:c-d_e", "_settings", "x" * 128])
def test_valid_names_pass(name):
    assert channels.check_name(name) == name


@pytest.mark.parametrize("name", ["", "x" * 129, "has space", "semi;colon", "é", "a+b", "a/#", 5, None])
def test_invalid_names_are_refused_naming_the_field(name):
    with pytest.raises(PubSubError) as caught:
        channels.check_name(name)
    assert caught.value.code == "bad_channel"
    assert caught.value.field == "channel"


@pytest.mark.parametrize("pattern", ["chamber/+/data", "#", "chamber/#", "+", "+/+/data"])
def test_wildcard_patterns_pass(pattern):
    assert channels.check_pattern(pattern) == pattern


@pytest.mark.parametrize("pattern", ["#/data", "cham+ber/x", "a/b#", "a/+x", "a b/+"])
def test_malformed_patterns_are_refused(pattern):
    with pytest.raises(PubSubError):
        channels.check_pattern(pattern)


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        ("chamber/+/data", "chamber/1/data", True),
        ("chamber/+/data", "chamber/1/log", False),
        ("chamber/+/data", "chamber/1/data/x", False),
        ("chamber/+/data", "chamber/data", False),
        ("chamber/#", "chamber/1/data", True),
        ("chamber/#", "chamber", True),
        ("chamber/#", "chambers", False),
        ("#", "anything/at/all", True),
        ("+", "data", True),
        ("+", "a/b", False),
    ],
)
def test_wildcard_matching(pattern, name, expected):
    assert channels.matches(channels.compile_pattern(pattern), name) is expected
