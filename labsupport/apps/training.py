"""The training service: fits a model from the features and saves a new version.

Routes (besides /healthz, /readyz, /metrics):

- ``POST /train``: read the rating matrix from the features service
  (``FEATURES_URL``), fit a matrix-factorisation model
  (:mod:`labsupport.apps.model`, seeded by ``SEED``) and save it as the next
  ``model-000N.npz`` + manifest in ``MODEL_DIR``, atomically; answers the
  manifest. 409 when there are no ratings yet;
- ``GET /models``: the versions in ``MODEL_DIR``, oldest first.

Ready when the features service answers. In the cluster a CronJob posts to
``/train`` on a schedule, so the model keeps up with new ratings.

Run: ``python -m labsupport.apps.training``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from fastapi import APIRouter

from labsupport.apps.client import Dependency
from labsupport.apps.config import Config
from labsupport.apps.errors import ApiError
from labsupport.apps.metrics import Metrics
from labsupport.apps.service import Part, run

__all__ = ["part", "main"]


def part(cfg: Config, metrics: Metrics) -> Part:
    """The training routes, writing into ``MODEL_DIR``."""
    from labsupport.apps import model as mf

    features = Dependency("features", cfg.features_url, "FEATURES_URL", read_timeout=30.0)
    training = threading.Lock()  # one fit at a time: two would only compete for the CPU
    router = APIRouter(tags=["training"])
    metrics.set_model_version("training", mf.newest(cfg.model_dir) or 0)

    @router.post("/train", status_code=201)
    def train() -> dict[str, Any]:
        with training:
            started = time.perf_counter()
            matrix = features.get("/features/matrix")
            if not matrix["triples"]:
                raise ApiError(409, "there are no ratings to train on yet: POST /generate or "
                               "/ratings to ingestion, then POST /build to features",
                               code="no-ratings")
            model = mf.fit(matrix["triples"], {m: t for m, t in matrix["movies"]},
                           seed=cfg.seed)
            model.info["offset"] = matrix["offset"]
            model.info["train_seconds"] = round(time.perf_counter() - started, 3)
            version = mf.save(model, cfg.model_dir)
            metrics.set_model_version("training", version)
            return model.info

    @router.get("/models")
    def models() -> dict[str, Any]:
        return {"models": [mf.manifest(cfg.model_dir, v) for v in mf.versions(cfg.model_dir)]}

    return Part("training", router, ready=features.problem, stop=features.close)


def main() -> None:
    """Serve training on ``PORT``."""
    run("training", lambda cfg, metrics: [part(cfg, metrics)])


if __name__ == "__main__":
    main()
