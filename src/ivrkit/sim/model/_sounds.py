"""Sounds and media durations: which sounds exist, and how long a playback lasts.

Two modes, chosen by the ``sounds_dir`` option. In both, a ``sound:`` that does not
exist fails the way Asterisk fails it (``res/res_stasis_playback.c``
``play_on_channel``: ``ast_control_streamfile_lang`` cannot open the file and returns at
once, ``playback_final_update`` publishes the state): ``PlaybackStarted``, then
``PlaybackFinished`` state ``failed`` in the same instant, or ``PlaybackContinuing`` and
the next item when it was not the last of a media list. Recorded: protocol-catalog step
40, ``sound:no-such-sound``, Started and Finished ``failed`` 0.1 ms apart.

* **No sounds directory** (default): the sounds that exist are those of an Asterisk
  with its English core prompts and the guide's five extra prompts installed (like the
  lab the traces were recorded on), plus those the user declares (``sounds=``), minus
  ``missing``. The core prompts and their lengths come from a durations file
  (``name<TAB>seconds`` lines), by default
  ``shared/asterisk-sounds/en-core-durations.tsv`` when that file is found beside the
  repository (read at run time, never copied); the small built-in table below always
  exists (the guide's prompts, digits). A declared sound without a length lasts
  :data:`DEFAULT_SOUND_SECONDS`.
* **A sounds directory** (Debian's ``/usr/share/asterisk/sounds/en`` layout, or its
  parent holding ``<lang>/``): a sound exists only if a file ``<name>.<ext>`` is there,
  and lasts what the file lasts: WAV from its header, GSM at 33 bytes per 20 ms,
  ulaw/alaw at 8000 bytes/s, slin at 16000 bytes/s.

``digits:``, ``number:`` and ``characters:`` are the sum of the files Asterisk's
say.c would play (``digits/N``, ``digits/hundred``, ``letters/x``...). With a directory,
one missing file fails the playback (say.c stops at the first file it cannot stream);
without one they always play (every Asterisk has the core set, which holds them all),
a file of unknown length counting :data:`DEFAULT_SYMBOL_SECONDS`. ``tone:`` plays
until stopped (:data:`FOREVER`); a scheme Asterisk does not know starts and is then
silently abandoned (:data:`UNKNOWN_SCHEME`).
"""

from __future__ import annotations

import math
import wave
from collections.abc import Iterable, Mapping
from pathlib import Path

#: Length of a declared sound with no known duration (documented in docs/simulator.md).
DEFAULT_SOUND_SECONDS = 1.0
#: Length of one ``digits:``/``characters:`` symbol whose file length is unknown.
DEFAULT_SYMBOL_SECONDS = 0.8
#: A playback that only ends when stopped (``tone:``, unknown schemes).
FOREVER = math.inf
#: A scheme Asterisk does not know (``bogus:foo``): PlaybackStarted, then Asterisk moves
#: on to the next queued media without ever sending PlaybackFinished (traces, step 41).
UNKNOWN_SCHEME = -1.0

#: Built-in lengths (seconds). The first five are the lab's prompts as measured from
#: PlaybackStarted→PlaybackFinished in shared/asterisk-traces; the rest are Asterisk's
#: English core prompts (shared/asterisk-sounds).
BUILTIN_SECONDS: dict[str, float] = {
    "press-1": 1.189,
    "or": 0.729,
    "press-2": 1.107,
    "option-is-invalid": 1.883,
    "are-you-still-there": 1.475,
    "you-entered": 0.972,
    "demo-congrats": 30.277,
    "digits/0": 0.875,
    "digits/1": 0.911,
    "digits/2": 0.747,
    "digits/3": 0.838,
    "digits/4": 0.802,
    "digits/5": 0.82,
    "digits/6": 0.881,
    "digits/7": 0.82,
    "digits/8": 0.693,
    "digits/9": 0.859,
    "digits/pound": 0.748,
    "digits/star": 0.809,
}

