"""Which AWS API actions code can call, found statically, and what an IAM policy allows.

The scan reads the modules an app imports (its app.py and, transitively, the hookrelay modules those
import) and collects every call of a boto3 client operation: ``clients.sqs.send_message(...)`` (the
service named by the attribute), ``client.get_secret_value(...)`` in a module that creates
``aws.client("secretsmanager")``, waiters and paginators. Each becomes an IAM action
(``sqs:SendMessage``), with the few whose IAM name differs from the API's mapped.
"""

from __future__ import annotations

import ast
import fnmatch
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
from botocore import xform_name

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "src"
# attribute names the code reaches a client of a service through (hookrelay.aws.clients.Clients)
SERVICE_ATTRIBUTES = {
    "sqs": "sqs",
    "iam": "iam",
    "lambda_": "lambda",
    "logs": "logs",
    "cloudwatch": "cloudwatch",
    "secretsmanager": "secretsmanager",
    "dynamodb": "dynamodb",
    "s3": "s3",
    "sns": "sns",
}
# API operations whose IAM action has another name
IAM_NAMES = {
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "s3:ListObjectsV2": "s3:ListBucket",
    "s3:PutPublicAccessBlock": "s3:PutBucketPublicAccessBlock",
    # a transaction is authorized per item as PutItem/UpdateItem/...; the rollout store's does a Put (and an
    # Update, which the store also calls on its own)
    "dynamodb:TransactWriteItems": "dynamodb:PutItem",
}
# Creating with tags needs the service's tagging permission too.
TAGGING = {
    "sqs": "sqs:TagQueue",
    "iam": "iam:TagRole",
    "lambda": "lambda:TagResource",
    "logs": "logs:TagResource",
    "cloudwatch": "cloudwatch:TagResource",
    "secretsmanager": "secretsmanager:TagResource",
    "dynamodb": "dynamodb:TagResource",
    "s3": "s3:PutBucketTagging",
    "sns": "sns:TagResource",
}
# Calls that make AWS check a second permission: passing a role to Lambda needs iam:PassRole.
IMPLIED = {
    "lambda:CreateFunction": ("iam:PassRole",),
    "lambda:UpdateFunctionConfiguration": ("iam:PassRole",),
}


@cache
def _session() -> Any:
    return botocore.session.get_session()


@cache
def operations(service: str) -> dict[str, str]:
    """snake_case method name -> API operation name."""
    names = _session().get_service_model(service).operation_names
    return {xform_name(name): name for name in names}


@cache
def _waiter_operation(service: str, waiter: str) -> str | None:
    model = _session().get_waiter_model(service)
    for name in model.waiter_names:
        if xform_name(name) == waiter:
            return str(model.get_waiter(name).operation)
    return None


def module_path(module: str) -> Path | None:
    path = CORE / Path(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def _imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("hookrelay.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "hookrelay":
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in found if module_path(m) is not None and m != "hookrelay"}


def closure(roots: Iterable[Path]) -> dict[str, Path]:
    """Every hookrelay module the root files import, transitively: name -> path."""
    seen: dict[str, Path] = {}
    todo = list(roots)
    while todo:
        for module in _imports(ast.parse(todo.pop().read_text())):
            if module not in seen:
                seen[module] = module_path(module)  # type: ignore[assignment]
                todo.append(seen[module])
    return seen


def _service_of(node: ast.expr, local_services: set[str]) -> set[str]:
    if isinstance(node, ast.Attribute) and node.attr in SERVICE_ATTRIBUTES:
        return {SERVICE_ATTRIBUTES[node.attr]}
    if isinstance(node, ast.Name) and node.id in SERVICE_ATTRIBUTES:  # a client passed in as ``sqs``
        return {SERVICE_ATTRIBUTES[node.id]}
    return local_services


def _calls(node: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)]


def _client_services(tree: ast.AST) -> set[str]:
    """Services the module makes clients of by name: ``aws.client("sqs")``."""
    return {
        c.args[0].value
        for c in _calls(tree)
        if c.func.attr == "client"  # type: ignore[attr-defined]
        and c.args
        and isinstance(c.args[0], ast.Constant)
        and c.args[0].value in SERVICE_ATTRIBUTES.values()
    }


def actions_in(node: ast.AST, local: set[str]) -> set[str]:
    """The IAM actions of every boto3 client operation used in ``node`` (called, or taken as a value:
    ``call = client.update_item if ... else client.delete_item``)."""
    found: set[str] = set()
    tagged = {id(c.func) for c in _calls(node) if any(k.arg in ("Tags", "tags") for k in c.keywords)}
    named = {
        id(c.func): c.args[0].value for c in _calls(node) if c.args and isinstance(c.args[0], ast.Constant)
    }
    for attribute in (n for n in ast.walk(node) if isinstance(n, ast.Attribute)):
        for service in _service_of(attribute.value, local):
            argument = named.get(id(attribute))
            if attribute.attr == "get_waiter" and isinstance(argument, str):
                operation = _waiter_operation(service, argument)
            elif attribute.attr == "get_paginator" and isinstance(argument, str):
                operation = operations(service).get(argument)
            else:
                operation = operations(service).get(attribute.attr)
            if operation is not None:
                action = IAM_NAMES.get(f"{service}:{operation}", f"{service}:{operation}")
                found |= {action, *IMPLIED.get(action, ())}
                if id(attribute) in tagged:
                    found.add(TAGGING[service])
    return found


Function = ast.FunctionDef | ast.AsyncFunctionDef


