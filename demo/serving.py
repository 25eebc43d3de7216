"""A web-demo request off the event loop: a worker thread, streamed back, stopped when nobody waits.

Gradio cancels the asyncio task of a request on `job.cancel()` (its `/cancel` route), but a plain
function it runs in a thread pool keeps computing after that. Here the work runs in its own thread
with a `Budget`; cancelling the awaiting task, closing the stream, or `alive()` turning False (a
client that went away) sets the budget's flag, which stops the computation at its next layer
(demo/limits.py), and the stream waits for the thread to end, so the server's one-run-at-a-time
slot frees only when the CPU does.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing

from demo.limits import Budget, DemoError
from demo.state import Demo
from demo.types import Request, Result, Step

POLL = 0.2  # s between looks at alive() while the work runs
# s to wait for a stopped thread: a stop takes one layer, but a model build (a first request's) has
# no check point, and gradio's /cancel answers only after this wait (its clients time out after 5 s)
JOIN = 3.0


async def stream(
    demo: Demo, req: Request, budget: Budget, alive: Callable[[], bool] | None = None
) -> AsyncIterator[Step | Result]:
    """Yield the optimization's Steps as they come, then the Result; raises DemoError (one line)."""
    loop, items = asyncio.get_running_loop(), asyncio.Queue()

    def put(item) -> None:
        loop.call_soon_threadsafe(items.put_nowait, item)

    def work() -> None:
        try:
            put(demo.run(req, put, budget))
        except DemoError as err:
            put(err)

    thread = threading.Thread(target=work, name="demo-request", daemon=True)
    thread.start()
    try:
        while True:
            try:
                item = await asyncio.wait_for(items.get(), POLL)
            except asyncio.TimeoutError:
                if alive is not None and not alive():
                    budget.cancel("the client went away")
                continue
            if isinstance(item, DemoError):
                raise item
            yield item
            if isinstance(item, Result):
                return
    finally:
        budget.cancel()  # a closed stream or a cancelled task stops the work; no-op when it is done
        for _ in range(int(JOIN / 0.05)):
            if not thread.is_alive():
                break
            await asyncio.sleep(0.05)


async def run(
    demo: Demo, req: Request, budget: Budget, alive: Callable[[], bool] | None = None
) -> Result:
    """The Result of `stream` (intermediate steps dropped)."""
    async with aclosing(stream(demo, req, budget, alive)) as items:
        async for item in items:
            if isinstance(item, Result):
                return item
    raise DemoError("the request ended without a result")
