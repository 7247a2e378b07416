"""Access reviews: ``kubectl auth can-i`` and ``kubectl auth whoami`` on the simulator.

A served simulator has one user, the holder of the serve's bearer token, and
no authorizer: like the ``kubernetes-admin`` of a kind cluster (group
``kubeadm:cluster-admins``, bound to ``cluster-admin``) that user may do
everything. So a SelfSubjectAccessReview is always allowed, a
SelfSubjectRulesReview lists the one rule that allows everything, and a
SelfSubjectReview names that user. kubectl sends these reviews as protobuf,
which the simulator does not read; none of the answers depends on the
question, so a protobuf body is accepted and left unread (a JSON body's
``spec`` is echoed back, as the API server does).

Example:
    >>> from labsupport.sim.httpapi.routes import parse
    >>> code, body = answer(parse("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"),
    ...                     {"spec": {"resourceAttributes": {"verb": "create"}}})
    >>> code, body["status"]["allowed"], body["spec"]["resourceAttributes"]["verb"]
    (201, True, 'create')
    >>> is_review(parse("/api/v1/namespaces/default/pods"))
    False
"""

from __future__ import annotations

from typing import Any

from labsupport.sim.httpapi.routes import Route
from labsupport.sim.httpapi.status import status

__all__ = ["REVIEWS", "is_review", "answer"]

#: (group, plural) -> kind of the reviews served.
REVIEWS = {("authorization.k8s.io", "selfsubjectaccessreviews"): "SelfSubjectAccessReview",
           ("authorization.k8s.io", "selfsubjectrulesreviews"): "SelfSubjectRulesReview",
           ("authentication.k8s.io", "selfsubjectreviews"): "SelfSubjectReview"}

#: Who the token holder is: the user a kind cluster's kubeconfig names.
USER = {"username": "kubernetes-admin",
        "groups": ["kubeadm:cluster-admins", "system:authenticated"]}


def is_review(route: Route) -> bool:
    """True for a request to one of :data:`REVIEWS`."""
    return (route.group, route.resource) in REVIEWS and route.name is None


def answer(route: Route, body: Any) -> tuple[int, dict]:
    """The answer to a POST of a review (201 Created with its ``status``)."""
    kind = REVIEWS[(route.group, route.resource)]
    spec = body.get("spec") if isinstance(body, dict) else None
    out: dict = {"kind": kind, "apiVersion": f"{route.group}/{route.version}",
                 "metadata": {"creationTimestamp": None}}
    if kind == "SelfSubjectAccessReview":
        out["spec"] = spec or {}
        # The reason cluster-admin's binding gives (plugin/pkg/auth/authorizer/rbac).
        out["status"] = {"allowed": True, "reason": 'RBAC: allowed by ClusterRoleBinding '
                         '"kubeadm:cluster-admins" of ClusterRole "cluster-admin" to Group '
                         '"kubeadm:cluster-admins"'}
    elif kind == "SelfSubjectRulesReview":
        out["spec"] = spec or {}
        out["status"] = {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"],
                                            "resources": ["*"]}],
                         "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                         "incomplete": False}
    else:
        out["status"] = {"userInfo": dict(USER, groups=list(USER["groups"]))}
    return 201, out


def refuse_other_verbs(method: str) -> None:
    """Reviews are create-only: any other verb is 405."""
    if method != "POST":
        raise status(405, "MethodNotAllowed",
                     "the server does not allow this method on the requested resource")
