"""The assembled image: the base's layers unchanged, the supervisor's layer on top, a command that
runs it, and nothing else changed; the same inputs give the same bytes (its address)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from scar_operator.images.assembly import BaseImage, BaseImageError, assemble, resolve_base
from scar_operator.images.reference import parse_reference
from scar_operator.images.registry import Manifest, Repository, sha256_digest
from scar_operator.images.supervisor_layer import SUPERVISOR_PATH, build_layer

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
BASE_LAYER = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + "1" * 64,
              "size": 100}


def document(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True).encode()


class RegistryHolding(Repository):
    """A registry that holds the given documents (by digest, and by tag for the top one)."""

    def __init__(self, documents: dict[str, tuple[bytes, str]]) -> None:
        super().__init__("registry.example", "team/tool")
        self.documents = documents

    def manifest(self, version: str) -> Manifest:
        content, media_type = self.documents[version]
        return Manifest(content, media_type, sha256_digest(content))

    def document(self, digest: str) -> bytes:
        return self.documents[digest][0]


def image(architecture: str = "amd64", media_type: str = OCI_MANIFEST) -> tuple[bytes, bytes]:
    config = document({"architecture": architecture, "os": "linux", "config": {
        "Env": ["PATH=/usr/bin:/bin", "LANG=C.UTF-8"], "Entrypoint": ["/docker-entrypoint.sh"], "Cmd": ["cowsay"],
        "User": "1000", "WorkingDir": "/work"}, "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "2" * 64]}})
    manifest = document({"schemaVersion": 2, "mediaType": media_type, "config": {
        "mediaType": "application/vnd.oci.image.config.v1+json", "digest": sha256_digest(config),
        "size": len(config)}, "layers": [BASE_LAYER]})
    return manifest, config


def registry_of(*images: tuple[str, bytes, bytes], index: bool = True) -> RegistryHolding:
    documents: dict[str, tuple[bytes, str]] = {}
    entries: list[dict[str, Any]] = []
    for platform, manifest, config in images:
        documents[sha256_digest(manifest)] = (manifest, OCI_MANIFEST)
        documents[sha256_digest(config)] = (config, "")
        entries.append({"mediaType": OCI_MANIFEST, "digest": sha256_digest(manifest), "size": len(manifest),
                        "platform": {"os": "linux", "architecture": platform}})
    if index:
        documents["1"] = (document({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}), OCI_INDEX)
    else:
        documents["1"] = documents[str(entries[0]["digest"])]
    return RegistryHolding(documents)


@pytest.fixture(scope="module")
def layer(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("layer")
    executable = folder / "scar-supervisor"
    executable.write_bytes(b"\x7fELF pretend supervisor")
    return build_layer(executable, folder / "layer.tar.gz")


def base(registry: RegistryHolding, architecture: str = "amd64") -> BaseImage:
    return resolve_base(registry, parse_reference("registry.example/team/tool:1"), architecture)


def test_the_base_for_the_functions_platform_is_taken_from_a_multi_arch_index() -> None:
    amd64, arm64 = image("amd64"), image("arm64")
    registry = registry_of(("amd64", *amd64), ("arm64", *arm64))
    assert base(registry, "arm64").digest == sha256_digest(arm64[0])
    assert base(registry, "amd64").digest == sha256_digest(amd64[0])


def test_a_platform_the_base_lacks_is_refused_naming_what_it_has() -> None:
    registry = registry_of(("amd64", *image("amd64")))
    with pytest.raises(BaseImageError, match=r"has no linux/arm64 image \(it has linux/amd64\)"):
        base(registry, "arm64")


def test_a_single_platform_base_of_another_architecture_is_refused() -> None:
    registry = registry_of(("arm64", *image("arm64")), index=False)
    with pytest.raises(BaseImageError, match="is a linux/arm64 image, and this function runs on linux/amd64"):
        base(registry)


def test_a_pinned_digest_must_be_what_the_registry_serves() -> None:
    registry = registry_of(("amd64", *image("amd64")), index=False)
    wrong = "sha256:" + "9" * 64
    registry.documents[wrong] = registry.documents["1"]
    with pytest.raises(BaseImageError, match="the registry's manifest has digest"):
        resolve_base(registry, parse_reference(f"registry.example/team/tool@{wrong}"), "amd64")


def test_the_supervisor_layer_is_byte_for_byte_the_same_from_the_same_executable(layer: Any, tmp_path: Path) -> None:
    again = build_layer(Path(layer.path).with_name("scar-supervisor"), tmp_path / "again.tar.gz")
    assert (again.digest, again.diff_id, again.size) == (layer.digest, layer.diff_id, layer.size)
    with tarfile.open(layer.path) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["opt", "opt/scar", "opt/scar/bin", SUPERVISOR_PATH.lstrip("/")]
    assert {(m.uid, m.gid, m.mtime, m.uname) for m in members} == {(0, 0, 0, "")}
    assert members[-1].mode == 0o755


def test_the_assembled_image_keeps_the_base_and_runs_the_supervisor(layer: Any) -> None:
    assembled = assemble(base(registry_of(("amd64", *image("amd64")))), layer)
    manifest = assembled.manifest.document()
    assert manifest["layers"] == [BASE_LAYER, {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                               "digest": layer.digest, "size": layer.size}]
    assert manifest["config"]["digest"] == sha256_digest(assembled.config)
    config = json.loads(assembled.config)
    assert config["rootfs"]["diff_ids"] == ["sha256:" + "2" * 64, layer.diff_id]
    runtime = config["config"]
    assert runtime["Entrypoint"] is None and runtime["Cmd"] == [SUPERVISOR_PATH, "lambda"]
    # The script runs as it would in the base: its environment, user and working directory.
    assert (runtime["Env"], runtime["User"], runtime["WorkingDir"]) == (["PATH=/usr/bin:/bin", "LANG=C.UTF-8"],
                                                                        "1000", "/work")
    assert runtime["Labels"]["dev.scar.base-digest"] == assembled.base.digest


def test_a_docker_schema_2_base_gives_a_docker_schema_2_image(layer: Any) -> None:
    manifest, config = image("amd64", DOCKER_MANIFEST)
    registry = registry_of(("amd64", manifest, config), index=False)
    registry.documents["1"] = (manifest, DOCKER_MANIFEST)
    assembled = assemble(base(registry), layer)
    assert assembled.manifest.media_type == DOCKER_MANIFEST
    assert assembled.manifest.document()["layers"][-1]["mediaType"] == \
        "application/vnd.docker.image.rootfs.diff.tar.gzip"


def test_the_same_base_and_supervisor_give_the_same_image_and_another_base_another(layer: Any) -> None:
    first = assemble(base(registry_of(("amd64", *image("amd64")))), layer)
    again = assemble(base(registry_of(("amd64", *image("amd64")))), layer)
    assert (first.digest, first.manifest.content, first.config) == (again.digest, again.manifest.content, again.config)
    manifest, config = image("amd64")
    changed = json.loads(config)
    changed["config"]["Env"].append("NEW=1")
    other_config = document(changed)
    other_manifest = json.loads(manifest)
    other_manifest["config"]["digest"] = sha256_digest(other_config)
    other_manifest["config"]["size"] = len(other_config)
    moved = assemble(base(registry_of(("amd64", document(other_manifest), other_config))), layer)
    assert moved.digest != first.digest


def test_a_base_read_before_is_confirmed_with_one_head_while_its_tag_names_the_same_digest() -> None:
    from scar_operator.images.plan import _resolved

    class Counting(RegistryHolding):
        def __init__(self, documents: dict[str, tuple[bytes, str]]) -> None:
            super().__init__(documents)
            self.reads: list[str] = []

        def manifest(self, version: str) -> Manifest:
            self.reads.append(f"GET {version}")
            return super().manifest(version)

        def manifest_digest(self, version: str) -> str | None:
            self.reads.append(f"HEAD {version}")
            return super().manifest(version).digest

    registry = Counting(registry_of(("amd64", *image("amd64"))).documents)
    reference = parse_reference("registry.example/team/tool:1")
    first = _resolved(registry, reference, "amd64", None)
    registry.reads.clear()
    assert _resolved(registry, reference, "amd64", first) is first
    assert registry.reads == ["HEAD 1"]
    # The tag moves (to an index of another amd64 image): read again.
    registry.documents.update(registry_of(("amd64", *image("amd64", DOCKER_MANIFEST))).documents)
    registry.reads.clear()
    assert _resolved(registry, reference, "amd64", first).named != first.named
    assert registry.reads[:2] == ["HEAD 1", "GET 1"]


def test_a_copied_blob_is_read_in_the_pieces_the_upload_asks_for_to_its_end() -> None:
    from scar_operator.images.registry import _Stream

    stream = _Stream([b"abc", b"", b"defgh"], 8)
    pieces = []
    while piece := stream.read(2):
        pieces.append(piece)
    assert len(stream) == 8
    assert b"".join(pieces) == b"abcdefgh" and all(len(p) <= 2 for p in pieces)
