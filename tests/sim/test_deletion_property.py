"""Random deletions with finalizers and propagation policies, against a reference model.

The invariant, at rest (after each step the garbage collector has caught up):

1. An object that is not being deleted has only *solid* owners: every
   ``ownerReference`` names a live object with that uid (same namespace) that
   is not itself deleting its dependents in the foreground. (No dangling
   reference is left, and no object whose owners are all gone is left behind.)
2. No object keeps the ``orphan`` finalizer, and one keeps
   ``foregroundDeletion`` only while a dependent with ``blockOwnerDeletion``
   still exists.
3. The set of objects, their ownerReferences and finalizers are exactly those
   of a small reference model of the API server and the garbage collector
   (``store.go`` Delete and ``attemptToDeleteItem``), so nothing that should
   stay is collected: an object goes only when deleted and free of
   finalizers, or when all its owners are gone or waiting for it (Foreground).
"""

from __future__ import annotations

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

import labsupport as ls
from labsupport.errors import InvalidManifest

NAMES = [f"n{i}" for i in range(5)]
KEEP = "example.com/keep"
POLICIES = ("Background", "Foreground", "Orphan")
GC_FINALIZER = {"Orphan": "orphan", "Foreground": "foregroundDeletion", "Background": None}

_create = st.tuples(st.just("create"), st.integers(0, len(NAMES) - 1),
                    st.lists(st.tuples(st.integers(0, 7), st.booleans()), max_size=2),
                    st.booleans())
_finalizer = st.tuples(st.sampled_from(["add", "remove"]), st.integers(0, len(NAMES) - 1))
_delete = st.tuples(st.just("delete"), st.integers(0, len(NAMES) - 1), st.sampled_from(POLICIES))
# A few objects first (owners for later ones), then anything.
OPS = st.builds(lambda first, rest: first + rest,
                st.lists(_create, min_size=2, max_size=5),
                st.lists(st.one_of(_create, _create, _finalizer, _delete, _delete),
                         min_size=2, max_size=12))


class Model:
    """The expected objects: name -> {uid, refs [(uid, name, block)], user, gc, deleting}."""

    def __init__(self) -> None:
        self.objs: dict[str, dict] = {}

    def by_uid(self, uid: str) -> dict | None:
        return next((o for o in self.objs.values() if o["uid"] == uid), None)

    def _foreground(self, o: dict | None) -> bool:
        return o is not None and o["deleting"] and o["gc"] == "foregroundDeletion"

    def delete(self, name: str, policy: str) -> None:
        o = self.objs[name]
        o["gc"] = GC_FINALIZER[policy]  # no graceful deletion pending: the policy applies
        o["deleting"] = True
        self.settle()

    def settle(self) -> None:
        """The garbage collector's work, until nothing changes.

        A foreground owner drops its finalizer only after its dependents were
        tried (the graph builder queues them before it), hence the two loops.
        """
        while True:
            while self._step():
                pass
            done = [o for o in self.objs.values() if self._foreground(o) and not any(
                r[0] == o["uid"] and r[2] for d in self.objs.values() for r in d["refs"])]
            if not done:
                return
            for o in done:
                o["gc"] = None

    def _step(self) -> bool:
        for name, o in list(self.objs.items()):
            if o["deleting"] and o["gc"] == "orphan":
                for d in self.objs.values():
                    d["refs"] = [r for r in d["refs"] if r[0] != o["uid"]]
                o["gc"] = None
                return True
            if o["deleting"] and not o["user"] and o["gc"] is None:
                del self.objs[name]
                return True
            if o["deleting"] or not o["refs"]:
                continue
            solid = [r for r in o["refs"] if (w := self.by_uid(r[0])) is not None
                     and not self._foreground(w)]
            if solid:
                if len(solid) != len(o["refs"]):
                    o["refs"] = solid
                    return True
                continue
            waiting = any(self.by_uid(r[0]) is not None for r in o["refs"])
            has_dependents = any(r[0] == o["uid"] for d in self.objs.values() for r in d["refs"])
            o["deleting"] = True
            o["gc"] = "foregroundDeletion" if waiting and has_dependents else None
            return True
        return False


def _state(c) -> dict:
    out = {}
    for cm in c.list("configmaps", namespace="default"):
        meta = cm["metadata"]
        if meta["name"] not in NAMES:
            continue
        fins = meta.get("finalizers") or []
        out[meta["name"]] = (
            [(r["uid"], r.get("blockOwnerDeletion", False))
             for r in meta.get("ownerReferences") or ()],
            KEEP in fins,
            next((f for f in fins if f in ("orphan", "foregroundDeletion")), None),
            bool(meta.get("deletionTimestamp")))
    return out


def _expected(m: Model) -> dict:
    return {n: ([(r[0], r[2]) for r in o["refs"]], o["user"], o["gc"], o["deleting"])
            for n, o in m.objs.items()}


def _check_invariants(c) -> None:
    live = {cm["metadata"]["uid"]: cm for cm in c.list("configmaps", namespace="default")}
    for cm in live.values():
        meta = cm["metadata"]
        fins = meta.get("finalizers") or []
        assert "orphan" not in fins, meta["name"]
        if "foregroundDeletion" in fins:
            assert any(r["uid"] == meta["uid"] and r.get("blockOwnerDeletion")
                       for d in live.values() for r in d["metadata"].get("ownerReferences") or ())
        if meta.get("deletionTimestamp"):
            continue
        for ref in meta.get("ownerReferences") or ():
            owner = live.get(ref["uid"])
            assert owner is not None, f"{meta['name']} kept a dangling reference to {ref['name']}"
            assert "foregroundDeletion" not in (owner["metadata"].get("finalizers") or ())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPS)
def test_deletions_agree_with_the_reference_model(ops):
    c = ls.connect(nodes=0, seed=0)
    model = Model()
    uids: list[tuple[str, str]] = []  # every (uid, name) ever created, for references
    for op in ops:
        name = NAMES[op[1]]
        if op[0] == "create":
            if name in model.objs:
                continue
            refs = []
            for pick, block in op[2]:
                if uids and uids[pick % len(uids)][0] not in (r[0] for r in refs):
                    uid, owner = uids[pick % len(uids)]
                    refs.append((uid, owner, block))
            meta = {"name": name, "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": n, "uid": u,
                 "blockOwnerDeletion": b} for u, n, b in refs]}
            if op[3]:
                meta["finalizers"] = [KEEP]
            c.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta})
            uid = c.get(f"configmap/{name}")["metadata"]["uid"]
            uids.append((uid, name))
            model.objs[name] = {"uid": uid, "refs": refs, "user": op[3], "gc": None,
                                "deleting": False}
            model.settle()
        elif name not in model.objs:
            continue
        elif op[0] == "delete":
            c.delete(f"configmap/{name}", propagation_policy=op[2])
            model.delete(name, op[2])
        else:
            cm = c.get(f"configmap/{name}")
            fins = [f for f in cm["metadata"].get("finalizers") or () if f != KEEP]
            cm["metadata"]["finalizers"] = fins + [KEEP] if op[0] == "add" else fins
            if op[0] == "add" and model.objs[name]["deleting"] and not model.objs[name]["user"]:
                try:
                    c.api.update(cm)
                except InvalidManifest as err:
                    assert "no new finalizers can be added" in str(err.causes)
                else:
                    raise AssertionError("a finalizer was added to an object being deleted")
            else:
                c.api.update(cm)
                model.objs[name]["user"] = op[0] == "add"
                model.settle()
        c.advance(1)
        assert _state(c) == _expected(model), op
        _check_invariants(c)
