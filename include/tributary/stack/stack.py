"""``tributary stack up | down | status``: a local stack on loopback ports.

Parts: a moto server (S3, SQS, SNS, EventBridge, Secrets Manager), the metadata DB (SQLite files
by default, or a private PostgreSQL cluster), and Airflow's api-server, scheduler, dag-processor
and triggerer, each in its own process group, tuned for low latency. The login goes to
``<dir>/login.json`` (never anonymous: the simple auth manager with one admin and a generated
password); ``<dir>/env`` holds the environment to point the CLI and the invokers at the stack;
``<dir>/state.json`` records PIDs and ports so ``down`` stops everything, also after a crash.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tributary.errors import StackError
from tributary.settings import PROJECT_ROOT
from tributary.stack.processes import STACK_TAG, group_alive, spawn, stop_groups
from tributary.stack.secret_files import private_dir, write_private

log = logging.getLogger(__name__)

DEFAULT_DIR = PROJECT_ROOT / ".stack" / "local"
ALERT_TOPIC = "tributary-alerts"
AWS_ACCOUNT = "123456789012"
REGION = "us-east-1"
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")


@dataclass
class Proc:
    name: str
    pid: int
    pgid: int
    log: str


@dataclass
class StackState:
    stack_id: str
    dir: str
    db: str
    ports: dict[str, int]
    urls: dict[str, str]
    env: dict[str, str]
    login_file: str
    processes: list[Proc] = field(default_factory=list)
    pg_dir: str | None = None
    """The private PostgreSQL cluster's folder (``--db postgres``)."""
    started_at: float = field(default_factory=time.time)

    @property
    def path(self) -> Path:
        return Path(self.dir) / "state.json"

    def save(self) -> None:
        write_private(self.path, json.dumps(asdict(self), indent=1))  # its env holds the secrets

    @classmethod
    def load(cls, directory: Path) -> StackState | None:
        path = directory / "state.json"
        if not path.exists():
            return None
        doc = json.loads(path.read_text())
        doc["processes"] = [Proc(**p) for p in doc.get("processes", [])]
        return cls(**doc)

    def alive(self) -> dict[str, bool]:
        return {p.name: group_alive(p.pgid) for p in self.processes}

    def login(self) -> dict[str, str]:
        return dict(json.loads(Path(self.login_file).read_text()))


def _bin(name: str) -> str:
    path = Path(sys.executable).with_name(name)
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        raise StackError(f"{name} not found next to {sys.executable} or on PATH")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float, what: str, check: Any = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check is not None and not check():
            raise StackError(f"{what} exited while starting; see its log")
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise StackError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f}s")


# --- PostgreSQL ------------------------------------------------------------------------------


def _pg_bin() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists():
            return candidate
    raise StackError("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin); install 'postgresql'")


