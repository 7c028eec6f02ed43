"""PEP 517/660 build backend for drum-monitor-client (standard library only).

Builds a pure-Python wheel from ``src/drum_monitor_client`` plus the top-level
``drum_monitor_client.pth`` import hook, which setuptools cannot place without a custom command.
The metadata lives here, in one place; the version is read from the package's ``__version__``.
"""
import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

NAME = "drum-monitor-client"
DIST = "drum_monitor_client"
SUMMARY = "Client for the drum-monitor daemon, a drop-in ResourceMonitor for DataRobot DRUM, and request metadata for Flask and ASGI"
REQUIRES_PYTHON = ">=3.8"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE_DIR = os.path.join(HERE, "src", DIST)
HOOK = DIST + ".pth"


def _version():
    with open(os.path.join(PACKAGE_DIR, "__init__.py"), encoding="utf-8") as f:
        match = re.search(r'^__version__ = "([^"]+)"$', f.read(), re.M)
    if not match:
        raise RuntimeError("no __version__ in src/drum_monitor_client/__init__.py")
    return match.group(1)


def _metadata():
    with open(os.path.join(HERE, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    return (
        "Metadata-Version: 2.1\n"
        "Name: {}\nVersion: {}\nSummary: {}\nRequires-Python: {}\n"
        "License: Apache-2.0\n"
        "Classifier: Programming Language :: Python :: 3\n"
        "Classifier: Operating System :: POSIX :: Linux\n"
        "Classifier: Typing :: Typed\n"
        "Description-Content-Type: text/markdown\n\n{}"
    ).format(NAME, _version(), SUMMARY, REQUIRES_PYTHON, readme)


def _package_files():
    """(path in the wheel, path on disk) for every shipped file, sorted for reproducible wheels."""
    files = []
    for directory, dirs, names in os.walk(PACKAGE_DIR):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(names):
            if name.endswith((".py", ".typed")):
                disk = os.path.join(directory, name)
                files.append((os.path.relpath(disk, os.path.dirname(PACKAGE_DIR)).replace(os.sep, "/"), disk))
    return files


class _Wheel:
    def __init__(self, path):
        self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self._records = []

    def add(self, arcname, data):
        info = zipfile.ZipInfo(arcname, date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self._zip.writestr(info, data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        self._records.append("{},sha256={},{}".format(arcname, digest, len(data)))

    def close(self, dist_info):
        record = dist_info + "/RECORD"
        lines = self._records + [record + ",,"]
        info = zipfile.ZipInfo(record, date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o644 << 16
        self._zip.writestr(info, "\n".join(lines) + "\n")
        self._zip.close()


def _dist_info_files():
    return {
        "METADATA": _metadata().encode(),
        "WHEEL": b"Wheel-Version: 1.0\nGenerator: drum_monitor_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        "top_level.txt": (DIST + "\n").encode(),
    }


def _build(wheel_directory, editable):
    version = _version()
    dist_info = "{}-{}.dist-info".format(DIST, version)
    filename = "{}-{}-py3-none-any.whl".format(DIST, version)
    wheel = _Wheel(os.path.join(wheel_directory, filename))
    if editable:
        # Sorted before the hook's .pth, so the hook can import the package from the source tree.
        wheel.add("__editable__." + DIST + ".pth", (os.path.dirname(PACKAGE_DIR) + "\n").encode())
    else:
        for arcname, disk in _package_files():
            with open(disk, "rb") as f:
                wheel.add(arcname, f.read())
    with open(os.path.join(HERE, HOOK), "rb") as f:
        wheel.add(HOOK, f.read())
    for name, data in _dist_info_files().items():
        wheel.add(dist_info + "/" + name, data)
    wheel.close(dist_info)
    return filename


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _build(wheel_directory, editable=False)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _build(wheel_directory, editable=True)


def build_sdist(sdist_directory, config_settings=None):
    base = "{}-{}".format(DIST, _version())
    filename = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as tar:
        paths = ["pyproject.toml", "README.md", HOOK, "build_backend/drum_monitor_build.py"]
        paths += [os.path.relpath(disk, HERE) for _, disk in _package_files()]
        for rel in paths:
            tar.add(os.path.join(HERE, rel), arcname=base + "/" + rel.replace(os.sep, "/"))
        pkg_info = _metadata().encode()
        info = tarfile.TarInfo(base + "/PKG-INFO")
        info.size = len(pkg_info)
        tar.addfile(info, io.BytesIO(pkg_info))
    return filename
