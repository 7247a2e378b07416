"""Configuration of a service, read from environment variables.

Twelve-factor style: the same code runs on a laptop, in the monolith and in a
pod; only the environment differs. A Kubernetes manifest sets these in the
container's ``env``.

============== ===================================== ============================
variable       meaning                               default
============== ===================================== ============================
PORT           the port the service listens on       8080
HOST           the address it listens on             0.0.0.0
DATA_DIR       the shared volume                     ./data
MODEL_DIR      where model versions are kept         $DATA_DIR/models
INGESTION_URL  e.g. ``http://ingestion:8080``        unset (the monolith: itself)
FEATURES_URL   the features service                  unset (the monolith: itself)
TRAINING_URL   the training service                  unset (the monolith: itself)
SERVING_URL    the serving service                   unset (the monolith: itself)
SEED           seed of everything random             0
============== ===================================== ============================

Example:
    >>> cfg = Config.from_env({"PORT": "9000", "DATA_DIR": "/data"})
    >>> cfg.port, str(cfg.model_dir), cfg.serving_url
    (9000, '/data/models', None)
    >>> Config.from_env({"PORT": "http"})
    Traceback (most recent call last):
    ...
    labsupport.errors.Invalid: PORT must be a whole number from 1 to 65535, got 'http'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from labsupport.errors import Invalid

__all__ = ["Config"]

DEFAULT_PORT = 8080


def _whole(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise Invalid(f"{name} must be a whole number from {low} to {high}, got {raw!r}")
    return value


def _url(env: Mapping[str, str], name: str) -> str | None:
    raw = (env.get(name) or "").strip().rstrip("/")
    if not raw:
        return None
    if not raw.startswith(("http://", "https://")):
        raise Invalid(f"{name} must be a URL such as http://serving:8080, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Config:
    """Where a service listens, where its data lives, and where the others are.

    Attributes:
        port: the port to listen on.
        host: the address to listen on.
        data_dir: the shared data folder.
        model_dir: the folder of model versions.
        ingestion_url: base URL of the ingestion service, or None.
        features_url: base URL of the features service, or None.
        training_url: base URL of the training service, or None.
        serving_url: base URL of the serving service, or None.
        seed: seed of everything random.
    """

    port: int = DEFAULT_PORT
    host: str = "0.0.0.0"
    data_dir: Path = Path("data")
    model_dir: Path = Path("data") / "models"
    ingestion_url: str | None = None
    features_url: str | None = None
    training_url: str | None = None
    serving_url: str | None = None
    seed: int = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Config:
        """Read the configuration from ``env`` (default: ``os.environ``).

        Raises:
            Invalid: a variable is set to something unusable.
        """
        env = os.environ if env is None else env
        data_dir = Path(env.get("DATA_DIR") or "data")
        return cls(
            port=_whole(env, "PORT", DEFAULT_PORT, 1, 65535),
            host=env.get("HOST") or "0.0.0.0",
            data_dir=data_dir,
            model_dir=Path(env.get("MODEL_DIR") or data_dir / "models"),
            ingestion_url=_url(env, "INGESTION_URL"),
            features_url=_url(env, "FEATURES_URL"),
            training_url=_url(env, "TRAINING_URL"),
            serving_url=_url(env, "SERVING_URL"),
            seed=_whole(env, "SEED", 0, 0, 2**31 - 1),
        )

    def pointing_at_self(self) -> Config:
        """This configuration with every unset URL pointing at this process (the monolith)."""
        me = f"http://127.0.0.1:{self.port}"
        return replace(self, ingestion_url=self.ingestion_url or me,
                       features_url=self.features_url or me,
                       training_url=self.training_url or me,
                       serving_url=self.serving_url or me)
