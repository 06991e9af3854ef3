"""The providers' own batch engines, emulated: OpenAI files + batches, and Gemini batch mode.

A job moves one state forward each time it is polled (OpenAI: validating → in_progress → completed; Gemini:
PENDING → RUNNING → SUCCEEDED), so a client has to poll with patience. Each request in a job is answered as the
live endpoint would answer it (scripted reply, JSON for a schema, or the echo). A model whose scenario has a
`status` fault fails the whole job, the way a provider rejects a batch.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from junior_ai.ai.simulator.scenario import count_tokens, echo_reply, json_reply
from junior_ai.ai.simulator.state import SimulatorState
from junior_ai.ai.simulator.wire import Answer, GeminiWire, OpenAIWire

_OPENAI_STATES = ["validating", "in_progress", "finalizing", "completed"]
_GEMINI_STATES = ["BATCH_STATE_PENDING", "BATCH_STATE_RUNNING", "BATCH_STATE_SUCCEEDED"]


@dataclass
class Job:
    id: str
    provider: str
    model: str
    requests: list[dict[str, Any]]
    polls: int = 0
    failed: str | None = None
    created: float = field(default_factory=time.time)


class BatchEngine:
    def __init__(self, state: SimulatorState) -> None:
        self.state = state
        self.files: dict[str, bytes] = {}
        self.jobs: dict[str, Job] = {}
        self.created_jobs = 0
        self._lock = threading.Lock()

    # --- answering one request the way the live endpoint would ---

    def _answer(self, model: str, prompt: str, schema: dict[str, Any] | None) -> str:
        scenario = self.state.scenario_for(model)
        return self.state.next_reply(model, scenario, prompt) or (
            json_reply(schema) if schema is not None else echo_reply(model, prompt)
        )

    def _job_fault(self, model: str) -> str | None:
        fault = self.state.scenario_for(model).fault
        if fault is not None and fault.kind == "status":
            return fault.message or f"simulated batch failure (HTTP {fault.status})"
        return None

    # --- OpenAI: /v1/files, /v1/batches ---

    def reset(self) -> None:
        with self._lock:
            self.files.clear()
            self.jobs.clear()
            self.created_jobs = 0

    async def upload_file(self, request: Request) -> Response:
        async with request.form() as form:  # closes the spooled upload when done
            upload: Any = form.get("file")
            content = await upload.read()
            filename, purpose = getattr(upload, "filename", "batch.jsonl"), form.get("purpose")
        file_id = "file-" + secrets.token_hex(6)
        with self._lock:
            self.files[file_id] = content
        return JSONResponse(
            {
                "id": file_id,
                "object": "file",
                "bytes": len(content),
                "created_at": int(time.time()),
                "filename": filename,
                "purpose": purpose,
                "status": "processed",
            }
        )

    async def file_content(self, request: Request) -> Response:
        content = self.files.get(request.path_params["file_id"])
        if content is None:
            return JSONResponse(OpenAIWire().error_body(404, "no such file"), status_code=404)
        return Response(content, media_type="application/jsonl")

    async def create_openai_batch(self, request: Request) -> Response:
        body = await request.json()
        lines = [
            json.loads(line) for line in self.files.get(body.get("input_file_id", ""), b"").splitlines() if line.strip()
        ]
        if not lines:
            return JSONResponse(
                OpenAIWire().error_body(400, "input_file_id names no uploaded JSONL file"), status_code=400
            )
        job = Job(
            id="batch_" + secrets.token_hex(6), provider="openai", model=lines[0]["body"]["model"], requests=lines
        )
        with self._lock:
            self.jobs[job.id] = job
            self.created_jobs += 1
        return JSONResponse(self._openai_view(job))

    async def get_openai_batch(self, request: Request) -> Response:
        job = self.jobs.get(request.path_params["batch_id"])
        if job is None:
            return JSONResponse(OpenAIWire().error_body(404, "no such batch"), status_code=404)
        self._advance(job)
        return JSONResponse(self._openai_view(job))

    def _openai_view(self, job: Job) -> dict[str, Any]:
        state = "failed" if job.failed else _OPENAI_STATES[min(job.polls, len(_OPENAI_STATES) - 1)]
        view: dict[str, Any] = {
            "id": job.id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "input_file_id": "file-in",
            "completion_window": "24h",
            "status": state,
            "created_at": int(job.created),
            "request_counts": {
                "total": len(job.requests),
                "completed": len(job.requests) if state == "completed" else 0,
                "failed": 0,
            },
        }
        if job.failed:
            view["errors"] = {"object": "list", "data": [{"code": "batch_failed", "message": job.failed}]}
        if state == "completed":
            view["output_file_id"] = self._openai_output(job)
        return view

    def _openai_output(self, job: Job) -> str:
        file_id = f"file-out-{job.id}"
        if file_id not in self.files:
            wire = OpenAIWire()
            lines = []
            for line in job.requests:
                body = line["body"]
                prompt = next((m["content"] for m in reversed(body["messages"]) if m["role"] == "user"), "")
                text = self._answer(body["model"], prompt, wire.json_schema(body))
                omit = self.state.scenario_for(body["model"]).omit_usage
                answer = Answer(body["model"], text, wire.prompt_tokens(body), omit_usage=omit)
                lines.append(
                    json.dumps(
                        {
                            "id": "batch_req_" + secrets.token_hex(4),
                            "custom_id": line["custom_id"],
                            "response": {"status_code": 200, "body": wire.completion(answer)},
                            "error": None,
                        }
                    )
                )
            self.files[file_id] = ("\n".join(lines) + "\n").encode()
        return file_id

    # --- Gemini: models/{model}:batchGenerateContent, batches/{id} ---

    async def create_gemini_batch(self, request: Request, model: str) -> Response:
        body = await request.json()
        requests = body.get("batch", {}).get("inputConfig", {}).get("requests", {}).get("requests", [])
        if not requests:
            return JSONResponse(GeminiWire().error_body(400, "batch has no inlined requests"), status_code=400)
        job = Job(id="batches/" + secrets.token_hex(6), provider="gemini", model=model, requests=requests)
        with self._lock:
            self.jobs[job.id] = job
            self.created_jobs += 1
        return JSONResponse(self._gemini_view(job))

    async def get_gemini_batch(self, request: Request) -> Response:
        job = self.jobs.get("batches/" + request.path_params["batch_id"])
        if job is None:
            return JSONResponse(GeminiWire().error_body(404, "no such batch"), status_code=404)
        self._advance(job)
        return JSONResponse(self._gemini_view(job))

    def _gemini_view(self, job: Job) -> dict[str, Any]:
        state = "BATCH_STATE_FAILED" if job.failed else _GEMINI_STATES[min(job.polls, len(_GEMINI_STATES) - 1)]
        metadata: dict[str, Any] = {
            "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
            "model": f"models/{job.model}",
            "state": state,
        }
        view: dict[str, Any] = {"name": job.id, "metadata": metadata}
        if job.failed:
            view["error"] = {"code": 400, "message": job.failed}
        if state == "BATCH_STATE_SUCCEEDED":
            wire = GeminiWire()
            responses = []
            for item in job.requests:
                inner = item.get("request", {})
                prompt = "".join(p.get("text", "") for c in inner.get("contents", []) for p in c.get("parts", []))
                text = self._answer(job.model, prompt, wire.json_schema(inner))
                omit = self.state.scenario_for(job.model).omit_usage
                answer = Answer(job.model, text, count_tokens(prompt), omit_usage=omit)
                responses.append({"response": wire.completion(answer), "metadata": item.get("metadata", {})})
            metadata["output"] = {"inlinedResponses": {"inlinedResponses": responses}}
        return view

    def _advance(self, job: Job) -> None:
        with self._lock:
            job.polls += 1
            if job.polls >= 1 and job.failed is None:
                job.failed = self._job_fault(job.model)
