"""The InferenceService admission policy: what it matches and that each rule names its field
(the apiserver runs it: tests/integration/charts/test_charts_upstream_parity.py)."""

from __future__ import annotations

from kserve_controller.api import policy


def test_the_binding_denies_with_the_policy() -> None:
    docs = policy.documents()
    vap = docs["validatingadmissionpolicy_inferenceservices"]
    binding = docs["validatingadmissionpolicybinding_inferenceservices"]
    assert binding["spec"] == {"policyName": vap["metadata"]["name"], "validationActions": ["Deny"]}
    (rule,) = vap["spec"]["matchConstraints"]["resourceRules"]
    assert rule["resources"] == ["inferenceservices"]
    assert rule["operations"] == ["CREATE", "UPDATE"]
    assert vap["spec"]["failurePolicy"] == "Fail"


def test_every_rule_names_a_field() -> None:
    for expression, message in policy.validations():
        assert message.startswith(("spec.", "metadata.annotations[")), message
        assert expression.count("(") == expression.count(")"), expression
