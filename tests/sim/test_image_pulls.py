"""Image pulls that fail as the kubelet's do: ErrImagePull, ImagePullBackOff and friends.

The texts are the kubelet's (pkg/kubelet/images/image_manager.go) and
containerd 2.x's, as real ``kubectl describe pod`` outputs show them.
"""

from __future__ import annotations

import pytest
from simhelpers import ContainerStarts, pod

import labsupport as ls
from labsupport.errors import InvalidManifest

NGNIX_DENIED = (
    'failed to pull and unpack image "docker.io/library/ngnix:1.27": failed to resolve image: '
    "pull access denied, repository does not exist or may require authorization: "
    "server message: insufficient_scope: authorization failed")


class KubeletEvents:
    """Every event the kubelet records for one pod: (time, reason, message), repeats included."""

    def __init__(self, cluster, pod_name: str) -> None:
        self.rows: list[tuple[float, str, str]] = []

        def on(row):
            if row[6] == pod_name and row[8] == "kubelet":
                self.rows.append((round(row[1], 3), row[3], row[7]))

        cluster.event_log.listen(on)

    def times(self, reason: str, message: str | None = None) -> list[float]:
        return [t for t, r, m in self.rows if r == reason and (message is None or m == message)]


def _waiting(cluster, name: str) -> dict:
    return cluster.get(f"pod/{name}")["status"]["containerStatuses"][0]["state"].get("waiting", {})


@pytest.fixture
def one():
    c = ls.connect("sim", nodes=1, seed=0)
    yield c
    c.close()


def test_mistyped_image_errimagepull_then_imagepullbackoff_with_doubling_backoff(sim):
    events = KubeletEvents(sim, "p")
    sim.apply(pod("p", image="ngnix:1.27"))
    sim.advance(1.5)  # the registry said no at t=1
    assert _waiting(sim, "p") == {"reason": "ErrImagePull", "message": NGNIX_DENIED}
    assert sim.pods()[0].status == "ErrImagePull"  # kubectl's STATUS column
    sim.advance(1)  # the next pod sync (the PLEG saw the new sandbox) is in the back-off
    assert _waiting(sim, "p") == {
        "reason": "ImagePullBackOff",
        "message": f'Back-off pulling image "ngnix:1.27": ErrImagePull: {NGNIX_DENIED}'}
    assert sim.pods()[0].status == "ImagePullBackOff"
    assert sim.get("pod/p")["status"]["phase"] == "Pending"
    # The first attempt, as kubectl describe lists it.
    assert events.rows[:5] == [
        (0, "Pulling", 'Pulling image "ngnix:1.27"'),
        (1, "Failed", f'Failed to pull image "ngnix:1.27": {NGNIX_DENIED}'),
        (1, "Failed", "Error: ErrImagePull"),
        (2, "BackOff", 'Back-off pulling image "ngnix:1.27"'),
        (2, "Failed", "Error: ImagePullBackOff"),
    ]
    sim.advance(1300)
    pulls = events.times("Pulling")
    failures = events.times("Failed", "Error: ErrImagePull")
    assert [round(p - f, 3) for f, p in zip(failures, pulls[1:])] == [
        10, 20, 40, 80, 160, 300, 300, 300]
    assert pulls[:4] == [0, 11, 32, 73]
    # Inside a long back-off the pod syncs every 10 s and says so again each time.
    backoffs = events.times("BackOff")
    assert [t for t in backoffs if 155 < t < 316] == [165, 175, 185, 195, 205, 215, 225, 235,
                                                     245, 255, 265, 275, 285, 295, 305]
    assert sim.get("pod/p")["status"]["phase"] == "Pending"


