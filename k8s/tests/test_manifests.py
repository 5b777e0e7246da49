"""Checks of the Kubernetes manifests (k8s/), the Dockerfile and the Grafana dashboard against
each other and against the built binaries.

Run by `make test` with SIDECAR_BIN_DIR set to `swift build --show-bin-path`; standalone:

    SIDECAR_BIN_DIR="$(swift build --show-bin-path)" .venv-python/bin/python -m pytest k8s/tests

Tests that need the binaries skip with a visible reason when SIDECAR_BIN_DIR has none. Rendering
uses `kubectl kustomize` when kubectl (kustomize v4 or newer) is installed, and a small pure-Python
renderer (kustomize_lite.py, limited to what these kustomizations use) otherwise; when both are
there, they must agree.
"""
from __future__ import annotations

import copy
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import pytest
import yaml

import kustomize_lite

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"
BASE = K8S / "sidecar"
OVERLAY_NATS_KV = K8S / "overlays" / "nats-kv"
KUSTOMIZATIONS = [BASE, OVERLAY_NATS_KV, K8S / "overlays" / "prometheus-operator"]
SIDECAR_CONTAINER = "realtime-sidecar"
ENGINE_CONTAINER = "trade-engine"
CONFIGMAP = "realtime-sidecar-env"

# ---------------------------------------------------------------------------------------------
# Helpers and fixtures


def load_yaml_docs(path: Path) -> list:
    with path.open() as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


def yaml_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*") if p.suffix in (".yaml", ".yml"))


