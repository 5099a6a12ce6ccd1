"""A real IMAP server for tests: Debian's dovecot on a free loopback port, with a
throwaway configuration, one plaintext user and a maildir, all removed afterwards."""

import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from ..servers import free_port, stop

USER, PASSWORD = "helpdesk", "imap-test-password"


def config(runtime: Path, logs: Path, port: int, mail_user: pwd.struct_passwd, as_root: bool) -> str:
    """dovecot.conf (2.3 syntax). As root, login processes run as dovenull chrooted in
    base_dir and mail as `mail_user`: dovecot runs neither as root."""
    login = "default_login_user = dovenull" if as_root else f"default_login_user = {mail_user.pw_name}"
    no_chroot = "" if as_root else "  chroot =\n"
    return f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {runtime}/run
state_dir = {runtime}/state
instance_name = helpdesk-test-{port}
log_path = {logs}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
login_trusted_networks = 127.0.0.0/8
default_internal_user = {pwd.getpwuid(os.getuid()).pw_name}
default_internal_group = {grp.getgrgid(os.getgid()).gr_name}
{login}
first_valid_uid = 1
mail_location = maildir:{runtime}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {logs}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_user.pw_uid} gid={mail_user.pw_gid} home={runtime}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
{no_chroot}}}
"""


class Dovecot:
    """dovecot serving one user's INBOX on 127.0.0.1:`port` until `stop()`."""

    def __init__(self, tmp_path: Path):
        as_root = os.getuid() == 0
        self.mail_user = pwd.getpwnam("nobody") if as_root else pwd.getpwuid(os.getuid())
        # Mail and sockets where the unprivileged mail user can reach them (pytest's
        # tmp_path is private to root); configuration and logs in tmp_path.
        self.runtime = Path(tempfile.mkdtemp(prefix="helpdesk-imap-"))
        try:
            self._start(tmp_path, as_root)
        except BaseException:
            shutil.rmtree(self.runtime, ignore_errors=True)
            raise

    def _start(self, tmp_path: Path, as_root: bool) -> None:
        """Write the configuration, start dovecot and wait for its greeting."""
        self.runtime.chmod(0o755)
        (self.runtime / "mail").mkdir()
        os.chown(self.runtime / "mail", self.mail_user.pw_uid, self.mail_user.pw_gid)
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.logs = tmp_path
        (tmp_path / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        self.port = free_port()
        self.conf = tmp_path / "dovecot.conf"
        self.conf.write_text(config(self.runtime, tmp_path, self.port, self.mail_user, as_root))
        self.output = open(tmp_path / "dovecot.out", "wb")  # noqa: SIM115  (closed by stop)
        self.process = subprocess.Popen(
            ["dovecot", "-F", "-c", str(self.conf)], stdout=self.output, stderr=subprocess.STDOUT
        )
        try:
            self._wait()
        except BaseException:
            stop(self.process)
            self.output.close()
            raise

    def _wait(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"dovecot did not answer: {self.log()}")

    def log(self) -> str:
        parts = [self.logs / "dovecot.out", self.logs / "dovecot.log"]
        return "\n".join(path.read_text(errors="replace") for path in parts if path.exists())

    def settings(self, **overrides) -> dict:
        """The IMAP_* configuration that reaches this server."""
        return {
            "IMAP_HOST": "127.0.0.1", "IMAP_PORT": self.port, "IMAP_USERNAME": USER,
            "IMAP_PASSWORD": PASSWORD, "IMAP_TLS": "none", "IMAP_FOLDER": "INBOX",
        } | overrides

    def client(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        imap.login(USER, PASSWORD)
        imap.select("INBOX")
        return imap

    def append(self, *messages: bytes) -> None:
        imap = self.client()
        try:
            for raw in messages:
                status, data = imap.append("INBOX", None, None, raw)
                assert status == "OK", data
        finally:
            imap.logout()

    def flags(self) -> dict[int, set[str]]:
        """Each message's flags, by UID."""
        imap = self.client()
        try:
            _, data = imap.uid("FETCH", "1:*", "(FLAGS)")
        finally:
            imap.logout()
        found = {}
        for line in data:
            text = line.decode()
            uid = int(text.split("UID ")[1].split()[0].rstrip(")"))
            found[uid] = set(text.split("FLAGS (")[1].split(")")[0].split())
        return found

    def stop(self) -> None:
        stop(self.process)
        self.output.close()
        shutil.rmtree(self.runtime, ignore_errors=True)