class CallGraph:
    """Functions of a set of modules, what each may call, and the AWS actions in each body.

    Over-approximates on purpose (a missed call would be a missing permission): ``obj.name`` and the
    string ``"name"`` may reach every function or method called ``name``; naming a class reaches its
    ``__init__``/``__post_init__``; a module's top-level code runs when it is imported; a name imported
    inside a function (a lazy import) resolves as one imported at the top.
    So ``d.get(...)`` on a dict reaches every ``get`` method of ours: the few actions that brings in
    without a real call path are listed, with the reason, where the policies are checked.
    """

    def __init__(self, modules: dict[str, Path]) -> None:
        self.defs: dict[str, Function] = {}
        self.bodies: dict[str, ast.AST] = {}
        self.services: dict[str, set[str]] = {}
        self.by_name: dict[str, set[str]] = {}
        self.scope: dict[str, dict[str, str]] = {}  # module -> local name -> "module:def" or "module"
        for module, path in modules.items():
            tree = ast.parse(path.read_text())
            self.services[module] = _client_services(tree)
            scope: dict[str, str] = {}
            top = ast.Module(body=[], type_ignores=[])
            for node in tree.body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self._add(module, node.name, node)
                    scope[node.name] = f"{module}:{node.name}"
                elif isinstance(node, ast.ClassDef):
                    scope[node.name] = f"{module}:{node.name}"
                    for item in node.body:
                        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                            self._add(module, f"{node.name}.{item.name}", item)
                        else:
                            top.body.append(item)
                else:
                    top.body.append(node)
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("hookrelay"):
                    for alias in node.names:
                        target = f"{node.module}.{alias.name}"
                        name = alias.asname or alias.name
                        scope[name] = target if target in modules else f"{node.module}:{alias.name}"
            for node in ast.walk(tree):  # an import inside a function (a lazy one) counts too
                if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("hookrelay"):
                    for alias in node.names:
                        target = f"{node.module}.{alias.name}"
                        name = alias.asname or alias.name
                        scope.setdefault(name, target if target in modules else f"{node.module}:{alias.name}")
            self.bodies[f"{module}:<module>"] = top
            self.scope[module] = scope

    def _add(self, module: str, name: str, node: Function) -> None:
        key = f"{module}:{name}"
        self.defs[key] = node
        self.bodies[key] = node
        self.by_name.setdefault(name.rsplit(".", 1)[-1], set()).add(key)

    def _targets(self, key: str) -> set[str]:
        scope = self.scope[key.split(":", 1)[0]]
        found: set[str] = set()
        for node in ast.walk(self.bodies[key]):
            if isinstance(node, ast.Name) and node.id in scope:
                found.add(scope[node.id])
            elif isinstance(node, ast.Attribute):
                base = scope.get(node.value.id) if isinstance(node.value, ast.Name) else None
                if base is not None and ":" not in base:  # module.attribute
                    found.add(f"{base}:{node.attr}")
                found |= self.by_name.get(node.attr, set())
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                found |= self.by_name.get(node.value, set())
        hooks = ("__init__", "__post_init__", "model_post_init", "__call__")
        found |= {f"{target}.{hook}" for target in found for hook in hooks}  # a class: its constructor
        return {t for t in found if t in self.bodies}

    def reachable(self, roots: Iterable[str]) -> set[str]:
        seen = {r for r in roots if r in self.bodies} | {f"{m}:<module>" for m in self.scope}
        todo = list(seen)
        while todo:
            for target in self._targets(todo.pop()):
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        return seen

    def actions(self, roots: Iterable[str]) -> dict[str, set[str]]:
        """IAM action -> the functions reachable from the roots that call it."""
        by_action: dict[str, set[str]] = {}
        for key in self.reachable(roots):
            for action in actions_in(self.bodies[key], self.services[key.split(":", 1)[0]]):
                by_action.setdefault(action, set()).add(key)
        return by_action


@cache
def app_graph(app: str) -> CallGraph:
    """The call graph of ``<app>/app.py`` and every hookrelay module it imports, transitively."""
    return CallGraph({"app": ROOT / app / "app.py", **closure([ROOT / app / "app.py"])})


@cache
def app_actions(app: str, entries: tuple[str, ...] | None = None) -> dict[str, set[str]]:
    """What the app's Lambda functions can call: from the named app.py functions, or from all of them."""
    graph = app_graph(app)
    every = [k for k in graph.defs if k.startswith("app:")]
    return graph.actions([f"app:{e}" for e in entries] if entries is not None else every)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in policy["Statement"] if s["Effect"] == "Allow"]


def granted_actions(policy: dict[str, Any]) -> set[str]:
    return {a for s in statements(policy) for a in as_list(s["Action"])}


def allows(policy: dict[str, Any], action: str, resource: str | None = None) -> bool:
    """Whether some statement allows the action (and the resource ARN, if given; IAM wildcards) and no
    Deny statement names both (an explicit Deny wins, as in IAM)."""

    def names(statement: dict[str, Any]) -> bool:
        if not any(fnmatch.fnmatchcase(action, a) for a in as_list(statement["Action"])):
            return False
        return resource is None or any(
            re.fullmatch(re.escape(r).replace(r"\*", ".*").replace(r"\?", "."), resource)
            for r in as_list(statement["Resource"])
        )

    if any(names(s) for s in policy["Statement"] if s["Effect"] == "Deny" and resource is not None):
        return False
    return any(names(s) for s in statements(policy))
