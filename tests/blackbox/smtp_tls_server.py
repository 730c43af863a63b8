"""An SMTP server for the tests that insists on STARTTLS and AUTH, from
Debian's python3-aiosmtpd: every message it accepts goes to a Maildir.
usage: /usr/bin/python3 smtp_tls_server.py PORT MAILDIR CERT KEY USER PASSWORD"""
import signal
import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword

port, maildir, cert, key, user, password = sys.argv[1:7]


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user and \
        auth_data.password.decode() == password
    return AuthResult(success=ok)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(cert, key)
controller = Controller(Mailbox(maildir), hostname='127.0.0.1', port=int(port),
                        tls_context=context, require_starttls=True,
                        authenticator=authenticator, auth_required=True,
                        auth_require_tls=True)
controller.start()
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
try:
    while True:
        time.sleep(1)
finally:
    controller.stop()
