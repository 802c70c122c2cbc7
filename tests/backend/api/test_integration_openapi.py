"""The integration API is documented by the app's OpenAPI schema: its routes, bearer scheme and examples."""

from __future__ import annotations

from backend.main import create_app


def test_v1_routes_are_in_the_schema_behind_the_integration_bearer() -> None:
    schema = create_app().openapi()
    scheme = schema["components"]["securitySchemes"]["IntegrationToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "create-token" in scheme["description"] and "shipments:write" in scheme["description"]
    routes = {
        ("/api/v1/customers/{customer_id}", "put"): ("CustomerIn", {"200", "201", "401", "403", "422"}),
        ("/api/v1/shipments/{waybill}", "put"): ("ShipmentIn", {"200", "201", "401", "403", "422"}),
        ("/api/v1/shipments/{waybill}/events", "post"): (
            "EventIn",
            {"200", "201", "401", "403", "404", "422"},
        ),
    }
    for (path, method), (body, codes) in routes.items():
        operation = schema["paths"][path][method]
        assert operation["security"] == [{"IntegrationToken": []}], path
        assert codes <= set(operation["responses"]), path
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref.endswith(f"/{body}")
        assert schema["components"]["schemas"][body]["examples"], body
    event = schema["components"]["schemas"]["EventIn"]
    assert set(event["required"]) == {"event_id", "occurred_at", "code", "location", "description"}
    assert event["properties"]["occurred_at"]["format"] == "date-time"
    responses = schema["paths"]["/api/v1/shipments/{waybill}/events"]["post"]["responses"]
    assert responses["200"]["content"]["application/json"]["example"]["result"] == "replay"
    assert responses["201"]["content"]["application/json"]["example"]["result"] == "created"
