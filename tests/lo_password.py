"""Save a workbook with a password, through LibreOffice, as a gestionnaire would.

    /usr/bin/python3 tests/lo_password.py SOURCE TARGET FILTER PROFILE_URL [SOFFICE]

FILTER is LibreOffice's export filter: « MS Excel 97 » (.xls: a FILEPASS record, RC4),
« calc8 » (.ods: the manifest's encryption-data, AES-256). `soffice --convert-to` cannot
set a password, so this script starts soffice listening on a pipe and stores the document
through UNO with a `Password` property. It needs the Python that LibreOffice's UNO bridge
was built for (Debian: /usr/bin/python3 with python3-uno), not the project's venv.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time

import uno  # type: ignore[import-not-found]
from com.sun.star.beans import PropertyValue  # type: ignore[import-not-found]


def _prop(name: str, value: object) -> PropertyValue:
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def save_with_password(
    source: str, target: str, filter_name: str, profile: str, soffice: str
) -> None:
    pipe = f"mentorat{os.getpid()}"
    process = subprocess.Popen(
        [soffice, f"-env:UserInstallation={profile}", "--headless", "--invisible",
         "--norestore", f"--accept=pipe,name={pipe};urp;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local
        )
        for _ in range(200):  # soffice takes a few seconds to listen
            try:
                remote = resolver.resolve(f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext")
                break
            except Exception:
                time.sleep(0.25)
        else:
            raise SystemExit("LibreOffice ne répond pas")
        desktop = remote.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.Desktop", remote
        )
        url = uno.systemPathToFileUrl(os.path.abspath(source))
        doc = desktop.loadComponentFromURL(url, "_blank", 0, (_prop("Hidden", True),))
        doc.storeToURL(
            uno.systemPathToFileUrl(os.path.abspath(target)),
            (_prop("FilterName", filter_name), _prop("Password", "secret")),
        )
        doc.close(True)
        with contextlib.suppress(Exception):  # the bridge closes as soffice quits
            desktop.terminate()
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()


if __name__ == "__main__":
    src, dst, filt, prof = sys.argv[1:5]
    save_with_password(src, dst, filt, prof, sys.argv[5] if len(sys.argv) > 5 else "soffice")
