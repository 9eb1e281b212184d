"""A throwaway ``nginx`` in front of test services: Debian's package, run in the foreground.

Everything lives in a temporary prefix directory (configuration, pid file, logs, request-body
buffers), so no root path is read or written and nothing is left behind. The access log records
which upstream served each request (``$upstream_addr``), so a test can tell that a load balancer
really spread its requests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 10.0
DEBIAN_PATH = "/usr/sbin/nginx"  # not on a normal user's PATH


def nginx_binary() -> str | None:
    """Path of ``nginx``, or None when it is not installed."""
    found = shutil.which("nginx")
    if found:
        return found
    return DEBIAN_PATH if os.access(DEBIAN_PATH, os.X_OK) else None


@dataclass(frozen=True)
class Nginx:
    process: subprocess.Popen[bytes]
    prefix: Path

    def access_log(self) -> list[str]:
        """One line per request handled so far: ``remote_addr "request" status upstream_addr``."""
        return (self.prefix / "access.log").read_text().splitlines()

    def error_log(self) -> str:
        return (self.prefix / "error.log").read_text(errors="replace")


def main_config(prefix: Path, site: Path) -> str:
    """The top-level nginx.conf: the site file included inside ``http {}``, every path in
    ``prefix``. Run as root (a CI container), nginx would start its worker as ``nobody``, which
    cannot enter the private temporary directory; the worker then keeps root's user."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 256; }}
http {{
    log_format upstreams '$remote_addr "$request" $status $upstream_addr';
    access_log {prefix}/access.log upstreams;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {site};
}}
"""


@contextlib.contextmanager
def running_nginx(site_config: str, port: int) -> Iterator[Nginx]:
    """nginx serving ``site_config`` (the contents of a ``conf.d`` file) until exit; ready once
    ``127.0.0.1:port`` accepts connections."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed")
    prefix = Path(tempfile.mkdtemp(prefix="tracesink-nginx-"))
    site = prefix / "site.conf"
    site.write_text(site_config)
    conf = prefix / "nginx.conf"
    conf.write_text(main_config(prefix, site))
    argv = [binary, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    server = Nginx(process, prefix)
    try:
        _wait_until_listening(server, port)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()  # SIGTERM: nginx's fast shutdown
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(prefix, ignore_errors=True)


def _wait_until_listening(server: Nginx, port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"nginx exited at start-up:\n{server.error_log()[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nginx did not listen on {port}:\n{server.error_log()[-2000:]}")


def non_loopback_address() -> str | None:
    """An IPv4 address of this machine that is not loopback (the source address the kernel
    would use towards a documentation-only network; no packet is sent), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))  # TEST-NET-2: never routed anywhere real
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address
