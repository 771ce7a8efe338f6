"""Input checks the modules share: names Kubernetes would refuse, YAML that does not parse, refused credentials."""

from __future__ import annotations

import pytest

from ansible_collections.seclog.falco_efk.plugins.module_utils import inputs


@pytest.mark.parametrize("name", ["logging", "kube-system", "a", "0logs", "a" * 63])
def test_namespace_names_kubernetes_takes_pass(name):
    assert inputs.name_problems({"namespace": name}, namespaces=["namespace"]) == []


@pytest.mark.parametrize("name", ["Logging_NS", "logging.", "-logging", "logging-", "", "a" * 64, "log ging"])
def test_namespace_names_kubernetes_refuses_are_named_with_their_option(name):
    problems = inputs.name_problems({"es_namespace": name}, namespaces=["es_namespace"])
    assert problems == ["es_namespace: %r is not a namespace name, which must be a DNS label (lower case letters, digits and '-', at "
                        "most 63, starting and ending with a letter or digit). Use a name such as logging." % name]


def test_service_names_must_start_with_a_letter_and_unset_options_are_left_alone():
    assert inputs.name_problems({"kibana_service": "kibana-logging", "es_service": None}, services=["kibana_service", "es_service"]) == []
    problems = inputs.name_problems({"kibana_service": "5601-kibana"}, services=["kibana_service"])
    assert len(problems) == 1 and problems[0].startswith("kibana_service: '5601-kibana' is not a Service name")


def test_yaml_that_does_not_parse_is_named_with_its_line():
    documents, problem = inputs.yaml_documents("kind: Service\nmetadata: {name: [x\n", "src file /x.yaml")
    assert documents == [] and problem.startswith("src file /x.yaml: not valid YAML at line 3, column 1: ")
    assert problem.endswith("Fix the YAML there (yamllint shows it too).")


def test_yaml_documents_leave_out_empty_ones():
    assert inputs.yaml_documents("---\na: 1\n---\n---\nb: 2\n", "x") == ([{"a": 1}, {"b": 2}], None)


def test_refused_credentials_names_the_options_and_where_the_password_is():
    assert inputs.refused_credentials("kibana_") == ("Give kibana_password of kibana_username: the efk role keeps elastic's in the "
                                                     "Secret elasticsearch-logging-elastic of the stack's namespace (key password).")
