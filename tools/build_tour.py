"""Build notebooks/00_tour.ipynb from the cells below.

Usage::

    python tools/build_tour.py            # write the notebook, run it, keep checked outputs
    python tools/build_tour.py --check    # exit 1 if the committed notebook is out of date

The notebook is committed without outputs, except in the cells tagged
``nbval-check-output``: nbval (``pytest --nbval-lax``) runs the notebook and
compares what those cells print with the committed text. The simulator is
seeded, so those numbers are the same on every run. Edit the text here, not
in the notebook, then run this script.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "00_tour.ipynb"
CHECK = "nbval-check-output"
IGNORE = "nbval-ignore-output"

CELLS: list[tuple[str, str, tuple[str, ...]]] = []


def md(text: str) -> None:
    """Add a markdown cell."""
    CELLS.append(("markdown", text.strip("\n"), ()))


def code(text: str, *tags: str) -> None:
    """Add a code cell; its output is ignored by nbval unless tagged ``CHECK``."""
    CELLS.append(("code", text.strip("\n"), tags or (IGNORE,)))


md("""
# 00 · A tour of the labs

Every lab in this course runs its experiments on a Kubernetes cluster. By
default that cluster is *simulated*: it lives inside this notebook, starts in
a fraction of a second and needs no Docker. The same code also runs on a real
cluster made with [kind](https://kind.sigs.k8s.io/) (the last section shows
how). This tour walks once through everything you will use later.

**Learning goals.** After this tour you can

1. connect to a cluster and tell whether it is the simulator or a real one;
2. describe an application in YAML with a **Deployment** and a **Service**,
   and hand it to the cluster;
3. look at **pods**, **nodes** and **events**, and read the cluster picture;
4. send traffic to a Service and read its latency;
5. fail a node and explain, timer by timer, how Kubernetes heals the
   application;
6. run the same notebook on a kind cluster.

**How to use a lab notebook.** Run the cells from top to bottom with
*Shift+Enter*. The simulated cluster keeps *virtual* time: nothing happens
until you let time pass with `c.advance(seconds)` or wait for something with
`c.wait_for_rollout(...)`. Ten simulated minutes take well under a second.
The simulator is also *seeded*: run the notebook again and you get the same
pod names, the same events and the same numbers.
""")

md("""
## 1. Connect

`ls.connect()` gives you a cluster. With no argument it is the simulator
with three worker nodes; `ls.connect("kind")` would give you a real one. The
rest of the notebook does not care which: both have the same methods.
""")

code("""
import labsupport as ls

c = ls.connect()
on_sim = c.backend == "sim"      # a few cells below only make sense on the simulator
c
""")

md("""
A cluster is a set of **nodes**: machines that run your containers. Each
node tells the control plane how much CPU and memory it offers, and whether
it is healthy (its `Ready` condition).
""")

code("""
c.nodes()
""")

md("""
## 2. Say what you want, not how to do it

Kubernetes is *declarative*. You do not start containers yourself; you write
down the state you want, and controllers inside the cluster keep working
until the actual state matches it, and keep it that way.

* A **Deployment** says "keep three copies (*replicas*) of this container
  running". Each copy runs in a **pod**, the smallest thing Kubernetes
  schedules onto a node.
* A **Service** gives those pods one stable name and address. Pods come and
  go and change addresses; the Service sends each request to one of the pods
  that are *ready* at that moment, chosen by its `selector` (here, the label
  `app: web`).