def kubectl_with_kustomize() -> tuple[str | None, str]:
    """(kubectl path, reason) — path is None when kubectl is missing or its kustomize too old."""
    # KUBECTL=/path/to/kubectl picks another one; KUBECTL= (empty) forces the pure-Python renderer.
    kubectl = os.environ.get("KUBECTL", shutil.which("kubectl"))
    if not kubectl:
        return None, "kubectl is not installed (scripts/install-deps installs Debian's kubernetes-client when missing)"
    try:
        out = subprocess.run([kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=60)
        info = json.loads(out.stdout)
    except (subprocess.SubprocessError, ValueError) as error:
        return None, f"`kubectl version --client` failed: {error}"
    version = info.get("kustomizeVersion", "")
    match = re.match(r"v?(\d+)\.", version)
    if not match or int(match.group(1)) < 4:
        client = info.get("clientVersion", {}).get("gitVersion", "?")
        return None, (f"kubectl {client} embeds kustomize {version or '< v4 (unreported)'}; these kustomizations "
                      "need v4+ (components, patches with $patch: delete)")
    return kubectl, ""


KUBECTL, KUBECTL_REASON = kubectl_with_kustomize()


def kubectl_render(directory: Path) -> list:
    out = subprocess.run([KUBECTL, "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, f"kubectl kustomize {directory} failed:\n{out.stderr}"
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc is not None]


def render(directory: Path) -> list:
    """The rendered documents: kubectl kustomize if usable, else the pure-Python renderer."""
    return kubectl_render(directory) if KUBECTL else kustomize_lite.render(directory)


def find(docs: list, kind: str, name_prefix: str | None = None) -> list:
    return [d for d in docs if d.get("kind") == kind
            and (name_prefix is None or d["metadata"]["name"].startswith(name_prefix))]


def one(docs: list, kind: str, name_prefix: str | None = None) -> dict:
    found = find(docs, kind, name_prefix)
    assert len(found) == 1, f"expected one {kind} {name_prefix or ''}, found {len(found)}"
    return found[0]


def pod_spec(docs: list) -> dict:
    return one(docs, "Deployment", "realtime-sidecar")["spec"]["template"]["spec"]


def container(spec: dict, name: str) -> dict:
    matches = [c for c in spec["containers"] if c["name"] == name]
    assert len(matches) == 1, f"container {name} not found in {[c['name'] for c in spec['containers']]}"
    return matches[0]


def configmap_data(docs: list) -> dict:
    return one(docs, "ConfigMap", CONFIGMAP)["data"]


@pytest.fixture(scope="module", params=[BASE, OVERLAY_NATS_KV], ids=["base", "nats-kv"])
def rendered(request):
    return render(request.param)


@pytest.fixture(scope="module")
def base_docs():
    return render(BASE)


@pytest.fixture(scope="module")
def bin_dir() -> Path:
    value = os.environ.get("SIDECAR_BIN_DIR")
    if not value:
        pytest.skip("SIDECAR_BIN_DIR is not set (make test sets it to `swift build --show-bin-path`)")
    path = Path(value)
    for binary in ("realtime-sidecar", "sidecarctl"):
        if not (path / binary).is_file():
            pytest.skip(f"{path / binary} is missing: run `swift build` first")
    return path


@pytest.fixture(scope="module")
def help_variables(bin_dir) -> set[str]:
    out = subprocess.run([str(bin_dir / "realtime-sidecar"), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    names = parse_help_variables(out.stdout)
    # The table has 33 rows today; a parse that finds only a handful is a broken parse.
    assert {"NATS_URL", "HTTP_PORT", "SIDECAR_SOCKET_PATH", "LOG_FORMAT"} <= names, names
    return names


def parse_help_variables(text: str) -> set[str]:
    """`--help` prints one line per variable: two spaces, NAME padded, help, (default: ...)."""
    return set(re.findall(r"^\s{2,}([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)\s{2,}\S", text, re.MULTILINE))


@pytest.fixture(scope="module")
def strategy_variables(bin_dir) -> set[str]:
    out = subprocess.run([str(bin_dir / "sidecarctl"), "strategies", "--json"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    names = set()
    for strategy in json.loads(out.stdout):
        names.add(strategy["enable_variable"])
        names |= {parameter["variable"] for parameter in strategy["parameters"]}
    assert any(n.startswith("STRATEGY_ENABLED_") for n in names), "no STRATEGY_ENABLED_* in `sidecarctl strategies --json`"
    assert len([n for n in names if not n.startswith("STRATEGY_ENABLED_")]) >= 10, "too few strategy parameter variables"
    return names


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture(scope="module")
def running_sidecar(bin_dir, base_docs):
    """The built realtime-sidecar with the base ConfigMap's environment, except: a free HTTP port on
    loopback, NATS pointing at a port nobody listens on, the socket in a temp dir, memory config."""
    environment = dict(configmap_data(base_docs))
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        environment.update({
            "HTTP_HOST": "127.0.0.1", "HTTP_PORT": str(port), "NATS_URL": f"nats://127.0.0.1:{free_port()}",
            "SIDECAR_SOCKET_PATH": f"{tmp}/sidecar.sock", "SIDECAR_ALLOWED_UIDS": "", "CONFIG_STORE": "memory",
            "LOG_FORMAT": "text", "SIDECAR_API_TOKEN_FILE": f"{tmp}/api-token", "ADMIN_HTTP_PORT": str(free_port()),
        })
        Path(tmp, "api-token").write_text("manifest-test-token\n")
        log = open(Path(tmp) / "sidecar.log", "w+")
        process = subprocess.Popen([str(bin_dir / "realtime-sidecar")], env={"PATH": os.environ.get("PATH", ""), **environment},
                                   stdout=log, stderr=subprocess.STDOUT)
        base_url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                if process.poll() is not None:
                    log.seek(0)
                    pytest.fail(f"realtime-sidecar exited with {process.returncode} at start:\n{log.read()[-4000:]}")
                try:
                    http_status(base_url + "/")
                    break
                except (urllib.error.URLError, ConnectionError, OSError):
                    if time.monotonic() > deadline:
                        log.seek(0)
                        pytest.fail(f"realtime-sidecar did not answer HTTP within 30 s:\n{log.read()[-4000:]}")
                    time.sleep(0.2)
            yield base_url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


# ---------------------------------------------------------------------------------------------
# Parsing and rendering


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_every_yaml_file_parses(path):
    docs = load_yaml_docs(path)
    assert docs, f"{path} has no document"
    for doc in docs:
        assert isinstance(doc, dict) and "apiVersion" in doc and "kind" in doc, f"{path}: not a Kubernetes object"


def test_kubectl_is_usable():
    if KUBECTL is None:
        pytest.skip(f"kubectl part skipped, pure-Python rendering used instead: {KUBECTL_REASON}")
    assert Path(KUBECTL).exists()


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(K8S)))
def test_kubectl_kustomize_renders_offline(directory):
    if KUBECTL is None:
        pytest.skip(f"kubectl part skipped: {KUBECTL_REASON}")
    docs = kubectl_render(directory)
    kinds = sorted(d["kind"] for d in docs)
    assert "Deployment" in kinds and "ConfigMap" in kinds, kinds


@pytest.mark.parametrize("directory", KUSTOMIZATIONS, ids=lambda p: str(p.relative_to(K8S)))
def test_pure_python_render_agrees_with_kubectl(directory):
    if KUBECTL is None:
        pytest.skip(f"kubectl part skipped: {KUBECTL_REASON}")
    assert kustomize_lite.normalize(kustomize_lite.render(directory)) == kustomize_lite.normalize(kubectl_render(directory))


def test_base_renders_the_expected_objects(base_docs):
    assert sorted((d["kind"], kustomize_lite.strip_hash(d["metadata"]["name"]) if d["kind"] == "ConfigMap" else d["metadata"]["name"])
                  for d in base_docs) == [
        ("ConfigMap", CONFIGMAP), ("Deployment", "realtime-sidecar"), ("NetworkPolicy", "realtime-sidecar"),
        ("PersistentVolumeClaim", "realtime-sidecar-config")]


def test_podmonitor_stays_out_of_the_base(base_docs):
    assert not find(base_docs, "PodMonitor")
    docs = render(K8S / "overlays" / "prometheus-operator")
    monitor = one(docs, "PodMonitor")
    endpoint = monitor["spec"]["podMetricsEndpoints"][0]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] in {p["name"] for p in container(pod_spec(docs), SIDECAR_CONTAINER)["ports"]}
    labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in monitor["spec"]["selector"]["matchLabels"].items())


# ---------------------------------------------------------------------------------------------
# The pod


def test_configmap_is_wired_with_env_from(rendered):
    spec = pod_spec(rendered)
    name = one(rendered, "ConfigMap", CONFIGMAP)["metadata"]["name"]
    refs = [s["configMapRef"]["name"] for s in container(spec, SIDECAR_CONTAINER).get("envFrom", []) if "configMapRef" in s]
    assert refs == [name]


def test_both_containers_mount_the_socket_directory(rendered):
    data = configmap_data(rendered)
    socket_dir = str(PurePosixPath(data["SIDECAR_SOCKET_PATH"]).parent)
    spec = pod_spec(rendered)
    volumes = {v["name"]: v for v in spec["volumes"]}
    for name in (SIDECAR_CONTAINER, ENGINE_CONTAINER):
        mounts = [m for m in container(spec, name)["volumeMounts"] if m["mountPath"] == socket_dir]
        assert len(mounts) == 1, f"{name} does not mount {socket_dir}"
        assert not mounts[0].get("readOnly", False) or name == ENGINE_CONTAINER
        volume = volumes[mounts[0]["name"]]
        assert volume.get("emptyDir", {}).get("medium") == "Memory", volume
        assert "subPath" not in mounts[0], "mount the directory, never the socket file (it is re-created at start)"
    assert len({m["name"] for c in spec["containers"] for m in c["volumeMounts"] if m["mountPath"] == socket_dir}) == 1


def test_trade_engine_gets_the_same_socket_path(rendered):
    spec = pod_spec(rendered)
    env = {e["name"]: e for e in container(spec, ENGINE_CONTAINER).get("env", [])}
    entry = env["SIDECAR_SOCKET_PATH"]
    name = one(rendered, "ConfigMap", CONFIGMAP)["metadata"]["name"]
    if "value" in entry:
        assert entry["value"] == configmap_data(rendered)["SIDECAR_SOCKET_PATH"]
    else:
        assert entry["valueFrom"]["configMapKeyRef"] == {"name": name, "key": "SIDECAR_SOCKET_PATH"}


def test_probes_use_the_http_port_of_the_configmap(rendered):
    data = configmap_data(rendered)
    sidecar = container(pod_spec(rendered), SIDECAR_CONTAINER)
    ports = {p["name"]: p["containerPort"] for p in sidecar["ports"]}
    assert int(data["HTTP_PORT"]) in ports.values()
    assert data["HTTP_HOST"] == "0.0.0.0", "the kubelet probes the pod IP, not loopback"
    expected = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/ready"}
    for probe, path in expected.items():
        get = sidecar[probe]["httpGet"]
        assert get["path"] == path, probe
        port = ports[get["port"]] if isinstance(get["port"], str) else get["port"]
        assert port == int(data["HTTP_PORT"]), probe


def test_prometheus_annotations_point_at_the_http_port(rendered):
    data = configmap_data(rendered)
    annotations = one(rendered, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == data["HTTP_PORT"]
    assert annotations["prometheus.io/path"] == "/metrics"


def test_termination_grace_exceeds_the_shutdown_timeout(rendered):
    data = configmap_data(rendered)
    assert pod_spec(rendered)["terminationGracePeriodSeconds"] > int(data["SHUTDOWN_TIMEOUT_SECONDS"])


def test_security_context(rendered):
    spec = pod_spec(rendered)
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True
    assert pod["seccompProfile"]["type"] == "RuntimeDefault"
    assert isinstance(pod.get("fsGroup"), int) and pod["fsGroup"] > 0
    for c in spec["containers"]:
        sc = c["securityContext"]
        assert sc.get("runAsNonRoot", pod["runAsNonRoot"]) is True, c["name"]
        uid = sc.get("runAsUser", pod.get("runAsUser"))
        gid = sc.get("runAsGroup", pod.get("runAsGroup"))
        assert isinstance(uid, int) and uid > 0, f"{c['name']}: fixed non-root UID"
        assert isinstance(gid, int) and gid > 0, f"{c['name']}: fixed non-root GID"
        assert sc["readOnlyRootFilesystem"] is True, c["name"]
        assert sc["allowPrivilegeEscalation"] is False, c["name"]
        assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add"), c["name"]
        assert sc.get("seccompProfile", pod["seccompProfile"])["type"] == "RuntimeDefault", c["name"]
        assert not sc.get("privileged", False), c["name"]


def test_socket_is_reachable_by_the_engine_and_only_by_it(rendered):
    data = configmap_data(rendered)
    spec = pod_spec(rendered)
    engine_uid = container(spec, ENGINE_CONTAINER)["securityContext"]["runAsUser"]
    sidecar_uid = container(spec, SIDECAR_CONTAINER)["securityContext"]["runAsUser"]
    assert engine_uid != sidecar_uid
    assert [int(u) for u in data["SIDECAR_ALLOWED_UIDS"].split(",") if u.strip()] == [engine_uid]
    # Mode 0660: the engine connects through the group. fsGroup is a supplemental group of every
    # container and owns the emptyDir, so the socket's group is one the engine is in.
    assert int(data["SIDECAR_SOCKET_MODE"], 8) & 0o060 == 0o060
    sidecar_gid = container(spec, SIDECAR_CONTAINER)["securityContext"]["runAsGroup"]
    assert spec["securityContext"]["fsGroup"] == sidecar_gid


def test_resources_are_set(rendered):
    def mebibytes(quantity: str) -> float:
        units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
        match = re.fullmatch(r"(\d+)(Ki|Mi|Gi)", quantity)
        assert match, quantity
        return int(match.group(1)) * units[match.group(2)]
    sidecar = container(pod_spec(rendered), SIDECAR_CONTAINER)
    resources = sidecar["resources"]
    # docs/PERFORMANCE.md: 64.3 MiB RSS steady with 500 symbols; the limit leaves room for the
    # NATS pending queue (NATS_PENDING_BYTES_LIMIT) on top of MAX_SYMBOLS of state.
    assert mebibytes(resources["requests"]["memory"]) >= 64.3
    pending = int(configmap_data(rendered)["NATS_PENDING_BYTES_LIMIT"]) / 2**20
    assert mebibytes(resources["limits"]["memory"]) >= 64.3 + pending
    assert resources["requests"]["cpu"] and resources["limits"]["cpu"]


def test_config_store_volume_in_the_base(base_docs):
    data = configmap_data(base_docs)
    assert data["CONFIG_STORE"] == "file:/var/lib/realtime-sidecar/config"
    directory = data["CONFIG_STORE"].split(":", 1)[1]
    spec = pod_spec(base_docs)
    mounts = [m for m in container(spec, SIDECAR_CONTAINER)["volumeMounts"] if m["mountPath"] == directory]
    assert len(mounts) == 1 and not mounts[0].get("readOnly", False)
    volume = next(v for v in spec["volumes"] if v["name"] == mounts[0]["name"])
    claim = volume["persistentVolumeClaim"]["claimName"]
    assert one(base_docs, "PersistentVolumeClaim")["metadata"]["name"] == claim


def test_nats_kv_overlay_switches_the_config_store():
    docs = render(OVERLAY_NATS_KV)
    data = configmap_data(docs)
    assert data["CONFIG_STORE"] == "nats-kv:realtime-sidecar-config"
    spec = pod_spec(docs)
    assert not find(docs, "PersistentVolumeClaim")
    assert not any("persistentVolumeClaim" in v for v in spec["volumes"])
    assert all(m["mountPath"] != "/var/lib/realtime-sidecar/config" for c in spec["containers"] for m in c["volumeMounts"])
    mounted = {m["name"] for c in spec["containers"] for m in c["volumeMounts"]}
    assert mounted == {v["name"] for v in spec["volumes"]}, "every volume mounted, every mount backed"
    # Everything else of the environment is the base's.
    base = configmap_data(render(BASE))
    assert {k: v for k, v in data.items() if k != "CONFIG_STORE"} == {k: v for k, v in base.items() if k != "CONFIG_STORE"}


# ---------------------------------------------------------------------------------------------
# NetworkPolicy (k8s/sidecar/networkpolicy.yaml): default deny; in, Prometheus from the monitoring
# namespace to the HTTP port; out, DNS, NATS and HTTPS (REST depth snapshots) only. Each check is a
# function so that test_network_policy_checks_can_fail can run it against broken copies.

MONITORING_NAMESPACE = "monitoring"            # the policy's assumption (docs/OPERATIONS.md)
NATS_POD_LABELS = {"app.kubernetes.io/name": "nats"}  # ditto
DNS_PEER = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}
PRIVATE_RANGES = {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}
DNS_PORTS = {("UDP", 53), ("TCP", 53)}


def network_policy(docs: list) -> dict:
    return one(docs, "NetworkPolicy", "realtime-sidecar")


def policy_port(port, docs: list) -> int:
    """A port of an ingress rule (a number, or the name of a container port of this pod) as a number."""
    if isinstance(port, int):
        return port
    named = [p["containerPort"] for c in pod_spec(docs)["containers"] for p in c.get("ports", []) if p.get("name") == port]
    assert len(named) == 1, f"port name {port!r} names {len(named)} container ports of the pod"
    return named[0]


def rule_ports(rule: dict, docs: list) -> set[tuple[str, int]]:
    """(protocol, port) pairs a rule opens; a rule or port entry without a port would open all of them."""
    assert rule.get("ports"), f"a rule without `ports` allows every port: {rule}"
    pairs = set()
    for entry in rule["ports"]:
        assert "port" in entry and "endPort" not in entry, f"every port or a range of them: {entry}"
        pairs.add((entry.get("protocol", "TCP"), policy_port(entry["port"], docs)))
    return pairs


def nats_url_ports(data: dict) -> set[int]:
    return {urlsplit(url.strip()).port or 4222 for url in data["NATS_URL"].split(",") if url.strip()}


def snapshot_urls(data: dict) -> list[str]:
    return [v for k, v in sorted(data.items()) if k.startswith("DEPTH_SNAPSHOT_URL_") and v != "off"]


def egress_rule(docs: list, port: int) -> dict:
    rules = [r for r in network_policy(docs)["spec"].get("egress", []) if any(p.get("port") == port for p in r.get("ports", []))]
    assert len(rules) == 1, f"expected one egress rule to port {port}, found {len(rules)}"
    return rules[0]


def check_policy_selects_the_pod(docs: list):
    labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert network_policy(docs)["spec"]["podSelector"] == {"matchLabels": labels}


def check_policy_types(docs: list):
    # Both, so that a policy without egress rules would still deny all egress (and not allow it).
    assert sorted(network_policy(docs)["spec"].get("policyTypes", [])) == ["Egress", "Ingress"]


def check_ingress_is_monitoring_to_http_only(docs: list):
    http = int(configmap_data(docs)["HTTP_PORT"])
    rules = network_policy(docs)["spec"].get("ingress", [])
    assert len(rules) == 1, f"one ingress rule (Prometheus to the HTTP port), found {len(rules)}"
    assert rule_ports(rules[0], docs) == {("TCP", http)}
    assert rules[0].get("from") == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}}}], \
        f"only pods of the {MONITORING_NAMESPACE} namespace: {rules[0].get('from')}"


