"""The .pth hook: inert without DRUM_MONITOR_PATCH=1; with it, DRUM's ResourceMonitor is ours in
the process, a forked child and a spawned child, and DRUM's Flask app gets the request hooks."""
import glob
import json
import os
import site
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE_DRUM = os.path.join(HERE, "fake_drum")
PROBE = os.path.join(HERE, "scripts", "patch_probe.py")
OURS = "drum_monitor_client.patch.PatchedResourceMonitor"
ORIGINAL = "datarobot_drum.drum.resource_monitor.ResourceMonitor"


def installed_pth():
    for directory in site.getsitepackages() + [site.getusersitepackages()]:
        found = glob.glob(os.path.join(directory, "drum_monitor_client.pth"))
        if found:
            return found[0]
    return None


def run_probe(env_extra, *args):
    if installed_pth() is None:
        pytest.fail("drum_monitor_client.pth is not in this interpreter's site-packages: "
                    "install the package with pip (tests/run.sh does)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DRUM_MONITOR_")}
    env.update(env_extra)
    env["PYTHONPATH"] = FAKE_DRUM
    done = subprocess.run([sys.executable, PROBE] + list(args), env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout.decode().strip().splitlines()[-1]), done.stderr.decode()


def test_the_hook_is_one_inert_line():
    with open(installed_pth() or pytest.fail("package not installed")) as f:
        lines = f.read().splitlines()
    assert len(lines) == 1 and lines[0].startswith("import os; ")
    assert 'os.environ.get("DRUM_MONITOR_PATCH") == "1" and ' in lines[0]


def test_without_the_variable_drum_is_untouched():
    result, _ = run_probe({})
    for where in ("main", "forked", "spawned"):
        assert result[where]["class"] == ORIGINAL, where
        assert result[where]["module_class"] == ORIGINAL
        assert result[where]["flask_hooks"] is False
    assert "drum_monitor_client" not in subprocess.run(
        [sys.executable, "-c", "import sys; print(sorted(sys.modules))"], stdout=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "DRUM_MONITOR_PATCH"}).stdout.decode()


@pytest.mark.parametrize("early", [False, True])
def test_with_the_variable_every_process_uses_the_drop_in(early):
    result, _ = run_probe({"DRUM_MONITOR_PATCH": "1"}, *(["--early"] if early else []))
    pids = set()
    for where in ("main", "forked", "spawned"):
        assert result[where]["class"] == OURS, where
        assert result[where]["module_class"] == OURS, where
        assert result[where]["scope"] == "tree"
        assert result[where]["flask_hooks"] is True, where
        pids.add(result[where]["pid"])
    assert len(pids) == 3


def test_other_values_do_not_patch():
    result, _ = run_probe({"DRUM_MONITOR_PATCH": "0"})
    assert result["main"]["class"] == ORIGINAL


def test_requests_off_and_options_from_the_environment():
    result, _ = run_probe({"DRUM_MONITOR_PATCH": "1", "DRUM_MONITOR_REQUESTS": "0", "DRUM_MONITOR_SCOPE": "self"})
    assert result["main"]["class"] == OURS
    assert result["main"]["flask_hooks"] is False
    assert result["main"]["scope"] == "self"


def test_a_bad_option_warns_and_uses_the_default():
    result, stderr = run_probe({"DRUM_MONITOR_PATCH": "1", "DRUM_MONITOR_SCOPE": "galaxy"})
    assert result["main"]["scope"] == "tree"
    assert "DRUM_MONITOR_SCOPE='galaxy'" in stderr


def test_install_patches_modules_already_imported(monkeypatch):
    monkeypatch.syspath_prepend(FAKE_DRUM)
    for name in list(sys.modules):
        if name.startswith("datarobot_drum"):
            monkeypatch.delitem(sys.modules, name)
    import datarobot_drum.drum.resource_monitor as rm

    from drum_monitor_client import patch

    try:
        patch.install()
        assert rm.ResourceMonitor is patch.PatchedResourceMonitor
        assert getattr(rm, patch.ORIGINAL_ATTRIBUTE).__module__ == "datarobot_drum.drum.resource_monitor"
        from datarobot_drum.drum.root_predictors import prediction_server

        assert prediction_server.ResourceMonitor is patch.PatchedResourceMonitor
        patch.install()  # idempotent
        assert sum(isinstance(f, patch._PatchingFinder) for f in sys.meta_path) == 1
    finally:
        patch.uninstall()
        for name in list(sys.modules):
            if name.startswith("datarobot_drum"):
                del sys.modules[name]
