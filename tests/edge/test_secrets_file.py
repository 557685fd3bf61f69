"""Secret files: 0600 from the first byte, atomic, never through a symlink, one
token when first starts race."""

from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from streamer_tts.api.token import TOKEN_FILE, api_token, overlay_token
from streamer_tts.secrets_file import (
    SecretFileError,
    create_secret_file,
    read_secret_file,
    write_secret_file,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_write_is_0600_whatever_the_umask_and_leaves_no_temp(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        target = tmp_path / "tokens.json"
        write_secret_file(target, b'{"a": 1}')
        write_secret_file(target, b'{"a": 2}')
    finally:
        os.umask(old)
    assert target.read_bytes() == b'{"a": 2}' and _mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["tokens.json"]


def test_a_symlink_is_replaced_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    link = tmp_path / "tokens.json"
    link.symlink_to(victim)
    with pytest.raises(SecretFileError, match="symlink"):
        read_secret_file(link)
    write_secret_file(link, b"secret")
    assert victim.read_bytes() == b"precious"
    assert not link.is_symlink() and link.read_bytes() == b"secret" and _mode(link) == 0o600


def test_create_never_replaces_or_follows(tmp_path: Path) -> None:
    path = tmp_path / "api-token"
    assert create_secret_file(path, b"first") is True
    assert create_secret_file(path, b"second") is False
    assert path.read_bytes() == b"first"
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    assert create_secret_file(dangling, b"x") is False  # a planted link is not written through
    assert not (tmp_path / "nowhere").exists()


def test_api_token_refuses_a_symlinked_token_file(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").write_text("attacker-chosen-token\n")
    (tmp_path / TOKEN_FILE).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(SecretFileError):
        api_token(tmp_path)


def _first_start(state_dir: str, barrier: multiprocessing.synchronize.Barrier, out: object) -> None:
    barrier.wait()
    out.put(api_token(Path(state_dir)))  # type: ignore[attr-defined]


def test_racing_first_starts_agree_on_one_token(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    for round_ in range(5):
        state = tmp_path / f"state{round_}"
        barrier = ctx.Barrier(6)
        out = ctx.Queue()
        procs = [
            ctx.Process(target=_first_start, args=(str(state), barrier, out)) for _ in range(6)
        ]
        for p in procs:
            p.start()
        tokens = [out.get(timeout=30) for _ in procs]
        for p in procs:
            p.join(30)
            assert p.exitcode == 0
        assert len(set(tokens)) == 1, tokens
        assert (state / TOKEN_FILE).read_text().strip() == tokens[0]
        assert _mode(state / TOKEN_FILE) == 0o600
        assert sorted(p.name for p in state.iterdir()) == [TOKEN_FILE]


def test_overlay_token_is_stable_and_not_the_full_token(tmp_path: Path) -> None:
    token = api_token(tmp_path)
    assert api_token(tmp_path) == token
    assert overlay_token(token) == overlay_token(token) != token
    assert token not in overlay_token(token)
    assert overlay_token("another") != overlay_token(token)
