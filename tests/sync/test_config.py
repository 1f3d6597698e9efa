"""The sync config: env:/file: secrets, every problem at once with file and
line, exit code 2 from the CLI."""

from __future__ import annotations

import pathlib

import pytest

import appstats as aps
from appstats.cli import main
from appstats.sync import ConfigError, load_config

GOOD = """
[target]
uri = "lake"

[defaults]
start = "2024-03-01"
lag_days = 2

[baidu_tp]
client_id = "env:T_TP_ID"
ticket = "env:T_TP_TICKET"

[[baidu]]
name = "shop"
app_id = "17000001"
refresh_token = "env:T_SHOP_RT"

[[mta]]
name = "game"
app_id = "500000001"
secret_key = "file:mta.key"
reports = ["user_basic", "mta.retention"]

[[tim]]
name = "chat"
sdkappid = 1400000001
secret_key = "env:T_TIM_KEY"
region = "sgp"
"""


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in {
        "T_TP_ID": "tp-id",
        "T_TP_TICKET": "tp-ticket-secret",
        "T_SHOP_RT": "27.shop-refresh-secret",
        "T_TIM_KEY": "tim-key-secret",
    }.items():
        monkeypatch.setenv(k, v)


def _write(tmp: pathlib.Path, text: str, name: str = "sync.toml") -> pathlib.Path:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    (tmp / "mta.key").write_text("mta-key-secret\n", encoding="utf-8")
    return p


def test_a_good_config(tmp_path: pathlib.Path, env: None) -> None:
    cfg = load_config(_write(tmp_path, GOOD))
    assert cfg.uri == str((tmp_path / "lake").resolve())
    assert cfg.token_store == tmp_path / "sync.tokens.json"
    names = {a.name: a for a in cfg.apps}
    assert set(names) == {"shop", "game", "chat"}
    assert names["game"].credentials["secret_key"] == "mta-key-secret"
    assert [r.key for r in names["game"].reports] == ["mta.user_basic", "mta.retention"]
    assert names["shop"].credentials["tp_ticket"] == "tp-ticket-secret"
    assert names["shop"].lag_days == 2 and str(names["shop"].start) == "2024-03-01"
    assert len(names["shop"].reports) == 11  # every Baidu report by default
    assert names["chat"].app_id == "1400000001"
    # no secret in any repr
    shown = repr(cfg) + "".join(repr(a) for a in cfg.apps)
    for secret in (
        "tp-ticket-secret",
        "27.shop-refresh-secret",
        "tim-key-secret",
        "mta-key-secret",
    ):
        assert secret not in shown


BAD = """
[target]
uri = "lake"
colour = "blue"

[defaults]
start = "2024-02-30"

[[baidu]]
name = "shop"
refresh_token = "env:T_SHOP_RT"

[[mta]]
name = "game"
app_id = "1"
secret_key = "literal-secret"
reports = ["user_basic", "nope"]

[[mta]]
name = "game"
app_id = "2"
secret_key = "env:T_MISSING_VAR"
secret = "x"

[[qq]]
name = "x"
"""


def test_every_problem_at_once_with_lines(tmp_path: pathlib.Path, env: None) -> None:
    p = _write(tmp_path, BAD)
    with pytest.raises(ConfigError) as ei:
        load_config(p)
    issues = {(i.line, i.message.split(":")[-1].strip()[:30]) for i in ei.value.issues}
    msgs = "\n".join(str(i) for i in ei.value.issues)
    lines = {i.line for i in ei.value.issues}
    assert all(str(p) in str(i) for i in ei.value.issues)
    assert "unknown key 'colour'" in msgs and 4 in lines
    assert "must be a date" in msgs and 7 in lines
    assert "[baidu_tp]" in msgs  # a program needs the platform
    assert "literal secret" in msgs and 16 in lines
    assert "unknown report 'nope'" in msgs and 17 in lines
    assert "T_MISSING_VAR is not set" in msgs and 22 in lines
    assert "unknown key 'secret'" in msgs and 23 in lines
    assert "duplicate name 'game'" in msgs and 20 in lines
    assert "unknown section or provider 'qq'" in msgs and 25 in lines
    assert len(issues) >= 9
    assert "literal-secret" not in msgs  # the value is never echoed
    assert isinstance(ei.value, aps.InvalidArgument)


def test_literal_secrets_only_when_allowed(
    tmp_path: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    p = _write(tmp_path, '[[mta]]\nname = "g"\napp_id = "1"\nsecret_key = "lit-secret"\n')
    with pytest.raises(ConfigError, match="literal secret"):
        load_config(p)
    cfg = load_config(p, allow_literal_secrets=True)
    assert cfg.apps[0].credentials["secret_key"] == "lit-secret"
    assert any("literal secret" in r.getMessage() for r in caplog.records)
    assert all("lit-secret" not in r.getMessage() for r in caplog.records)


def test_bad_toml_names_the_line(tmp_path: pathlib.Path) -> None:
    p = _write(tmp_path, '[target]\nuri = "lake"\n[[mta]\nname = "x"\n')
    with pytest.raises(ConfigError) as ei:
        load_config(p)
    assert ei.value.issues[0].line == 3 and "not valid TOML" in str(ei.value)


def test_cli_exit_2_and_all_problems(
    tmp_path: pathlib.Path, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    p = _write(tmp_path, BAD)
    assert main(["sync", "--config", str(p)]) == 2
    err = capsys.readouterr().err
    assert err.count(str(p)) >= 9 and "Traceback" not in err
    assert main(["sync", "--config", str(tmp_path / "missing.toml")]) == 2
    good = _write(tmp_path, GOOD, "good.toml")
    assert main(["sync", "--config", str(good), "--until", "2024-13-01", "--dry-run"]) == 2
    assert main(["sync", "--config", str(good), "--apps", "nobody", "--dry-run"]) == 2
    assert main(["sync", "--config", str(good), "--reports", "nope", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "unknown app 'nobody'" in err and "unknown report 'nope'" in err
