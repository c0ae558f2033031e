"""botocore's service models as the operator keeps them: plain dicts, without their prose.

botocore reads each service's model and endpoint rules from JSON into OrderedDicts, with every
operation's and shape's documentation, and its clients keep them for the life of the process:
23 MB for the five services of a ScarFunction (STS, CloudWatch Logs, IAM, Lambda, S3). Plain
dicts keep the order as well, and the documentation is only read to write docstrings and help
text. Read without both, the same five take 13 MB.

The documentation strings are emptied (botocore reads a few by key). A member that happens to be
named "documentation" is a shape reference (a dict), never a string, so it is kept as it is.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import IO, Any

import botocore.session
from botocore.loaders import JSONFileLoader, Loader

_PROSE = frozenset({"documentation", "documentationUrl"})


def _without_prose(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Emptied, not left out: botocore reads some of it by key (a client context parameter's).
    return {key: "" if key in _PROSE and isinstance(value, str) else value for key, value in pairs}


def parse(payload: str) -> Any:
    return json.loads(payload, object_pairs_hook=_without_prose)


class CompactJSONFileLoader(JSONFileLoader):
    """botocore's JSON loader, but for what the parsed models are kept in."""

    def _load_file(self, full_path: str, open_method: Callable[..., IO[bytes]]) -> Any:
        if not os.path.isfile(full_path):
            return None
        with open_method(full_path, "rb") as model:
            return parse(model.read().decode("utf-8"))


def compact_loader(data_path: str | None) -> Loader:
    """A loader that searches where botocore's own would (AWS_DATA_PATH too)."""
    extra = [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)] if data_path else None
    return Loader(extra_search_paths=extra, file_loader=CompactJSONFileLoader())


def botocore_session() -> botocore.session.Session:
    """A botocore session whose clients keep their models compact."""
    core = botocore.session.Session()
    core.register_component("data_loader", compact_loader(core.get_config_variable("data_path")))
    return core
