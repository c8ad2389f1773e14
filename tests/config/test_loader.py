import pytest

from config import ConfigError, Mode, load_profile
from config.crypto import CRYPTO_PROFILES_DIR, load_crypto_profile
from config.loader import PROFILES_DIR


@pytest.mark.parametrize("name", sorted(p.stem for p in PROFILES_DIR.glob("*.yaml")))
def test_every_shipped_profile_loads(name):
    config = load_profile(name, env={})
    assert config.mode in set(Mode)


def test_env_overrides_keep_yaml_types():
    config = load_profile("backtest", env={
        "SPREADWRIGHT__TIMING__CANCEL_AFTER_SECONDS": "2.0",
        "SPREADWRIGHT__EXECUTOR__OPTIMAL_EXPIRY_RANGE": "[7, 45]",
        "SPREADWRIGHT__BALANCER__FORCE_BALANCE_AT_CLOSE": "false",
        "UNRELATED": "x",
    })
    assert config.timing.cancel_after_seconds == 2.0
    assert config.executor.optimal_expiry_range == (7, 45)
    assert config.balancer.force_balance_at_close is False


def test_bad_values_fail_at_load_with_field_path_and_reason():
    with pytest.raises(ConfigError) as err:
        load_profile("backtest", env={
            "SPREADWRIGHT__TIMING__MIN_DELAY_BETWEEN_ATTEMPTS": "30",
            "SPREADWRIGHT__SIZING__BOGUS": "1",
            "SPREADWRIGHT__ROUTER__MAX_PARTIAL_EXPOSURE_MS": "900",
        })
    problems = dict(err.value.problems)
    assert problems["timing.min_delay_between_attempts"] == ("must be <= max_delay_between_attempts (set by "
                                                             "SPREADWRIGHT__TIMING__MIN_DELAY_BETWEEN_ATTEMPTS)")
    assert problems["sizing.bogus"] == "unknown field (set by SPREADWRIGHT__SIZING__BOGUS)"
    assert "500" in problems["router.max_partial_exposure_ms"]
    assert "timing.min_delay_between_attempts: must be <= max_delay_between_attempts" in str(err.value)


def test_whole_fly_complex_order_refused_outside_simulation():
    with pytest.raises(ConfigError) as err:
        load_profile("paper", env={"SPREADWRIGHT__ROUTER__ROUTING__ALLOW_WHOLE_FLY_COMPLEX_ORDER": "true"})
    path, reason = err.value.problems[0]
    assert path == "router.routing.allow_whole_fly_complex_order"
    assert "simulation only" in reason
    assert load_profile("backtest", env={}).router.routing.allow_whole_fly_complex_order is True


def test_mode_that_does_not_fit_the_runtime_gives_a_hint():
    with pytest.raises(ConfigError, match=r"runtime.kind: mode paper runs on the ray runtime.*set runtime.kind: ray"):
        load_profile("paper", env={"SPREADWRIGHT__RUNTIME__KIND": "inline"})


def test_unknown_profile_lists_the_built_ins():
    with pytest.raises(ConfigError, match="built-in: backtest"):
        load_profile("nope", env={})