def check_policy_http_port_is_the_sidecars(docs: list):
    http = int(configmap_data(docs)["HTTP_PORT"])
    listening = {p["containerPort"] for p in container(pod_spec(docs), SIDECAR_CONTAINER).get("ports", [])}
    assert http in listening, f"HTTP_PORT {http} is not a container port of the sidecar {sorted(listening)}"
    opened = {port for rule in network_policy(docs)["spec"].get("ingress", []) for _, port in rule_ports(rule, docs)}
    assert opened == {http}, f"the policy opens {sorted(opened)}, the sidecar listens on HTTP_PORT {http}"


def check_engine_serves_nothing(docs: list):
    ports = container(pod_spec(docs), ENGINE_CONTAINER).get("ports", [])
    assert not ports, f"the trade engine now declares {ports}: allow them in networkpolicy.yaml and update these checks"


def check_egress_is_dns_nats_https_only(docs: list):
    data = configmap_data(docs)
    groups = {"DNS": DNS_PORTS, "NATS": {("TCP", p) for p in nats_url_ports(data)},
              # Only while the sidecar fetches REST snapshots (networkpolicy.yaml: remove it when `off`).
              "HTTPS": {("TCP", 443)} if snapshot_urls(data) else None}
    seen = []
    for rule in network_policy(docs)["spec"].get("egress", []):
        assert rule.get("to"), f"an egress rule without `to` allows every destination: {rule}"
        ports = rule_ports(rule, docs)
        name = next((n for n, g in groups.items() if g == ports), None)
        assert name, f"egress rule to {sorted(ports)} is none of {groups}"
        seen.append(name)
    assert sorted(seen) == sorted(n for n, g in groups.items() if g)


