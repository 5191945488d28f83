"""Reads template.yaml: routes, functions, tables and environment, with CloudFormation's short tags."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from .config import SECRET_NAME_VARS, TEMPLATE


class _CfnLoader(yaml.SafeLoader):
    """A SafeLoader that turns ``!Ref x`` into ``{"Ref": x}`` and ``!Sub``/``!GetAtt``... into ``Fn::``."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str
    pattern: re.Pattern[str] = field(compare=False)

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    events: Mapping[str, Any]


@dataclass(frozen=True)
class CorsConfiguration:
    """An HTTP API's ``CorsConfiguration`` (names lower-cased, methods upper-cased)."""

    allow_origins: tuple[str, ...]
    allow_headers: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    def allows(self, origin: str) -> bool:
        """API Gateway's origin match: exact (case-insensitive), ``*``, or a ``scheme://*`` wildcard."""
        origin = origin.lower()
        for allowed in self.allow_origins:
            allowed = allowed.lower()
            if allowed == "*" or allowed == origin:
                return True
            if allowed.endswith("://*") and origin.startswith(allowed[:-1]):
                return True
        return False


@dataclass(frozen=True)
class Template:
    doc: Mapping[str, Any]

    @property
    def resources(self) -> Mapping[str, Any]:
        resources: Mapping[str, Any] = self.doc.get("Resources", {})
        return resources

    def functions(self) -> dict[str, Function]:
        out: dict[str, Function] = {}
        for logical_id, res in self.resources.items():
            if res.get("Type") != "AWS::Serverless::Function":
                continue
            props = res.get("Properties", {})
            out[logical_id] = Function(
                logical_id=logical_id,
                code_uri=TEMPLATE.parent / props["CodeUri"],
                handler=props["Handler"],
                events=props.get("Events", {}),
            )
        return out

    def http_routes(self) -> list[Route]:
        """Every ``HttpApi`` event of every function, most specific path first."""
        routes = []
        for fn in self.functions().values():
            for event in fn.events.values():
                if event.get("Type") != "HttpApi":
                    continue
                props = event.get("Properties", {})
                path = props["Path"]
                routes.append(Route(props["Method"].upper(), path, fn.logical_id, _path_regex(path)))
        # Literal segments beat parameters, as API Gateway does.
        routes.sort(key=lambda r: (r.path.count("{"), -len(r.path)))
        return routes

    def schedules(self) -> list[tuple[str, str]]:
        """(function, schedule expression) for every Schedule/ScheduleV2 event."""
        out = []
        for fn in self.functions().values():
            for event in fn.events.values():
                if event.get("Type") in {"Schedule", "ScheduleV2"}:
                    out.append(
                        (
                            fn.logical_id,
                            event["Properties"][
                                "Schedule" if event["Type"] == "Schedule" else "ScheduleExpression"
                            ],
                        )
                    )
        return out

    def websocket_routes(self) -> dict[str, str]:
        """Route key -> function for the (single) WebSocket API: Route -> Integration -> function."""
        ws_apis = {
            name
            for name, res in self.resources.items()
            if res.get("Type") == "AWS::ApiGatewayV2::Api"
            and res.get("Properties", {}).get("ProtocolType") == "WEBSOCKET"
        }
        routes: dict[str, str] = {}
        for res in self.resources.values():
            props = res.get("Properties", {})
            if (
                res.get("Type") != "AWS::ApiGatewayV2::Route"
                or props.get("ApiId", {}).get("Ref") not in ws_apis
            ):
                continue
            target = props.get("Target", {}).get("Fn::Sub", "")
            m = re.fullmatch(r"integrations/\$\{(\w+)\}", target)
            if not m:
                continue
            uri = self.resources[m.group(1)]["Properties"]["IntegrationUri"]
            fn = re.search(r"\$\{(\w+)\.Arn\}", uri["Fn::Sub"] if isinstance(uri, dict) else uri)
            if fn:
                routes[props["RouteKey"]] = fn.group(1)
        return routes

    def layer_dirs(self) -> list[Path]:
        """The ContentUri of every layer: what Lambda would put on the path under /opt/python."""
        return [
            TEMPLATE.parent / res["Properties"]["ContentUri"]
            for res in self.resources.values()
            if res.get("Type") == "AWS::Serverless::LayerVersion"
        ]

    def tables(self) -> dict[str, Mapping[str, Any]]:
        return {
            logical_id: res.get("Properties", {})
            for logical_id, res in self.resources.items()
            if res.get("Type") == "AWS::DynamoDB::Table"
        }

    def cors(self, env: Mapping[str, str]) -> CorsConfiguration | None:
        """The HTTP API's ``CorsConfiguration`` (``None`` when it has none), parameters resolved to their
        defaults; ``CORS_ALLOW_ORIGINS`` in ``env`` (comma-separated) stands in for ``CorsAllowOrigins``."""
        for res in self.resources.values():
            if res.get("Type") != "AWS::Serverless::HttpApi":
                continue
            cors = res.get("Properties", {}).get("CorsConfiguration")
            if not cors:
                return None
            defaults = dict(self.parameter_defaults())
            if env.get("CORS_ALLOW_ORIGINS"):
                defaults["CorsAllowOrigins"] = env["CORS_ALLOW_ORIGINS"]

            return CorsConfiguration(
                allow_origins=_names(cors.get("AllowOrigins"), defaults),
                allow_headers=tuple(h.lower() for h in _names(cors.get("AllowHeaders"), defaults)),
                allow_methods=tuple(m.upper() for m in _names(cors.get("AllowMethods"), defaults)),
                expose_headers=tuple(h.lower() for h in _names(cors.get("ExposeHeaders"), defaults)),
                max_age=int(cors["MaxAge"]) if "MaxAge" in cors else None,
                allow_credentials=bool(cors.get("AllowCredentials", False)),
            )
        return None

    def parameter_defaults(self) -> dict[str, str]:
        return {
            name: str(p["Default"]) for name, p in self.doc.get("Parameters", {}).items() if "Default" in p
        }

    def environment(self, env: Mapping[str, str]) -> dict[str, str]:
        """The Lambda environment (Globals and every function's own) as it would be deployed locally.

        A variable already set in ``env`` wins (that is how local configuration overrides parameter
        defaults); ``!Ref`` of a table resolves to its local table name (the logical id), ``!Ref`` of a
        parameter to its default. Variables naming a secret are dropped when the secret itself is set.
        """
        variables = dict(
            self.doc.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
        )
        # In one process every function shares the environment: add each function's own variables.
        for res in self.resources.values():
            if res.get("Type") == "AWS::Serverless::Function":
                variables.update(res.get("Properties", {}).get("Environment", {}).get("Variables", {}))
        defaults = self.parameter_defaults()
        out: dict[str, str] = {}
        for name, value in variables.items():
            if name in SECRET_NAME_VARS and env.get(SECRET_NAME_VARS[name]):
                continue
            if name in env:
                out[name] = env[name]
                continue
            resolved = self._resolve(value, defaults)
            if resolved is not None:
                out[name] = resolved
        return out

    def _resolve(self, value: Any, defaults: Mapping[str, str]) -> str | None:
        if isinstance(value, str | int | float):
            return str(value)
        if isinstance(value, dict) and "Ref" in value:
            ref = value["Ref"]
            if ref in self.resources:
                return str(ref)
            return defaults.get(ref)
        return None


def _names(value: Any, defaults: Mapping[str, str]) -> tuple[str, ...]:
    """A list property that may be a ``!Ref`` of a comma-delimited parameter (resolved to ``defaults``)."""
    if isinstance(value, dict) and "Ref" in value:
        value = defaults.get(value["Ref"], "")
    if isinstance(value, str):
        value = value.split(",")
    return tuple(str(v).strip() for v in value or () if str(v).strip())


def _path_regex(path: str) -> re.Pattern[str]:
    parts = []
    for segment in path.strip("/").split("/"):
        m = re.fullmatch(r"\{(\w+)(\+?)\}", segment)
        if m and m.group(2):
            parts.append(f"(?P<{m.group(1)}>.+)")
        elif m:
            parts.append(f"(?P<{m.group(1)}>[^/]+)")
        else:
            parts.append(re.escape(segment))
    return re.compile("^/" + "/".join(parts) + "$")


@lru_cache(maxsize=4)
def load_template(path: Path = TEMPLATE) -> Template:
    """Parse template.yaml (cached)."""
    with path.open(encoding="utf-8") as fh:
        doc = yaml.load(fh, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    return Template(doc)