def test_malformed_yaml_and_non_mapping(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("timing: {cancel_after_seconds: [1,\n")
    with pytest.raises(ConfigError, match="<yaml>"):
        load_profile(broken, env={})
    listing = tmp_path / "list.yaml"
    listing.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_profile(listing, env={})


def test_same_content_same_id_whatever_the_key_order(tmp_path):
    one = tmp_path / "one.yaml"
    two = tmp_path / "two.yaml"
    one.write_text("mode: backtest\nname: x\ntiming: {cancel_after_seconds: 2.0, random_delay_factor: 0.1}\n")
    two.write_text("timing: {random_delay_factor: 0.1, cancel_after_seconds: 2.0}\nname: x\nmode: backtest\n")
    assert load_profile(one, env={}).config_id == load_profile(two, env={}).config_id


def test_sessions_need_a_durable_ledger_and_live_needs_its_broker():
    with pytest.raises(ConfigError, match=r"ledger.kind: mode paper needs a durable ledger"):
        load_profile("paper", env={"SPREADWRIGHT__LEDGER__KIND": "memory"})
    with pytest.raises(ConfigError, match=r"broker.url: a live session needs its broker's URL"):
        load_profile("live.example", env={"SPREADWRIGHT__BROKER__URL": "null"})
    with pytest.raises(ConfigError, match=r"broker.url.*http"):
        load_profile("paper", env={"SPREADWRIGHT__BROKER__URL": "ftp://x"})


BAD_INPUTS = [
    ({"SPREADWRIGHT__BACKTEST__DAY": "2026-11-26"}, "backtest.day", "the next session is 2026-11-27"),
    ({"SPREADWRIGHT__BACKTEST__DAY": "2026-11-21"}, "backtest.day", "Saturday"),
    ({"SPREADWRIGHT__BACKTEST__START_PRICES": "{SPY: .nan, QQQ: 1, IWM: 1}"}, "backtest.start_prices.SPY", "finite"),
    ({"SPREADWRIGHT__BACKTEST__START_PRICES": "{SPY: -5, QQQ: 1, IWM: 1}"}, "backtest.start_prices.SPY", "above 0"),
    ({"SPREADWRIGHT__BACKTEST__START_PRICES": "{SPY: 600}"}, "backtest.start_prices", "no start price"),
    ({"SPREADWRIGHT__SYMBOLS": "[SPY, TSLA]"}, "symbols", "no product spec"),
    ({"SPREADWRIGHT__SYMBOLS": "[]"}, "symbols", "at least 1"),
    ({"SPREADWRIGHT__BACKTEST__EXPIRATIONS_DTE": "[]"}, "backtest.expirations_dte", "at least one"),
    ({"SPREADWRIGHT__BACKTEST__DAY": "1999-01-04"}, "backtest.day", "outside the calendar"),
    ({"SPREADWRIGHT__BACKTEST__START": "2030-12-30", "SPREADWRIGHT__BACKTEST__END": "2031-01-02"}, "backtest.end",
     "outside the calendar"),
    ({"SPREADWRIGHT__TIMING__CANCEL_AFTER_SECONDS": "[1, "}, "timing.cancel_after_seconds",
     "SPREADWRIGHT__TIMING__CANCEL_AFTER_SECONDS is not a YAML value"),
    ({"SPREADWRIGHT__TIMING__CANCEL_AFTER_SECONDS": "-1"}, "timing.cancel_after_seconds",
     "(set by SPREADWRIGHT__TIMING__CANCEL_AFTER_SECONDS)"),
]


@pytest.mark.parametrize("env, field, fragment", BAD_INPUTS)
def test_a_config_that_cannot_run_fails_at_load_naming_the_field(env, field, fragment):
    with pytest.raises(ConfigError) as error:
        load_profile("backtest", env=env)
    assert any(path == field and fragment in reason for path, reason in error.value.problems), error.value


def test_a_secret_is_a_plain_string_never_parsed_nor_printed():
    key = "a: [b, {c"                                       # would not parse as YAML
    config = load_profile("backtest", env={"SPREADWRIGHT__BROKER__API_KEY": key})
    assert config.broker.api_key.get_secret_value() == key
    assert key not in repr(config) and key not in str(config.model_dump())


def test_a_file_that_is_not_utf8_or_holds_an_impossible_date_is_refused(tmp_path):
    not_text = tmp_path / "binary.yaml"
    not_text.write_bytes(b"name: \xff\xfe\n")
    bad_date = tmp_path / "date.yaml"
    bad_date.write_text("mode: backtest\nbacktest: {day: 2026-02-30}\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_profile(not_text, env={})
    with pytest.raises(ConfigError, match="out of range"):
        load_profile(bad_date, env={})


@pytest.mark.parametrize("name", sorted(p.stem for p in CRYPTO_PROFILES_DIR.glob("*.yaml")))
def test_every_shipped_crypto_profile_loads(name):
    assert load_crypto_profile(name).mode in ("backtest", "paper")


def test_a_bad_crypto_profile_names_its_fields(tmp_path):
    profile = tmp_path / "bad.yaml"
    profile.write_text("strangle: {delta_band: [0.3, 0.2], entry_start_ist: '25:00', contract_size: 1.0}\n"
                       "mode: live\n")
    with pytest.raises(ConfigError) as raised:
        load_crypto_profile(profile)
    fields = {path for path, _ in raised.value.problems}
    assert {"strangle.delta_band", "strangle.entry_start_ist"} <= fields
