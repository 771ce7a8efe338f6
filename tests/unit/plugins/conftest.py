"""Running a module's main() in-process, as Ansible would, and catching what it reports."""

from __future__ import annotations

import json
from unittest import mock

import pytest
from ansible.module_utils import basic


class ModuleExit(Exception):
    """exit_json or fail_json was called; ``result`` holds what the module reported."""

    def __init__(self, result: dict, failed: bool):
        super().__init__(result.get("msg", ""))
        self.result = result
        self.failed = failed


def _exit(self, **result):  # pylint: disable=unused-argument
    raise ModuleExit(result, failed=False)


def _fail(self, msg, **result):  # pylint: disable=unused-argument
    raise ModuleExit(dict(result, msg=msg), failed=True)


@pytest.fixture(name="run_module")
def run_module_fixture():
    """run_module(main, args, check_mode=False) -> ModuleExit (result, failed)."""

    def run(main, args: dict, check_mode: bool = False) -> ModuleExit:
        payload = dict({"_ansible_check_mode": check_mode, "_ansible_diff": False}, **args)
        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": payload}).encode()), \
                mock.patch.object(basic, "_ANSIBLE_PROFILE", "legacy", create=True), \
                mock.patch.object(basic.AnsibleModule, "exit_json", _exit), \
                mock.patch.object(basic.AnsibleModule, "fail_json", _fail):
            with pytest.raises(ModuleExit) as exited:
                main()
        return exited.value

    return run