def test_invalid_reference_gives_invalidimagename_and_no_pull(sim):
    events = KubeletEvents(sim, "p")
    sim.apply(pod("p", image="nginx:1.27:1"))
    sim.advance(25)
    message = ('Failed to apply default image tag "nginx:1.27:1": couldn\'t parse image name '
               '"nginx:1.27:1": invalid reference format')
    assert _waiting(sim, "p") == {"reason": "InvalidImageName", "message": message}
    assert sim.pods()[0].status == "InvalidImageName"
    assert not events.times("Pulling")
    # Every pod sync (every 10 s after an error) finds it again.
    assert events.times("InspectFailed", message) == [0, 10, 20]
    assert events.times("Failed", "Error: InvalidImageName") == [0, 10, 20]


def test_tag_that_does_not_exist(sim):
    sim.apply(pod("p", image="nginx:1.999"))
    sim.advance(1.5)
    assert _waiting(sim, "p") == {
        "reason": "ErrImagePull",
        "message": 'rpc error: code = NotFound desc = failed to pull and unpack image '
                   '"docker.io/library/nginx:1.999": failed to resolve image: '
                   'docker.io/library/nginx:1.999: not found'}


def test_pull_policy_never_without_the_image_then_with_it(one):
    events = KubeletEvents(one, "never")
    one.apply(pod("never", containers=[{"name": "app", "image": "nginx:1.27",
                                        "imagePullPolicy": "Never"}]))
    one.advance(5)
    message = 'Container image "nginx:1.27" is not present with pull policy of Never'
    assert _waiting(one, "never") == {"reason": "ErrImageNeverPull", "message": message}
    assert one.pods()[0].status == "ErrImageNeverPull"
    assert events.times("ErrImageNeverPull", message) == [0]
    assert events.times("Failed", "Error: ErrImageNeverPull") == [0]
    # Another pod brings the image to the node; the next sync (t=10) finds it.
    one.apply(pod("puller", image="nginx:1.27"))
    one.advance(10)
    assert one.get("pod/never")["status"]["phase"] == "Running"
    assert events.times("Pulled") == [10]
    assert not events.times("Pulling")


def test_pull_policy_never_with_the_image_cached(one):
    one.apply(pod("first", image="nginx:1.27"))
    one.advance(5)
    events = KubeletEvents(one, "second")
    one.apply(pod("second", containers=[{"name": "app", "image": "nginx:1.27",
                                         "imagePullPolicy": "Never"}]))
    one.advance(3)
    assert one.get("pod/second")["status"]["phase"] == "Running"
    assert [r for _, r, _ in events.rows][:1] == ["Pulled"]
    assert events.rows[0][2] == ('Container image "nginx:1.27" already present on machine '
                                 "and can be accessed by the pod")