The manifest below is ordinary Kubernetes YAML, exactly what you would give
`kubectl apply -f` on a real cluster. The `readinessProbe` tells the kubelet
how to ask the app whether it can take requests (an HTTP GET on `/` every
5 s); only a pod that answers counts as *ready* and gets traffic from the
Service.
""")

code('''
web_yaml = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
        readinessProbe:
          httpGet: {path: /, port: 80}
          periodSeconds: 5
        resources:
          requests: {cpu: 100m, memory: 64Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
"""
c.apply(web_yaml)
''')

md("""
`apply` only *records* the wish (in the cluster's database, etcd). The
Deployment controller then creates a ReplicaSet, which creates pods; the
scheduler picks a node for each; the kubelet on that node pulls the image and
starts the container. `wait_for_rollout` lets time pass until all of that is
done, and answers with kubectl's own message:
""")

code("""
print(c.wait_for_rollout("deployment/web"))
print(f"t = {c.now:g} s")
""", CHECK)

md("""
## 3. Look at what happened

`c.pods()` lists the pods, like `kubectl get pods -o wide`: which node each
runs on, its phase and whether it is ready.
""")

code("""
c.pods(selector="app=web")
""")

code("""
ready = [p for p in c.pods(selector="app=web") if p.ready]
print(len(ready), "ready pods on", len({p.node for p in ready}), "nodes")
""", CHECK)

md("""
Every component reports what it does as an **event**: the ReplicaSet
controller created a pod, the scheduler assigned it, the kubelet pulled the
image and started the container. Events are the first place to look when
something does not happen.
""")

code("""
c.events()
""")

md("""
The same cluster as a picture: each box is a node with its pods as dots,
coloured by state (green means running and ready). The Service sits above,
with a line to each pod it currently sends traffic to.
""")

code("""
ls.viz.cluster_graph(c)
""")

md("""
## 4. Send traffic

The simulator can play the clients too. `send_traffic` sends requests to the
Service for a while; kube-proxy on the way picks one ready pod for each
request, the pod serves it, and every request's latency is recorded. Here:
50 requests per second for one minute.
""")

code("""
if on_sim:
    r = c.send_traffic("service/web", rps=50, duration=60)
    print(f"{r.requests} requests, {r.errors} errors")
""", CHECK)

md("""
Which pod got how many requests (the Service spreads them), and how long
they took: the histogram marks the median (p50) and the slow tail (p95,
p99), which is what users of a busy service notice.
""")

code("""
if on_sim:
    display(r.per_pod)
    display(ls.viz.latency_histogram(r))
""")

md("""
## 5. Fail a node and watch the cluster heal

Now switch one node off, as if it lost power. Nobody tells Kubernetes; it
has to notice. The simulator uses the same timers as a real cluster
(Kubernetes v1.32 defaults), only on the virtual clock:

* the kubelet on each node renews a *lease* every 10 s;
* after **50 s** without a renewal (`node-monitor-grace-period`), the node's
  `Ready` condition becomes `Unknown`, its pods are marked not ready, and
  the Service stops sending them requests;
* the node also gets a `NoExecute` taint; pods tolerate it for **300 s**
  (`tolerationSeconds`), in case the node comes back. Then they are evicted
  and the ReplicaSet creates replacements on healthy nodes.

So expect about 50 s of "is it really gone?" and then 300 s of patience.
To see what users notice, clients keep sending 20 requests per second in the
background while the node fails.
""")

code("""
victim = ready[0].node
failed_at = c.now
if on_sim:
    during = c.send_traffic("service/web", rps=20, duration=120, background=True)
c.fail_node(victim)
c.advance(60)
c.nodes()
""")

code("""
state = {n.name: n.ready for n in c.nodes()}[victim]
print(f"{victim} Ready: {state}")
ready = [p for p in c.pods(selector="app=web") if p.ready]
print(len(ready), "ready pods")
""", CHECK)

md("""
`Ready: None` means *Unknown*: the control plane cannot tell whether the
node is down or only out of reach. The application still answers, with the
two pods left. What did the clients see? Until the node was marked Unknown,
the Service still counted the pod on it as ready and sent it about a third of
the requests, which went unanswered until the clients gave up (a timeout).
After that, every request succeeded again.
""")

code("""
if on_sim:
    c.advance(during.end - c.now)
    r2 = during.result()
    print(f"{r2.requests} requests, {r2.errors} errors: {r2.error_kinds}")
    display(ls.viz.traffic_plot(r2, marks={f"{victim} fails": failed_at}))
""")

md("""
Five minutes after the node went silent, its pod is evicted and replaced:
""")

code("""
c.advance(failed_at + 360 - c.now)
ready = [p for p in c.pods(selector="app=web") if p.ready]
print(len(ready), "ready pods,", sum(p.node == victim for p in ready), "of them on", victim)
""", CHECK)

md("""
The events tell the story in order: the node controller noticed, the taint
manager evicted the pod, the ReplicaSet controller replaced it and the
scheduler placed the replacement.
""")

code("""
for e in c.events():
    if e.time > 5 and e.reason in ("NodeNotReady", "TaintManagerEviction",
                                   "SuccessfulCreate", "Scheduled"):
        print(f"{e.time:5.0f} s  {e.component:<28} {e.reason:<21} {e.object}")
""")

md("""
The timeline shows each pod's states over time: the pod on the failed node
turns from ready to not ready after 50 s, and 300 s later a new pod takes
its place.
""")

code("""
ls.viz.pod_timeline(c, selector="app=web")
""")

md("""
When the node comes back, its kubelet reports again and the node is `Ready`
within seconds. The evicted pod does not move back: Kubernetes does not
rebalance running pods by itself.
""")

code("""
c.restore_node(victim)
c.advance(30)
c.nodes()
""")

md("""
## 6. A live dashboard

In JupyterLab this shows buttons that let time pass and fail or restore a
node, with the picture redrawn after each click. Without a live notebook
frontend (for example when the notebook runs in CI) it shows the static
picture instead.
""")

code("""
ls.viz.dashboard(c)
""")

md("""
## Try it

Change the number of replicas below and run the cell again. Where do the new
pods go? Then try failing a different node, or `c.kill_pod(name)` on one
pod, and look at the picture after `c.advance(10)`.
""")

code("""
replicas = 5       # try 1, 5, 12...
c.scale("deployment/web", replicas)
c.advance(20)
ls.viz.cluster_graph(c)
""")

md("""
## Running this notebook on a real cluster (kind)

[kind](https://kind.sigs.k8s.io/) runs a real Kubernetes cluster in Docker
containers on your machine. With Docker and kind installed, either

* start JupyterLab with `LABSUPPORT_BACKEND=kind jupyter lab`, and
  `ls.connect()` connects to (or creates) a kind cluster, or
* change the first code cell to `c = ls.connect("kind")`.

Everything above then talks to real Kubernetes: `apply`, `pods`, `events`,
`wait_for_rollout`, `scale` and the pictures work the same. What changes:

* time is real: `c.advance(300)` really waits five minutes;
* `fail_node` pauses the node's Docker container (`docker pause`), and
  `restore_node` unpauses it;
* `send_traffic` and the latency histogram exist only in the simulator, so
  those cells are guarded with `if on_sim:`; on kind you would send requests
  with a load generator such as `hey` or `k6`;
* names, placements and timings differ from run to run: a real cluster is
  not seeded.

## Summary

* `ls.connect()` gives a cluster; the simulator is the default, kind is one
  argument away.
* You describe the desired state (a Deployment, a Service) and controllers
  make it happen: Deployment -> ReplicaSet -> pods -> scheduler -> kubelet.
* Pods, nodes, events and the pictures show what the cluster did and why.
* A failed node is noticed after 50 s; its pods are replaced after another
  300 s, with no one at the keyboard.

Next: lesson 01 looks at what a cluster is in the first place: a lead node
handing work to workers over a network.
""")


def build() -> nbformat.NotebookNode:
    """The notebook, without outputs."""
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python",
                                  "name": "python3"},
                   "language_info": {"name": "python", "pygments_lexer": "ipython3"}}
    for i, (kind, source, tags) in enumerate(CELLS):
        if kind == "markdown":
            cell = nbformat.v4.new_markdown_cell(source)
        else:
            cell = nbformat.v4.new_code_cell(source)
            cell.metadata["tags"] = list(tags)
        cell.id = f"tour-{i:02d}"
        nb.cells.append(cell)
    return nb


def execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Run the notebook; keep the outputs of the checked cells only."""
    from nbclient import NotebookClient

    ran = copy.deepcopy(nb)
    NotebookClient(ran, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    for cell, done in zip(nb.cells, ran.cells, strict=True):
        if cell.cell_type == "code" and CHECK in cell.metadata.get("tags", ()):
            cell.outputs = [o for o in done.outputs if o.output_type == "stream"]
            # nbval treats a cell with outputs but no execution count as never run.
            cell.execution_count = done.execution_count
    return nb


def main(argv: list[str] | None = None) -> int:
    """Write (or with --check, compare) notebooks/00_tour.ipynb."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if the notebook's cells differ from this script's")
    args = parser.parse_args(argv)
    nb = build()
    if args.check:
        current = nbformat.read(NOTEBOOK, as_version=4)
        same = [(c.cell_type, c.source, c.metadata.get("tags")) for c in current.cells] == \
            [(c.cell_type, c.source, c.metadata.get("tags")) for c in nb.cells]
        print("up to date" if same else f"{NOTEBOOK} is out of date: run tools/build_tour.py")
        return 0 if same else 1
    nb = execute(nb)
    nbformat.validate(nb)
    NOTEBOOK.parent.mkdir(exist_ok=True)
    nbformat.write(nb, NOTEBOOK)
    print(f"wrote {NOTEBOOK.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
