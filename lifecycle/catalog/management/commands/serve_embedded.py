"""manage.py serve_embedded [addr:port]

The embedded app in one command: a Celery worker with embedded beat on the filesystem
broker, and Django's development server in front. Production runs worker, beat and a WSGI
server as separate processes instead, so this refuses to run when DATABASE_URL is set.
"""

from __future__ import annotations

import contextlib
import ctypes
import signal
import socket
import subprocess
import sys
import threading
from typing import NoReturn

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

DEFAULT_ADDRPORT = "127.0.0.1:8000"
DEMO_USERS = ("executive", "mlops", "datateam", "admin")
DEMO_PASSWORD = "kpiboard-demo"
# A worker mid-task gets this long to finish before it is killed; tasks are idempotent
# and acknowledged late, so a killed task is redelivered on the next start.
WORKER_STOP_TIMEOUT_S = 20
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the worker child before exec: if serve_embedded dies without cleaning up
    (SIGKILL, or runserver's os._exit on a bind error), the kernel stops the worker too."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _split_addrport(addrport: str) -> tuple[str, int]:
    addr, _, port = addrport.rpartition(":")
    if not port.isdigit():
        raise CommandError(f"{addrport!r} is not addr:port, e.g. {DEFAULT_ADDRPORT}.")
    return addr.strip("[]") or "127.0.0.1", int(port)


def _port_free(addr: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((addr, port))
        except OSError:
            return False
    return True


def _raise_interrupt(signum: int, frame: object) -> NoReturn:
    # runserver turns KeyboardInterrupt into a clean exit, so SIGTERM stops us like Ctrl-C.
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = (
        "Serve the embedded app: a Celery worker with beat (filesystem broker) and "
        "Django's development server. Refuses to run when DATABASE_URL is set."
    )
    requires_system_checks = []  # runserver runs them

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "addrport",
            nargs="?",
            default=DEFAULT_ADDRPORT,
            help=f"Where to serve (default {DEFAULT_ADDRPORT}).",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=1,
            help="Worker processes (default 1: SQLite takes one writer at a time).",
        )

    def handle(self, *args: object, **options: object) -> None:
        if not getattr(settings, "EMBEDDED", False):
            raise CommandError(
                "serve_embedded runs the embedded app (SQLite, filesystem broker) and "
                "refuses to start while DATABASE_URL is set. In production run the "
                "pieces separately: `celery -A kpiboard worker`, `celery -A kpiboard beat` "
                "and a WSGI server for kpiboard.wsgi:application."
            )
        addrport = str(options["addrport"])
        addr, port = _split_addrport(addrport)
        # Checked before the worker starts: runserver leaves through os._exit when it
        # cannot bind, which would skip the cleanup below.
        if not _port_free(addr, port):
            raise CommandError(f"{addr}:{port} is already in use; pass another addr:port.")

        self._stopping = threading.Event()
        worker = self._worker_start(concurrency=int(options["concurrency"]))
        previous_sigterm = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            self._banner(addr, port)
            call_command("runserver", addrport, use_reloader=False)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous_sigterm)
            self._worker_stop(worker)

    def _worker_start(self, *, concurrency: int) -> subprocess.Popen:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "kpiboard",
            "worker",
            "-B",
            "--loglevel",
            "INFO",
            "--concurrency",
            str(concurrency),
        ]
        self.stdout.write(f"Starting the Celery worker with beat: {' '.join(command[2:])}")
        # A session of its own: Ctrl-C reaches only this process, which then gives the
        # worker a single, warm shutdown instead of the terminal's double signal.
        worker = subprocess.Popen(
            command, cwd=settings.BASE_DIR, start_new_session=True, preexec_fn=_die_with_parent
        )
        threading.Thread(target=self._worker_watch, args=(worker,), daemon=True).start()
        return worker

    def _worker_watch(self, worker: subprocess.Popen) -> None:
        code = worker.wait()
        if not self._stopping.is_set():
            self.stderr.write(
                f"The Celery worker exited unexpectedly (code {code}); pages still work, "
                "but background and scheduled work has stopped. Restart serve_embedded."
            )

    def _worker_stop(self, worker: subprocess.Popen) -> None:
        self._stopping.set()
        if worker.poll() is not None:
            return
        self.stdout.write("Stopping the Celery worker (warm shutdown)...")
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=WORKER_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.stderr.write(f"The worker did not stop in {WORKER_STOP_TIMEOUT_S}s; killing it.")
            worker.kill()
            worker.wait()
        self.stdout.write("Worker stopped.")

    def _banner(self, addr: str, port: int) -> None:
        host = f"[{addr}]" if ":" in addr else addr
        users = ", ".join(DEMO_USERS)
        self.stdout.write(
            self.style.SUCCESS(f"\nkpiboard is serving at http://{host}:{port}/\n")
            + f"Log in as one of {users} with password {DEMO_PASSWORD!r}\n"
            "(made by `manage.py seed_demo`). Stop with Ctrl-C.\n"
        )