def _as_postgres(argv: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _postgres_can_use(path: Path) -> bool:
    """Whether the ``postgres`` account can write into ``path`` (every parent must let it through)."""
    return subprocess.run(_as_postgres(["test", "-w", str(path), "-a", "-x", str(path)]), check=False).returncode == 0


def _pg_dir(directory: Path) -> Path:
    """Where the cluster lives: ``<dir>/pg``, or, when the server must run as ``postgres`` (we are
    root) and a parent of ``<dir>`` shuts that account out (``tempfile.mkdtemp`` makes 0700
    folders), a private folder of its own under the temp dir, recorded in the state for ``down``."""
    pg = directory / "pg"
    pg.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        return pg
    shutil.chown(pg, "postgres")
    if _postgres_can_use(pg):
        return pg
    shutil.rmtree(pg, ignore_errors=True)
    pg = Path(tempfile.mkdtemp(prefix="tributary-stack-pg-"))
    shutil.chown(pg, "postgres")
    if not _postgres_can_use(pg):
        shutil.rmtree(pg, ignore_errors=True)
        raise StackError(f"the postgres account cannot use {directory} nor {pg.parent}; pick another --dir")
    return pg


def _init_pg(pg: Path) -> Path:
    data = pg / "data"
    result = subprocess.run(
        _as_postgres([str(_pg_bin() / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "-E", "UTF8"]),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise StackError(f"initdb failed: {result.stderr.strip()[-500:]}")
    return data


def _create_pg_databases(port: int, names: list[str]) -> None:
    import psycopg

    deadline = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(f"postgresql://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
                for name in names:
                    conn.execute(f'CREATE DATABASE "{name}"')
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# --- environment -----------------------------------------------------------------------------


def stack_env(directory: Path, ports: dict[str, int], db_urls: dict[str, str], stack_id: str) -> dict[str, str]:
    """What every component (and the CLI, tests and invokers pointed at the stack) runs with."""
    api = f"http://127.0.0.1:{ports['api']}"
    moto = f"http://127.0.0.1:{ports['moto']}"
    airflow_home = directory / "airflow"
    login = json.loads((directory / "login.json").read_text())
    aws_conn = {
        "conn_type": "aws",
        "login": "testing",
        "password": "testing",
        "extra": {"endpoint_url": moto, "region_name": REGION},
    }
    plugins = os.environ.get("TRIBUTARY_STACK_PLUGINS_FOLDER") or str(PROJECT_ROOT / "plugins")
    return {
        STACK_TAG: stack_id,
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": plugins,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_urls["airflow"],
        # a read-only "viewer" too: it sees the ops page and may do nothing there
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{login['username']}:admin,viewer:viewer",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(directory / "passwords.json"),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__API_AUTH__JWT_SECRET": (directory / "jwt_secret").read_text().strip(),
        "AIRFLOW__API__SECRET_KEY": (directory / "jwt_secret").read_text().strip()[:32],
        "AIRFLOW__API__BASE_URL": api,
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(ports["api"]),
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
        "AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME": "0.1",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(ports["worker_log"]),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(ports["trigger_log"]),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(aws_conn),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": moto,
        "TRIBUTARY_S3_ENDPOINT_URL": moto,
        "TRIBUTARY_HOME": str(directory / "home"),
        "TRIBUTARY_DB_URL": db_urls["tributary"],
        "TRIBUTARY_ALERT_TOPIC_ARN": f"arn:aws:sns:{REGION}:{AWS_ACCOUNT}:{ALERT_TOPIC}",
        "TRIBUTARY_AIRFLOW_API_URL": api,
        "TRIBUTARY_AIRFLOW_USERNAME": login["username"],
        "TRIBUTARY_AIRFLOW_PASSWORD": login["password"],
        "TRIBUTARY_AIRFLOW_BASE_URL": api,
        "TRIBUTARY_CATALOG_SYNC": "on",  # tables registered in moto's Glue Data Catalog
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


def _base_env() -> dict[str, str]:
    keep = ("PATH", "LANG", "LC_ALL", "HOME", "USER", "TZ", "PYTHONPATH", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}"
    return env


# --- up / down / status ----------------------------------------------------------------------


def health(state: StackState, timeout: float = 2.0) -> dict[str, str]:
    """Status of each Airflow component from ``/api/v2/monitor/health`` (empty when unreachable)."""
    try:
        with urllib.request.urlopen(f"{state.urls['airflow']}/api/v2/monitor/health", timeout=timeout) as r:
            doc = json.loads(r.read())
    except Exception:
        return {}
    return {k: str((v or {}).get("status")) for k, v in doc.items() if isinstance(v, dict)}


def _healthy(h: dict[str, str]) -> bool:
    wanted = ("metadatabase", "scheduler", "triggerer", "dag_processor")
    return all(h.get(k) == "healthy" for k in wanted)


def up(
    directory: Path = DEFAULT_DIR, *, db: str = "sqlite", config: list[Path] | None = None, timeout: float = 120
) -> StackState:
    """Start the stack (or return it when it is already up and healthy)."""
    directory = directory.resolve()
    existing = StackState.load(directory)
    if existing is not None:
        if all(existing.alive().values()) and _healthy(health(existing)):
            log.info("stack in %s is already up", directory)
            return existing
        log.warning("stale stack state in %s (a crash?); stopping what is left", directory)
        down(directory)
    if db not in ("sqlite", "postgres"):
        raise StackError(f"--db must be sqlite or postgres, not {db!r}")
    state, env = _new_state(directory, db)
    state.save()
    _write_env_file(directory, state.env)
    try:
        _start_processes(state, env, config, timeout)
    except BaseException:
        down(directory)
        raise
    return state


def _new_state(directory: Path, db: str) -> tuple[StackState, dict[str, str]]:
    """A new stack's state (id, free loopback ports, URLs, fresh secrets) and its processes'
    environment."""
    stack_id = uuid.uuid4().hex[:12]
    ports = {"api": free_port(), "moto": free_port(), "worker_log": free_port(), "trigger_log": free_port()}
    login_file = write_secrets(directory, ports["api"])
    if db == "postgres":
        ports["postgres"] = free_port()
        base = f"postgresql://postgres@127.0.0.1:{ports['postgres']}"
        db_urls = {"tributary": f"{base}/tributary", "airflow": f"{base}/airflow"}
    else:
        db_urls = {
            "tributary": f"sqlite:///{directory / 'home' / 'tributary.db'}",
            "airflow": f"sqlite:///{directory / 'airflow' / 'airflow.db'}",
        }
    env = {**_base_env(), **stack_env(directory, ports, db_urls, stack_id)}
    state = StackState(
        stack_id=stack_id,
        dir=str(directory),
        db=db,
        ports=ports,
        urls={
            "airflow": f"http://127.0.0.1:{ports['api']}",
            "moto": f"http://127.0.0.1:{ports['moto']}",
            "tributary_db": db_urls["tributary"],
        },
        env={k: v for k, v in env.items() if k.startswith(("AIRFLOW", "AWS_", "TRIBUTARY_"))},
        login_file=str(login_file),
    )
    return state, env


def _start_processes(state: StackState, env: dict[str, str], config: list[Path] | None, timeout: float) -> None:
    """Start moto (and PostgreSQL), migrate, provision what ``config`` names, start Airflow's
    components and wait until they report healthy."""
    directory, ports, logs = Path(state.dir), state.ports, Path(state.dir) / "logs"
    _start(state, "moto", [_bin("moto_server"), "-H", "127.0.0.1", "-p", str(ports["moto"])], env, logs)
    if state.db == "postgres":
        _start_postgres(state, directory, env, logs)
    _wait_port(ports["moto"], 30, "moto")
    _create_alert_topic(state.urls["moto"])
    _migrate(env, state.urls["tributary_db"], logs, config)
    if config:  # the buckets, queues and S3 notifications the config names, before the triggerer polls
        from tributary.config.service import validate_paths
        from tributary.stack.provision import provision

        provision(validate_paths(list(config)), state.urls["moto"], REGION)
    for component in COMPONENTS:
        argv = [_bin("airflow"), component]
        if component == "api-server":
            argv += ["-H", "127.0.0.1", "-p", str(ports["api"]), "-w", "1"]
        _start(state, component, argv, env, logs)
    _wait_healthy(state, timeout)


def _start_postgres(state: StackState, directory: Path, env: dict[str, str], logs: Path) -> None:
    """The stack's own PostgreSQL cluster on its port, with the tributary and airflow databases."""
    port = state.ports["postgres"]
    state.pg_dir = str(_pg_dir(directory))
    state.save()
    data = _init_pg(Path(state.pg_dir))
    pg_argv = [
        str(_pg_bin() / "postgres"),
        "-D",
        str(data),
        "-p",
        str(port),
        "-c",
        "listen_addresses=127.0.0.1",
        "-k",
        str(data.parent),
        "-c",
        "fsync=off",
        "-c",
        "max_connections=200",
    ]
    _start(state, "postgres", _as_postgres(pg_argv), env, logs)
    _wait_port(port, 30, "postgres")
    _create_pg_databases(port, ["tributary", "airflow"])


def write_secrets(directory: Path, api_port: int) -> Path:
    """The stack's folder (0700) with fresh admin and read-only viewer passwords (passwords.json,
    login.json) and JWT secret, each 0600; returns the login file."""
    private_dir(directory)
    for sub in ("airflow", "home", "logs", "plugins"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    password, viewer_password = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    write_private(directory / "passwords.json", json.dumps({"admin": password, "viewer": viewer_password}))
    login_file = directory / "login.json"
    login = {"url": f"http://127.0.0.1:{api_port}", "username": "admin", "password": password}
    write_private(login_file, json.dumps({**login, "viewer_username": "viewer", "viewer_password": viewer_password}))
    write_private(directory / "jwt_secret", secrets.token_hex(48))
    return login_file


def _start(state: StackState, name: str, argv: list[str], env: dict[str, str], logs: Path) -> None:
    log_path = logs / f"{name}.log"
    pid = spawn(argv, env, log_path)
    state.processes.append(Proc(name, pid, pid, str(log_path)))
    state.save()  # recorded at once: a crash from here on still leaves the group to stop


def _write_env_file(directory: Path, env: dict[str, str]) -> None:
    import shlex

    lines = [f"export {k}={shlex.quote(v)}" for k, v in sorted(env.items())]
    write_private(directory / "env", "\n".join(lines) + "\n")


def _create_alert_topic(moto_url: str) -> None:
    import boto3

    boto3.client(
        "sns", endpoint_url=moto_url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    ).create_topic(Name=ALERT_TOPIC)


def _migrate(env: dict[str, str], tributary_url: str, logs: Path, config: list[Path] | None) -> None:
    result = subprocess.run([_bin("airflow"), "db", "migrate"], env=env, capture_output=True, text=True)
    (logs / "airflow-db-migrate.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise StackError(f"airflow db migrate failed; see {logs / 'airflow-db-migrate.log'}")
    argv = [_bin("tributary"), "db", "upgrade"]
    result = subprocess.run(argv, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError(f"tributary db upgrade failed: {result.stderr.strip()[-500:]}")
    if config:
        result = subprocess.run(
            [_bin("tributary"), "config", "apply", *map(str, config)], env=env, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise StackError(f"tributary config apply failed: {result.stderr.strip()[-800:]}")


def _wait_healthy(state: StackState, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last: dict[str, str] = {}
    while time.monotonic() < deadline:
        dead = [name for name, ok in state.alive().items() if not ok]
        if dead:
            raise StackError(f"stack component(s) exited while starting: {', '.join(dead)}; see {state.dir}/logs")
        last = health(state)
        if _healthy(last):
            return
        time.sleep(0.3)
    raise StackError(f"Airflow not healthy within {timeout:.0f}s: {last or 'API unreachable'}; see {state.dir}/logs")


def down(directory: Path = DEFAULT_DIR, grace: float = 15.0) -> list[str]:
    """Stop every process group the stack started (TERM, then KILL); returns the names stopped."""
    directory = directory.resolve()
    state = StackState.load(directory)
    if state is None:
        return []
    # Airflow first, the databases and moto last
    order = sorted(state.processes, key=lambda p: p.name in ("postgres", "moto"))
    airflow = [p for p in order if p.name not in ("postgres", "moto")]
    rest = [p for p in order if p.name in ("postgres", "moto")]
    stop_groups([p.pgid for p in airflow], state.stack_id if not rest else None, grace)
    stop_groups([p.pgid for p in rest], state.stack_id, grace)
    state.path.unlink(missing_ok=True)
    if state.db == "postgres":
        shutil.rmtree(state.pg_dir or directory / "pg", ignore_errors=True)
    return [p.name for p in state.processes]


def status(directory: Path = DEFAULT_DIR) -> dict[str, Any] | None:
    state = StackState.load(directory.resolve())
    if state is None:
        return None
    return {
        "dir": state.dir,
        "db": state.db,
        "urls": state.urls,
        "login_file": state.login_file,
        "processes": {p.name: {"pid": p.pid, "alive": group_alive(p.pgid)} for p in state.processes},
        "health": health(state),
    }
