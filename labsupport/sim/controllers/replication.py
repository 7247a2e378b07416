"""The ReplicationController controller: the ReplicaSet controller for the older kind.

A ReplicationController (core ``v1``) is the ancestor of the ReplicaSet: it
keeps ``spec.replicas`` pods from ``spec.template`` running. Its selector is
a plain map of labels (equality only), and the API server fills it in from
the template's labels when it is left out (``SetDefaults_ReplicationController``
in pkg/apis/core/v1/defaults.go, which also copies them to the object's own
labels and defaults ``replicas`` to 1).

Upstream, pkg/controller/replication wraps the ReplicaSet controller
(``NewReplicationManager`` calls ``replicaset.NewBaseController`` with the
ReplicationController kind and adapters); so does this module. The pods get
an ownerReference to the ReplicationController, the events the same reasons
and texts (``SuccessfulCreate`` "Created pod: ...", ``SuccessfulDelete``
"Deleted pod: ...", from ``RealPodControl``) but the component
``replication-controller``. Its status has ``replicas``,
``fullyLabeledReplicas``, ``readyReplicas``, ``availableReplicas`` and
``observedGeneration``; ``ReplicationControllerStatus`` has no
``terminatingReplicas``.

Example:
    >>> import labsupport as ls
    >>> c = ls.connect(seed=0)
    >>> _ = c.apply({"apiVersion": "v1", "kind": "ReplicationController",
    ...     "metadata": {"name": "web"},
    ...     "spec": {"replicas": 2, "template": {"metadata": {"labels": {"app": "web"}},
    ...              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
    >>> c.get("rc/web")["spec"]["selector"]
    {'app': 'web'}
    >>> c.advance(10)
    >>> c.get("rc/web")["status"]["readyReplicas"]
    2
    >>> sorted(p.owner for p in c.pods())
    ['replicationcontroller/web', 'replicationcontroller/web']
"""

from __future__ import annotations

from labsupport.sim.controllers.replicaset import ReplicaSetController

__all__ = ["ReplicationManager", "COMPONENT"]

# pkg/controller/replication/replication_controller.go: the event source of
# the pod control the manager hands to the ReplicaSet base controller.
COMPONENT = "replication-controller"


class ReplicationManager(ReplicaSetController):
    """Reconciles ReplicationControllers with the ReplicaSet controller's logic."""

    name = COMPONENT
    kind = "ReplicationController"
    watches = ("ReplicationController", "Pod")
    owns = ("Pod",)
    # pkg/controller/replication/conversion.go converts the ReplicaSet status
    # back to a ReplicationControllerStatus, which has no terminatingReplicas.
    terminating_replicas = False
