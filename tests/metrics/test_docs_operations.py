"""docs/operations.md and its dashboard name only metrics that exist, of the right type;
its journey schema is the one in the code, and its example lines are valid."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from ivrkit.journey import JOURNEY_SCHEMA
from ivrkit.metrics import METRICS, MetricsObserver

DOCS = Path(__file__).resolve().parents[2] / "docs"
DOC = (DOCS / "operations.md").read_text(encoding="utf-8")
DASHBOARD = json.loads((DOCS / "grafana-dashboard.json").read_text(encoding="utf-8"))


def _types() -> dict[str, str]:
    """Exposed series name -> metric type, from a real registry."""
    types: dict[str, str] = {}
    for family in MetricsObserver().registry.collect():
        if family.type == "counter":
            types[family.name + "_total"] = "counter"
        elif family.type == "histogram":
            for suffix in ("_bucket", "_count", "_sum"):
                types[family.name + suffix] = "histogram series"
            types[family.name] = "histogram"
        else:
            types[family.name] = family.type
    return types


def _labels() -> dict[str, set[str]]:
    """Exposed series name -> its label names, from a real MetricsObserver's metrics."""
    from prometheus_client.metrics import MetricWrapperBase

    labels: dict[str, set[str]] = {}
    for metric in vars(MetricsObserver()).values():
        if isinstance(metric, MetricWrapperBase):
            name, names = metric._name, set(metric._labelnames)
            labels[name] = labels[name + "_total"] = names
            labels[name + "_count"] = labels[name + "_sum"] = names
            labels[name + "_bucket"] = names | {"le"}
    return labels


def _used_labels(query: str) -> set[str]:
    """Label names a PromQL query groups by or matches on."""
    used = set()
    for group in re.findall(r"\b(?:by|without) \(([^)]*)\)", query):
        used |= {label.strip() for label in group.split(",")}
    for matchers in re.findall(r"\{([^}]*)\}", query):
        used |= set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers))
    return used


def _block(lang: str) -> str:
    match = re.search(rf"```{lang}\n(.*?)```", DOC, re.S)
    assert match, f"docs/operations.md lost its {lang} block"
    return match.group(1)


def _queries() -> list[str]:
    from_doc = [q for q in _block("promql").splitlines() if q.strip() and q[0] != "#"]
    from_dashboard = [t["expr"] for p in DASHBOARD["panels"] for t in p["targets"]]
    assert sorted(from_doc) == sorted(from_dashboard)  # the dashboard is the doc's list
    return from_doc


def test_the_metrics_table_lists_every_metric_and_nothing_else() -> None:
    rows = set(re.findall(r"^\| `(ivrkit_\w+)` \|", DOC, re.M))
    assert rows == set(METRICS)
    types = _types()
    for name in rows:
        assert name in types, name


def test_every_name_in_the_doc_exists() -> None:
    types = _types()
    for name in set(re.findall(r"\bivrkit_[a-z_]+", DOC)):
        assert name in types, f"docs/operations.md names {name}, which is not exposed"


@pytest.mark.parametrize("query", _queries())
def test_every_dashboard_query_uses_real_metrics_the_right_way(query: str) -> None:
    types = _types()
    names = re.findall(r"\bivrkit_[a-z_]+", query)
    assert names, query
    for name in names:
        assert name in types, f"{query!r} uses {name}, which is not exposed"
    if "histogram_quantile" in query:
        assert all(n.endswith("_bucket") for n in names), query
    for name in re.findall(r"(?:rate|increase)\((ivrkit_[a-z_]+)", query):
        assert types[name] in ("counter", "histogram series"), f"rate() of a {types[name]}"


def test_the_example_journey_lines_are_valid_and_the_schema_is_the_code_s() -> None:
    blocks = re.findall(r"```json\n(.*?)```", DOC, re.S)
    examples = [json.loads(line) for line in blocks[0].splitlines() if line.strip()]
    assert len(examples) >= 5
    for line in examples:
        jsonschema.validate(line, JOURNEY_SCHEMA)
    assert json.loads(blocks[-1]) == JOURNEY_SCHEMA


def test_the_steps_table_covers_every_kind_the_runner_reports() -> None:
    from ivrkit.observe import STEP_KINDS

    table = DOC.split("### Steps")[1].split("###")[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \| ", table, re.M)) - {"step"}
    assert documented == STEP_KINDS


@pytest.mark.parametrize("query", _queries())
def test_every_dashboard_query_names_labels_its_metrics_have(query: str) -> None:
    labels = _labels()
    names = re.findall(r"\bivrkit_[a-z_]+", query)
    have = set().union(*(labels[name] for name in names))
    assert _used_labels(query) <= have, f"{query!r}: no such label {_used_labels(query) - have}"


def test_every_dashboard_legend_names_a_label_the_query_keeps() -> None:
    for panel in DASHBOARD["panels"]:
        for target in panel["targets"]:
            legend = set(re.findall(r"\{\{(\w+)\}\}", target["legendFormat"]))
            kept = set()
            for group in re.findall(r"\bby \(([^)]*)\)", target["expr"]):
                kept |= {label.strip() for label in group.split(",")}
            assert legend <= kept, (panel["title"], legend - kept)