def check_egress_dns_goes_to_kube_dns(docs: list):
    rule = egress_rule(docs, 53)
    assert rule_ports(rule, docs) == DNS_PORTS
    assert rule["to"] == [DNS_PEER]


def check_egress_nats_goes_to_the_nats_pods(docs: list):
    ports = nats_url_ports(configmap_data(docs))
    for port in ports:
        rule = egress_rule(docs, port)
        assert rule_ports(rule, docs) == {("TCP", p) for p in ports}
        assert rule["to"] == [{"podSelector": {"matchLabels": NATS_POD_LABELS}}], rule["to"]


def check_egress_https_is_public_only(docs: list):
    rule = egress_rule(docs, 443)
    assert rule_ports(rule, docs) == {("TCP", 443)}
    assert [set(peer) for peer in rule["to"]] == [{"ipBlock"}], rule["to"]
    block = rule["to"][0]["ipBlock"]
    assert block["cidr"] == "0.0.0.0/0"
    assert len(block.get("except", [])) == len(PRIVATE_RANGES) and set(block["except"]) == PRIVATE_RANGES, block
    for url in snapshot_urls(configmap_data(docs)):
        parts = urlsplit(url)
        assert parts.scheme == "https" and (parts.port or 443) == 443, f"{url}: not reachable through the 443 rule"


