"""A small pure-Python stand-in for `kubectl kustomize`, limited to what k8s/ uses, so the manifest
tests still check the rendered objects on a machine whose kubectl is missing or too old.

Supported: `resources` (files and directories), `components`, `configMapGenerator` (envs,
literals, behavior create/merge; no hash suffix), `images` (newName/newTag), `patches` (path or
inline; strategic merge with the list merge keys below, `$patch: delete` on list items and whole
resources). Anything else in a kustomization is an error, so a new feature cannot be silently
ignored. When kubectl is there, test_manifests.py checks that both render the same objects.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

import yaml

KUSTOMIZATION_KEYS = {"apiVersion", "kind", "resources", "components", "configMapGenerator", "images", "patches"}
# Strategic-merge keys of the lists these manifests patch (from the Kubernetes API types).
MERGE_KEYS = {"containers": "name", "initContainers": "name", "volumes": "name", "volumeMounts": "mountPath",
              "env": "name", "envFrom": None, "ports": "containerPort"}


class UnsupportedKustomization(Exception):
    pass


def strip_hash(name: str) -> str:
    """`realtime-sidecar-env-d2h9dtk5m6` → `realtime-sidecar-env` (kustomize's 10-character suffix)."""
    return re.sub(r"-[a-z0-9]{10}$", "", name)


def read_kustomization(directory: Path) -> dict:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if (directory / name).is_file():
            data = yaml.safe_load((directory / name).read_text()) or {}
            unknown = set(data) - KUSTOMIZATION_KEYS
            if unknown:
                raise UnsupportedKustomization(f"{directory}: {sorted(unknown)} not supported by kustomize_lite")
            return data
    raise FileNotFoundError(f"no kustomization in {directory}")


def env_file(path: Path) -> dict:
    data = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise UnsupportedKustomization(f"{path}: '{line}' is not KEY=VALUE")
        data[key] = value
    return data


def render(directory: Path) -> list:
    return _build(Path(directory))


def _build(directory: Path) -> list:
    k = read_kustomization(directory)
    docs: list = []
    for entry in k.get("resources", []):
        path = directory / entry
        if path.is_dir():
            docs += _build(path)
        else:
            docs += [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    for entry in k.get("components", []):
        docs += _build(directory / entry)
    for generator in k.get("configMapGenerator", []):
        data = {}
        for env in generator.get("envs", []):
            data.update(env_file(directory / env))
        for literal in generator.get("literals", []):
            key, _, value = literal.partition("=")
            data[key] = value
        unknown = set(generator) - {"name", "envs", "literals", "behavior"}
        if unknown:
            raise UnsupportedKustomization(f"configMapGenerator {sorted(unknown)}")
        behavior = generator.get("behavior", "create")
        existing = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == generator["name"]]
        if behavior == "merge":
            if len(existing) != 1:
                raise UnsupportedKustomization(f"merge into missing ConfigMap {generator['name']}")
            existing[0]["data"].update(data)
        elif behavior == "create":
            docs.insert(0, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": generator["name"]}, "data": data})
        else:
            raise UnsupportedKustomization(f"behavior {behavior}")
    for patch in k.get("patches", []):
        body = (directory / patch["path"]).read_text() if "path" in patch else patch["patch"]
        if set(patch) - {"path", "patch"}:
            raise UnsupportedKustomization(f"patch options {sorted(set(patch) - {'path', 'patch'})}")
        for p in yaml.safe_load_all(body):
            if p is not None:
                docs = _apply_patch(docs, p)
    for image in k.get("images", []):
        for doc in docs:
            for c in _containers(doc):
                name, tag = _split_image(c["image"])
                if name == image["name"]:
                    c["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}" if image.get("newTag", tag) else image.get("newName", name)
    return docs


def _split_image(image: str) -> tuple[str, str | None]:
    name, sep, tag = image.rpartition(":")
    if sep and "/" not in tag:
        return name, tag
    return image, None


def _containers(doc: dict) -> list:
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    return spec.get("containers", []) + spec.get("initContainers", [])


def _apply_patch(docs: list, patch: dict) -> list:
    kind, name = patch["kind"], patch["metadata"]["name"]
    targets = [i for i, d in enumerate(docs) if d["kind"] == kind and d["metadata"]["name"] == name]
    if len(targets) != 1:
        raise UnsupportedKustomization(f"patch target {kind}/{name} found {len(targets)} times")
    if patch.get("$patch") == "delete":
        return [d for i, d in enumerate(docs) if i != targets[0]]
    docs[targets[0]] = merge(docs[targets[0]], patch)
    return docs


def merge(base, patch):
    if isinstance(base, dict) and isinstance(patch, dict):
        out = copy.deepcopy(base)
        for key, value in patch.items():
            if key.startswith("$"):
                if key != "$patch":
                    raise UnsupportedKustomization(f"directive {key}")
                continue
            if value is None:
                out.pop(key, None)
            elif key in out and isinstance(value, list) and isinstance(out[key], list) and MERGE_KEYS.get(key):
                out[key] = _merge_list(out[key], value, MERGE_KEYS[key])
            elif key in out:
                out[key] = merge(out[key], value)
            else:
                out[key] = _clean(value)
        return out
    return _clean(patch)


def _merge_list(base: list, patch: list, key: str) -> list:
    out = copy.deepcopy(base)
    for item in patch:
        index = next((i for i, b in enumerate(out) if b.get(key) == item.get(key)), None)
        if item.get("$patch") == "delete":
            if index is not None:
                del out[index]
        elif index is not None:
            out[index] = merge(out[index], item)
        else:
            out.append(_clean(item))
    return out


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not k.startswith("$")}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def normalize(docs: list) -> dict:
    """Objects keyed by (kind, name without hash suffix), ConfigMap references unhashed too, and
    lists of named items in name order (a strategic merge moves patched items first)."""
    def unhash(node):
        if isinstance(node, dict):
            return {k: (strip_hash(v) if k == "name" and isinstance(v, str) else unhash(v)) for k, v in node.items()}
        if isinstance(node, list):
            items = [unhash(v) for v in node]
            if items and all(isinstance(v, dict) and isinstance(v.get("name"), str) for v in items):
                items.sort(key=lambda v: v["name"])
            return items
        return node
    return {(d["kind"], strip_hash(d["metadata"]["name"])): unhash(d) for d in docs}
