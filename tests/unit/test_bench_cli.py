"""Where `python -m bench` writes its report."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cli import DOCS, _report_path, parser


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], DOCS),
        (["--smoke"], None),
        (["--docs", "none"], None),
        (["--docs", "None", "--smoke"], None),
        (["--docs", "out/report.md"], Path("out/report.md")),
        (["--docs", "out/report.md", "--smoke"], Path("out/report.md")),
    ],
)
def test_docs_none_writes_no_report_and_a_path_is_a_path(
    argv: list[str], expected: Path | None
) -> None:
    """`--docs none` means no report (never a file called "none"); a full run writes the docs."""
    assert _report_path(parser().parse_args(argv)) == expected
