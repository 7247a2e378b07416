"""One HTTP request to the simulated API server, from the socket to the answer.

The connection is TLS (:mod:`labsupport.sim.httpapi.tls`). The handler
checks, in order: the bearer token (401), the body's size (413)
and JSON (400), then routes the request: health and ``/version``,
discovery, OpenAPI, resources and their subresources. Every refusal is a
``Status`` object with the code and reason the real API server uses; an
unexpected failure is a 500 ``InternalError`` Status, never a crash of the
server or of the simulation. Every touch of the simulation happens under
the cluster's lock (:mod:`labsupport.sim.httpapi.serving`).
"""

from __future__ import annotations

import hmac
import json
import ssl
import time
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from labsupport.sim.clock import stamp
from labsupport.sim.httpapi import (
    discovery,
    dryrun,
    metricsapi,
    resources,
    reviews,
    simapi,
    ssa,
    walltime,
)
from labsupport.sim.httpapi.routes import Route, parse
from labsupport.sim.httpapi.status import ApiStatus, status
from labsupport.sim.jsoncopy import json_copy

__all__ = ["Handler"]

_OPEN = ("/version", "/healthz", "/livez", "/readyz")
_NO_PROCESSES = ("exec", "attach", "portforward")
_MERGE_TYPES = ("application/merge-patch+json", "application/strategic-merge-patch+json")