def test_network_policy_selects_the_pod(rendered):
    check_policy_selects_the_pod(rendered)


def test_network_policy_types_are_ingress_and_egress(rendered):
    check_policy_types(rendered)


def test_network_policy_ingress_is_monitoring_to_http_only(rendered):
    check_ingress_is_monitoring_to_http_only(rendered)


def test_network_policy_http_port_is_the_sidecars(rendered):
    check_policy_http_port_is_the_sidecars(rendered)


def test_trade_engine_serves_no_port(rendered):
    check_engine_serves_nothing(rendered)


def test_network_policy_egress_is_dns_nats_https_only(rendered):
    check_egress_is_dns_nats_https_only(rendered)


def test_network_policy_dns_goes_to_kube_dns(rendered):
    check_egress_dns_goes_to_kube_dns(rendered)


def test_network_policy_nats_goes_to_the_nats_pods(rendered):
    check_egress_nats_goes_to_the_nats_pods(rendered)


def test_network_policy_https_excludes_private_ranges(rendered):
    check_egress_https_is_public_only(rendered)


def _np(docs: list) -> dict:
    return network_policy(docs)["spec"]


POLICY_MUTATIONS = {
    "selector-lacks-a-label": (check_policy_selects_the_pod, lambda d: _np(d)["podSelector"]["matchLabels"].popitem()),
    "selector-extra-label": (check_policy_selects_the_pod, lambda d: _np(d)["podSelector"]["matchLabels"].update(tier="x")),
    "ingress-type-only": (check_policy_types, lambda d: _np(d).update(policyTypes=["Ingress"])),
    "ingress-from-other-namespace": (check_ingress_is_monitoring_to_http_only,
                                     lambda d: _np(d)["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"].update(
                                         {"kubernetes.io/metadata.name": "default"})),
    "ingress-from-own-namespace-too": (check_ingress_is_monitoring_to_http_only, lambda d: _np(d)["ingress"][0]["from"].append({"podSelector": {}})),
    "ingress-from-anywhere": (check_ingress_is_monitoring_to_http_only, lambda d: _np(d)["ingress"][0].pop("from")),
    "ingress-every-port": (check_ingress_is_monitoring_to_http_only, lambda d: _np(d)["ingress"][0].pop("ports")),
    "ingress-extra-rule": (check_ingress_is_monitoring_to_http_only,
                           lambda d: _np(d)["ingress"].append({"ports": [{"protocol": "TCP", "port": 9090}]})),
    "ingress-wrong-port": (check_policy_http_port_is_the_sidecars, lambda d: _np(d)["ingress"][0]["ports"][0].update(port=8081)),
    "http-port-moved": (check_policy_http_port_is_the_sidecars, lambda d: configmap_data(d).update(HTTP_PORT="9090")),
    "engine-serves-a-port": (check_engine_serves_nothing,
                             lambda d: container(pod_spec(d), ENGINE_CONTAINER).setdefault("ports", []).append({"containerPort": 9000})),
    "egress-extra-port": (check_egress_is_dns_nats_https_only, lambda d: egress_rule(d, 4222)["ports"].append({"protocol": "TCP", "port": 80})),
    "egress-no-udp-dns": (check_egress_is_dns_nats_https_only, lambda d: egress_rule(d, 53)["ports"].pop(0)),
    "egress-anywhere": (check_egress_is_dns_nats_https_only, lambda d: egress_rule(d, 4222).pop("to")),
    "egress-every-port": (check_egress_is_dns_nats_https_only, lambda d: egress_rule(d, 443).pop("ports")),
    "egress-extra-rule": (check_egress_is_dns_nats_https_only, lambda d: _np(d)["egress"].append(copy.deepcopy(egress_rule(d, 443)))),
    "egress-https-while-snapshots-off": (check_egress_is_dns_nats_https_only, lambda d: configmap_data(d).update(
        DEPTH_SNAPSHOT_URL_SPOT="off", DEPTH_SNAPSHOT_URL_USDM="off")),
    "dns-any-namespace": (check_egress_dns_goes_to_kube_dns, lambda d: egress_rule(d, 53)["to"][0].pop("namespaceSelector")),
    "nats-by-ip": (check_egress_nats_goes_to_the_nats_pods, lambda d: egress_rule(d, 4222).update(to=[{"ipBlock": {"cidr": "0.0.0.0/0"}}])),
    "nats-other-label": (check_egress_nats_goes_to_the_nats_pods,
                         lambda d: egress_rule(d, 4222)["to"][0]["podSelector"]["matchLabels"].update({"app.kubernetes.io/name": "other"})),
    "nats-url-other-port": (check_egress_nats_goes_to_the_nats_pods, lambda d: configmap_data(d).update(NATS_URL="nats://nats:4223")),
    "https-private-range-open": (check_egress_https_is_public_only, lambda d: egress_rule(d, 443)["to"][0]["ipBlock"]["except"].remove("10.0.0.0/8")),
    "https-other-cidr": (check_egress_https_is_public_only, lambda d: egress_rule(d, 443)["to"][0]["ipBlock"].update(cidr="10.0.0.0/8")),
    "https-plus-pods": (check_egress_https_is_public_only, lambda d: egress_rule(d, 443)["to"].append({"podSelector": {}})),
    "snapshot-url-plain-http": (check_egress_https_is_public_only, lambda d: configmap_data(d).update(DEPTH_SNAPSHOT_URL_SPOT="http://api.binance.com/api/v3/depth")),
}


