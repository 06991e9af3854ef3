"""Jobs: tool calls whose work continues after the host's deadline, collected later (`collect`).

- `model`: the stored record (JSON-able; any store can keep it).
- `store`: the `JobStore` seam and its in-process implementation.
- `runner`: starts work as a job, waits for it up to a deadline, detaches it, collects and cancels it.
- `observe`: what a running job has produced so far (answers, text still arriving).
- `snapshot`: what the host gets for a job still running, and the text telling it to call `collect`.
"""
