"""The OpenAPI document: every change refuses the unauthenticated, and the live server
answers as the document says (schemathesis, bounded examples)."""

import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from app.control.tuning import tuning_fields
from tests.helpers import ServerProcess, http

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_PATH_VALUES = {"id": "1", "name": "units", "channel": "test", "series": "beer_temp"}


@pytest.mark.gen_test
async def test_document_describes_every_api_route_with_schemas(server):
    status, document = await http(server, "GET", "/api/openapi.json", auth=False)
    assert status == 200 and document["openapi"].startswith("3.")
    paths = document["paths"]
    for expected in (
        "/api/controllers",
        "/api/controllers/{id}",
        "/api/chambers",
        "/api/devices/{id}",
        "/api/profiles/{id}.csv",
        "/api/profiles/import",
        "/api/settings/{name}",
        "/api/tokens",
        "/api/login",
        "/api/password",
        "/api/status",
        "/api/logs",
        "/publish",
        "/api/channels/{channel}",
        "/api/feeds/{series}",
        "/api/feeds/ispindel",
        "/api/series-rules",
        "/api/series-rules/{id}",
    ):
        assert expected in paths, expected
    chamber_post = paths["/api/chambers"]["post"]
    schema_ref = chamber_post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    chamber_in = document["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert chamber_in["properties"]["beer_setpoint"]["anyOf"][0]["maximum"] == 110
    assert chamber_in["additionalProperties"] is False
    assert chamber_in["properties"]["gravity_series"]["anyOf"][0]["pattern"] == "^[a-z0-9_./-]{1,64}$"
    rule_post = paths["/api/series-rules"]["post"]
    schema_ref = rule_post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    rule_in = document["components"]["schemas"][schema_ref.rsplit("/", 1)[1]]
    assert (
        rule_in["required"] == ["series"]
        and rule_in["properties"]["stale_min"]["anyOf"][0]["exclusiveMinimum"] == 0
    )
    status_ok = paths["/api/status"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    status_out = document["components"]["schemas"][status_ok["$ref"].rsplit("/", 1)[1]]
    assert {"database", "series", "channels", "history"} <= set(status_out["required"])


@pytest.mark.gen_test
async def test_document_describes_each_kinds_tuning_keys_and_where_they_are_documented(server):
    _, document = await http(server, "GET", "/api/openapi.json", auth=False)
    schemas = document["components"]["schemas"]
    for model in ("ChamberIn", "ChamberPatch"):
        tuning = schemas[model]["properties"]["tuning"]
        assert 'docs/control.md "Tuning keys"' in tuning["description"]
        if model == "ChamberPatch":  # the tuning, or null
            tuning = next(variant for variant in tuning["anyOf"] if variant.get("type") == "object")
        variants = tuning["anyOf"]
        for variant, kind in zip(variants, ("fermenter", "mash"), strict=True):
            assert variant["additionalProperties"] is False
            declared = tuning_fields(kind)
            assert set(variant["properties"]) == set(declared)
            for name, bound in declared.items():
                assert variant["properties"][name]["minimum"] == bound.low, name
                assert variant["properties"][name]["maximum"] == bound.high, name


@pytest.mark.gen_test
async def test_every_changing_route_refuses_an_unauthenticated_request(server):
    _, document = await http(server, "GET", "/api/openapi.json", auth=False)
    checked = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "get" or "security" not in operation:
                continue
            url = re.sub(r"\{(\w+)\}", lambda m: EXAMPLE_PATH_VALUES[m.group(1)], path)
            body = None if method == "delete" else {}
            status, reply = await http(server, method.upper(), url, body, auth=False)
            assert status == 401, f"{method.upper()} {url} answered {status} without authentication"
            assert reply["error"]["code"] == "unauthorized"
            checked += 1
    assert checked >= 20
    # the public ones really are public
    assert (await http(server, "POST", "/api/logout", {}, auth=False))[0] == 200


def test_live_server_conforms_to_its_document(tmp_path):
    """schemathesis generates requests from the document; any 5xx, undocumented status,
    wrong content type or response not matching its schema fails the test."""
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or shutil.which("st")
    assert st, "schemathesis is missing: pip install -r requirements.txt"
    server = ServerProcess(tmp_path, log_level="WARNING")
    try:
        server.wait_serving()
        token = _make_token(server.data_dir, server.base_url)
        result = subprocess.run(
            [
                st,
                "run",
                f"{server.base_url}/api/openapi.json",
                "-H",
                f"Authorization: Bearer {token}",
                "--checks",
                "not_a_server_error,status_code_conformance,content_type_conformance,"
                "response_schema_conformance,response_headers_conformance",
                "--max-examples",
                "15",
                "--seed",
                "1",
                # login is throttled on purpose and password changes or revoking the token would
                # lock the run out; test_rest_settings_tokens_auth covers them directly
                "--exclude-path-regex",
                r"^/api/(password|login|tokens/\{id\})$",
            ],
            capture_output=True,
            text=True,
            timeout=900,
            env={**os.environ, "NO_COLOR": "1"},
        )
        assert result.returncode == 0, result.stdout[-6000:]
    finally:
        server.stop()
    assert "Traceback" not in server.log(), server.log()[-4000:]


def _make_token(data_dir: Path, base: str) -> str:
    """Log in with the initial password and create an API token, as an owner would."""
    import http.cookiejar
    import json

    password = (data_dir / "initial-password").read_text().strip()
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    login = urllib.request.Request(
        base + "/api/login", json.dumps({"password": password}).encode(), {"Content-Type": "application/json"}
    )
    xsrf = json.load(opener.open(login))["xsrf"]
    create = urllib.request.Request(
        base + "/api/tokens",
        json.dumps({"name": "schemathesis"}).encode(),
        {"Content-Type": "application/json", "X-XSRFToken": xsrf},
    )
    return json.load(opener.open(create))["token"]