@pytest.mark.parametrize("mutation", sorted(POLICY_MUTATIONS))
def test_network_policy_checks_can_fail(base_docs, mutation):
    check, mutate = POLICY_MUTATIONS[mutation]
    check(base_docs)  # passes on the real manifests
    docs = copy.deepcopy(base_docs)
    mutate(docs)
    with pytest.raises(AssertionError):
        check(docs)


# ---------------------------------------------------------------------------------------------
# Secrets: values only as files from Secret volumes, never in the ConfigMap

# Variables that hold a secret value; each has a *_FILE twin that the ConfigMap uses instead.
SECRET_VALUE_VARIABLES = {"SIDECAR_API_TOKEN", "NATS_TOKEN", "NATS_PASSWORD"}
# Variables naming a file with secret content (keys, credentials, tokens).
SECRET_FILE_VARIABLES = {"SIDECAR_API_TOKEN_FILE", "NATS_TOKEN_FILE", "NATS_PASSWORD_FILE", "NATS_CREDS_FILE",
                         "NATS_NKEY_SEED_FILE", "NATS_TLS_KEY_FILE", "NATS_TLS_CERT_FILE", "NATS_TLS_CA_FILE"}


def secret_mounts(docs: list) -> dict:
    """mountPath -> (volume, mount) of the sidecar container's Secret volumes."""
    spec = pod_spec(docs)
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    mounts = {}
    for mount in container(spec, SIDECAR_CONTAINER).get("volumeMounts", []):
        volume = volumes.get(mount["name"], {})
        if "secret" in volume:
            mounts[mount["mountPath"].rstrip("/")] = (volume, mount)
    return mounts


def check_no_secret_value_in_configmap(docs: list):
    data = configmap_data(docs)
    present = SECRET_VALUE_VARIABLES & set(data)
    assert not present, f"secret values in the ConfigMap: {sorted(present)} (use the *_FILE variables and a Secret)"
    for url in data.get("NATS_URL", "").split(","):
        parts = urlsplit(url.strip())
        assert parts.username is None and parts.password is None, f"NATS_URL carries credentials: {parts.scheme}://***@{parts.hostname}"


def check_secret_files_come_from_secret_volumes(docs: list):
    data = configmap_data(docs)
    mounts = secret_mounts(docs)
    for name in sorted(SECRET_FILE_VARIABLES):
        path = data.get(name, "")
        if not path:
            continue
        owner = [m for m in mounts if PurePosixPath(path).is_relative_to(m)]
        assert owner, f"{name}={path} is not inside a Secret volume of {SIDECAR_CONTAINER} (mounts: {sorted(mounts)})"
        volume, mount = mounts[owner[0]]
        assert mount.get("readOnly") is True, f"{mount['name']} must be mounted readOnly"
        assert volume["secret"].get("defaultMode", 0o644) & 0o007 == 0, f"{mount['name']}: files must not be world-readable"


def check_api_token_is_required(docs: list):
    data = configmap_data(docs)
    path = data.get("SIDECAR_API_TOKEN_FILE", "")
    assert path, "SIDECAR_API_TOKEN_FILE is not set: HTTP writes would have no token"
    volume, _ = secret_mounts(docs)[next(m for m in secret_mounts(docs) if PurePosixPath(path).is_relative_to(m))]
    assert not volume["secret"].get("optional", False), "the API token Secret must not be optional"


def test_no_secret_value_in_the_configmap(rendered):
    check_no_secret_value_in_configmap(rendered)


def test_secret_files_come_from_secret_volumes(rendered):
    check_secret_files_come_from_secret_volumes(rendered)


def test_api_token_secret_is_required(rendered):
    check_api_token_is_required(rendered)


def test_no_secret_values_are_committed(rendered):
    for doc in rendered:
        if doc.get("kind") == "Secret":
            assert not doc.get("data") and not doc.get("stringData"), f"Secret {doc['metadata']['name']} with values in k8s/"
    for path in yaml_files() + [BASE / "sidecar.env"]:
        text = path.read_text()
        assert not re.search(r"(?m)^\s*(SIDECAR_API_TOKEN|NATS_TOKEN|NATS_PASSWORD)\s*[=:]", text), f"{path}: a secret value variable"


def _api_token_volume(docs: list) -> dict:
    return next(v for v in pod_spec(docs)["volumes"] if v["name"] == "api-token")


def _as_empty_dir(volume: dict):
    del volume["secret"]
    volume["emptyDir"] = {}


SECRET_MUTATIONS = {
    "password-in-configmap": (check_no_secret_value_in_configmap, lambda d: configmap_data(d).update(NATS_PASSWORD="hunter2")),
    "url-with-password": (check_no_secret_value_in_configmap, lambda d: configmap_data(d).update(NATS_URL="nats://u:p@nats:4222")),
    "token-file-outside-secret": (check_secret_files_come_from_secret_volumes,
                                  lambda d: configmap_data(d).update(SIDECAR_API_TOKEN_FILE="/tmp/token")),
    "token-volume-not-a-secret": (check_secret_files_come_from_secret_volumes, lambda d: _as_empty_dir(_api_token_volume(d))),
    "world-readable": (check_secret_files_come_from_secret_volumes,
                       lambda d: _api_token_volume(d)["secret"].update(defaultMode=0o644)),
    "token-optional": (check_api_token_is_required, lambda d: _api_token_volume(d)["secret"].update(optional=True)),
    "no-token": (check_api_token_is_required, lambda d: configmap_data(d).update(SIDECAR_API_TOKEN_FILE="")),
}


