"""The served simulator speaks HTTPS with a private authority, and wants the bearer token."""

from __future__ import annotations

import json
import socket
import ssl
import urllib.error
import urllib.request

import pytest
import yaml

import labsupport as ls
from labsupport.errors import ClusterUnavailable


@pytest.fixture(scope="module")
def served():
    c = ls.connect(nodes=1, seed=0)
    c.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "tls"},
             "data": {"a": "1"}})
    c.serve(speed=0)
    yield c
    c.close()


def _get(c, path: str, token: str | None) -> tuple[int, dict]:
    req = urllib.request.Request(c._server.url + path)
    if token is not None:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10,
                                    context=c._server.client_context()) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_kubeconfig_is_private_and_its_url_has_no_token(served):
    path = served.kubeconfig
    assert path.stat().st_mode & 0o777 == 0o600
    config = yaml.safe_load(path.read_text())
    cluster = config["clusters"][0]["cluster"]
    token = served._server.token
    assert cluster["server"] == f"https://127.0.0.1:{served._server.port}"
    assert token not in cluster["server"]
    assert config["users"][0]["user"]["token"] == token
    import base64

    assert base64.b64decode(cluster["certificate-authority-data"]) == served._server.ca_pem


def test_no_or_wrong_token_is_401_status(served):
    for token in (None, "wrong", served._server.token[:-1]):
        code, body = _get(served, "/api/v1/namespaces/default/configmaps/tls", token)
        assert code == 401
        assert body == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Failure", "message": "Unauthorized",
                        "reason": "Unauthorized", "code": 401}
    code, body = _get(served, "/api/v1/namespaces/default/configmaps/tls", served._server.token)
    assert code == 200 and body["data"] == {"a": "1"}
    # The token as a path segment (the old plain-HTTP scheme) is no credential.
    code, _ = _get(served, f"/{served._server.token}/api/v1/namespaces/default/configmaps", None)
    assert code == 401


def test_the_certificate_is_checked_and_plain_http_is_refused(served):
    port = served._server.port
    # A client that does not trust the serve's authority refuses the server.
    with pytest.raises(urllib.error.URLError) as err:
        urllib.request.urlopen(served._server.url + "/version", timeout=10,
                               context=ssl.create_default_context())
    assert isinstance(err.value.reason, ssl.SSLCertVerificationError)
    # Plain HTTP gets no answer, and the server keeps serving.
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(1024)[:4] != b"HTTP"
    code, body = _get(served, "/version", None)
    assert code == 200 and body["gitVersion"] == "v1.37.0"
    # localhost is in the certificate too.
    ctx = served._server.client_context()
    with urllib.request.urlopen(f"https://localhost:{port}/version", timeout=10,
                                context=ctx) as resp:
        assert resp.status == 200


def test_kubectl_and_clients_over_tls(served):
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=str(served.kubeconfig))
    try:
        cm = client.CoreV1Api(api).read_namespaced_config_map("tls", "default")
        assert cm.data == {"a": "1"}
    finally:
        api.close()
    k = ls.connect("kubeconfig", kubeconfig=served.kubeconfig, allow_destructive=True)
    try:
        assert served._server.token not in repr(k)
        assert repr(k) == f"<KubeCluster context 'labsupport-sim' {served._server.url}>"
        assert k.get("configmap/tls")["data"] == {"a": "1"}
    finally:
        k.close()
    from labsupport.kube.kubectl import find_kubectl

    try:
        find_kubectl()
    except ClusterUnavailable as err:
        pytest.skip(f"no kubectl to run: {err.what}")
    run = served.kubectl("get configmap tls -o jsonpath={.data.a}")
    assert run.ok, run
    assert run.stdout == "1"


def test_kubectl_describe_node_reads_the_lease(served):
    from labsupport.kube.kubectl import find_kubectl

    lease = served.get("lease/node-1", "kube-node-lease")
    import re

    # A MicroTime: six fractional digits, as client-go's parser demands.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", lease["spec"]["renewTime"])
    try:
        find_kubectl()
    except ClusterUnavailable as err:
        pytest.skip(f"no kubectl to run: {err.what}")
    run = served.kubectl("describe node node-1")
    assert run.ok, run
    assert "Failed to get lease" not in run.stdout
    assert "HolderIdentity:  node-1" in run.stdout
    assert "RenewTime:" in run.stdout
