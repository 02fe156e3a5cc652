"""What a fresh process re-measuring suspects is given of this session's options."""

from __future__ import annotations

import pytest

from pytest_xetrack.remeasure import _passed_on


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        (["-p", "no:foo", "-pbar"], ["-p", "no:foo", "-pbar"]),
        (
            ["-o", "a=1", "-ob=2", "--override-ini=c=3"],
            ["-o", "a=1", "-ob=2", "--override-ini=c=3"],
        ),
        (
            ["--import-mode=importlib", "-W", "error"],
            ["--import-mode=importlib", "-W", "error"],
        ),
        # a selection, workers, verbosity and outputs are this session's own
        (["-k", "slow", "tests", "-n", "2", "-q", "--junitxml=x.xml"], []),
        (["-p"], []),  # a dangling flag is not passed on
    ],
)
def test_a_fresh_process_gets_the_options_that_decide_how_tests_import_and_run(
    given: list[str], kept: list[str]
) -> None:
    assert _passed_on(given) == kept


def test_an_unknown_remeasure_mode_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("--xetrack-remeasure=twice")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*expected one of process, inline, off, got 'twice'*"])
