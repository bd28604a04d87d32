"""The HTML report: self-contained, escaped, and its charts really draw in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from assigncli.analysis.compare import Comparison, compare_files, compare_with_baselines
from assigncli.config import default_config
from assigncli.generate import write_dataset
from assigncli.render.report import (
    CHART_IDS,
    compare_report_html,
    plan_report_html,
    write_compare_report,
)
from assigncli.solvers.solve import SolveOptions

OPTIONS = SolveOptions(time_limit=2.0, workers=1)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Ids and office names a report must show as text, never run as markup or script.
HOSTILE_OFFICER = "</script><img src=x onerror=alert(1)>"
HOSTILE_OFFICE = "<b>NYC&Co</b>"


@pytest.fixture(scope="module")
def comparison(tmp_path_factory: pytest.TempPathFactory) -> Comparison:
    """A small docket whose first officer and first office carry markup in their names."""
    out = tmp_path_factory.mktemp("report")
    roster_path, cases_path = write_dataset(
        out, n_cases=500, n_officers=10, n_offices=2, seed=9, fmt="parquet"
    )
    roster = pl.read_parquet(roster_path)
    cases = pl.read_parquet(cases_path)
    first_id = roster["officer_id"][0]
    first_office = roster["office"][0][0]
    roster = roster.with_columns(
        pl.col("officer_id").replace(first_id, HOSTILE_OFFICER),
        pl.col("office").list.eval(pl.element().replace(first_office, HOSTILE_OFFICE)),
    )
    cases = cases.with_columns(
        pl.col("current_officer_id").replace(first_id, HOSTILE_OFFICER),
        pl.col("office").replace(first_office, HOSTILE_OFFICE),
    )
    roster.write_parquet(roster_path)
    cases.write_parquet(cases_path)
    return compare_files(roster_path, cases_path, default_config(), OPTIONS)


@pytest.fixture(scope="module")
def report_file(comparison: Comparison, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("html") / "compare.html"
    write_compare_report(comparison, path)
    return path


def test_report_is_one_self_contained_file(report_file: Path) -> None:
    """No external script, stylesheet, font or image: the page opens offline."""
    text = report_file.read_text(encoding="utf-8")
    assert "vegaEmbed" in text
    assert not re.search(r"<script[^>]+src=", text, re.I)
    markup = re.sub(r"<script\b.*?</script>", "", text, flags=re.S | re.I)
    assert not re.search(r"<link\b|<img\b|<iframe\b|src=", markup, re.I)
    assert not re.search(r"@import|url\(", markup, re.I)


def test_report_shows_headline_numbers_before_charts_and_the_table(report_file: Path) -> None:
    """Headline cards come first, then the four charts, then the metric table."""
    text = report_file.read_text(encoding="utf-8")
    cards = text.index('class="cards"')
    charts = [text.index(f'id="{chart_id}"') for chart_id in CHART_IDS]
    table = text.index('class="metrics"')
    assert cards < min(charts) and max(charts) < table


def test_user_text_is_escaped_in_markup_and_in_chart_data(report_file: Path) -> None:
    """Officer ids and office names with markup appear as text; they cannot close a script."""
    text = report_file.read_text(encoding="utf-8")
    assert HOSTILE_OFFICER not in text
    assert HOSTILE_OFFICE not in text
    specs = text[text.index('id="chart-specs"') :]
    specs = specs[: specs.index("</script>")].split(">", 1)[1]
    assert "<" not in specs and ">" not in specs and "&" not in specs
    assert "\\u003cb\\u003eNYC\\u0026Co\\u003c/b\\u003e" in specs


def _dump_dom(page: Path, tmp_path: Path) -> str:
    """The page's DOM after its scripts ran, in headless Chromium with every network lookup
    failing (so that a chart needing the network would not draw)."""
    assert CHROMIUM is not None
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


class _Marks(HTMLParser):
    """Counts, per chart container, the drawn shapes inside Vega mark groups."""

    _VOID = frozenset({"br", "img", "input", "meta", "hr", "link", "col", "wbr"})

    def __init__(self, ids: tuple[str, ...]) -> None:
        super().__init__()
        self.ids = ids
        self.stack: list[tuple[str, str | None, bool]] = []  # (tag, chart id, inside a mark)
        self.shapes = dict.fromkeys(ids, 0)
        self.svgs = dict.fromkeys(ids, 0)
        self.body: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        chart, in_mark = (self.stack[-1][1], self.stack[-1][2]) if self.stack else (None, False)
        if attributes.get("id") in self.ids:
            chart = attributes["id"]
        if tag == "body":
            self.body = attributes
        if chart is not None:
            if tag == "svg":
                self.svgs[chart] += 1
            if in_mark and tag in ("path", "line", "rect", "circle"):
                self.shapes[chart] += 1
        classes = (attributes.get("class") or "").split()
        if tag not in self._VOID:
            self.stack.append((tag, chart, in_mark or "role-mark" in classes))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            if self.stack.pop()[0] == tag:
                break


def _assert_charts_drew(dom: str) -> None:
    parser = _Marks(CHART_IDS)
    parser.feed(dom)
    assert 'class="chart-error"' not in dom, dom[dom.find('class="chart-error"') :][:500]
    assert parser.body.get("data-charts-drawn") == str(len(CHART_IDS))
    for chart_id in CHART_IDS:
        assert parser.svgs[chart_id] >= 1, f"{chart_id}: no <svg>"
        assert parser.shapes[chart_id] >= 3, f"{chart_id}: only {parser.shapes[chart_id]} marks"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs it)")
def test_compare_report_charts_draw_offline_in_headless_chromium(
    report_file: Path, tmp_path: Path
) -> None:
    """Every chart of the comparison report renders to SVG marks, with the network cut off."""
    _assert_charts_drew(_dump_dom(report_file, tmp_path))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI installs it)")
def test_plan_report_charts_draw_offline_in_headless_chromium(
    comparison: Comparison, tmp_path: Path
) -> None:
    """The single-plan report (plan against status quo) draws its charts too."""
    page = tmp_path / "plan.html"
    page.write_text(plan_report_html(comparison.run), encoding="utf-8")
    dom = _dump_dom(page, tmp_path)
    _assert_charts_drew(dom)
    assert "greedy by effort" not in dom.split('id="chart-specs"')[0]


def test_plan_report_compares_the_plan_with_the_status_quo_only(comparison: Comparison) -> None:
    """The single-plan report's comparison holds the status quo and the optimized plan."""
    single = compare_with_baselines(comparison.run, baselines=("status_quo",))
    assert single.names == ("status_quo", "optimized")
    assert "greedy by effort" in compare_report_html(comparison)


def test_no_column_beats_a_checked_value_in_the_metric_table(tmp_path: Path) -> None:
    """In count rows, the ✓ sits on the lowest value of the row, whichever plan holds it — here
    the status quo, which breaks rules and moves least (regression: moves 690 ✓ against the
    status quo's 77)."""
    roster, cases = write_dataset(
        tmp_path, n_cases=800, n_officers=14, n_offices=2, seed=5, fmt="csv"
    )
    comparison = compare_files(roster, cases, default_config(), OPTIONS)
    assert comparison.plan("status_quo").metrics.rule_breaks > 0
    text = compare_report_html(comparison)
    table = text[text.index('<table class="metrics">') :]
    table = table[: table.index("</table>")]
    for label in ("moves", "officers over 100%", "unassigned cases"):
        row = table[table.index(f">{label}</th>") :]
        row = row[: row.index("</tr>")]
        cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
        values = [int(c.replace("✓", "").replace(",", "").strip()) for c in cells]
        checked = [v for c, v in zip(cells, values, strict=True) if "✓" in c]
        assert checked and set(checked) == {min(values)}, (label, cells)