_BYTES_PER_SECOND = {
    "ulaw": 8000.0,
    "ul": 8000.0,
    "alaw": 8000.0,
    "al": 8000.0,
    "sln": 16000.0,
    "slin": 16000.0,
    "g722": 8000.0,
}
_EXTENSIONS = ("wav", "WAV", "gsm", "ulaw", "ul", "alaw", "al", "sln", "slin", "g722")
_SYMBOL_FILES = {"#": "digits/pound", "*": "digits/star", "-": "digits/minus"}
_CHAR_FILES = {
    "#": "digits/pound",
    "*": "letters/asterisk",
    "-": "letters/dash",
    ".": "letters/dot",
    "@": "letters/at",
    "$": "letters/dollar",
    "=": "letters/equals",
    "+": "letters/plus",
    "/": "letters/slash",
    " ": "letters/space",
    "!": "letters/exclaimation-point",
}


def shared_durations_file() -> Path:
    """Where the shared durations table sits relative to this source tree."""
    return (
        Path(__file__).resolve().parents[4]
        / ".."
        / "shared"
        / "asterisk-sounds"
        / ("en-core-durations.tsv")
    )


def read_durations(path: Path) -> dict[str, float]:
    """Parse ``name<TAB>seconds<TAB>rate`` lines; comments and the header are skipped."""
    table: dict[str, float] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return table
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) < 2 or line.startswith("#"):
            continue
        try:
            table[parts[0]] = float(parts[1])
        except ValueError:
            continue
    return table


def file_seconds(path: Path) -> float | None:
    """Length of one sound file, ``None`` if it cannot be read."""
    ext = path.suffix[1:].lower()
    try:
        if ext == "wav":
            with wave.open(str(path), "rb") as w:
                rate = w.getframerate()
                return w.getnframes() / rate if rate else None
        size = path.stat().st_size
    except (OSError, wave.Error, EOFError):
        return None
    if ext == "gsm":
        return size / 33 * 0.02
    return size / _BYTES_PER_SECOND.get(ext, 8000.0)


def number_files(n: int) -> list[str]:
    """The files Asterisk's English say-number plays for ``n`` (say.c, simplified)."""
    if n < 0:
        return ["digits/minus", *number_files(-n)]
    if n < 20:
        return [f"digits/{n}"]
    if n < 100:
        tens, rest = divmod(n, 10)
        return [f"digits/{tens * 10}"] + ([f"digits/{rest}"] if rest else [])
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return [f"digits/{hundreds}", "digits/hundred"] + (number_files(rest) if rest else [])
    for size, word in ((1_000_000_000, "billion"), (1_000_000, "million"), (1000, "thousand")):
        if n >= size:
            high, rest = divmod(n, size)
            return [*number_files(high), f"digits/{word}"] + (number_files(rest) if rest else [])
    return []  # unreachable


