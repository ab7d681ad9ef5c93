"""Start etcd, kube-apiserver and LocalStack on free loopback ports, and stop them again.

Why one module: the tests (session fixture), the benchmarks and `make demo` all need the same
servers started the same way. Prerequisites are installed by the scripts beside this file, and
a missing one is reported by name (`BenchError`) rather than as a stack trace.

Beside LocalStack runs `moto_server`, the server of moto, the emulator engine that LocalStack
bundles (from LocalStack's own venv): LocalStack's community build refuses ECR, moto serves
`ecr:GetAuthorizationToken`. Its URL is `AWS_ENDPOINT_URL_ECR` (botocore's per-service
variable, which asyncso honours too), so only ECR calls go there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pathlib
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from devenv import pki

HERE = pathlib.Path(__file__).resolve().parent
ADMIN_TOKEN = "asyncso-bench-admin-token"
OPERATOR_TOKEN = "asyncso-bench-operator-token"
#: The user `OPERATOR_TOKEN` authenticates as; every request it makes is written to the audit log.
OPERATOR_USER = "asyncso-operator"
#: Audit only the operator user, at Metadata level (who, verb, object; never bodies): tests that
#: run the operator as this user can prove which namespaces it read or wrote.
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {"level": "Metadata", "users": [OPERATOR_USER]},
        {"level": "None"},
    ],
}
AWS_REGION = "us-east-1"
LOCALSTACK_ACCOUNT = "000000000000"
#: botocore's per-service endpoint variable for ECR; the bench points it at moto's server.
ECR_ENDPOINT_VAR = "AWS_ENDPOINT_URL_ECR"


class BenchError(RuntimeError):
    """A prerequisite is missing or a server did not become ready; the message names it."""


@dataclasses.dataclass(frozen=True)
class BenchInfo:
    """Where the running bench can be reached."""

    kubeconfig: pathlib.Path
    apiserver_url: str
    ca_file: pathlib.Path
    admin_token: str
    aws_endpoint_url: str
    aws_region: str
    workdir: pathlib.Path
    #: JSON lines, one per request by `OPERATOR_USER` (see `AUDIT_POLICY`).
    audit_log: pathlib.Path | None = None
    #: moto's server for ECR ("" when the bench did not start one: see `Bench`).
    ecr_endpoint_url: str = ""

    def environ(self) -> dict[str, str]:
        """Environment variables that point clients (kr8s, botocore, asyncso) at the bench."""
        out = {
            "KUBECONFIG": str(self.kubeconfig),
            "AWS_ENDPOINT_URL": self.aws_endpoint_url,
            "AWS_DEFAULT_REGION": self.aws_region,
            "AWS_REGION": self.aws_region,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
        }
        if self.ecr_endpoint_url:
            out[ECR_ENDPOINT_VAR] = self.ecr_endpoint_url
        return out


def cache_dir() -> pathlib.Path:
    base = os.environ.get("ASYNCSO_CACHE")
    if base:
        return pathlib.Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME", str(pathlib.Path.home() / ".cache"))
    return pathlib.Path(xdg) / "asyncso"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run_script(name: str, what: str) -> str:
    """Run an install script beside this module; return the last line it printed (a path)."""
    script = HERE / name
    proc = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr[-4000:])
        raise BenchError(f"cannot provide {what}: {script.name} failed (see its output above)")
    lines = proc.stdout.strip().splitlines()
    if not lines:
        raise BenchError(f"cannot provide {what}: {script.name} printed no path")
    return lines[-1]


def find_etcd() -> str:
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets and (pathlib.Path(assets) / "etcd").exists():
        return str(pathlib.Path(assets) / "etcd")
    found = shutil.which("etcd")
    if found:
        return found
    _run_script("install-system.sh", "etcd (Debian package etcd-server)")
    found = shutil.which("etcd")
    if not found:
        raise BenchError("etcd not found after installing Debian package 'etcd-server'")
    return found


def find_kube_apiserver() -> str:
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets:
        candidate = pathlib.Path(assets) / "kube-apiserver"
        if not candidate.exists():
            raise BenchError(f"KUBEBUILDER_ASSETS={assets} has no kube-apiserver")
        return str(candidate)
    cached = cache_dir() / "bin" / "kube-apiserver"
    if cached.exists():
        return str(cached)
    return _run_script("build-kube-apiserver.sh", "kube-apiserver (built from Debian sources)")


def find_localstack_python() -> str:
    return _run_script(
        "install-localstack.sh", "LocalStack (localstack-core in a Python 3.13 venv)"
    )


def _wait(
    what: str,
    probe: Callable[[], bool],
    timeout: float,
    proc: subprocess.Popen[bytes] | None,
    log: pathlib.Path,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise BenchError(f"{what} exited with code {proc.returncode} during start:\n{tail}")
        if probe():
            return
        time.sleep(0.25)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    raise BenchError(f"{what} not ready after {timeout:.0f}s:\n{tail}")


def _http_ok(url: str, *, token: str | None = None, ca: pathlib.Path | None = None) -> bool:
    request = urllib.request.Request(url)  # noqa: S310 - loopback URLs we built ourselves
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    context = ssl.create_default_context(cafile=str(ca)) if ca else None
    try:
        with urllib.request.urlopen(request, timeout=2, context=context) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError, ssl.SSLError):
        return False


def write_kubeconfig(
    path: pathlib.Path, *, server: str, ca_file: pathlib.Path, token: str, user: str = "admin"
) -> None:
    """A kubeconfig is JSON-compatible YAML; JSON keeps this dependency-free."""
    import base64

    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "bench",
                "cluster": {
                    "server": server,
                    "certificate-authority-data": base64.b64encode(ca_file.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": user}}],
        "current-context": "bench",
    }
    path.write_text(json.dumps(config, indent=2))


class Bench:
    """The running servers. Use as a context manager, or call `start()` and `stop()`.

    With `with_localstack`, LocalStack and moto's server (for ECR) are started, unless
    `AWS_ENDPOINT_URL` (and `AWS_ENDPOINT_URL_ECR`) name running ones; a LocalStack given by
    `AWS_ENDPOINT_URL` without an ECR endpoint leaves ECR unserved (`ecr_endpoint_url` "").
    """

    def __init__(
        self,
        workdir: pathlib.Path | None = None,
        *,
        with_localstack: bool = True,
        with_kube: bool = True,
    ) -> None:
        self._own_workdir = workdir is None
        self.workdir = workdir or pathlib.Path(tempfile.mkdtemp(prefix="asyncso-bench-"))
        self.with_localstack = with_localstack
        self.with_kube = with_kube
        self._procs: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.info: BenchInfo | None = None

    def __enter__(self) -> BenchInfo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _spawn(
        self, name: str, argv: list[str], env: dict[str, str] | None = None
    ) -> tuple[subprocess.Popen[bytes], pathlib.Path]:
        log = self.workdir / f"{name}.log"
        handle = log.open("wb")
        proc = subprocess.Popen(
            argv,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=self.workdir,
            start_new_session=True,
        )
        handle.close()
        self._procs.append((name, proc))
        return proc, log

    def start(self) -> BenchInfo:
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> BenchInfo:
        self.workdir.mkdir(parents=True, exist_ok=True)
        kubeconfig = self.workdir / "kubeconfig"
        apiserver_url = ""
        ca_file = self.workdir / "serving.crt"
        if self.with_kube:
            apiserver_url, ca_file = self._start_kube(kubeconfig)
        aws_endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
        ecr_endpoint = os.environ.get(ECR_ENDPOINT_VAR, "")
        if self.with_localstack and not aws_endpoint:
            aws_endpoint = self._start_localstack()
            if not ecr_endpoint:
                ecr_endpoint = self._start_moto()
        elif aws_endpoint:
            probe = f"{aws_endpoint.rstrip('/')}/_localstack/health"
            _wait(
                "LocalStack at AWS_ENDPOINT_URL",
                lambda: _http_ok(probe),
                60,
                None,
                self.workdir / "none.log",
            )
        self.info = BenchInfo(
            kubeconfig=kubeconfig,
            apiserver_url=apiserver_url,
            ca_file=ca_file,
            admin_token=ADMIN_TOKEN,
            aws_endpoint_url=aws_endpoint,
            aws_region=AWS_REGION,
            workdir=self.workdir,
            audit_log=self.workdir / "audit.log" if self.with_kube else None,
            ecr_endpoint_url=ecr_endpoint,
        )
        (self.workdir / "bench.env").write_text(
            "".join(f"export {k}={v}\n" for k, v in self.info.environ().items())
        )
        return self.info

    def _start_kube(self, kubeconfig: pathlib.Path) -> tuple[str, pathlib.Path]:
        etcd = find_etcd()
        apiserver = find_kube_apiserver()
        etcd_port, etcd_peer = free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{etcd_port}"
        etcd_proc, etcd_log = self._spawn(
            "etcd",
            [
                etcd,
                "--data-dir",
                str(self.workdir / "etcd"),
                "--listen-client-urls",
                etcd_url,
                "--advertise-client-urls",
                etcd_url,
                "--listen-peer-urls",
                f"http://127.0.0.1:{etcd_peer}",
                "--initial-advertise-peer-urls",
                f"http://127.0.0.1:{etcd_peer}",
                "--initial-cluster",
                f"default=http://127.0.0.1:{etcd_peer}",
                "--unsafe-no-fsync",
                "--quota-backend-bytes",
                str(4 * 1024**3),
                "--log-level",
                "warn",
            ],
        )
        _wait("etcd", lambda: _http_ok(f"{etcd_url}/health"), 60, etcd_proc, etcd_log)

        cert, key = pki.write_serving_cert(self.workdir)
        sa_key, sa_pub = pki.write_service_account_keys(self.workdir)
        tokens = self.workdir / "tokens.csv"
        tokens.write_text(
            f'{ADMIN_TOKEN},admin,admin,"system:masters"\n'
            f"{OPERATOR_TOKEN},{OPERATOR_USER},{OPERATOR_USER}\n"
        )
        audit_policy = self.workdir / "audit-policy.json"
        audit_policy.write_text(json.dumps(AUDIT_POLICY))
        port = free_port()
        url = f"https://127.0.0.1:{port}"
        api_proc, api_log = self._spawn(
            "kube-apiserver",
            [
                apiserver,
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                "--insecure-port=0",
                f"--cert-dir={self.workdir / 'certs'}",
                f"--tls-cert-file={cert}",
                f"--tls-private-key-file={key}",
                f"--token-auth-file={tokens}",
                "--authorization-mode=RBAC",
                f"--service-account-key-file={sa_pub}",
                f"--service-account-signing-key-file={sa_key}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                "--api-audiences=https://kubernetes.default.svc.cluster.local,sts.amazonaws.com",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--allow-privileged=true",
                "--disable-admission-plugins=ServiceAccount",
                "--enable-priority-and-fairness=false",
                "--watch-cache=true",
                f"--audit-policy-file={audit_policy}",
                f"--audit-log-path={self.workdir / 'audit.log'}",
                "--audit-log-format=json",
                "--v=0",
            ],
        )
        _wait(
            "kube-apiserver",
            lambda: _http_ok(f"{url}/readyz", token=ADMIN_TOKEN, ca=cert),
            120,
            api_proc,
            api_log,
        )
        write_kubeconfig(kubeconfig, server=url, ca_file=cert, token=ADMIN_TOKEN)
        return url, cert

    def _start_localstack(self) -> str:
        python = find_localstack_python()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
            "GATEWAY_LISTEN": f"127.0.0.1:{port}",
            "SERVICES": "secretsmanager,ssm,sts,iam,acm",
            "DNS_ADDRESS": "0",
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "DISABLE_EVENTS": "1",
            "LOCALSTACK_TELEMETRY": "0",
            "EAGER_SERVICE_LOADING": "1",
            "FILESYSTEM_ROOT": str(self.workdir / "localstack"),
            "LOCALSTACK_VOLUME_DIR": str(self.workdir / "localstack" / "volume"),
        }
        proc, log = self._spawn("localstack", [python, "-m", "localstack.runtime.main"], env)
        _wait("LocalStack", lambda: _localstack_ready(url), 180, proc, log)
        return url

    def _start_moto(self) -> str:
        """moto's own server from LocalStack's venv (moto-ext, with flask), for ECR."""
        server = pathlib.Path(find_localstack_python()).parent / "moto_server"
        if not server.exists():
            raise BenchError(f"moto_server not found beside LocalStack's Python ({server})")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/root"),
        }
        proc, log = self._spawn("moto", [str(server), "-H", "127.0.0.1", "-p", str(port)], env)
        _wait("moto_server", lambda: _http_ok(f"{url}/moto-api/"), 60, proc, log)
        return url

    def stop(self) -> None:
        for _name, proc in reversed(self._procs):
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for _name, proc in reversed(self._procs):
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self._procs.clear()
        if self._own_workdir and not os.environ.get("ASYNCSO_KEEP_BENCH"):
            shutil.rmtree(self.workdir, ignore_errors=True)


def _localstack_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_localstack/health", timeout=2) as response:  # noqa: S310
            body = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return False
    services = body.get("services", {})
    return all(
        services.get(s) in ("available", "running") for s in ("secretsmanager", "ssm", "sts")
    )