@pytest.mark.parametrize("mutation", sorted(SECRET_MUTATIONS))
def test_secret_checks_can_fail(base_docs, mutation):
    check, mutate = SECRET_MUTATIONS[mutation]
    check(base_docs)
    docs = copy.deepcopy(base_docs)
    mutate(docs)
    with pytest.raises((AssertionError, KeyError, StopIteration)):
        check(docs)


# ---------------------------------------------------------------------------------------------
# Against the built binaries


def test_configmap_holds_every_variable_of_help(rendered, help_variables):
    missing = help_variables - SECRET_VALUE_VARIABLES - set(configmap_data(rendered))
    assert not missing, f"variables of `realtime-sidecar --help` missing from {CONFIGMAP}: {sorted(missing)}"


def test_every_configmap_key_is_read_by_the_binary(rendered, help_variables, strategy_variables):
    keys = set(configmap_data(rendered))
    unknown = keys - help_variables - strategy_variables
    assert not unknown, f"{CONFIGMAP} keys the binary does not read: {sorted(unknown)}"


def test_help_parser_rejects_prose():
    sample = ("  NATS_URL                           NATS server URL(s) (default: nats://x)\n"
              "  and the remaining TEXT_IN_PROSE is not a variable\n"
              "  HTTP_PORT  HTTP port\n")
    assert parse_help_variables(sample) == {"NATS_URL", "HTTP_PORT"}


@pytest.mark.parametrize("probe", ["startupProbe", "livenessProbe", "readinessProbe"])
def test_probe_paths_are_served_by_the_binary(running_sidecar, base_docs, probe):
    path = container(pod_spec(base_docs), SIDECAR_CONTAINER)[probe]["httpGet"]["path"]
    status = http_status(running_sidecar + path)
    # /ready is 503 here (no NATS): still an endpoint the binary serves.
    assert status != 404 and status < 500 or status == 503, f"{path}: HTTP {status}"
    if path == "/healthz":
        assert status == 200


def test_ready_is_503_without_nats(running_sidecar):
    assert http_status(running_sidecar + "/ready") == 503


def test_unknown_path_is_404(running_sidecar):
    # The check above can fail: an unserved path is a 404.
    assert http_status(running_sidecar + "/no-such-endpoint") == 404


def test_scrape_path_is_served_by_the_binary(running_sidecar, base_docs):
    path = one(base_docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]["prometheus.io/path"]
    status = http_status(running_sidecar + path)
    assert status == 200, f"{path}: HTTP {status}"


def test_documented_metrics_are_exported_by_the_binary(running_sidecar):
    # The names the dashboard and alerts use (docs/metrics.txt) against the binary's # TYPE lines.
    with urllib.request.urlopen(running_sidecar + "/metrics", timeout=10) as response:
        text = response.read().decode()
    exported = set(re.findall(r"^# TYPE (\S+) (\S+)", text, re.MULTILINE))
    series = set()
    for name, kind in exported:
        series.add(name)
        if kind == "histogram":
            series |= {name + "_bucket", name + "_sum", name + "_count"}
    missing = known_metrics() - series
    assert not missing, f"docs/metrics.txt names the binary does not export: {sorted(missing)}"


# ---------------------------------------------------------------------------------------------
# Dockerfile


def dockerfile_stages() -> list[dict]:
    stages, current = [], None
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)  # join continuation lines
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, re.MULTILINE))
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            match = re.match(r"(\S+)(?:\s+AS\s+(\S+))?", rest.strip(), re.IGNORECASE)
            image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), match.group(1))
            current = {"image": image, "name": match.group(2), "lines": []}
            stages.append(current)
        elif current is not None:
            current["lines"].append((instruction, rest.strip()))
    return stages


def apt_packages(stage: dict) -> list[str]:
    packages = []
    for instruction, rest in stage["lines"]:
        if instruction == "RUN":
            for command in re.findall(r"apt-get install ([^&;]+)", rest):
                packages += [w for w in command.split() if not w.startswith("-")]
    return packages


def test_dockerfile_is_multi_stage():
    stages = dockerfile_stages()
    assert len(stages) == 2, [s["image"] for s in stages]
    build, runtime = stages
    assert re.fullmatch(r"swift:6\.3(\.\d+)?-bookworm", build["image"]), build["image"]
    assert runtime["image"] == "debian:bookworm-slim"
    runs = " ".join(rest for instruction, rest in build["lines"] if instruction == "RUN")
    for product in ("realtime-sidecar", "sidecarctl"):
        assert re.search(rf"swift build -c release --static-swift-stdlib (--force-resolved-versions )?--product {product}\b", runs), product
    assert {"libnats-dev", "libprotobuf-c-dev", "zlib1g-dev"} <= set(apt_packages(build))
    copies = [rest for instruction, rest in runtime["lines"] if instruction == "COPY"]
    assert any(f"--from={build['name']}" in c and "realtime-sidecar" in c for c in copies)
    instructions = dict(runtime["lines"])
    assert instructions.get("EXPOSE") == "8080"
    assert json.loads(instructions["ENTRYPOINT"])[0].endswith("/realtime-sidecar")


def test_dockerfile_user_matches_the_manifest(base_docs):
    runtime = dockerfile_stages()[-1]
    users = [rest for instruction, rest in runtime["lines"] if instruction == "USER"]
    assert users, "runtime stage has no USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) > 0, "USER must be numeric and non-root (runAsNonRoot checks numerically)"
    sc = container(pod_spec(base_docs), SIDECAR_CONTAINER)["securityContext"]
    assert int(uid) == sc["runAsUser"]
    assert gid and int(gid) == sc["runAsGroup"]


def test_build_stage_packages_are_the_ones_install_deps_uses():
    install_deps = (ROOT / "scripts" / "install-deps").read_text()
    for package in apt_packages(dockerfile_stages()[0]):
        assert re.search(rf"(?<![\w-]){re.escape(package)}(?![\w-])", install_deps), f"{package} not in scripts/install-deps"