def test_always_pulls_at_every_start_fast_when_cached(one):
    events = KubeletEvents(one, "p")
    starts = ContainerStarts(one, "p")
    # busybox has no tag: imagePullPolicy defaults to Always
    one.apply(pod("p", containers=[{"name": "app", "image": "busybox",
                                    "command": ["sh", "-c", "exit 1"]}]))
    one.advance(40)
    assert one.get("pod/p")["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    # Pull 2 s, then the immediate first restart (pull 0.5 s), then back-offs of 10 s
    # and 20 s, each start after its own 0.5 s pull of the cached image.
    assert starts.times == [2.0, 2.5, 13.0, 33.5]
    assert len(events.times("Pulling")) == 4
    pulled = [m for _, r, m in events.rows if r == "Pulled"]
    assert pulled[0] == 'Successfully pulled image "busybox" in 2s (2s including waiting)'
    assert pulled[1] == 'Successfully pulled image "busybox" in 500ms (500ms including waiting)'


def test_if_not_present_uses_the_node_cache(one):
    one.apply(pod("a", image="nginx:1.27"))
    one.advance(5)
    events = KubeletEvents(one, "b")
    one.apply(pod("b", image="nginx:1.27"))
    one.advance(5)
    assert not events.times("Pulling")
    assert one.get("pod/b")["status"]["phase"] == "Running"


def test_partitioned_node_cannot_pull_and_recovers_after_heal(sim):
    events = KubeletEvents(sim, "p")
    sim.apply(pod("p", nodeName="node-1", annotations={"sim.labsupport.io/pull-seconds": "5"}))
    sim.advance(1)
    sim.partition(["node-1"])  # node-1 is cut off from the control plane and the registry
    sim.advance(29)  # pulls fail at t=5 and t=25 (a 10 s DNS timeout); the node is silent
    sim.heal()
    waiting = _waiting(sim, "p")  # the kubelet reports again
    assert waiting["reason"] == "ErrImagePull"
    assert waiting["message"] == (
        'failed to pull and unpack image "docker.io/library/nginx:1.27": failed to resolve '
        'image: failed to do request: Head "https://registry-1.docker.io/v2/library/nginx/'
        'manifests/1.27": dial tcp: lookup registry-1.docker.io: i/o timeout')
    assert not events.times("Failed")  # events of a cut-off node never arrive
    sim.advance(25)  # the back-off (20 s) ends at t=45; the pull takes 5 s
    assert events.times("Pulling") == [0, 45]  # the first began before the partition
    assert sim.get("pod/p")["status"]["phase"] == "Running"


def test_fixed_image_starts_without_waiting_for_the_backoff(sim):
    events = KubeletEvents(sim, "p")
    sim.apply(pod("p", image="ngnix:1.27"))
    sim.advance(40)  # failures at t=1, 12 and 33: the next try would be at t=73
    assert sim.pods()[0].status in ("ErrImagePull", "ImagePullBackOff")
    sim.apply(pod("p", image="nginx:1.27"))  # kubectl apply with the right image
    sim.advance(1)  # the kubelet sees the new image within a second, back-off or not
    [pulled_at] = events.times("Pulling", 'Pulling image "nginx:1.27"')
    assert 40 <= pulled_at <= 41
    sim.advance(5)
    p = sim.get("pod/p")
    assert p["status"]["phase"] == "Running"
    assert p["status"]["containerStatuses"][0]["image"] == "nginx:1.27"


@pytest.mark.parametrize("value, message", [
    ("not-found", 'rpc error: code = NotFound desc = failed to pull and unpack image '
                  '"docker.io/library/nginx:1.27": failed to resolve image: '
                  'docker.io/library/nginx:1.27: not found'),
    ("unauthorized", 'failed to pull and unpack image "docker.io/library/nginx:1.27": failed to '
                     'resolve image: pull access denied, repository does not exist or may '
                     'require authorization: server message: insufficient_scope: '
                     'authorization failed'),
])
def test_pull_error_annotation(sim, value, message):
    sim.apply(pod("p", annotations={"sim.labsupport.io/pull-error": value}))
    sim.advance(1.5)
    assert _waiting(sim, "p") == {"reason": "ErrImagePull", "message": message}


def test_pull_error_timeout_takes_ten_seconds(sim):
    events = KubeletEvents(sim, "p")
    sim.apply(pod("p", annotations={"sim.labsupport.io/pull-error.app": "timeout"}))
    sim.advance(15)
    assert events.times("Failed", "Error: ErrImagePull") == [10]


def test_pull_error_annotation_value_is_checked(sim):
    with pytest.raises(InvalidManifest, match="must be one of: not-found, unauthorized, timeout"):
        sim.apply(pod("p", annotations={"sim.labsupport.io/pull-error": "404"}))


def test_init_container_image_error_shows_as_init_reason(sim):
    sim.apply(pod("p", initContainers=[{"name": "setup", "image": "bussybox:1.36",
                                        "command": ["true"]}]))
    sim.advance(3)
    assert sim.pods()[0].status == "Init:ImagePullBackOff"
    assert sim.get("pod/p")["status"]["phase"] == "Pending"


def test_unknown_images_are_assumed_to_exist(sim):
    sim.apply(pod("p", image="registry.example.com/course/app:3"))
    sim.advance(5)
    assert sim.get("pod/p")["status"]["phase"] == "Running"
