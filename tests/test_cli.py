"""The `proptrade` command line: dispatch, help, and missing subcommand modules."""

from __future__ import annotations

import subprocess
import sys

import pytest

from streams import cli


def test_no_command_prints_the_commands(capsys) -> None:
    assert cli.main([]) == 2
    out = capsys.readouterr().out
    for command in ("replay", "bench", "up"):
        assert command in out


def test_bench_alone_lists_its_subcommands(capsys) -> None:
    assert cli.main(["bench"]) == 2
    assert "engine" in capsys.readouterr().out


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("proptrade ")


def test_unknown_command_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["frobnicate"])
    assert exited.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_a_missing_module_gives_a_clear_message(monkeypatch, capsys) -> None:
    ghost = cli.Command(("ghost",), "streams.no_such_module", "a command not written yet")
    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, ghost))
    assert cli.main(["ghost", "--flag"]) == 2
    err = capsys.readouterr().err
    assert "proptrade ghost: error: this command is not available" in err
    assert "streams.no_such_module is missing" in err


def test_the_chosen_module_parses_and_runs(capsys, tmp_path) -> None:
    program = tmp_path / "p.json"
    program.write_text('{"id": "p", "initial_balance": 1000}')
    events = tmp_path / "events.jsonl"
    events.write_text('{"type": "account", "ts": "2026-03-02T08:00:00Z", "account": "A1", '
                      '"program": "p"}\n')
    assert cli.main(["replay", "--program", str(program), str(events)]) == 0
    assert '"type":"state","account":"A1","status":"active"' in capsys.readouterr().out


def test_help_imports_no_subcommand_module() -> None:
    probe = (
        "import sys\n"
        "from streams import cli\n"
        "try:\n"
        "    cli.main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith(('streams.', 'aiokafka', 'faust'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "['streams.cli']"


def test_python_dash_m_works() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "streams.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0
    assert "usage: proptrade" in result.stdout


def test_users_alone_lists_its_subcommands(capsys) -> None:
    assert cli.main(["users"]) == 2
    assert "create" in capsys.readouterr().out
