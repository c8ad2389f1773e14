"""/api/configs: create, update (versions, diff), activate (exactly one, a concurrent one refused), bad input."""

from __future__ import annotations

import asyncio

from control.app import STORE_KEY
from tests.control.kit import AUTH, client, run, template


def test_create_update_activate_and_read_back(control_db_url):
    async def check():
        async with client(control_db_url) as c:
            created = await c.post("/api/configs", json=await template(c, "alpha"), headers=AUTH)
            body = await created.json()
            changed = await c.put(f"/api/configs/{body['id']}",
                                  json=await template(c, "alpha", symbols=["SPY"]), headers=AUTH)
            activated = await c.post(f"/api/configs/{body['id']}/activate", headers=AUTH)
            listed = await (await c.get("/api/configs", headers=AUTH)).json()
            versions = await (await c.get(f"/api/configs/{body['id']}/versions", headers=AUTH)).json()
            audit = await (await c.get("/api/audit?limit=10", headers=AUTH)).json()
            return created.status, body, changed.status, await changed.json(), activated.status, listed, versions, \
                audit

    created, body, changed, change, activated, listed, versions, audit = run(check())
    assert created == 201 and body["version"] == 1 and not body["is_active"]
    assert body["settings"]["mode"] == "paper" and "api_key" not in body["settings"]["broker"]
    assert changed == 200 and change["configuration"]["version"] == 2
    assert change["diff"] == [{"field": "symbols", "old": ["SPY", "QQQ", "IWM"], "new": ["SPY"]}]
    assert change["configuration"]["content_hash"] != body["content_hash"]
    assert activated == 200 and [c["is_active"] for c in listed] == [True]
    assert [v["version"] for v in versions] == [1, 2]
    assert [a["action"] for a in audit] == ["activate", "update", "create"]
    assert {a["actor"] for a in audit} == {"token"}


def test_the_content_hash_is_the_session_configs_id(control_db_url):
    from config.loader import validate_config

    async def check():
        async with client(control_db_url) as c:
            return await (await c.post("/api/configs", json=await template(c), headers=AUTH)).json()

    body = run(check())
    assert body["content_hash"] == validate_config(body["settings"]).config_id


def test_a_second_activation_while_one_runs_is_refused_with_409(control_db_url):
    async def check():
        async with client(control_db_url) as c:
            first = (await (await c.post("/api/configs", json=await template(c, "a"), headers=AUTH)).json())["id"]
            second = (await (await c.post("/api/configs", json=await template(c, "b"), headers=AUTH)).json())["id"]
            store = c.server.app[STORE_KEY]
            entered, release = asyncio.Event(), asyncio.Event()
            original = store.activate_configuration

            async def held(*args, **kwargs):
                entered.set()
                await release.wait()
                return await original(*args, **kwargs)

            store.activate_configuration = held
            one = asyncio.create_task(c.post(f"/api/configs/{first}/activate", headers=AUTH))
            await asyncio.wait_for(entered.wait(), 60)
            answer = await c.post(f"/api/configs/{second}/activate", headers=AUTH)
            refused = answer.status, await answer.json()
            release.set()
            done = await one
            listed = await (await c.get("/api/configs", headers=AUTH)).json()
            return refused, done.status, [(x["name"], x["is_active"]) for x in listed]

    (status, body), done, listed = run(check())
    assert status == 409 and "another activation" in body["detail"]
    assert done == 200 and listed == [("a", True), ("b", False)]


def test_invalid_settings_name_the_field_and_write_nothing(control_db_url):
    async def check():
        async with client(control_db_url) as c:
            answers = []
            for settings in ({"sizing": {"min_contracts": 1, "max_contracts": 1_000_000, "current_contracts": 1}},
                             {"symbols": []}, {"mode": "backtest", "runtime": {"kind": "inline"}},
                             {"mode": "live"}, {"broker": {"api_key": "secret-should-not-be-stored"}},
                             {"no_such_setting": 1}):
                answer = await c.post("/api/configs", json=await template(c, **settings), headers=AUTH)
                answers.append((answer.status, await answer.json()))
            bad_name = await c.post("/api/configs", json=dict(await template(c), name="../x"), headers=AUTH)
            listed = await (await c.get("/api/configs", headers=AUTH)).json()
            return answers, bad_name.status, listed

    answers, bad_name, listed = run(check())
    fields = [[p["field"] for p in body["problems"]] for _, body in answers]
    assert all(status == 422 for status, _ in answers)
    assert fields[0] == ["settings.sizing.max_contracts"]
    assert fields[1] == ["settings.symbols"]
    assert fields[2] == ["settings.mode"]
    assert fields[3] == ["settings.mode"] or "settings.broker.url" in fields[3]
    assert fields[4] == ["settings.broker.api_key"]
    assert "secret-should-not-be-stored" not in str(answers[4][1])
    assert fields[5] == ["settings.no_such_setting"]
    assert bad_name == 422 and listed == []


def test_a_taken_name_is_a_conflict_and_an_unknown_id_is_404(control_db_url):
    async def check():
        async with client(control_db_url) as c:
            await c.post("/api/configs", json=await template(c, "same"), headers=AUTH)
            taken = await c.post("/api/configs", json=await template(c, "same"), headers=AUTH)
            missing = [await c.get(path, headers=AUTH) for path in ("/api/configs/999", "/api/configs/abc",
                                                                    "/api/configs/0", "/api/configs/999/versions")]
            activate_missing = await c.post("/api/configs/999/activate", headers=AUTH)
            return taken.status, [m.status for m in missing], activate_missing.status

    assert run(check()) == (409, [404, 404, 404, 404], 404)


def test_malformed_bodies_get_a_json_problem(control_db_url):
    async def check():
        async with client(control_db_url) as c:
            headers = dict(AUTH, **{"Content-Type": "application/json"})
            answers = [
                await c.post("/api/configs", data=b"\xff\xfe{", headers=headers),
                await c.post("/api/configs", data=b"{not json", headers=headers),
                await c.post("/api/configs", data=b"[]", headers=headers),
                await c.post("/api/configs", data=b"{}", headers=dict(AUTH, **{"Content-Type": "text/plain"})),
                await c.post("/api/configs", data=b"{}", headers=dict(
                    AUTH, **{"Content-Type": "application/json; charset=latin-1"})),
                await c.delete("/api/configs", headers=AUTH),
            ]
            return [(a.status, a.content_type, (await a.json())["error"]) for a in answers]

    assert run(check()) == [(400, "application/json", "malformed"), (400, "application/json", "malformed"),
                            (422, "application/json", "invalid"), (415, "application/json", "unsupported_media_type"),
                            (415, "application/json", "unsupported_media_type"),
                            (405, "application/json", "method_not_allowed")]


def test_a_ledger_outside_the_servers_state_folder_is_refused(control_db_url):
    async def check():
        async with client(control_db_url) as c:
            body = await template(c)
            body["settings"]["ledger"]["path"] = "/etc/spreadwright-ledger.db"
            answer = await c.post("/api/configs", json=body, headers=AUTH)
            return answer.status, await answer.json()

    status, body = run(check())
    assert status == 422 and [p["field"] for p in body["problems"]] == ["settings.ledger.path"]
