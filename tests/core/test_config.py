"""Config: defaults, env references, one clear line per problem, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from streamer_tts.config import ConfigError, load_config, parse_config, to_rules
from streamer_tts.core.decisions import Priority

ROOT = Path(__file__).resolve().parents[2]
ENV = {"TWITCH_CLIENT_ID": "cid", "TWITCH_CLIENT_SECRET": "s3cr3t-value"}

ISSUE_EXAMPLE = """
twitch:
  client_id: ${TWITCH_CLIENT_ID}
  client_secret: ${TWITCH_CLIENT_SECRET}
  bot_id: "123456"
  owner_id: "654321"
  tokens_file: tokens.json
  endpoints:
    api: https://api.twitch.tv/helix/
    auth: https://id.twitch.tv/
    eventsub: wss://eventsub.wss.twitch.tv/ws
engine:
  primary: piper
  fallback: piper
  cartesia: {api_key: ${CARTESIA_API_KEY}, model: sonic-3, voice: "<voice id>", websocket_url: wss://api.cartesia.ai, base_url: https://api.cartesia.ai}
audio:
  output: default
  gap_ms: 300
  max_message_seconds: 30
logging:
  format: text
  file: null
tiers:
  - {min_bits: 1000, priority: urgent}
  - {min_bits: 500,  priority: high}
  - {min_bits: 100,  priority: normal}
"""


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as e:
        parse_config(text, env=env if env is not None else ENV)
    return e.value.problems


def test_issue_example_loads() -> None:
    config = parse_config(ISSUE_EXAMPLE, env={**ENV, "CARTESIA_API_KEY": "k"})
    assert config.twitch is not None and config.twitch.bot_id == "123456"
    rules = to_rules(config)
    assert rules.tiers.match(1000).priority is Priority.URGENT  # type: ignore[union-attr]
    assert rules.tiers.match(99) is None


def test_empty_config_has_defaults() -> None:
    config = parse_config("", env={})
    assert config.twitch is None and config.audio.gap_ms == 300
    to_rules(config)


def test_shipped_config_is_valid() -> None:
    config = load_config(ROOT / "config.yaml", env=ENV)
    rules = to_rules(config)
    assert rules.sources  # every key documented there parses


def test_typo_bad_priority_and_missing_env_are_three_lines() -> None:
    text = ISSUE_EXAMPLE.replace("gap_ms: 300", "gap_msec: 300").replace(
        "priority: high}", "priority: hihg}"
    )
    lines = problems(text, env={"TWITCH_CLIENT_ID": "cid"})
    assert len(lines) == 3, lines
    joined = "\n".join(lines)
    assert "audio.gap_msec: unknown key" in joined and "gap_ms" in joined
    assert "tiers.1.priority: 'hihg' is not allowed" in joined and "urgent" in joined
    assert "twitch.client_secret: environment variable TWITCH_CLIENT_SECRET is not set" in joined


def test_secret_never_in_messages() -> None:
    text = ISSUE_EXAMPLE.replace('bot_id: "123456"', 'bot_id: "12x"')
    bad = problems(text + "\nsurprise: 1\n", env={**ENV, "CARTESIA_API_KEY": "sk-verysecret"})
    assert not any("s3cr3t" in p or "sk-verysecret" in p for p in bad)
    assert any("twitch.bot_id" in p for p in bad)


def test_dotenv_beside_config(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(ISSUE_EXAMPLE.replace("${CARTESIA_API_KEY}", "x"))
    (tmp_path / ".env").write_text(
        "# secrets\nTWITCH_CLIENT_ID=abc\nexport TWITCH_CLIENT_SECRET='quoted'\n"
    )
    config = load_config(tmp_path / "config.yaml", env={})
    assert config.twitch is not None
    assert config.twitch.client_secret.get_secret_value() == "quoted"


def test_yaml_syntax_error_names_the_line() -> None:
    lines = problems("audio:\n  gap_ms: [300\n")
    assert len(lines) == 1 and "line" in lines[0]


def test_template_placeholders_checked() -> None:
    lines = problems("sources:\n  cheer:\n    template: '{user} gave {money}'\n")
    assert "unknown placeholder {money}" in lines[0]


@pytest.mark.parametrize(
    "snippet,expected",
    [
        ("audio:\n  gap_ms: -5\n", "audio.gap_ms"),
        ("tiers: []\n", "tiers"),
        ("commands:\n  skip: {name: tts, allow: moderator}\n", "share the name"),
        ("limits:\n  roles: {king: null}\n", "limits.roles"),
        ("engine:\n  primary: cartesia\n", "cartesia.api_key"),
        ("- a\n- b\n", "top level"),
    ],
)
def test_bad_values_are_one_clear_line(snippet: str, expected: str) -> None:
    assert any(expected in p for p in problems(snippet))


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **(env or {})},
        timeout=60,
    )


def test_check_config_cli_exit_2_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        ISSUE_EXAMPLE.replace("gap_ms: 300", "gap_msec: 300").replace(
            "priority: high}", "priority: hihg}"
        )
    )
    out = run_cli("check-config", "--config", str(bad), env={"TWITCH_CLIENT_ID": "x"})
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 3, out.stderr


def test_check_config_cli_prints_rules(tmp_path: Path) -> None:
    out = run_cli("check-config", "--config", str(ROOT / "config.yaml"), env=ENV)
    assert out.returncode == 0, out.stderr
    for heading in ("Donation tiers", "Limits", "Commands", "urgent", "!skip"):
        assert heading in out.stdout
    assert "s3cr3t" not in out.stdout + out.stderr


def test_every_subcommand_has_help() -> None:
    for command in ("run", "check-config", "devices", "auth", "demo", "api-token", "stats"):
        out = run_cli(command, "--help")
        assert out.returncode == 0 and "--config" in out.stdout


SECRET_SHAPES = [
    # a model-level (section validator) error whose input is the whole section
    "engine:\n  primary: cartesia\n  cartesia: {api_key: SECRET}\n",
    # the key pasted where the section goes
    "engine:\n  cartesia: SECRET\n",
    "twitch: SECRET\n",
    # wrong types for the secret itself
    "engine:\n  cartesia: {api_key: [SECRET]}\n",
    "engine:\n  cartesia: {api_key: {nested: SECRET}}\n",
    "engine:\n  cartesia: {api_key: SECRET, voice: 12, model: [1]}\n  primary: cartesia\n",
    'twitch: {client_id: a, client_secret: [SECRET], bot_id: "1", owner_id: "2"}\n',
    'twitch: {client_id: a, client_secret: {x: SECRET}, bot_id: "x", owner_id: "2"}\n',
    'twitch: {client_id: a, client_secret: SECRET, bot_id: "1", owner_id: "2", oops: 1}\n',
    'twitch: {client_id: a, client_secret: SECRET, bot_id: "1"}\n',
    "twitch: [{client_id: a, client_secret: SECRET}]\n",
    # from the environment, into a key that is not secret-named
    "engine:\n  cartesia: {api_key: ${KEY}, voice: ${KEY}, timeout_seconds: ${KEY}}\n",
    "audio: {output: ${KEY}, gap_ms: ${KEY}}\n",
]


@pytest.mark.parametrize("snippet", SECRET_SHAPES)
@pytest.mark.parametrize("secret", ["sk-live-0123456789abcdef", "hunter2hunter2", "98765432101"])
def test_secret_never_shown_even_in_wrong_shapes(snippet: str, secret: str) -> None:
    lines = problems(snippet.replace("SECRET", secret), env={"KEY": secret})
    assert lines
    for line in lines:
        for cut in range(4, len(secret) + 1):  # not even the first characters
            assert secret[:cut] not in line, line


def test_section_error_names_the_problem_without_the_section() -> None:
    lines = problems("engine:\n  primary: cartesia\n  cartesia: {api_key: sk-abcdefgh}\n")
    assert lines == ["config: engine: primary is cartesia but cartesia.voice is not set"]


def test_rules_from_an_empty_config_are_the_core_defaults() -> None:
    """Defaults live in the schema; the core's `Rules()` (used by tests and
    benches) must not drift from them."""
    import dataclasses

    from streamer_tts.core.rules import Rules

    built, core = to_rules(parse_config("", env={})), Rules()
    drift = [
        (f.name, getattr(built, f.name), getattr(core, f.name))
        for f in dataclasses.fields(Rules)
        if getattr(built, f.name) != getattr(core, f.name)
    ]
    assert drift == []


def test_one_list_of_commands() -> None:
    from streamer_tts.config.schema import Commands
    from streamer_tts.core.commands import CommandKey
    from streamer_tts.core.permissions import DEFAULT_PERMISSIONS

    assert set(Commands.model_fields) - {"replies"} == set(CommandKey)
    assert set(CommandKey) <= set(DEFAULT_PERMISSIONS)
    rules = to_rules(parse_config("commands:\n  skip: {name: next, allow: vip}\n", env={}))
    assert str(rules.permissions.required["skip"]) == "vip"
