"""docs/caller.md runs as written: its scripts, commands, samples and Asterisk config.

* every ```yaml block marked `# file: NAME` parses and passes against the simulator
  serving the guide's attendant;
* the text and JSON report samples are what the `short.yaml` block really produces
  (times and ids aside);
* every `ivrkit ...` command line parses, and every `ivrkit call` line runs through
  `main()` with exit status 0 (the simulator is configured from the doc's ari.conf user
  and extensions.conf lines, so those are exercised too);
* the Python example runs; the usage block is the parser's.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _caller_helpers import attendant, sim_config

from ivrkit.caller import parse_script, place_call, press_script, render_text
from ivrkit.cli import _call, build_parser, main
from ivrkit.sim import DEFAULT_DIALPLAN, Simulator
from ivrkit.testing import run_virtual

DOC = Path(__file__).resolve().parents[2] / "docs" / "caller.md"
TEXT = DOC.read_text(encoding="utf-8")


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", TEXT, re.DOTALL)


def scripts() -> dict[str, str]:
    found = {}
    for block in blocks("yaml"):
        match = re.match(r"# file: (\S+)\n", block)
        assert match, f"every yaml block in docs/caller.md names its file:\n{block}"
        found[match.group(1)] = block
    return found


def ari_users() -> dict[str, str]:
    conf = next(b for b in blocks("ini") if b.startswith("; ari.conf"))
    users: dict[str, str] = {}
    section = ""
    for line in conf.splitlines():
        line = line.split(";")[0].strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif "=" in line and section != "general":
            key, _, value = (part.strip() for part in line.partition("="))
            if key == "password":
                users[section] = value
    return users


def dialplan_from_doc() -> dict[str, dict[str, list[str]]]:
    conf = next(b for b in blocks("ini") if b.startswith("; extensions.conf"))
    plan: dict[str, dict[str, list[str]]] = {}
    context, exten = "", ""
    for line in conf.splitlines():
        line = line.strip()
        if line.startswith("["):
            context = line.strip("[]")
            plan[context] = {}
        elif line.startswith("exten =>"):
            exten, _, app = line.removeprefix("exten =>").strip().split(",", 2)
            plan[context][exten] = [app]
        elif line.startswith("same =>"):
            plan[context][exten].append(line.removeprefix("same =>").strip().split(",", 1)[1])
    return plan


def test_the_extensions_conf_lines_are_the_simulators_dialplan() -> None:
    plan = dialplan_from_doc()
    assert plan == {"default": {"1000": list(DEFAULT_DIALPLAN["default"]["1000"])}}


def test_the_usage_block_is_the_parsers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    usage = sub.choices["call"].format_usage()
    assert f"```\n{usage.rstrip()}\n```" in TEXT


@pytest.mark.parametrize("name", sorted(scripts()))
async def test_each_script_passes(name: str) -> None:
    script = parse_script(scripts()[name], name)
    async with Simulator() as sim, attendant(sim):
        report = await place_call(sim_config(sim, "ivrkit-caller"), script)
        assert sim.stats()["channels"] == 0
    assert report.passed, render_text(report)


def normalize(text: str) -> str:
    text = re.sub(r"(caller|far)-[0-9a-f]{8}-\d+(-[0-9a-f]{8}(?=-p))?", r"\1-ID", text)
    return re.sub(r"\d+\.\d+", "T", text)


def normalize_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: normalize_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalize_json(v) for v in value]
    if isinstance(value, float):
        return "T"
    if isinstance(value, str):
        return normalize(value)
    return value


async def test_the_report_samples_are_real() -> None:
    script = parse_script(scripts()["short.yaml"], "short.yaml")
    async with Simulator() as sim, attendant(sim):
        report = await place_call(sim_config(sim, "ivrkit-caller"), script)
    (text_sample,) = blocks("text")
    assert normalize(render_text(report)) == normalize(text_sample)
    (json_sample,) = blocks("json")
    assert normalize_json(report.to_json()) == normalize_json(json.loads(json_sample))


async def test_the_python_example_runs() -> None:
    code = next(b for b in blocks("python") if b.startswith("# caller-api-example"))
    namespace: dict[str, Any] = {"__name__": "caller_api_example"}
    exec(compile(code, str(DOC), "exec"), namespace)
    async with Simulator() as sim, attendant(sim):
        assert await namespace["smoke_test"](sim.url, sim.username, sim.password) is True


def command_lines() -> list[tuple[dict[str, str], list[str]]]:
    """Each `ivrkit ...` line of the sh blocks, with the variables exported before it."""
    found = []
    for block in blocks("sh"):
        env: dict[str, str] = {}
        for line in block.splitlines():
            words = shlex.split(line)
            if words and words[0] == "export":
                env.update(w.split("=", 1) for w in words[1:])  # type: ignore[misc]
                continue
            prefix = {}
            while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
                key, _, value = words.pop(0).partition("=")
                prefix[key] = value
            assert words[:1] == ["ivrkit"], line
            found.append(({**env, **prefix}, words[1:]))
    return found


def test_every_command_line_parses() -> None:
    lines = command_lines()
    assert {argv[0] for _, argv in lines} == {"sim", "run", "call"}
    for _, argv in lines:
        build_parser().parse_args(argv)


def test_every_call_command_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, body in scripts().items():
        (tmp_path / name).write_text(body)
    monkeypatch.chdir(tmp_path)
    users = {"asterisk": "asterisk", **ari_users()}
    assert users["ivrkit"] == "choose-a-password"

    def run(command: Callable[[argparse.Namespace], Any], args: argparse.Namespace) -> Any:
        async def scenario() -> Any:
            plan = dialplan_from_doc()
            async with Simulator(users=users, dialplan=plan) as sim, attendant(sim):
                args.url = sim.url
                return await command(args)

        return run_virtual(scenario())

    monkeypatch.setattr(_call, "RUN", run)
    calls = [(env, argv) for env, argv in command_lines() if argv[0] == "call"]
    assert len(calls) == 3
    for env, argv in calls:
        for key in ("ARI_USER", "ARI_PASSWORD", "ARI_CREDENTIALS_FILE"):
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        assert main([*argv, "--quiet"]) == 0, capsys.readouterr()
        assert "result: PASSED" in capsys.readouterr().out
    assert json.loads((tmp_path / "report.json").read_text())["passed"] is True


def test_the_press_script_in_the_doc_is_what_press_runs() -> None:
    written = parse_script(scripts()["press-1-2-8.yaml"])
    built = press_script("1,2,8", then_wait=12, then_hangup=True)
    assert [s.describe() for s in written.steps] == [s.describe() for s in built.steps]
    assert "`--press 1,2,8 --then-wait 12 --then-hangup` runs this script" in TEXT
