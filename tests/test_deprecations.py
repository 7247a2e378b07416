"""Deprecated APIs warn as the API server does, on the simulator and on a real cluster."""

from __future__ import annotations

import warnings

import pytest

import labsupport as ls
from labsupport.deprecations import APIWarning, deprecation_of, warning_texts

SERVICE = """apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: web}, ports: [{port: 80}]}
"""
ENDPOINTS_WARNING = "v1 Endpoints is deprecated in v1.33+; use discovery.k8s.io/v1 EndpointSlice"


def test_endpoints_reads_warn_and_point_at_the_callers_line():
    c = ls.connect("sim")
    c.apply(SERVICE)
    c.advance(2)
    with pytest.warns(APIWarning, match=r"v1 Endpoints is deprecated in v1\.33\+") as seen:
        c.get("endpoints/web")
    assert seen[0].filename == __file__
    with pytest.warns(APIWarning):
        c.list("ep")
    # Endpoints are still served and kept up to date in 1.37 (KEP-4974).
    assert c.get("service/web")["kind"] == "Service"


def test_other_types_and_the_librarys_own_pictures_do_not_warn():
    c = ls.connect("sim")
    c.apply(SERVICE)
    c.advance(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", APIWarning)
        c.get("service/web")
        c.list("pods")
        ls.viz.cluster_graph(c)


def test_warning_headers_are_parsed_as_kubernetes_sends_them():
    header = (f'299 - "{ENDPOINTS_WARNING}", '
              '299 - "spec.externalIPs: \\"externalIPs\\" is deprecated"')
    assert warning_texts(header) == [ENDPOINTS_WARNING, 'spec.externalIPs: "externalIPs" '
                                                         'is deprecated']
    assert warning_texts("") == []
    assert deprecation_of("v1", "Endpoints") == ENDPOINTS_WARNING
    assert deprecation_of("discovery.k8s.io/v1", "EndpointSlice") is None
