"""The movie recommender as five real HTTP services (lessons 05 and 11).

Each stage of a recommender is its own small web service with its own job:

=============  ===========================================================
ingestion      accepts ratings and keeps them safely, in the order they came
features       turns the ratings into per-user and per-movie figures
training       fits a model from the features and saves it as a new version
serving        answers "what should user 7 watch?" from the newest model
ui             a small web page that talks to serving and ingestion
=============  ===========================================================

Start one with ``python -m labsupport.apps.<name>`` (``PORT``, ``DATA_DIR``,
``MODEL_DIR``, ``INGESTION_URL``, ``FEATURES_URL``, ``TRAINING_URL``,
``SERVING_URL`` and ``SEED`` come from the environment; see
:mod:`labsupport.apps.config`), or all five in one process, with the same
paths on one port, with ``python -m labsupport.apps.monolith``. Every service
answers ``/healthz``, ``/readyz`` and ``/metrics``.

Nothing here is imported by ``import labsupport``: FastAPI, uvicorn, httpx
and numpy load only when a service starts.
"""

__all__ = ["SERVICES"]

#: The services, in the order data flows through them.
SERVICES = ("ingestion", "features", "training", "serving", "ui")
