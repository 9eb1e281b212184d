"""The MCP tools over both transports, driven by the ``mcp`` package's own client against a real
``tracesink serve``: ``tracesink mcp`` over stdio (spawned as an agent spawns it) and ``/mcp``
over streamable HTTP. Also: ``/mcp`` refuses what the read routes refuse."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import msgspec
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.support.redis_server import free_port, redis_server_binary, running_redis_server
from tests.support.service import Service, serving
from tracesink.agents.tools import MAX_ANSWER_CHARS

pytestmark = pytest.mark.slow
TOKEN = "mcp-read-token-for-tests"  # noqa: S105  # a test token, not a secret
INGEST_KEY = "pk_mcp_tests"
BIG = 5000  # entries in the big trace: five times the default cap, raised below
TOOLS = {"find_traces", "get_trace", "search", "wait_for_entries"}


def post(service: Service, entries: list[dict[str, Any]]) -> None:
    response = httpx.post(
        f"{service.url}/logs",
        json=entries,
        headers={"x-tracesink-key": INGEST_KEY},
        timeout=30,
    )
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def served() -> Iterator[Service]:
    """A service with a read token, an ingest key, room for a 5,000-entry trace, and a story
    from three systems in trace ``checkout-1``."""
    env = {
        "TRACESINK_READ_TOKEN": TOKEN,
        "TRACESINK_INGEST_KEYS": f"{INGEST_KEY}=*",
        "TRACESINK_MAX_TRACE_ENTRIES": str(BIG + 100),
        "TRACESINK_TRACE_LIMIT": str(BIG * 2),
        "TRACESINK_GLOBAL_LIMIT": str(BIG * 10),
    }
    with serving(env) as service:
        post(
            service,
            [
                {"trace_id": "checkout-1", "system": "browser", "message": "click Pay"},
                {
                    "trace_id": "checkout-1",
                    "system": "worker",
                    "message": "POST /api/pay",
                    "context": {"order": 4711},
                },
                {
                    "trace_id": "checkout-1",
                    "system": "convex",
                    "level": "error",
                    "message": "card declined: insufficient funds",
                    "stack": "Error: card declined\n    at charge (pay.ts:12:3)\n"
                    "    at run (node_modules/convex/x.js:1:1)",
                },
                {"trace_id": "other-2", "system": "browser", "message": "page view"},
            ],
        )
        padding = "x" * 120
        for start in range(0, BIG, 500):
            post(
                service,
                [
                    {
                        "trace_id": "big-3",
                        "system": ("browser", "worker", "convex")[n % 3],
                        "message": f"m-{n:05d} {padding}",
                        "context": {"n": n, "pad": padding},
                    }
                    for n in range(start, start + 500)
                ],
            )
        yield service


@contextlib.asynccontextmanager
async def over_http(service: Service, token: str | None = TOKEN) -> AsyncIterator[ClientSession]:
    headers = {"authorization": f"Bearer {token}"} if token else None
    async with (
        create_mcp_http_client(headers=headers) as http,
        streamable_http_client(f"{service.url}/mcp", http_client=http) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


@contextlib.asynccontextmanager
async def over_stdio(service: Service, token: str | None = TOKEN) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "tracesink", "mcp", "--url", service.url],
        # The client passes on a few variables only (PATH, HOME …): coverage's own too, so the
        # server process is measured as every other tracesink process of the suite is.
        env=coverage_env() | ({"TRACESINK_READ_TOKEN": token} if token else {}),
    )
    with tempfile.TemporaryFile("w+") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


def coverage_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("COVERAGE_")}


TRANSPORTS = {"http": over_http, "stdio": over_stdio}


async def call(session: ClientSession, tool: str, **arguments: Any) -> str:
    result = await session.call_tool(tool, arguments)
    text: str = result.content[0].text  # type: ignore[union-attr]
    assert not result.is_error, text
    assert len(text) <= MAX_ANSWER_CHARS
    return text


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_both_transports_list_the_four_read_only_tools(
    served: Service, transport: str
) -> None:
    """Each transport lists the same tools, each marked read-only and described."""
    async with TRANSPORTS[transport](served) as session:
        listed = (await session.list_tools()).tools
    assert {tool.name for tool in listed} == TOOLS
    for tool in listed:
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is True
        assert (tool.description or "").startswith("Use ")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_the_tools_tell_a_story_from_three_systems(served: Service, transport: str) -> None:
    """find_traces lists the trace with its systems and first error; get_trace tells it in
    order with relative times, the stack folded; search finds the entry across traces; json
    gives the stored fields."""
    async with TRANSPORTS[transport](served) as session:
        found = await call(session, "find_traces", since="all", limit=5)
        story = await call(session, "get_trace", trace_id="checkout-1")
        searched = await call(session, "search", text="DECLINED", since="all")
        errors_only = await call(session, "get_trace", trace_id="checkout-1", level="error")
        exact = await call(session, "get_trace", trace_id="checkout-1", format="json")
        listing = await call(session, "find_traces", since="all", system="convex", format="json")
    assert "trace checkout-1" in found
    assert "other-2" in found
    assert found.splitlines()[1].startswith("systems: ")
    assert "convex " in found.splitlines()[1]
    assert "first error:" in found
    assert "card declined" in found
    lines = story.splitlines()
    assert lines[1] == "systems: browser 1, worker 1, convex 1 | levels: error 1, log 2"
    body = [line for line in lines if line.startswith("+")]
    assert [line.split()[1] for line in body] == ["browser", "worker", "convex"]
    assert body[0].startswith("+0.000s browser log click Pay")
    assert "ERROR card declined" in body[2]
    assert "at charge (pay.ts:12:3)" in story
    assert "node_modules" not in story
    assert 'context: {"order":4711}' in story
    assert story.endswith("[end of trace]")
    assert "[checkout-1]" in searched
    assert "card declined" in searched
    assert "click Pay" not in errors_only
    assert "card declined" in errors_only
    document = msgspec.json.decode(exact)
    assert [item["system"] for item in document["items"]] == ["browser", "worker", "convex"]
    assert document["next_cursor"] is None
    assert {t["trace_id"] for t in msgspec.json.decode(listing)["items"]} >= {"checkout-1"}
    assert "other-2" not in listing


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_5000_entry_trace_comes_in_bounded_pages_that_reach_its_end(
    served: Service, transport: str
) -> None:
    """No answer exceeds MAX_ANSWER_CHARS; each cut answer names the next page's cursor, and
    following the cursors returns every entry once, in order, to the end."""
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    async with TRANSPORTS[transport](served) as session:
        while True:
            arguments: dict[str, Any] = {"trace_id": "big-3", "limit": 1000}
            if cursor is not None:
                arguments["cursor"] = cursor
            page = await call(session, "get_trace", **arguments)
            pages += 1
            seen.extend(word for word in page.split() if word.startswith("m-"))
            if page.endswith("[end of trace]"):
                break
            assert "Next page: get_trace(" in page
            cursor = page.rsplit('cursor="', 1)[1].split('"', 1)[0]
            assert pages < 100
    assert seen == [f"m-{n:05d}" for n in range(BIG)]
    assert pages > 5  # the character budget cut the pages, not the entry limit


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_wait_for_entries_returns_an_entry_sent_after_it_was_called(
    served: Service, transport: str
) -> None:
    """wait_for_entries blocks until an entry arrives, and returns it (not the trace's older
    entries), with a cursor to wait again; entries are sent until it answers, so the test
    does not guess when the wait began."""
    trace = f"wait-{transport}"
    post(served, [{"trace_id": trace, "system": "worker", "message": "before the wait"}])
    answer: list[str] = []
    async with TRANSPORTS[transport](served) as session:

        async def wait() -> None:
            answer.append(await call(session, "wait_for_entries", trace_id=trace, timeout_s=60))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(wait)
            n = 0
            while not answer:
                await anyio.sleep(0.3)
                post(served, [{"trace_id": trace, "system": "browser", "message": f"late-{n}"}])
                n += 1
    assert "late-" in answer[0]
    assert "before the wait" not in answer[0]
    assert f'wait_for_entries(trace_id="{trace}", since="' in answer[0]


async def test_wait_for_entries_without_a_trace_follows_a_filter(served: Service) -> None:
    """Without a trace id the wait covers every trace, filtered (here: errors only), and
    times out with a clear answer when nothing comes."""
    async with over_http(served) as session:
        quiet = await call(session, "wait_for_entries", system="nosuch", timeout_s=0.5)
        answer: list[str] = []

        async def wait() -> None:
            answer.append(await call(session, "wait_for_entries", level="error", timeout_s=60))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(wait)
            n = 0
            while not answer:
                await anyio.sleep(0.3)
                post(served, [{"trace_id": f"any-{n}", "system": "worker", "message": "calm"}])
                post(
                    served,
                    [{"trace_id": f"any-{n}", "level": "error", "message": f"boom-{n}"}],
                )
                n += 1
    assert quiet.startswith("No new entries in any trace, system=nosuch within 0.5s")
    assert "boom-" in answer[0]
    assert "calm" not in answer[0]
    assert "[any-" in answer[0]


async def test_a_refused_read_is_a_tool_error_that_says_what_to_do(served: Service) -> None:
    """An unknown trace, a bad filter, a stdio server without the token or with no service to
    reach, each come back as a tool error whose text says what happened."""
    async with over_http(served) as session:
        missing = await session.call_tool("get_trace", {"trace_id": "never-written"})
        bad = await session.call_tool("search", {"text": "x", "since": "yesterday"})
    async with over_stdio(served, token=None) as session:
        tokenless = await session.call_tool("find_traces", {})
    async with over_stdio(served) as session:
        unknown = await session.call_tool("get_trace", {"trace_id": "never-written"})
        bad_live = await session.call_tool(
            "wait_for_entries", {"system": "Not A System", "since": "all", "timeout_s": 5}
        )
    nobody = Service(served.process, f"http://127.0.0.1:{free_port()}")
    async with over_stdio(nobody) as session:
        unreachable = await session.call_tool("find_traces", {})
    assert missing.is_error
    assert "no trace never-written" in str(missing.content)
    assert bad.is_error
    assert "since must be" in str(bad.content)
    assert tokenless.is_error
    assert "TRACESINK_READ_TOKEN" in str(tokenless.content)
    assert unknown.is_error
    assert "no trace never-written" in str(unknown.content)
    assert bad_live.is_error
    assert "/live answered 400: system 'Not A System' is not valid" in str(bad_live.content)
    assert unreachable.is_error
    assert "cannot reach tracesink at http://127.0.0.1:" in str(unreachable.content)


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "tools/list",
}
MCP_HEADERS = {"content-type": "application/json", "accept": "application/json, text/event-stream"}


def mcp_and_read(service: Service, headers: dict[str, str]) -> tuple[int, int]:
    """The status of a POST /mcp and of a GET /traces sent with the same headers."""
    both = {**MCP_HEADERS, **headers}
    mcp = httpx.post(f"{service.url}/mcp", json=INITIALIZE, headers=both, timeout=10)
    read = httpx.get(f"{service.url}/traces", headers=headers, timeout=10)
    return mcp.status_code, read.status_code


def test_mcp_refuses_what_the_read_routes_refuse_with_a_token(served: Service) -> None:
    """With a read token: none, a wrong one, or the ingest key (as a bearer or as the ingest
    header) is refused by /mcp as by GET /traces; the token is let in; a Host no deployment
    serves is refused by the SDK's DNS-rebinding protection (421); a GET (the stream a stateful
    server would hold open) is refused with 405."""
    for headers in (
        {},
        {"authorization": "Bearer wrong-token"},
        {"authorization": f"Bearer {INGEST_KEY}"},
        {"x-tracesink-key": INGEST_KEY},
    ):
        assert mcp_and_read(served, headers) == (401, 401), headers
    assert mcp_and_read(served, {"authorization": f"Bearer {TOKEN}"}) == (200, 200)
    port = served.url.rsplit(":", 1)[1]
    rebound = {"authorization": f"Bearer {TOKEN}", "host": f"attacker.example:{port}"}
    response = httpx.post(
        f"{served.url}/mcp", json=INITIALIZE, headers={**MCP_HEADERS, **rebound}, timeout=10
    )
    assert response.status_code == 421
    stream = httpx.get(
        f"{served.url}/mcp",
        headers={"authorization": f"Bearer {TOKEN}", "accept": "text/event-stream"},
        timeout=10,
    )
    assert stream.status_code == 405  # stateless: no stream held open
    assert stream.headers["allow"] == "POST"


def test_without_a_token_mcp_is_for_this_machine_only() -> None:
    """Without a read token: a loopback request is let in; one through a proxy or naming
    another host is refused by /mcp exactly as by GET /traces."""
    with serving() as service:
        assert mcp_and_read(service, {}) == (200, 200)
        assert mcp_and_read(service, {"x-forwarded-for": "203.0.113.9"}) == (403, 403)
        assert mcp_and_read(service, {"host": "logs.example.com"}) == (403, 403)


def test_a_listed_host_is_served() -> None:
    """TRACESINK_MCP_ALLOWED_HOSTS adds the hosts a deployment serves to the SDK's allowed
    list (with a token, since such a request is not local)."""
    env = {"TRACESINK_READ_TOKEN": TOKEN, "TRACESINK_MCP_ALLOWED_HOSTS": "logs.example.com"}
    with serving(env) as service:
        auth = {"authorization": f"Bearer {TOKEN}"}
        assert mcp_and_read(service, {**auth, "host": "logs.example.com"}) == (200, 200)
        assert mcp_and_read(service, {**auth, "host": "other.example.com"})[0] == 421


def documented_config() -> dict[str, Any]:
    """The Claude Code ``.mcp.json`` stdio entry exactly as docs/agents.md shows it."""
    page = (Path(__file__).parents[2] / "docs" / "agents.md").read_text()
    block = page.split("```json\n", 1)[1].split("```", 1)[0]
    server: dict[str, Any] = msgspec.json.decode(block)["mcpServers"]["tracesink"]
    return server


async def test_the_documented_client_configuration_works(served: Service) -> None:
    """The stdio configuration docs/agents.md gives Claude Code, as a user adds it (the command
    found on PATH, the env variables filled in as the client expands them), starts a server
    whose tools answer."""
    config = documented_config()
    assert (config["command"], config["args"]) == ("tracesink", ["mcp"])
    env = {**config["env"], "TRACESINK_URL": served.url, "TRACESINK_READ_TOKEN": TOKEN}
    venv_bin = str(Path(sys.executable).parent)
    params = StdioServerParameters(
        command=config["command"],
        args=config["args"],
        env={**coverage_env(), **env, "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}"},
    )
    with tempfile.TemporaryFile("w+") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            found = await call(session, "find_traces", since="all")
            prompt = await session.get_prompt("latest_error")  # some trace here has an error
    assert "trace checkout-1" in found
    text = str(prompt.messages[0].content)
    assert "Find the cause of the latest error" in text
    assert "first error:" in text


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_wait_for_entries_with_a_window_returns_what_already_ran(
    served: Service, transport: str
) -> None:
    """The agent ran a test, then asks: since='2m' counts what was logged in the last two
    minutes, so the answer comes at once (not after the timeout), filtered, with a cursor
    from which a second wait returns nothing old."""
    trace = f"ran-{transport}"
    post(
        served,
        [
            {"trace_id": trace, "system": "worker", "message": "test started"},
            {"trace_id": trace, "system": "worker", "level": "error", "message": "assert failed"},
        ],
    )
    async with TRANSPORTS[transport](served) as session:
        with anyio.fail_after(30):  # far below the 60 s the wait may take
            ran = await call(session, "wait_for_entries", since="2m", level="error", timeout_s=60)
        cursor = ran.rsplit('since="', 1)[1].split('"', 1)[0]
        again = await call(session, "wait_for_entries", since=cursor, level="error", timeout_s=1)
    assert "assert failed" in ran
    assert "test started" not in ran
    assert again.startswith("No new entries in any trace, level=error within 1s.")


def call_without_session(service: Service, tool: str, arguments: dict[str, Any]) -> str:
    """One JSON-RPC tools/call POSTed alone: no initialize, no session id."""
    request = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    }
    response = httpx.post(f"{service.url}/mcp", json=request, headers=MCP_HEADERS, timeout=10)
    assert response.status_code == 200, response.text
    text: str = response.json()["result"]["content"][0]["text"]
    return text


async def test_two_instances_on_one_redis_answer_alike() -> None:
    """On a shared Redis, /mcp on instance A reads what instance B stored, waits for an entry
    B stores after the call (the live poll), and B answers a tools/call with no session opened
    first: stateless, any instance answers any request."""
    if redis_server_binary() is None:
        pytest.skip("redis-server is not installed")
    env = {"TRACESINK_INGEST_KEYS": f"{INGEST_KEY}=*"}
    with running_redis_server() as redis:
        shared = {**env, "TRACESINK_STORE": redis.url}
        with serving(shared) as first, serving(shared) as second:
            post(second, [{"trace_id": "shared-1", "system": "worker", "message": "from B"}])
            answer: list[str] = []
            async with over_http(first, token=None) as session:
                story = await call(session, "get_trace", trace_id="shared-1")

                async def wait() -> None:
                    answer.append(
                        await call(session, "wait_for_entries", trace_id="shared-1", timeout_s=60)
                    )

                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(wait)
                    n = 0
                    while not answer:
                        await anyio.sleep(0.3)
                        message = {"trace_id": "shared-1", "system": "browser", "message": f"b-{n}"}
                        post(second, [message])
                        n += 1
            sessionless = call_without_session(second, "get_trace", {"trace_id": "shared-1"})
    assert "worker log from B" in story
    assert "b-" in answer[0]
    assert "from B" not in answer[0]
    assert "worker log from B" in sessionless
