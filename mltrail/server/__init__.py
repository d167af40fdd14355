"""``mltrail server``: MLflow's tracking REST API and artifact proxy over a git store.

Unmodified MLflow clients (``MLFLOW_TRACKING_URI=http://127.0.0.1:5000``) log into an
mltrail store through it. Every request is answered through mltrail's own ``Client``, so
runs end in commits exactly as when logged through the Python API (docs/INTEROP.md,
"mltrail server"). A framework-free ASGI application (``app.py``) on uvicorn.
"""
