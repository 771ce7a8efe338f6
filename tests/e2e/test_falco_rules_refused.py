"""Falco rules that Falco itself would refuse, given to site.yml as AWX gives them: refused before the run's first write.

Falco on the nodes would crash-loop on a condition it cannot parse, a macro it cannot find or a macro loop; site.yml
must stop on the controller instead, naming the rules (falco_rules, the item) and the problem, with
nothing written to the cluster or to Kibana. As in test_site_bad_input.py, every case is a host of one inventory (its
falco_rules the case's) and the playbook runs once for all of them.
"""

from __future__ import annotations

import pytest

from e2e.test_site_bad_input import WRITTEN, _inventory, _kibana_writes, _messages  # pylint: disable=import-error

SITE = "playbooks/site.yml"
REFUSED = "in the Falco rules; nothing was assembled"


def _rule(condition):
    return {"rule": "Shell in prod", "desc": "A shell in a production container.", "condition": condition,
            "output": "Shell in prod (cmd=%proc.cmdline)", "priority": "WARNING"}


CASES = [
    ("rules-broken-syntax", [_rule("spawned_process and and container")],
     ["falco_rules, item 1 (rule 'Shell in prod'): the condition does not parse: unexpected token after 'and', expecting "
      "'or', 'and' (line 1, column 25: 'spawned_process and and >>>container')"]),
    ("rules-undefined-macro", [_rule("spawned_process and prod_containers")],
     ["falco_rules, item 1 (rule 'Shell in prod'): the condition uses 'prod_containers', which is not a macro of Falco's "
      "default rules nor of yours (Falco: Undefined macro 'prod_containers' used in filter.)", "Define macro 'prod_containers'"]),
    ("rules-macro-loop", [{"macro": "prod_containers", "condition": "k8s.ns.name = prod"},
                          {"macro": "prod_shells", "condition": "prod_containers and shell_procs"},
                          {"macro": "prod_containers", "override": {"condition": "append"}, "condition": "or prod_shells"},
                          _rule("spawned_process and prod_shells")],
     ["falco_rules, item 3 (macro 'prod_containers'): macro loop prod_containers -> prod_shells -> prod_containers (Falco: "
      "reference loop in macro 'prod_containers')",
      "Remove one of these uses (prod_containers uses prod_shells, prod_shells uses prod_containers)."]),
]


@pytest.fixture(name="outcome", scope="module")
def outcome_fixture():
    return {}


@pytest.fixture(name="refused")
def refused_fixture(outcome, localcluster, playbook, tmp_path_factory, monkeypatch):
    """One site.yml run for every case (hosts fail independently), its messages and what it wrote."""
    if not outcome:
        monkeypatch.setenv("ANSIBLE_CALLBACK_RESULT_FORMAT", "json")
        inventory = _inventory(tmp_path_factory.mktemp("falco-rules"), [(case[0], {"falco_rules": case[1]}) for case in CASES])
        localcluster.clear_requests()
        localcluster.cluster.stack.kibana_hooks.serve("DELETE", "requests", {}, {})
        run = playbook(SITE, localcluster.kubeconfig, "-i", inventory, "--forks", "5", falco_efk_hosts="cases")
        outcome.update(messages=_messages(run.out), writes=localcluster.writes(), kibana_writes=_kibana_writes(localcluster), run=run)
    return outcome


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
@pytest.mark.parametrize("case, rules, fragments", CASES, ids=[case[0] for case in CASES])
def test_site_refuses_rules_falco_would_refuse_before_its_first_write(refused, case, rules, fragments):
    message = refused["messages"].get(case)
    assert message is not None, "%s (%s) did not fail:\n%r" % (case, rules, refused["run"])
    missing = [fragment for fragment in [REFUSED, WRITTEN] + fragments if fragment not in message]
    assert not missing, "%s: %r lacks %r" % (case, message, missing)
    assert message.count(fragments[0]) == 1, "%s: said more than once: %r" % (case, message)
    assert "Traceback" not in message and "argument_spec" not in message, message


@pytest.mark.parametrize("localcluster", [("1.30", "gke", "8")], indirect=True)
def test_no_case_wrote_anything_and_every_case_failed(refused):
    assert refused["writes"] == [], refused["writes"][:5]
    assert refused["kibana_writes"] == []
    assert sorted(refused["messages"]) == sorted(case[0] for case in CASES), refused["run"]


def test_every_case_is_refused_by_the_module_alone():
    """The same cases through the module's own function, so a failure above that is not the check's shows as such."""
    from ansible_collections.seclog.falco_efk.plugins.module_utils import falco_rules  # pylint: disable=import-outside-toplevel

    for case, rules, fragments in CASES:
        problems = falco_rules.assemble(rules, [], "falco_rules")[3]
        assert len(problems) == 1 and fragments[0] in problems[0], (case, problems)
