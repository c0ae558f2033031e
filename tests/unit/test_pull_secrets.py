"""Registry credentials come from kubernetes.io/dockerconfigjson Secrets, as pods' imagePullSecrets."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from scar_operator.images.pull_secrets import Credentials, PullSecretError, registry_credentials


def secret(auths: Any, kind: str = "kubernetes.io/dockerconfigjson") -> dict[str, Any]:
    document = base64.b64encode(json.dumps({"auths": auths}).encode()).decode()
    return {"metadata": {"name": "registry"}, "type": kind, "data": {".dockerconfigjson": document}}


def test_credentials_are_found_by_registry_host_in_either_form() -> None:
    found = registry_credentials(secret({
        "https://index.docker.io/v1/": {"auth": base64.b64encode(b"hub-user:hub:pass").decode()},
        "ghcr.io": {"username": "gh", "password": "token"},
        "https://registry.example:5000/v2/": {"username": "r", "password": "p"},
    }))
    assert found == {"docker.io": Credentials("hub-user", "hub:pass"), "ghcr.io": Credentials("gh", "token"),
                     "registry.example:5000": Credentials("r", "p")}


def test_a_password_stays_out_of_what_is_printed() -> None:
    assert "token" not in repr(Credentials("gh", "token"))
    assert Credentials("gh", "token").fingerprint != Credentials("gh", "other").fingerprint


@pytest.mark.parametrize(("given", "said"), [
    (secret({}, kind="Opaque"), "of type 'Opaque', not kubernetes.io/dockerconfigjson"),
    ({"metadata": {"name": "registry"}, "type": "kubernetes.io/dockerconfigjson", "data": {}},
     "has no .dockerconfigjson"),
    (secret({"ghcr.io": {"auth": "not base64!"}}), "auth is not base64"),
    (secret({"ghcr.io": {"auth": base64.b64encode(b"no-colon").decode()}}),
     "auth is not base64 of `username:password`"),
    (secret({"ghcr.io": {"email": "a@b"}}), "neither username and password nor auth"),
])
def test_a_secret_that_holds_no_credentials_is_refused_saying_why(given: dict[str, Any], said: str) -> None:
    with pytest.raises(PullSecretError, match=said.replace("(", r"\(").replace(")", r"\)")):
        registry_credentials(given)
