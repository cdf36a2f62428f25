"""JSON Schema per event type and an AsyncAPI 3 document, generated from the pydantic models."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import create_model

from shared.events import Envelope, event_types
from shared.events.tasks import WorkItem


def event_schema(event_type: str) -> dict[str, Any]:
    cls = event_types()[event_type]
    model = create_model(
        cls.__name__ + "Event",
        __base__=Envelope,
        type=(Literal[event_type], ...),  # type: ignore[valid-type,arg-type]
        version=(Literal[cls.VERSION], cls.VERSION),  # type: ignore[valid-type,arg-type]
        data=(cls, ...),
    )
    schema = model.model_json_schema()
    schema["$id"] = f"https://huiying.example/schemas/events/{event_type}.json"
    schema["description"] = (cls.__doc__ or event_type).strip()
    return schema


def asyncapi() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type, cls in sorted(event_types().items()):
        name = event_type.replace(".", "_")
        messages[name] = {
            "name": event_type,
            "title": cls.__name__,
            "summary": (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else event_type,
            "contentType": "application/json",
            "payload": {"$ref": f"events/{event_type}.json"},
        }
        channels[name] = {
            "address": event_type,
            "description": f"routing key {event_type} on the topic exchange huiying.events",
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "bindings": {
                "amqp": {"is": "routingKey", "exchange": {"name": "huiying.events", "type": "topic", "durable": True}}
            },
        }
        producer = "intake" if event_type.startswith("request.") else "routing"
        operations[f"{producer}_publishes_{name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{name}"},
            "summary": f"{producer} publishes {event_type} (persistent, publisher confirms)",
        }
    channels["work_item"] = {
        "address": "work.{team_id}",
        "description": "a per-team durable quorum queue fed by the direct exchange huiying.work",
        "parameters": {"team_id": {"description": "the team id, e.g. property_maintenance"}},
        "messages": {
            "work_item": {
                "name": "work_item",
                "contentType": "application/json",
                "payload": WorkItem.model_json_schema(),
            }
        },
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Huiying events",
            "version": "1.0.0",
            "description": "Every event travels in one envelope (shared/events/envelope.py); routing key = event type.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render_all() -> dict[str, str]:
    files = {
        f"{event_type}.json": json.dumps(event_schema(event_type), ensure_ascii=False, indent=2) + "\n"
        for event_type in sorted(event_types())
    }
    files["../asyncapi.json"] = json.dumps(asyncapi(), ensure_ascii=False, indent=2) + "\n"
    return files


def main(*, check: bool, out: str) -> int:
    root = Path(out)
    stale = []
    for name, text in render_all().items():
        path = (root / name).resolve()
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if check and stale:
        print("stale event schemas (run `huiying schemas`): " + ", ".join(stale), file=sys.stderr)
        return 1
    if not check:
        print(f"wrote {len(render_all())} files under {root}")
    return 0
