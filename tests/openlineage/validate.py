"""Validates OpenLineage events with the official Python client and the spec's JSON schemas.

Usage: validate.py EVENTS.jsonl  (one event per line)

For every event:
1. parse it into the client's classes (RunEvent, Run, Job, InputDataset, OutputDataset, and each
   known facet's class, whose validators check the run id, the time and the URLs), check that
   each known facet's `_schemaURL` is the one the client's class names, and serialize it back
   with the client's Serde to the very same JSON;
2. validate it against the vendored spec (spec/OpenLineage.json, draft 2020-12, formats checked)
   and each facet against its own schema (spec/facets/*.json; the custom `monitor` facet against
   docs/openlineage/MonitorRunFacet.json).

Prints `N events valid` and exits 0, or prints every problem and exits 1.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jsonschema
from referencing import Registry, Resource

from openlineage.client import event_v2
from openlineage.client.generated import (
    base,
    error_message_run,
    input_statistics_input_dataset,
    job_type_job,
    output_statistics_output_dataset,
    parent_run,
    processing_engine_run,
    sql_job,
)
from openlineage.client.serde import Serde

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SPEC = HERE / "spec"
CUSTOM_FACETS = {"monitor": ROOT / "docs" / "openlineage" / "MonitorRunFacet.json"}


def load_schemas() -> tuple[Registry, dict[str, dict]]:
    """Every vendored schema, by `$id`, in one registry."""
    files = [SPEC / "OpenLineage.json", *sorted((SPEC / "facets").glob("*.json")), *CUSTOM_FACETS.values()]
    by_id: dict[str, dict] = {}
    for f in files:
        schema = json.loads(f.read_text())
        by_id[schema["$id"]] = schema
    registry = Registry().with_resources(
        (sid, Resource.from_contents(s)) for sid, s in by_id.items()
    )
    return registry, by_id


REGISTRY, SCHEMAS = load_schemas()
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER
for needed in ("uuid", "date-time", "uri"):
    assert needed in FORMATS.checkers, f"jsonschema cannot check format {needed!r}: install its format extras"


def validator(schema: dict) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema, registry=REGISTRY, format_checker=FORMATS)


CORE = SCHEMAS["https://openlineage.io/spec/2-0-2/OpenLineage.json"]
RUN_EVENT = validator({"$ref": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"})

# Facet name -> (client class, how its fields map onto the class).
RUN_FACETS = {
    "parent": parent_run.ParentRunFacet,
    "errorMessage": error_message_run.ErrorMessageRunFacet,
    "processing_engine": processing_engine_run.ProcessingEngineRunFacet,
}
JOB_FACETS = {"jobType": job_type_job.JobTypeJobFacet, "sql": sql_job.SQLJobFacet}
INPUT_FACETS = {"inputStatistics": input_statistics_input_dataset.InputStatisticsInputDatasetFacet}
OUTPUT_FACETS = {"outputStatistics": output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet}


def build_parent(producer: str, fields: dict) -> parent_run.ParentRunFacet:
    root = fields.get("root")
    return parent_run.ParentRunFacet(
        producer=producer,
        run=parent_run.Run(**fields["run"]),
        job=parent_run.Job(**fields["job"]),
        root=None
        if root is None
        else parent_run.Root(run=parent_run.RootRun(**root["run"]), job=parent_run.RootJob(**root["job"])),
    )


def build_facet(kind: str, name: str, body: dict, known: dict, base_class: type, problems: list[str]):
    fields = {k: v for k, v in body.items() if k not in ("_producer", "_schemaURL")}
    cls = known.get(name)
    if cls is None:
        if name not in CUSTOM_FACETS:
            problems.append(f"{kind} facet {name!r} is neither a known facet nor a documented custom one")
        facet = base_class(producer=body["_producer"]).with_additional_properties(**fields)
        facet._schemaURL = body["_schemaURL"]
        return facet
    if cls is parent_run.ParentRunFacet:
        facet = build_parent(body["_producer"], fields)
    else:
        facet = cls(producer=body["_producer"], **fields)
    if facet._schemaURL != body["_schemaURL"]:
        problems.append(
            f"{kind} facet {name!r}: _schemaURL {body['_schemaURL']} but the client's class says {facet._schemaURL}"
        )
    return facet


def facets(kind: str, bodies: dict | None, known: dict, base_class: type, problems: list[str]) -> dict:
    return {n: build_facet(kind, n, b, known, base_class, problems) for n, b in (bodies or {}).items()}


def parse(e: dict, problems: list[str]) -> event_v2.RunEvent:
    run = event_v2.Run(runId=e["run"]["runId"], facets=facets("run", e["run"].get("facets"), RUN_FACETS, base.RunFacet, problems))
    job = event_v2.Job(
        namespace=e["job"]["namespace"],
        name=e["job"]["name"],
        facets=facets("job", e["job"].get("facets"), JOB_FACETS, base.JobFacet, problems),
    )
    inputs = [
        event_v2.InputDataset(
            namespace=d["namespace"],
            name=d["name"],
            facets=facets("dataset", d.get("facets"), {}, base.DatasetFacet, problems),
            inputFacets=facets("input", d.get("inputFacets"), INPUT_FACETS, base.InputDatasetFacet, problems),
        )
        for d in e.get("inputs", [])
    ]
    outputs = [
        event_v2.OutputDataset(
            namespace=d["namespace"],
            name=d["name"],
            facets=facets("dataset", d.get("facets"), {}, base.DatasetFacet, problems),
            outputFacets=facets("output", d.get("outputFacets"), OUTPUT_FACETS, base.OutputDatasetFacet, problems),
        )
        for d in e.get("outputs", [])
    ]
    ev = event_v2.RunEvent(
        eventType=event_v2.RunState(e["eventType"]),
        eventTime=e["eventTime"],
        run=run,
        job=job,
        producer=e["producer"],
        inputs=inputs,
        outputs=outputs,
    )
    if ev.schemaURL != e["schemaURL"]:
        problems.append(f"schemaURL {e['schemaURL']} but the client's RunEvent says {ev.schemaURL}")
    return ev


def strip_empty(v):
    """Empty facet maps are optional: the client writes `"facets": {}` where an event may leave the
    key out, so both sides drop them before comparing."""
    if isinstance(v, dict):
        return {k: strip_empty(x) for k, x in v.items() if x not in ({}, None)}
    if isinstance(v, list):
        return [strip_empty(x) for x in v]
    return v


def schema_problems(e: dict) -> list[str]:
    out = [f"RunEvent schema: {err.json_path}: {err.message}" for err in RUN_EVENT.iter_errors(e)]
    groups = [("run", e["run"].get("facets"))]
    groups.append(("job", e["job"].get("facets")))
    for d in e.get("inputs", []):
        groups += [("dataset", d.get("facets")), ("input", d.get("inputFacets"))]
    for d in e.get("outputs", []):
        groups += [("dataset", d.get("facets")), ("output", d.get("outputFacets"))]
    for kind, group in groups:
        for name, body in (group or {}).items():
            sid = body.get("_schemaURL", "").split("#")[0]
            schema = SCHEMAS.get(sid)
            if schema is None:
                out.append(f"{kind} facet {name!r}: no vendored schema for {sid}")
                continue
            for err in validator(schema).iter_errors({name: body}):
                out.append(f"{kind} facet {name!r} ({sid}): {err.json_path}: {err.message}")
    return out


def main() -> int:
    lines = [l for l in Path(sys.argv[1]).read_text().splitlines() if l.strip()]
    problems: list[str] = []
    for i, line in enumerate(lines, 1):
        e = json.loads(line)
        mine: list[str] = []
        try:
            ev = parse(e, mine)
            back = json.loads(Serde.to_json(ev))
            if strip_empty(back) != strip_empty(e):
                mine.append(
                    "the client's classes do not give the event back:\n  sent: "
                    + json.dumps(strip_empty(e), sort_keys=True)
                    + "\n  back: "
                    + json.dumps(strip_empty(back), sort_keys=True)
                )
        except Exception as exc:  # noqa: BLE001 - every failure is a finding
            mine.append(f"the client's classes refuse it: {type(exc).__name__}: {exc}")
        mine += schema_problems(e)
        problems += [f"event {i} ({e.get('eventType')} {e.get('job', {}).get('name')}): {p}" for p in mine]
    if problems:
        print("\n".join(problems))
        return 1
    print(f"{len(lines)} events valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
