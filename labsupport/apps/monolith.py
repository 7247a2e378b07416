"""All five services in one process, with the same HTTP API on one port.

The "before" picture of lessons 05 and 11: one deployable unit. Every route
of ingestion, features, training, serving and ui is here, at the same path;
``/healthz``, ``/readyz`` and ``/metrics`` cover the whole process. The
parts still call each other over HTTP (at ``http://127.0.0.1:PORT`` unless a
``*_URL`` says otherwise), so the code is the same; what changes is that
they share one process: they start, fail, scale and are deployed together.
It is ready before the first model exists (see :func:`parts`).

Run: ``python -m labsupport.apps.monolith``.
"""

from __future__ import annotations

from collections.abc import Sequence

from labsupport.apps import features, ingestion, serving, training, ui
from labsupport.apps.config import Config
from labsupport.apps.metrics import Metrics
from labsupport.apps.service import Part, run

__all__ = ["parts", "main"]


def parts(cfg: Config, metrics: Metrics) -> Sequence[Part]:
    """The five services' parts, wired to this process."""
    cfg = cfg.pointing_at_self()
    out = [m.part(cfg, metrics) for m in (ingestion, features, training, serving, ui)]
    # Readiness: "no model yet" must not hold the monolith back, or no traffic could
    # reach its own /train through the Service to make the first model. Serving
    # still answers 503 to a recommendation until then.
    out[3].ready = lambda: None
    return out


def main() -> None:
    """Serve all five services on ``PORT``."""
    run("monolith", parts)


if __name__ == "__main__":
    main()