class SoundLibrary:
    """Answers "does this sound exist, and how long is it" for one simulator."""

    def __init__(
        self,
        sounds_dir: Path | None = None,
        durations_file: Path | None = None,
        missing: Iterable[str] = (),
        declared: Mapping[str, float | None] | Iterable[str] = (),
    ) -> None:
        self.sounds_dir = sounds_dir
        #: sounds that do not exist even without a directory (to test failed prompts)
        self.missing = frozenset(missing)
        self._table = dict(BUILTIN_SECONDS)
        # a durations file replaces the shared table (the benchmark's exact sound set)
        self._table.update(read_durations(durations_file or shared_durations_file()))
        for name, seconds in self.check_declared(declared).items():
            if seconds is not None or name not in self._table:
                self._table[name] = DEFAULT_SOUND_SECONDS if seconds is None else seconds
        self._file_cache: dict[tuple[str, str], float | None] = {}

    @staticmethod
    def check_declared(
        declared: Mapping[str, float | None] | Iterable[str],
    ) -> dict[str, float | None]:
        """Declared sounds as ``name -> seconds or None``; a bad entry is a ValueError."""
        lengths = dict(declared) if isinstance(declared, Mapping) else dict.fromkeys(declared)
        for name, seconds in lengths.items():
            if not isinstance(name, str) or not name or name.startswith("sound:"):
                raise ValueError(
                    f"sound name {name!r}: give the name without 'sound:', e.g. 'welcome'"
                )
            if seconds is not None and not (isinstance(seconds, int | float) and seconds >= 0):
                raise ValueError(
                    f"sound {name!r}: length must be a number >= 0 (seconds), got {seconds!r}"
                )
        return lengths

    def _lang_dir(self, lang: str) -> Path | None:
        if self.sounds_dir is None:
            return None
        nested = self.sounds_dir / lang
        return nested if nested.is_dir() else self.sounds_dir

    def sound_seconds(self, name: str, lang: str = "en") -> float | None:
        """Length of ``sound:name``; ``None`` when it does not exist."""
        if name in self.missing:
            return None
        if self.sounds_dir is None:
            return self._table.get(name)
        key = (name, lang)
        if key not in self._file_cache:
            self._file_cache[key] = self._find(name, lang)
        return self._file_cache[key]

    def _find(self, name: str, lang: str) -> float | None:
        base = self._lang_dir(lang)
        if base is None or ".." in Path(name).parts:
            return None
        for ext in _EXTENSIONS:
            candidate = base / f"{name}.{ext}"
            if candidate.is_file():
                return file_seconds(candidate)
        return None

    def _sum(self, files: Iterable[str], lang: str) -> float | None:
        total = 0.0
        for f in files:
            seconds = self.sound_seconds(f, lang)
            if seconds is None and self.sounds_dir is not None:
                return None  # say.c stops at the first file it cannot stream
            total += DEFAULT_SYMBOL_SECONDS if seconds is None else seconds
        return total

    def media_seconds(self, uri: str, lang: str = "en") -> float | None:
        """Length of one media URI; ``None`` fails at once, ``FOREVER`` plays until stopped,
        ``UNKNOWN_SCHEME`` starts and is abandoned."""
        scheme, _, rest = uri.partition(":")
        if scheme == "sound":
            return self.sound_seconds(rest, lang)
        if scheme == "digits":
            files = [_SYMBOL_FILES.get(c, f"digits/{c}") for c in rest if c.isdigit() or c in "#*-"]
            return self._sum(files, lang)
        if scheme == "number":
            try:
                return self._sum(number_files(int(rest)), lang)
            except ValueError:
                return None
        if scheme == "characters":
            files = []
            for c in rest.lower():
                if c.isdigit():
                    files.append(f"digits/{c}")
                elif "a" <= c <= "z":
                    files.append(f"letters/{c}")
                else:
                    files.append(_CHAR_FILES.get(c, f"letters/ascii{ord(c)}"))
            return self._sum(files, lang)
        if scheme == "recording":
            return None
        if scheme == "tone":
            return FOREVER  # plays until stopped
        return UNKNOWN_SCHEME

    def list_sounds(self) -> list[str]:
        """Names of the sounds the library knows (directory scan or the tables)."""
        if self.sounds_dir is None:
            return sorted(self._table.keys() - self.missing)
        base = self._lang_dir("en")
        names: set[str] = set()
        if base is not None:
            for p in base.rglob("*"):
                if p.is_file() and p.suffix[1:] in _EXTENSIONS:
                    names.add(str(p.relative_to(base).with_suffix("")))
        return sorted(names)

    def sound_formats(self, name: str) -> list[str]:
        """File formats present for a sound (``["wav"]`` without a directory)."""
        base = self._lang_dir("en")
        if base is None:
            return ["slin"] if name in self._table and name not in self.missing else []
        return [ext for ext in _EXTENSIONS if (base / f"{name}.{ext}").is_file()]
