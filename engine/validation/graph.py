"""The flow: gateways cover every case; every element is reachable and can reach an end."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from engine.validation.model import bpmn_name, children, descendants, text
from engine.validation.problems import Problem, element_name, problem

FLOW_NODES = (
    "task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask",
    "businessRuleTask", "callActivity", "subProcess", "transaction", "adHocSubProcess",
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent",
    "boundaryEvent", "exclusiveGateway", "inclusiveGateway", "parallelGateway",
    "eventBasedGateway", "complexGateway",
)
CONDITIONAL_GATEWAYS = ("exclusiveGateway", "inclusiveGateway")


def graph_problems(processes: list[Any]) -> list[Problem]:
    """Gateways without a default, elements that cannot be reached or cannot reach an end."""
    found: list[Problem] = []
    for process in processes:
        # The inside of an ad hoc subprocess has no order: only its own scope is checked.
        for scope in [process, *descendants(process, "subProcess", "transaction")]:
            found.extend(_scope_problems(scope))
        for gateway in descendants(process, *CONDITIONAL_GATEWAYS):
            found.extend(_gateway_problems(gateway))
    return found


def _gateway_problems(gateway: Any) -> list[Problem]:
    scope = gateway.getparent()
    outgoing = [flow for flow in children(scope, "sequenceFlow")
                if flow.get("sourceRef") == gateway.get("id")]
    default = gateway.get("default")
    if len(outgoing) < 2:  # a merging gateway: SpiffWorkflow takes its only flow as default
        return []
    # SpiffWorkflow refuses a non-default flow without a condition.
    uncovered = [flow for flow in outgoing
                 if flow.get("id") != default and not any(
                     text(c) for c in children(flow, "conditionExpression"))]
    if uncovered:
        return [problem("gateway_uncovered", gateway, name=element_name(gateway),
                        flows=", ".join(element_name(flow) for flow in uncovered))]
    if not default:
        return [problem("gateway_no_default", gateway, name=element_name(gateway))]
    return []


def _scope_problems(scope: Any) -> list[Problem]:
    nodes = {node.get("id"): node for node in children(scope, *FLOW_NODES)
             if node.get("id") and _in_flow(node)}
    edges = list(_edges(scope, nodes))
    starts = [i for i, node in nodes.items() if bpmn_name(node) == "startEvent"]
    ends = [i for i, node in nodes.items() if bpmn_name(node) == "endEvent"]
    if not nodes:
        return []
    found = []
    if not starts:
        found.append(problem("no_start_event", scope, name=element_name(scope)))
    if not ends:
        found.append(problem("no_end_event", scope, name=element_name(scope)))
    forward = _reached(starts, edges)
    backward = _reached(ends, [(target, source) for source, target in edges])
    for node_id, node in nodes.items():
        if starts and node_id not in forward:
            found.append(problem("unreachable", node, name=element_name(node)))
        if ends and node_id not in backward:
            found.append(problem("dead_end", node, name=element_name(node)))
    return found


def _in_flow(node: Any) -> bool:
    # Event subprocesses start on their event, compensation handlers on compensation.
    if node.get("triggeredByEvent") == "true" or node.get("isForCompensation") == "true":
        return False
    return not (bpmn_name(node) == "boundaryEvent"
                and children(node, "compensateEventDefinition"))


def _edges(scope: Any, nodes: dict[str, Any]) -> Iterable[tuple[str, str]]:
    for flow in children(scope, "sequenceFlow"):
        if flow.get("sourceRef") in nodes and flow.get("targetRef") in nodes:
            yield flow.get("sourceRef"), flow.get("targetRef")
    catches: dict[str, list[str]] = {}
    for node_id, node in nodes.items():
        if bpmn_name(node) == "boundaryEvent" and node.get("attachedToRef") in nodes:
            yield node.get("attachedToRef"), node_id
        if bpmn_name(node) == "intermediateCatchEvent":
            for link in children(node, "linkEventDefinition"):
                catches.setdefault(str(link.get("name")), []).append(node_id)
    for node_id, node in nodes.items():
        if bpmn_name(node) == "intermediateThrowEvent":
            for link in children(node, "linkEventDefinition"):
                for target in catches.get(str(link.get("name")), []):
                    yield node_id, target


def _reached(starts: list[str], edges: list[tuple[str, str]]) -> set[str]:
    following: dict[str, list[str]] = {}
    for source, target in edges:
        following.setdefault(source, []).append(target)
    reached = set(starts)
    waiting = list(starts)
    while waiting:
        for target in following.get(waiting.pop(), []):
            if target not in reached:
                reached.add(target)
                waiting.append(target)
    return reached
