"""Running one entry point of a project as a run of the store.

Everything that can be checked is checked before the run exists: the project, the entry
point, the parameter values and the environment. Then the run is created (RUNNING, with
MLflow's project tags and the parameters as params) and the command starts in its own
process group with the run in its environment (``MLTRAIL_RUN_ID`` and ``MLFLOW_RUN_ID``,
``MLTRAIL_TRACKING_URI``, ``MLTRAIL_EXPERIMENT_ID`` and ``MLFLOW_EXPERIMENT_ID``), so
``mltrail.start_run()`` in the command resumes that run instead of starting another.
Its output is shown as it comes and kept as the artifact ``mltrail-project/output.log``.
Exit status 0 ends the run FINISHED; another status FAILED (with the tag
``mltrail.project.exitCode``); ``cancel()`` (Ctrl-C, SIGTERM) stops the process group and
ends it KILLED.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mltrail.errors import MltrailError
from mltrail.projects.environments import Environment, prepare
from mltrail.projects.fetch import Checkout, fetch
from mltrail.projects.spec import EntryPoint, ProjectError, load_project

#: Where the command's output is kept in the run's artifacts.
OUTPUT_ARTIFACT = "mltrail-project"
OUTPUT_FILE = "output.log"
EXIT_CODE_TAG = "mltrail.project.exitCode"
#: The project's folder inside its git repository, so the site finds its files at the commit.
SUBDIR_TAG = "mltrail.project.subdir"
#: Seconds a cancelled command has to stop after SIGTERM before it is killed.
STOP_GRACE_S = 10.0


class ExecutionException(MltrailError):
    """A project run that failed or could not start (MLflow's name for it)."""


@dataclass(frozen=True)
class RunRequest:
    """What to run: MLflow's ``projects.run`` arguments."""

    uri: str
    entry_point: str = "main"
    parameters: dict[str, Any] = field(default_factory=dict)
    experiment_name: str | None = None
    experiment_id: str | None = None
    run_name: str | None = None
    env_manager: str | None = None
    version: str | None = None
    parent_run_id: str | None = None
    tags: dict[str, str] = field(default_factory=dict)


class SubmittedRun:
    """A project run in progress: ``run_id``, ``wait()``, ``get_status()``, ``cancel()``."""

    def __init__(
        self, run_id: str, process: subprocess.Popen[bytes], finish: Callable[[int | None], str]
    ) -> None:
        self.run_id = run_id
        self._process = process
        self._finish = finish
        self._status: str | None = None
        self._lock = threading.Lock()

    def wait(self) -> bool:
        """Wait for the command to end; True when the run FINISHED."""
        code = self._process.wait()
        return self._settle(code) == "FINISHED"

    def get_status(self) -> str:
        """RUNNING while the command runs, then FINISHED, FAILED or KILLED."""
        code = self._process.poll()
        if code is None:
            return "RUNNING"
        return self._settle(code)

    def cancel(self) -> None:
        """Stop the command and everything it started; the run ends KILLED (a command
        that had already ended keeps the status its exit code gives)."""
        ended = self._process.poll()
        if ended is not None:
            self._settle(ended)
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
        self._settle(None)

    def _settle(self, code: int | None) -> str:
        with self._lock:
            if self._status is None:
                self._status = self._finish(code)
            return self._status


def submit(
    request: RunRequest,
    report: Callable[[str], None] = lambda _: None,
    echo: bool = True,
    started: Callable[[SubmittedRun], None] = lambda _: None,
) -> SubmittedRun:
    """Check, create and start the run of ``request`` (the command runs in the background;
    its output is shown here too with ``echo``). ``started`` is handed the run as soon as
    its command runs, so a caller interrupted before this returns can still stop it."""
    import mltrail
    from mltrail.tracking import context

    checkout = fetch(request.uri, request.version)
    run_id: str | None = None
    process: subprocess.Popen[bytes] | None = None
    submitted: SubmittedRun | None = None
    copiers: list[threading.Thread] = []

    def finish(code: int | None) -> str:
        assert run_id is not None  # the run exists before its command starts
        for copier in copiers:
            copier.join()
        status = "FINISHED" if code == 0 else "KILLED" if code is None or code < 0 else "FAILED"
        try:
            if code not in (0, None):
                client.set_tag(run_id, EXIT_CODE_TAG, str(code))
            if output.exists():  # gone when an interrupted finish is being redone
                client.log_artifact(run_id, output, OUTPUT_ARTIFACT)
            client.set_terminated(run_id, status)
        finally:
            shutil.rmtree(output.parent, ignore_errors=True)
            checkout.cleanup()
        return status

    try:
        project = load_project(checkout.directory)
        environment = prepare(project, request.env_manager, report)
        entry = project.entry_point(request.entry_point, environment.python)
        declared, extra = entry.values(request.parameters, Path.cwd(), project.directory)
        command = entry.command_line(declared, extra)
        client = mltrail.MlflowClient()
        experiment_id = experiment_id_for(client, request)
        run = _create_run(
            client, experiment_id, request, checkout, entry, environment, declared, extra
        )
        run_id = run.info.run_id
        store = str(context.get_store(create=False).root)
        report(f"Run {run_id} of {entry.name}: {command}")
        output = Path(tempfile.mkdtemp(prefix="mltrail-project-output-")) / OUTPUT_FILE
        variables = {
            **os.environ,
            **environment.variables,
            "MLTRAIL_RUN_ID": run_id,
            "MLFLOW_RUN_ID": run_id,
            "MLTRAIL_TRACKING_URI": store,
            "MLTRAIL_EXPERIMENT_ID": experiment_id,
            "MLFLOW_EXPERIMENT_ID": experiment_id,
        }
        argv = [*_docker_run_options(environment, store, variables), "bash", "-c", command]
        try:
            process = subprocess.Popen(
                argv, cwd=checkout.directory, env=variables, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
            )  # fmt: skip
        except OSError as e:
            raise ExecutionException(
                f"The command of {entry.name!r} could not start: {e}"
            ) from None
        copiers = _tee(process, output, echo)
        submitted = SubmittedRun(run_id, process, finish)
        started(submitted)
    except BaseException as e:  # interrupted or failed while starting: nothing stays RUNNING
        if submitted is not None:
            submitted.cancel()
            raise
        if process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
        if run_id is not None:
            client.set_terminated(run_id, "FAILED" if isinstance(e, Exception) else "KILLED")
        checkout.cleanup()
        raise
    return submitted


def experiment_id_for(client: Any, request: RunRequest) -> str:
    """The experiment a run of ``request`` goes to (created when named and missing)."""
    if request.experiment_id is not None and request.experiment_name is not None:
        raise ProjectError("Give --experiment-name or --experiment-id, not both.")
    if request.experiment_id is not None:
        return str(client.get_experiment(request.experiment_id).experiment_id)
    if request.experiment_name is not None:
        found = client.get_experiment_by_name(request.experiment_name)
        return str(
            found.experiment_id if found else client.create_experiment(request.experiment_name)
        )
    from mltrail.tracking.fluent import _default_experiment_id

    return _default_experiment_id(client)


def _create_run(
    client: Any,
    experiment_id: str,
    request: RunRequest,
    checkout: Checkout,
    entry: EntryPoint,
    environment: Environment,
    declared: dict[str, str],
    extra: dict[str, str],
) -> Any:
    """The RUNNING run with MLflow's project tags and the parameters as params."""
    import mltrail

    tags = {
        "mlflow.source.name": checkout.source_name,
        "mlflow.source.type": "PROJECT",
        "mlflow.project.entryPoint": entry.name,
        "mlflow.project.env": environment.manager,
        "mlflow.project.backend": "local",
        **request.tags,
    }
    if checkout.commit:
        tags["mlflow.source.git.commit"] = checkout.commit
    if checkout.repo_url:
        tags["mlflow.source.git.repoURL"] = checkout.repo_url
    if checkout.branch:
        tags["mlflow.source.git.branch"] = checkout.branch
    if checkout.commit and checkout.subdir:
        tags[SUBDIR_TAG] = checkout.subdir
    active = mltrail.active_run()
    parent = request.parent_run_id or (active.info.run_id if active is not None else None)
    if parent:
        tags["mlflow.parentRunId"] = parent
    source = {"name": checkout.source_name, "type": "PROJECT", "git_dirty": checkout.dirty}
    client._source = (source, checkout.diff)
    try:
        run = client.create_run(experiment_id, tags=tags, run_name=request.run_name)
    finally:
        client._source = None
    # As MLflow: the values as given (a path as typed, not resolved), defaults as declared.
    given = {k: str(v) for k, v in request.parameters.items()}
    params = {**{k: given.get(k, entry.parameters[k].default or "") for k in declared}, **extra}
    if params:
        client.log_batch(
            run.info.run_id, params=[mltrail.entities.Param(k, v) for k, v in params.items()]
        )
    return run


def _docker_run_options(
    environment: Environment, store: str, variables: dict[str, str]
) -> list[str]:
    """The command prefix; for docker, the run's variables and the store go in too."""
    if environment.manager != "docker":
        return environment.prefix
    *options, image = environment.prefix
    for name in ("MLTRAIL_RUN_ID", "MLFLOW_RUN_ID", "MLTRAIL_TRACKING_URI", "MLTRAIL_EXPERIMENT_ID",
                 "MLFLOW_EXPERIMENT_ID"):  # fmt: skip
        options += ["-e", f"{name}={variables[name]}"]
    return [*options, "-v", f"{store}:{store}", image]


def _tee(process: subprocess.Popen[bytes], output: Path, echo: bool) -> list[threading.Thread]:
    """Threads copying the command's stdout and stderr to ``output`` (and with ``echo``,
    to ours)."""
    lock = threading.Lock()
    log = open(output, "wb")  # noqa: SIM115 - closed by the last copier
    remaining = [2]

    def copy(source: IO[bytes], target: Any) -> None:
        binary = getattr(target, "buffer", None)
        try:
            for line in iter(source.readline, b""):
                with lock:
                    log.write(line)
                with contextlib.suppress(OSError, ValueError):
                    if target is None:
                        continue
                    if binary is not None:
                        binary.write(line)
                        binary.flush()
                    else:
                        target.write(line.decode("utf-8", "replace"))
                        target.flush()
        finally:
            with lock:
                remaining[0] -= 1
                if remaining[0] == 0:
                    log.close()

    assert process.stdout is not None and process.stderr is not None
    threads = [
        threading.Thread(
            target=copy, args=(process.stdout, sys.stdout if echo else None), daemon=True
        ),
        threading.Thread(
            target=copy, args=(process.stderr, sys.stderr if echo else None), daemon=True
        ),
    ]
    for thread in threads:
        thread.start()
    return threads


def run(
    request: RunRequest, synchronous: bool = True, report: Callable[[str], None] = lambda _: None
) -> SubmittedRun:
    """Start the run; with ``synchronous``, wait for it and raise when it did not finish."""
    submitted = submit(request, report)
    if synchronous:
        try:
            ok = submitted.wait()
        except BaseException:
            submitted.cancel()
            raise
        if not ok:
            raise ExecutionException(
                f"Run {submitted.run_id} of {request.entry_point!r} ended "
                f"{submitted.get_status()}; its output is in the artifact "
                f"{OUTPUT_ARTIFACT}/{OUTPUT_FILE}."
            )
    return submitted
