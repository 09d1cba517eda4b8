"""OpenAPI links: how the answer of one operation addresses the next (create a scope, then read it).

They document the API's flows for the banks' developers and let schemathesis walk them statefully.
A link whose operation is missing from the schema fails the schema's generation, so a renamed view
cannot leave a link pointing nowhere.
"""

from __future__ import annotations

from typing import Any


def _to(operation: str, **parameters: str) -> dict[str, Any]:
    return {"operationId": operation, "parameters": parameters}


SCOPE = {"code": "$response.body#/code"}
CAPABILITY = {"code": "$response.body#/code"}
ENDPOINT = {"id": "$response.body#/id"}
EVENT = {"id": "$response.body#/id"}
CONSENT = {"id": "$response.body#/id"}
FIRST_CONSENT = {"id": "$response.body#/results/0/id"}

# (operation, status) -> {link name: (target operation, its parameters from this answer)}
LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {
    ("v1_scopes_create", "201"): {
        "GetScope": _to("v1_scopes_retrieve", **SCOPE),
        "ChangeScope": _to("v1_scopes_partial_update", **SCOPE),
    },
    ("v1_scopes_partial_update", "200"): {"GetScope": _to("v1_scopes_retrieve", **SCOPE)},
    ("v1_capabilities_create", "201"): {
        "GetCapability": _to("v1_capabilities_retrieve", **CAPABILITY),
        "ChangeCapability": _to("v1_capabilities_partial_update", **CAPABILITY),
    },
    ("v1_webhook_endpoints_create", "201"): {
        "GetEndpoint": _to("v1_webhook_endpoints_retrieve", **ENDPOINT),
        "ChangeEndpoint": _to("v1_webhook_endpoints_partial_update", **ENDPOINT),
        "RotateEndpointSecret": _to("v1_webhook_endpoints_rotate_secret_create", **ENDPOINT),
        "ReplayEndpoint": _to("v1_webhook_endpoints_replay_create", **ENDPOINT),
        "DeleteEndpoint": _to("v1_webhook_endpoints_destroy", **ENDPOINT),
    },
    ("v1_webhook_endpoints_partial_update", "200"): {"GetEndpoint": _to("v1_webhook_endpoints_retrieve", **ENDPOINT)},
    ("v1_events_create", "202"): {"GetEvent": _to("v1_events_retrieve", **EVENT)},
    ("v1_events_create", "200"): {"GetEvent": _to("v1_events_retrieve", **EVENT)},
    ("v1_consents_list", "200"): {
        "GetFirstConsent": _to("v1_consents_retrieve", **FIRST_CONSENT),
        "AttestFirstConsentDeletion": _to("v1_consents_deletion_attestation_create", **FIRST_CONSENT),
    },
    ("v1_consents_retrieve", "200"): {
        "AttestDeletion": _to("v1_consents_deletion_attestation_create", **CONSENT),
    },
}


def add_links(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Put `LINKS` into the schema's responses (a drf-spectacular postprocessing hook)."""
    operations = {
        operation["operationId"]: operation
        for item in result.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for (source, status), links in LINKS.items():
        targets = [link["operationId"] for link in links.values()]
        missing = [name for name in (source, *targets) if name not in operations]
        if missing:
            raise LookupError(f"OpenAPI links name operations the schema lacks: {', '.join(missing)}")
        response = operations[source]["responses"][status]
        response["links"] = {**response.get("links", {}), **links}
    return result
