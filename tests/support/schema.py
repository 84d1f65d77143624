"""JSON-schema validation against the OCI runtime-spec schemas
(``../shared/oci-runtime-spec/schema`` next to the repo, or ``spec/schema``)."""
from __future__ import annotations

import functools
import json
import os
import pathlib

REPO = pathlib.Path(__file__).resolve().parents[2]
CANDIDATES = [
    os.environ.get("OCI_SCHEMA_DIR", ""),
    str(REPO.parent / "shared" / "oci-runtime-spec" / "schema"),
    str(REPO / "spec" / "schema"),
    str(REPO / "spec" / "oci-runtime-spec" / "schema"),
]


def schema_dir() -> "pathlib.Path | None":
    for c in CANDIDATES:
        if c and os.path.isfile(os.path.join(c, "state-schema.json")):
            return pathlib.Path(c)
    return None


@functools.lru_cache(maxsize=None)
def validator(name: str):
    """A jsonschema validator for ``name`` (e.g. "state-schema.json") whose
    relative ``$ref``s resolve to the sibling files."""
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    d = schema_dir()
    if d is None:
        raise FileNotFoundError("OCI runtime-spec schema dir not found; tried " + ", ".join(
            c for c in CANDIDATES if c))

    def retrieve(uri: str):
        path = uri[len("file://"):] if uri.startswith("file://") else uri
        with open(path) as f:
            return Resource.from_contents(json.load(f), default_specification=DRAFT4)

    registry = Registry(retrieve=retrieve)
    path = d / name
    with open(path) as f:
        schema = json.load(f)
    schema = dict(schema, id=path.as_uri())   # draft-04 base URI
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft4Validator)
    return cls(schema, registry=registry)


def validation_errors(doc, name: str) -> "list[str]":
    v = validator(name)
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
            for e in sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))]
