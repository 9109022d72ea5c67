"""The registry of trained models in ``models_dir``: save one, list them, load one (the latest by default).

Files (one folder, ``models_dir``): ``<id>.estimators`` (the estimators: gzipped JSON, never pickle; never sent over
the broker), ``<id>.json`` (the manifest: seasons, features, scoring, metrics, data fingerprint, created_at, the
estimator file's size and SHA-256), and ``latest`` (the id of the newest model). Each is written to a temporary
file in the folder and moved into place with ``os.replace`` (:func:`fgrid.files.write_atomic`), in that order, so
a training run killed at any point leaves either no model or a complete one; a model whose manifest is missing,
unreadable or does not match its estimator file is never loaded.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

from fgrid import files
from fgrid.analysis.model.feature_matrix import FEATURE_NAMES
from fgrid.analysis.model.trained import LINEAR_WEIGHT, MODEL_FORMAT, TrainedModel
from fgrid.errors import DataFormatError, InputError, NoDataError

#: File names in ``models_dir``.
LATEST_FILE = "latest"
MANIFEST_SUFFIX = ".json"
ESTIMATOR_SUFFIX = ".estimators"
_ID_PATTERN = re.compile(r"^[0-9]{8}T[0-9]{9}Z-(ppr|half|standard)-[0-9a-f]{8}$")
#: Models kept loaded per process.
MAX_LOADED = 4


def _new_id(model: TrainedModel) -> str:
    """``<UTC time to the millisecond>-<scoring>-<8 hex digits>``: ids sort by creation time."""
    now = dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"
    salt = hashlib.sha256(f"{time.time_ns()}-{os.getpid()}-{model.fingerprint}".encode()).hexdigest()[:8]
    return f"{stamp}-{model.scoring}-{salt}"


def save(model: TrainedModel, models_dir: Path | str) -> str:
    """Save ``model`` in ``models_dir`` and make it the latest; returns its id (``20250101T120000123Z-ppr-1a2b3c4d``).

    Order: the estimator file, then the manifest (with the estimator file's SHA-256), then ``latest``, each
    written to a temporary file and moved into place, so an interrupted save never leaves a loadable half model.
    """
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    model_id = _new_id(model)
    payload = {
        "format": MODEL_FORMAT,
        "median": [b.model_to_string() for b in model.median],
        "low": model.low.model_to_string(),
        "high": model.high.model_to_string(),
        "linear": model.linear,
        "linear_ref": model.linear_ref,
        "reference": model.reference,
    }
    # Gzipped JSON (LightGBM's own text format inside): loading a model never unpickles anything.
    blob = gzip.compress(json.dumps(payload, default=_plain).encode(), compresslevel=6, mtime=0)
    estimator = models_dir / (model_id + ESTIMATOR_SUFFIX)
    files.write_atomic(estimator, blob, durable=True)
    model.model_id = model_id
    manifest = {
        **model.manifest(),
        "estimator_file": estimator.name,
        "estimator_bytes": len(blob),
        "estimator_sha256": hashlib.sha256(blob).hexdigest(),
        "complete": True,
    }
    files.write_atomic(models_dir / (model_id + MANIFEST_SUFFIX), json.dumps(manifest, indent=2).encode(), durable=True)
    files.write_atomic(models_dir / LATEST_FILE, (model_id + "\n").encode(), durable=True)
    return model_id


def _read_manifest(models_dir: Path, model_id: str) -> dict[str, Any] | None:
    """The manifest of ``model_id`` if it is complete and its estimator file matches it in size, else None."""
    if not _ID_PATTERN.match(model_id):
        return None
    try:
        manifest = json.loads((models_dir / (model_id + MANIFEST_SUFFIX)).read_text(encoding="utf-8"))
        estimator = models_dir / (model_id + ESTIMATOR_SUFFIX)
        size = estimator.stat().st_size
    except (OSError, ValueError):
        return None
    required = (
        "format",
        "model_id",
        "scoring",
        "seasons",
        "feature_names",
        "metrics",
        "fingerprint",
        "created_at",
        "estimator_file",
        "estimator_bytes",
        "estimator_sha256",
        "complete",
    )
    if not isinstance(manifest, dict) or any(k not in manifest for k in required) or manifest["complete"] is not True:
        return None
    if manifest["model_id"] != model_id or manifest["estimator_bytes"] != size:
        return None
    return manifest


def list_models(models_dir: Path | str) -> list[dict[str, Any]]:
    """Every complete model in ``models_dir``, newest first: id, created_at, scoring, seasons, metrics, latest."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return []
    latest = _latest_id(models_dir)
    out = []
    for path in models_dir.glob("*" + MANIFEST_SUFFIX):
        manifest = _read_manifest(models_dir, path.name[: -len(MANIFEST_SUFFIX)])
        if manifest is None:
            continue
        out.append(
            {
                "model_id": manifest["model_id"],
                "created_at": manifest["created_at"],
                "scoring": manifest["scoring"],
                "seasons": manifest["seasons"],
                "metrics": manifest["metrics"],
                "fingerprint": manifest["fingerprint"],
                "loadable": manifest["format"] == MODEL_FORMAT and manifest["feature_names"] == list(FEATURE_NAMES),
                "latest": manifest["model_id"] == latest,
            }
        )
    out.sort(key=lambda m: m["model_id"], reverse=True)
    return out


def _latest_id(models_dir: Path) -> str | None:
    try:
        text = (models_dir / LATEST_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text if _read_manifest(models_dir, text) is not None else None


_LOADED: dict[tuple[str, str], TrainedModel] = {}
_LATEST_SEEN: dict[str, tuple[tuple[int, int, int], str]] = {}
_LOAD_LOCK = threading.Lock()


def _no_model(models_dir: Path) -> NoDataError:
    return NoDataError(f"no trained model in {models_dir}; run `fgrid train`")


def _plain(value: Any) -> Any:
    """JSON for the numpy scalars and arrays in a model's constants."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot save {type(value).__name__} in a model file")


def _load_file(models_dir: Path, model_id: str) -> TrainedModel:
    import lightgbm as lgb

    manifest = _read_manifest(models_dir, model_id)
    if manifest is None:
        raise NoDataError(f"model {model_id} in {models_dir} is missing or incomplete; run `fgrid train`")
    if manifest["format"] != MODEL_FORMAT or manifest["feature_names"] != list(FEATURE_NAMES):
        raise NoDataError(f"model {model_id} was trained by another fgrid version; run `fgrid train` again")
    blob = (models_dir / manifest["estimator_file"]).read_bytes()
    if hashlib.sha256(blob).hexdigest() != manifest["estimator_sha256"]:
        raise DataFormatError(f"model {model_id} in {models_dir} is damaged (checksum mismatch); run `fgrid train`")
    try:
        payload = json.loads(gzip.decompress(blob))
    except (OSError, ValueError) as exc:
        raise DataFormatError(f"model {model_id} in {models_dir} is damaged ({exc}); run `fgrid train`") from exc
    return TrainedModel(
        scoring=manifest["scoring"],
        seasons=list(manifest["seasons"]),
        feature_names=list(manifest["feature_names"]),
        median=[lgb.Booster(model_str=s) for s in payload["median"]],
        low=lgb.Booster(model_str=payload["low"]),
        high=lgb.Booster(model_str=payload["high"]),
        linear=payload["linear"],
        scale_low=float(manifest["scale_low"]),
        scale_high=float(manifest["scale_high"]),
        metrics=manifest["metrics"],
        fingerprint=manifest["fingerprint"],
        created_at=manifest["created_at"],
        linear_weight=float(manifest.get("linear_weight", LINEAR_WEIGHT)),
        params=manifest.get("params", {}),
        model_id=model_id,
        linear_ref=payload.get("linear_ref", {}),
        reference=payload.get("reference", {}),
    )


def load_model(models_dir: Path | str, model_id: str | None = None) -> TrainedModel:
    """The model ``model_id`` of ``models_dir`` (default: the latest), read once per process.

    The latest is re-resolved on every call with one ``stat`` of the ``latest`` pointer, so a newly saved model
    is picked up without a restart. Raises NoDataError when there is no complete model.
    """
    models_dir = Path(models_dir)
    key_dir = str(models_dir.resolve())
    if model_id is None:
        pointer = models_dir / LATEST_FILE
        try:
            st = pointer.stat()
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except OSError:
            stamp = None
        with _LOAD_LOCK:
            seen = _LATEST_SEEN.get(key_dir)
        if stamp is not None and seen is not None and seen[0] == stamp:
            model_id = seen[1]
        else:
            model_id = _latest_id(models_dir) if stamp is not None else None
            if model_id is None:
                # No (valid) pointer: the newest complete model, if any.
                found = [m["model_id"] for m in list_models(models_dir) if m["loadable"]]
                if not found:
                    raise _no_model(models_dir)
                model_id = found[0]
            if stamp is not None:
                with _LOAD_LOCK:
                    _LATEST_SEEN[key_dir] = (stamp, model_id)
    elif not _ID_PATTERN.match(str(model_id)):
        raise InputError(f"'{model_id}' is not a model id (see `fgrid model list`)")
    with _LOAD_LOCK:
        cached = _LOADED.get((key_dir, model_id))
    if cached is not None:
        return cached
    model = _load_file(models_dir, model_id)
    with _LOAD_LOCK:
        while len(_LOADED) >= MAX_LOADED:
            del _LOADED[next(iter(_LOADED))]  # the oldest loaded (a long-lived worker sees many trainings)
        return _LOADED.setdefault((key_dir, model_id), model)