@pytest.mark.parametrize("package", apt_packages(dockerfile_stages()[-1]))
def test_runtime_stage_package_exists_in_apt(package):
    if shutil.which("apt-cache") is None:
        pytest.skip("apt-cache not available")
    out = subprocess.run(["apt-cache", "show", package], capture_output=True, text=True, timeout=60)
    if out.returncode != 0 and not any(Path("/var/lib/apt/lists").glob("*_Packages*")):
        pytest.skip("apt lists are empty here (run apt-get update)")
    assert out.returncode == 0 and f"Package: {package}" in out.stdout, f"apt-cache show {package}: {out.stderr.strip()}"


def test_runtime_stage_has_the_libraries_the_binary_links(bin_dir):
    """Every shared library the built binary needs (ldd), except the Swift runtime that
    --static-swift-stdlib links in, is provided by a package of the runtime stage."""
    if shutil.which("ldd") is None or shutil.which("dpkg") is None:
        pytest.skip("ldd or dpkg not available")
    packages = set(apt_packages(dockerfile_stages()[-1])) | {"libc6", "libssl3"}  # libc6 is in the base image; libssl3 comes with libnats3.4
    out = subprocess.run(["ldd", str(bin_dir / "realtime-sidecar")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    unprovided = []
    for line in out.stdout.splitlines():
        match = re.search(r"=>\s+(/\S+)", line)
        if not match or "/swift/" in match.group(1) or re.search(r"lib(swift|Foundation|_Foundation|dispatch|BlocksRuntime)", match.group(1)):
            continue
        owner = subprocess.run(["dpkg", "-S", os.path.realpath(match.group(1))], capture_output=True, text=True)
        if owner.returncode != 0:
            owner = subprocess.run(["dpkg", "-S", match.group(1)], capture_output=True, text=True)
        package = owner.stdout.split(":", 1)[0] if owner.returncode == 0 else f"? ({match.group(1)})"
        if package not in packages:
            unprovided.append(f"{match.group(1)} ({package})")
    assert not unprovided, f"libraries not provided by the runtime stage: {unprovided}"


def test_image_uses_the_pinned_dependency_versions():
    build = dockerfile_stages()[0]
    copies = [rest for instruction, rest in build["lines"] if instruction == "COPY"]
    runs = [rest for instruction, rest in build["lines"] if instruction == "RUN"]
    first_swift = next(i for i, (instruction, rest) in enumerate(build["lines"]) if instruction == "RUN" and "swift " in rest)
    copied_before = [rest for instruction, rest in build["lines"][:first_swift] if instruction == "COPY"]
    assert any("Package.resolved" in c.split() for c in copied_before), f"Package.resolved is not copied before resolving: {copies}"
    for run in runs:
        for command in re.findall(r"swift (?:package resolve|build)[^&;]*", run):
            if "--show-bin-path" in command:
                continue
            assert "--force-resolved-versions" in command, f"not pinned: {command}"
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip() and not line.startswith("#")}
    assert "Package.resolved" not in ignored, ".dockerignore keeps Package.resolved out of the build context"
    makefile = (ROOT / "Makefile").read_text()
    image = re.search(r"(?ms)^image:.*?(?=^\S|\Z)", makefile)
    assert image and "package resolve" in image.group(0) and "docker build" in image.group(0), "make image resolves, then builds"


def test_dockerignore_keeps_build_output_out():
    entries = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip() and not line.startswith("#")}
    assert {".build", ".venv-python", "bench-results"} <= entries


# ---------------------------------------------------------------------------------------------
# Grafana dashboard and alerts


def known_metrics() -> set[str]:
    names = set()
    for line in (ROOT / "docs" / "metrics.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0))
    return names


PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "le", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords, label
    names (in {...} and by/without/on/ignoring lists), strings, ranges or Grafana variables."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\$\{?\w+\}?", " ", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?", expr):
        if match.group(2) or match.group(1).lower() in PROMQL_WORDS:
            continue
        names.add(match.group(1))
    return names


def dashboard_exprs(node) -> list[str]:
    if isinstance(node, dict):
        found = [node["expr"]] if isinstance(node.get("expr"), str) else []
        return found + [e for v in node.values() for e in dashboard_exprs(v)]
    if isinstance(node, list):
        return [e for v in node for e in dashboard_exprs(v)]
    return []


def test_metric_name_extraction_can_find_unknown_names():
    assert metric_names('sum by (strategy, le) (rate(realtime_strategy_latency_bucket{pod=~"$pod"}[$__rate_interval]))') == {"realtime_strategy_latency_bucket"}
    assert metric_names("histogram_quantile(0.99, sum by (le) (rate(foo_bucket[5m]))) > 0.2 and on(pod) bar_total") == {"foo_bucket", "bar_total"}


def test_dashboard_parses_and_uses_only_known_metrics():
    dashboard = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert panels
    for panel in panels:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
    known = known_metrics()
    used = set()
    for expr in dashboard_exprs(dashboard["panels"]):
        names = metric_names(expr)
        assert names, f"no metric in {expr!r}"
        assert names <= known, f"unknown metric(s) {sorted(names - known)} in {expr!r} (docs/metrics.txt)"
        used |= names
    # Every listed metric has a panel.
    assert used == known, f"metrics without a panel: {sorted(known - used)}"


def test_operations_alerts_use_only_known_metrics():
    text = (ROOT / "docs" / "OPERATIONS.md").read_text()
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.DOTALL)
    rules = [r for block in blocks for doc in yaml.safe_load_all(block) if doc
             for group in doc.get("groups", []) for r in group.get("rules", [])]
    assert len(rules) >= 6, "expected the alert rules of docs/OPERATIONS.md"
    # Series that Prometheus itself and kube-state-metrics provide, not the sidecar.
    known = known_metrics() | {"up", "kube_pod_container_status_ready", "kube_pod_container_status_restarts_total"}
    for rule in rules:
        names = metric_names(rule["expr"])
        assert names and names <= known, f"{rule['alert']}: {sorted(names - known)}"
