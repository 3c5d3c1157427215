"""The in-tree build backend makes a wheel with the package and valid metadata, offline."""
import os
import shutil
import sys
import tempfile
import unittest
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "_build"))

import backend  # noqa: E402


class TestBuild(unittest.TestCase):
    def test_wheel_holds_the_package_and_a_record(self):
        out = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, out, True)
        name = backend.build_wheel(out)
        with zipfile.ZipFile(os.path.join(out, name)) as z:
            names = set(z.namelist())
            record = z.read("autolab_sdk-0.1.0.dist-info/RECORD").decode()
        for f in ("autolab/__init__.py", "autolab/run.py", "autolab/hf.py", "autolab/optim.py", "autolab/_json.py"):
            self.assertIn(f, names)
            self.assertIn(f + ",sha256=", record)
        self.assertTrue(backend.build_sdist(out).endswith(".tar.gz"))


if __name__ == "__main__":
    unittest.main()