class Handler(BaseHTTPRequestHandler):
    """Serves one connection; ``self.server.api`` is the :class:`~.server.ApiHttpServer`."""

    protocol_version = "HTTP/1.1"
    server_version = "labsupport-sim"
    # TCP_NODELAY: the headers and the body go out as two writes; with Nagle's
    # algorithm the second waits for the client's delayed ACK (about 40 ms a request).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        """Keep the notebook quiet (the base class writes every request to stderr)."""

    # --- entry points ----------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's naming
        """GET."""
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        """POST."""
        self._handle("POST")

    def do_PUT(self) -> None:  # noqa: N802
        """PUT."""
        self._handle("PUT")

    def do_PATCH(self) -> None:  # noqa: N802
        """PATCH."""
        self._handle("PATCH")

    def do_DELETE(self) -> None:  # noqa: N802
        """DELETE."""
        self._handle("DELETE")

    @property
    def api(self) -> Any:
        """The server's shared state: the cluster, its lock, the token and limits."""
        return self.server.api  # type: ignore[attr-defined]

    def _handle(self, method: str) -> None:
        try:
            url = urlsplit(self.path)
            query = dict(parse_qsl(url.query, keep_blank_values=True))
            path = url.path
            if path not in _OPEN and not self._authorized():
                # apiserver/pkg/endpoints/handlers/responsewriters: the 401 Status
                # of an unauthenticated request has reason Unauthorized.
                raise status(401, "Unauthorized", "Unauthorized")
            body = self._body(method, path)
            self._route(method, path, query, body)
        except ApiStatus as err:
            self._send_json(err.code, err.body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True  # the client went away (or broke TLS) mid-answer
        except Exception as err:  # noqa: BLE001 - any bug becomes a 500, never a crash
            self.api.errors.append(repr(err))
            try:
                self._send_json(500, status(500, "InternalError",
                                            f"an error on the server ({err!r}) has prevented "
                                            "the request from succeeding").body)
            except OSError:
                self.close_connection = True

    def _authorized(self) -> bool:
        """Whether the request carries ``Authorization: Bearer <the serve's token>``."""
        given = self.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.api.token}".encode())

    def _body(self, method: str, path: str = "") -> Any:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise status(400, "BadRequest", "send the body with a Content-Length, not chunked")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            raise status(400, "BadRequest", "the Content-Length header is not a number") \
                from None
        if length > self.api.max_body:
            self.close_connection = True
            # Read (and drop) a body of reasonable size, so the client gets the answer
            # rather than a broken pipe; a huge one is left unread.
            left = length if length <= 16 * self.api.max_body else 0
            while left > 0:
                got = self.rfile.read(min(left, 1 << 16))
                if not got:
                    break
                left -= len(got)
            # apiserver/pkg/endpoints/handlers/rest.go: limitedReadBody
            raise status(413, "RequestEntityTooLarge",
                         f"Request entity too large: limit is {self.api.max_body}")
        if length <= 0 or method in ("GET",):
            if length > 0:
                self.rfile.read(length)
            return None
        # Timestamps come back in simulated time (labsupport/sim/httpapi/walltime.py).
        raw = walltime.shift_json(self.rfile.read(length), -self.api.time_offset())
        content_type = self.headers.get("Content-Type", "application/json").split(";")[0]
        if "protobuf" in content_type:
            route = parse(path)
            if route is not None and reviews.is_review(route):
                return None  # kubectl auth sends protobuf; the answer needs no question
        if content_type == "application/apply-patch+yaml":
            import yaml

            try:
                return yaml.safe_load(raw)
            except yaml.YAMLError as err:
                raise status(400, "BadRequest", f"the body is not valid YAML: {err}") from None
        if content_type not in ("application/json", "application/json-patch+json",
                                *_MERGE_TYPES, "*/*", ""):
            hint = (" (kubectl create <kind> NAME sends protobuf: write the object with "
                    "--dry-run=client -o yaml and pipe it to kubectl apply -f -)"
                    if "protobuf" in content_type else "")
            # apiserver/pkg/endpoints/handlers/rest.go: negotiation.NewUnsupportedMediaTypeError
            raise status(415, "UnsupportedMediaType",
                         f'the body of the request was in an unknown format - accepted media '
                         f'types include: application/json, application/merge-patch+json, '
                         f'application/json-patch+json; the simulator does not read '
                         f'"{content_type}"{hint}')
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as err:
            raise status(400, "BadRequest", f"the body is not valid JSON: {err}") from None

    # --- routing ---------------------------------------------------------------
    def _route(self, method: str, path: str, query: dict, body: Any) -> None:
        accept = self.headers.get("Accept", "")
        api = self.api
        if path in ("/healthz", "/livez", "/readyz"):
            return self._send_text(200, "ok")
        if path == "/version":
            return self._send_json(200, api.sim.server_version())
        if path.startswith(simapi.PREFIX):
            with api.lock:
                code, answer = simapi.answer(api, method, path, query, body)
                data = _encode(answer)
            return self._send_bytes(code, data, "application/json")
        if path.startswith("/openapi/"):
            from labsupport.sim.httpapi.openapi import openapi_answer

            with api.lock:
                found = openapi_answer(api.sim, path, query)
            if found is None:
                raise status(404, "NotFound", "the server could not find the requested resource")
            return self._send_json(200, found)
        parts = path.strip("/").split("/")
        if (parts[0] == "api" and len(parts) <= 2) or (parts[0] == "apis" and len(parts) <= 3):
            if method != "GET":
                raise _not_allowed()
            return self._discovery(path.rstrip("/"), accept)
        route = parse(path)
        if route is None:
            raise status(404, "NotFound", f'the simulator does not serve "{path}"')
        if reviews.is_review(route):
            reviews.refuse_other_verbs(method)
            code, answer = reviews.answer(route, body)
            return self._send_json(code, answer)
        if route.group == metricsapi.GROUP:
            if method != "GET":
                raise _not_allowed()
            if _flag(query.get("watch")):
                # metrics-server serves no watch (its storage is read-only).
                raise status(405, "MethodNotAllowed", "the metrics API does not serve watch")
            with api.lock:
                code, answer = metricsapi.answer(api.sim, route, query)
                data = _encode(answer)
            return self._send_bytes(code, data, "application/json")
        if route.subresource in _NO_PROCESSES:
            raise status(400, "BadRequest",
                         f"pods/{route.subresource} is not available: the simulator has no "
                         "processes or network connections to enter; read the pod with "
                         "kubectl logs and kubectl describe instead")
        with api.lock:
            rt = resources.resolve(api.sim, route)
        if method == "GET" and route.name is None and _flag(query.get("watch")):
            return self._watch(route, rt, query, accept)
        if route.subresource == "log":
            if method != "GET":
                raise _not_allowed()
            if _flag(query.get("follow")):
                return self._follow_log(route, query)
            with api.lock:
                text = resources.read_log(api.sim, route, query)
            return self._send_text(200, text)
        with api.lock:
            code, answer = self._tracked(method, route, rt, query, body, accept)
            data = _encode(ssa.shown(api.sim, answer))
        self._send_bytes(code, data, "application/json")

    def _tracked(self, method: str, route: Route, rt: Any, query: dict, body: Any,
                 accept: str) -> tuple[int, dict]:
        """:meth:`_verb`, recording the field manager of a write that is not an apply."""
        sim = self.api.sim
        content_type = self.headers.get("Content-Type", "")
        writes = method in ("POST", "PUT", "PATCH") and route.subresource in (None, "scale") \
            and not content_type.startswith("application/apply-patch+yaml")
        old = None
        if writes and route.name is not None:
            found = sim.api.get(rt, route.namespace if rt.namespaced else None, route.name)
            old = json_copy(found) if found is not None else None
        code, answer = self._verb(method, route, rt, query, body, accept)
        if writes and code < 300 and not query.get("dryRun"):
            new = answer
            if route.subresource == "scale" or not isinstance(answer.get("metadata"), dict):
                new = sim.api.get(rt, route.namespace if rt.namespaced else None,
                                  route.name or "")
            uid = ((new or {}).get("metadata") or {}).get("uid")
            if uid and new.get("kind") != "Status":
                ssa.registry(sim).record_update(
                    uid, old, new, ssa.manager_of(query, self.headers.get("User-Agent", "")),
                    stamp(sim.env.now), route.subresource or "")
        return code, answer

    def _verb(self, method: str, route: Route, rt: Any, query: dict, body: Any,
              accept: str) -> tuple[int, dict]:
        sim = self.api.sim
        sub = route.subresource
        if method != "GET" and dryrun.wanted(query):
            return self._dry_run(method, route, rt, query, body)
        if route.name is None:
            if method == "GET":
                return resources.list_objects(sim, route, rt, query, accept)
            if method == "POST":
                return resources.create(sim, route, rt, body, query)
            if method == "DELETE":
                return resources.delete_collection(sim, route, rt, body, query)
            raise _not_allowed()
        if sub is None:
            if method == "GET":
                return resources.get_object(sim, route, rt, query, accept)
            if method == "PUT":
                return resources.update(sim, route, rt, body)
            if method == "DELETE":
                return resources.delete(sim, route, rt, body, query)
            if method == "PATCH":
                if self.headers.get("Content-Type", "").startswith(
                        "application/apply-patch+yaml"):
                    return resources.apply_patch(sim, route, rt, body, query)
                if self.headers.get("Content-Type", "").startswith(
                        "application/json-patch+json") and isinstance(body, list) and any(
                        str((op or {}).get("path", "")).startswith("/metadata/managedFields")
                        for op in body if isinstance(op, dict)):
                    return resources.patch_managed_fields(sim, route, rt, body)
                return resources.patch(sim, route, rt, body,
                                       self.headers.get("Content-Type", ""))
            raise _not_allowed()
        if sub == "status":
            if method == "GET":
                return resources.get_status(sim, route, rt)
            if method == "PUT":
                return resources.update_status(sim, route, rt, body)
        if sub == "scale":
            if method == "GET":
                return resources.get_scale(sim, route, rt)
            if method == "PUT" and isinstance(body, dict):
                return resources.update_scale(
                    sim, route, rt, (body.get("spec") or {}).get("replicas"),
                    (body.get("metadata") or {}).get("resourceVersion"))
            if method == "PATCH":
                return resources.update_scale(sim, route, rt, _patched_replicas(
                    body, self.headers.get("Content-Type", "")))
        if sub == "binding" and method == "POST":
            return resources.bind(sim, route, body)
        if sub == "eviction" and method == "POST":
            return resources.evict(sim, route, body)
        raise _not_allowed()

    def _dry_run(self, method: str, route: Route, rt: Any, query: dict,
                 body: Any) -> tuple[int, dict]:
        """``?dryRun=All`` on create, update, patch, apply and delete (:mod:`.dryrun`)."""
        sim = self.api.sim
        content_type = self.headers.get("Content-Type", "")
        if route.subresource is None:
            if route.name is None and method == "POST":
                return dryrun.create(sim, route, rt, body)
            if route.name is not None and method == "PUT":
                return dryrun.update(sim, route, rt, body)
            if route.name is not None and method == "DELETE":
                return dryrun.delete(sim, route, rt)
            if route.name is not None and method == "PATCH":
                if content_type.startswith("application/apply-patch+yaml"):
                    return dryrun.apply(sim, route, rt, body, query)
                return dryrun.patch(sim, route, rt, body, content_type)
        raise status(400, "BadRequest", "the simulator runs dry runs (dryRun=All) of create, "
                     "update, patch, apply and delete of an object only; leave "
                     "--dry-run=server out here")

    def _discovery(self, path: str, accept: str) -> None:
        api = self.api
        with api.lock:
            sim = api.sim
            if path in ("/api", "/apis") and "as=APIGroupDiscoveryList" in accept:
                answer = discovery.aggregated(sim, core=path == "/api")
                return self._send_bytes(200, _encode(answer), discovery.AGGREGATED_CONTENT_TYPE)
            parts = path.strip("/").split("/")
            if path == "/api":
                answer = discovery.api_versions(f"127.0.0.1:{api.port}")
            elif path == "/apis":
                answer = discovery.api_group_list(sim)
            elif parts[0] == "api" and len(parts) == 2:
                answer = discovery.resource_list(sim, "", parts[1])
            elif len(parts) == 2:
                answer = discovery.api_group(sim, parts[1])
            else:
                answer = discovery.resource_list(sim, parts[1], parts[2])
        if answer is None:
            raise status(404, "NotFound", "the server could not find the requested resource")
        self._send_bytes(200, _encode(answer), "application/json")

    # --- watches ---------------------------------------------------------------
    def _watch(self, route: Route, rt: Any, query: dict, accept: str) -> None:
        from labsupport.sim.httpapi.watch import Watch

        api = self.api
        if not api.watch_slots.acquire(blocking=False):
            raise status(429, "TooManyRequests", "Too many requests, please try again later. "
                         f"(the simulator serves at most {api.max_watches} watches at once)")
        try:
            try:
                timeout = min(float(query.get("timeoutSeconds") or 1800), 1800.0)
            except ValueError:
                raise status(400, "BadRequest", "timeoutSeconds must be a number") from None
            with api.lock:
                w = Watch(api.sim, rt, route.namespace if rt.namespaced else None, query,
                          as_table="as=Table" in accept)
                api.watches.add(w)
            try:
                self._stream(w, timeout)
            finally:
                with api.lock:
                    w.stop()
                    api.watches.discard(w)
        finally:
            api.watch_slots.release()

    def _stream(self, w: Any, timeout: float) -> None:
        import queue

        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        end = time.monotonic() + timeout
        next_bookmark = time.monotonic() + self.api.bookmark_every
        while True:
            left = end - time.monotonic()
            if left <= 0 or self.api.stopping.is_set():
                break
            try:
                line = w.lines.get(timeout=min(left, 0.2))
            except queue.Empty:
                if time.monotonic() >= next_bookmark:
                    with self.api.lock:
                        w.bookmark()
                    next_bookmark = time.monotonic() + self.api.bookmark_every
                continue
            if line == b"":
                break
            self._chunk(line)
        self._chunk(b"")
        self.close_connection = True

    def _follow_log(self, route: Route, query: dict) -> None:
        """Stream a container's log until it ends (:mod:`.follow`)."""
        from labsupport.sim.httpapi.follow import POLL, container_ended

        api = self.api
        ns, name = route.namespace or "default", route.name or ""
        whole = {k: v for k, v in query.items() if k not in ("tailLines", "follow")}
        try:
            timeout = min(float(query.get("timeoutSeconds") or 1800), 1800.0)
        except ValueError:
            raise status(400, "BadRequest", "timeoutSeconds must be a number") from None
        with api.lock:
            first = resources.read_log(api.sim, route, query)   # refusals before the stream
            seen = resources.read_log(api.sim, route, whole)
            ended = container_ended(api.sim, ns, name, query.get("container"))
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if first:
            self._chunk(first.encode(), shift=False)
        end = time.monotonic() + timeout
        while not ended and time.monotonic() < end and not api.stopping.wait(POLL):
            with api.lock:
                try:
                    now = resources.read_log(api.sim, route, whole)
                except ApiStatus:
                    break  # the pod went away
                ended = container_ended(api.sim, ns, name, query.get("container"))
            if not now.startswith(seen):
                break  # a new instance of the container: its log is another stream
            if len(now) > len(seen):
                self._chunk(now[len(seen):].encode(), shift=False)
                seen = now
        self._chunk(b"")
        self.close_connection = True

    def _chunk(self, data: bytes, shift: bool = True) -> None:
        if shift:
            data = walltime.shift_json(data, self.api.time_offset())
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    # --- answers ---------------------------------------------------------------
    def _send_json(self, code: int, body: dict) -> None:
        self._send_bytes(code, _encode(body), "application/json")

    def _send_text(self, code: int, text: str) -> None:
        self._send_bytes(code, text.encode(), "text/plain")

    def _send_bytes(self, code: int, data: bytes, content_type: str) -> None:
        if "json" in content_type:
            data = walltime.shift_json(data, self.api.time_offset())
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache, private")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


def _encode(body: dict) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def _flag(value: str | None) -> bool:
    return str(value or "").lower() in ("1", "true")


def _not_allowed() -> ApiStatus:
    return status(405, "MethodNotAllowed",
                  "the server does not allow this method on the requested resource")


def _patched_replicas(body: Any, content_type: str) -> Any:
    """``spec.replicas`` from a patch of a Scale (what ``kubectl scale`` sends)."""
    if content_type.startswith("application/json-patch+json") and isinstance(body, list):
        for op in body:
            if isinstance(op, dict) and op.get("path") == "/spec/replicas" and \
                    op.get("op") in ("replace", "add"):
                return op.get("value")
        raise status(422, "Invalid", "the patch must set /spec/replicas")
    if isinstance(body, dict) and isinstance(body.get("spec"), dict) \
            and "replicas" in body["spec"]:
        return body["spec"]["replicas"]
    raise status(422, "Invalid", "the patch of a Scale must set spec.replicas")
