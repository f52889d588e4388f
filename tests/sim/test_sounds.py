"""Sound lengths: shared table, built-ins, sound files, say-number/digits/characters."""

from __future__ import annotations

import math
import wave
from pathlib import Path

import pytest

from ivrkit.sim.model._sounds import (
    BUILTIN_SECONDS,
    DEFAULT_SOUND_SECONDS,
    UNKNOWN_SCHEME,
    SoundLibrary,
    file_seconds,
    number_files,
    shared_durations_file,
)


def test_shared_table_is_found_and_used() -> None:
    assert shared_durations_file().is_file()
    lib = SoundLibrary()
    assert lib.sound_seconds("activated") == pytest.approx(1.064)  # only in the shared table
    assert lib.sound_seconds("press-1") == BUILTIN_SECONDS["press-1"]
    # Asterisk has no such file: the playback fails (protocol-catalog step 40)
    assert lib.sound_seconds("never-heard-of-it") is None
    assert lib.media_seconds("sound:never-heard-of-it") is None
    assert "activated" in lib.list_sounds()
    assert "never-heard-of-it" not in lib.list_sounds()


def test_declared_sounds_exist_with_their_length_or_the_default() -> None:
    lib = SoundLibrary(declared={"welcome": 2.5, "menu": None, "press-1": None}, missing=["or"])
    assert lib.sound_seconds("welcome") == 2.5
    assert lib.sound_seconds("menu") == DEFAULT_SOUND_SECONDS
    assert lib.sound_seconds("press-1") == BUILTIN_SECONDS["press-1"]  # known length kept
    assert lib.sound_seconds("or") is None
    assert {"welcome", "menu"} <= set(lib.list_sounds())
    assert "or" not in lib.list_sounds()
    assert lib.sound_formats("or") == []
    assert SoundLibrary(declared=["a", "b"]).sound_seconds("b") == DEFAULT_SOUND_SECONDS


@pytest.mark.parametrize(
    ("declared", "message"),
    [
        ({"sound:x": None}, "without 'sound:'"),
        ({"": None}, "without 'sound:'"),
        ({"x": -1.0}, "must be a number >= 0"),
        ({"x": "long"}, "must be a number >= 0"),
    ],
)
def test_bad_declared_sounds_are_refused(declared: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SoundLibrary(declared=declared)  # type: ignore[arg-type]


def test_builtins_work_without_the_shared_table(tmp_path: Path) -> None:
    lib = SoundLibrary(durations_file=tmp_path / "absent.tsv")
    assert lib.media_seconds("digits:12") == pytest.approx(0.911 + 0.747)
    assert lib.media_seconds("sound:are-you-still-there") == 1.475


@pytest.mark.parametrize(
    ("n", "files"),
    [
        (0, ["digits/0"]),
        (42, ["digits/40", "digits/2"]),
        (70, ["digits/70"]),
        (115, ["digits/1", "digits/hundred", "digits/15"]),
        (2001, ["digits/2", "digits/thousand", "digits/1"]),
        (-3, ["digits/minus", "digits/3"]),
    ],
)
def test_say_number_files(n: int, files: list[str]) -> None:
    assert number_files(n) == files


def test_media_schemes() -> None:
    lib = SoundLibrary()
    assert lib.media_seconds("number:42") == pytest.approx(0.948 + 0.747)
    assert lib.media_seconds("characters:ab") == pytest.approx(0.615 + 0.741)
    assert lib.media_seconds("digits:#*") == pytest.approx(0.748 + 0.809)
    assert math.isinf(lib.media_seconds("tone:ring;tonezone=us") or 0)
    assert lib.media_seconds("bogus:foo") == UNKNOWN_SCHEME
    assert lib.media_seconds("recording:nope") is None
    assert lib.media_seconds("number:abc") is None


def test_sound_files_by_format(tmp_path: Path) -> None:
    en = tmp_path / "en"
    (en / "digits").mkdir(parents=True)
    with wave.open(str(en / "hello.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * 12000)  # 1.5 s
    (en / "bye.gsm").write_bytes(b"\x00" * 33 * 100)  # 100 frames of 20 ms
    (en / "digits" / "1.alaw").write_bytes(b"\x00" * 4000)  # 0.5 s
    (en / "broken.wav").write_bytes(b"not a wav")
    assert file_seconds(en / "hello.wav") == pytest.approx(1.5)
    lib = SoundLibrary(tmp_path)  # the parent of en/ works as well as en/ itself
    assert lib.sound_seconds("hello") == pytest.approx(1.5)
    assert lib.sound_seconds("bye") == pytest.approx(2.0)
    assert lib.media_seconds("digits:11") == pytest.approx(1.0)
    assert lib.sound_seconds("missing") is None
    assert lib.media_seconds("digits:12") is None  # say.c stops at the missing digits/2
    assert lib.sound_seconds("broken") is None
    assert lib.sound_seconds("../en/hello") is None
    assert SoundLibrary(en).sound_seconds("hello") == pytest.approx(1.5)
    assert lib.list_sounds() == ["broken", "bye", "digits/1", "hello"]
    assert lib.sound_formats("hello") == ["wav"]
