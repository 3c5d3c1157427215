"""A standard-library PEP 517 backend, so `pip install ./python` builds offline: no setuptools or
wheel to download (pip's isolated build environment installs nothing, `requires = []`)."""
import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME, DIST, VERSION = "autolab-sdk", "autolab_sdk", "0.1.0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
METADATA = f"""Metadata-Version: 2.1
Name: {NAME}
Version: {VERSION}
Summary: The trainer side of the autolab trainer contract, and a Hugging Face callback. Standard library only.
Requires-Python: >=3.9
Provides-Extra: hf
Requires-Dist: transformers; extra == "hf"
"""
WHEEL = f"Wheel-Version: 1.0\nGenerator: autolab-backend {VERSION}\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def _package_files():
    for name in sorted(os.listdir(os.path.join(ROOT, "autolab"))):
        if name.endswith(".py"):
            yield f"autolab/{name}"


def _digest(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    info = os.path.join(metadata_directory, f"{DIST}-{VERSION}.dist-info")
    os.makedirs(info, exist_ok=True)
    with open(os.path.join(info, "METADATA"), "w") as f:
        f.write(METADATA)
    with open(os.path.join(info, "WHEEL"), "w") as f:
        f.write(WHEEL)
    return os.path.basename(info)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    filename = f"{DIST}-{VERSION}-py3-none-any.whl"
    info = f"{DIST}-{VERSION}.dist-info"
    entries = []
    for rel in _package_files():
        with open(os.path.join(ROOT, rel), "rb") as f:
            entries.append((rel, f.read()))
    entries += [(f"{info}/METADATA", METADATA.encode()), (f"{info}/WHEEL", WHEEL.encode())]
    record = "".join(f"{p},{_digest(d)},{len(d)}\n" for p, d in entries) + f"{info}/RECORD,,\n"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as z:
        for p, d in entries + [(f"{info}/RECORD", record.encode())]:
            z.writestr(p, d)
    return filename


def build_sdist(sdist_directory, config_settings=None):
    base = f"{DIST}-{VERSION}"
    filename = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as t:
        for rel in ["pyproject.toml", "_build/backend.py", *_package_files()]:
            t.add(os.path.join(ROOT, rel), arcname=f"{base}/{rel}")
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = METADATA.encode()
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return filename
