"""Stand-in for ansible-test's get-pip bootstrap script.

ansible-test downloads get-pip.py from a host our machines cannot reach. It runs the script in
an empty virtual environment with pip's install arguments; this stand-in does the same with the
pip that ships with CPython (ensurepip), then installs the requested pip from PyPI.
"""

import ensurepip
import os
import ssl
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

ensurepip.bootstrap(upgrade=True)
args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
# ansible-test runs us with a filtered environment; keep TLS working behind inspecting proxies.
cafile = os.environ.get("PIP_CERT") or ssl.get_default_verify_paths().cafile
for candidate in (cafile, "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"):
    if candidate and os.path.exists(candidate):
        args = ["--cert", candidate] + args
        break
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", *args]))
