"""The fault proxies on real loopback sockets (no bench): each mode as a client sees it.

The upstream is a tiny HTTP server in the test; the AWS formats are checked with botocore's own
parser (an aiobotocore client), so what the operator sees through the proxy is what AWS sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import botocore.exceptions
import httpx
import pytest
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from devenv import faultproxy


async def _upstream_handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers every request with its target header; `/chunked` answers chunked."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
            body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
            payload = json.dumps(
                {
                    "target": headers.get("x-amz-target", ""),
                    "path": lines[0].split(" ")[1],
                    "body": body.decode(),
                    "SecretString": "from-upstream",
                    "Name": "db",
                    "ARN": "arn:aws:secretsmanager:us-east-1:000000000000:secret:db",
                }
            ).encode()
            if lines[0].split(" ")[1] == "/chunked":
                half = len(payload) // 2
                chunks = b"".join(
                    f"{len(part):x}\r\n".encode() + part + b"\r\n"
                    for part in (payload[:half], payload[half:])
                )
                writer.write(
                    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                    b"Content-Type: application/json\r\n\r\n" + chunks + b"0\r\n\r\n"
                )
            else:
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\n"
                    + f"Content-Length: {len(payload)}\r\n\r\n".encode()
                    + payload
                )
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


@pytest.fixture
async def upstream() -> AsyncIterator[str]:
    server = await asyncio.start_server(_upstream_handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.close()
    await server.wait_closed()


@pytest.fixture
async def proxy(upstream: str) -> AsyncIterator[faultproxy.AwsFaultProxy]:
    async with faultproxy.AwsFaultProxy(upstream) as running:
        yield running


def _target(operation: str) -> dict[str, str]:
    return {
        "X-Amz-Target": f"secretsmanager.{operation}",
        "Content-Type": "application/x-amz-json-1.1",
    }


@contextlib.asynccontextmanager
async def _secretsmanager(url: str) -> AsyncIterator[object]:
    config = AioConfig(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=2)
    async with get_session().create_client(
        "secretsmanager",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=config,
    ) as client:
        yield client


async def test_pass_relays_and_counts_by_operation(proxy: faultproxy.AwsFaultProxy) -> None:
    async with httpx.AsyncClient(base_url=proxy.url) as http:
        first = await http.post("/", headers=_target("GetSecretValue"), content=b'{"a":1}')
        second = await http.post("/", headers=_target("GetSecretValue"), content=b"{}")
        third = await http.post("/", headers=_target("BatchGetSecretValue"), content=b"{}")
        chunked = await http.post("/chunked", headers=_target("ListSecrets"), content=b"{}")
    assert first.json()["target"] == "secretsmanager.GetSecretValue"
    assert first.json()["body"] == '{"a":1}'
    assert (second.status_code, third.status_code) == (200, 200)
    assert chunked.json()["path"] == "/chunked"
    assert proxy.counts == {
        "secretsmanager.GetSecretValue": 2,
        "secretsmanager.BatchGetSecretValue": 1,
        "secretsmanager.ListSecrets": 1,
    }
    assert proxy.relayed == proxy.counts


async def test_sts_query_protocol_is_counted_by_action(proxy: faultproxy.AwsFaultProxy) -> None:
    async with httpx.AsyncClient(base_url=proxy.url) as http:
        await http.post(
            "/",
            content=b"Action=AssumeRoleWithWebIdentity&Version=2011-06-15",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert proxy.counts == {"sts.AssumeRoleWithWebIdentity": 1}


@pytest.mark.parametrize(
    ("mode", "code", "throttle_code"),
    [
        ("throttle", "ThrottlingException", ""),
        ("throttle", "TooManyRequestsException", "TooManyRequestsException"),
        ("deny", "AccessDeniedException", ""),
        ("error5xx", "InternalFailure", ""),
    ],
)
async def test_faults_are_read_by_botocore_as_aws_errors(
    proxy: faultproxy.AwsFaultProxy, mode: faultproxy.Mode, code: str, throttle_code: str
) -> None:
    await proxy.set_mode(mode, throttle_code=throttle_code)
    async with _secretsmanager(proxy.url) as client:
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            await client.get_secret_value(SecretId="db")  # type: ignore[attr-defined]
    error = caught.value.response
    assert error["Error"]["Code"] == code
    expected_status = 500 if mode == "error5xx" else 400
    assert error["ResponseMetadata"]["HTTPStatusCode"] == expected_status
    assert proxy.counts["secretsmanager.GetSecretValue"] == 1
    assert not proxy.relayed


async def test_botocore_reads_values_through_pass(proxy: faultproxy.AwsFaultProxy) -> None:
    async with _secretsmanager(proxy.url) as client:
        answer = await client.get_secret_value(SecretId="db")  # type: ignore[attr-defined]
    assert answer["SecretString"] == "from-upstream"


async def test_sts_errors_are_xml_for_the_query_protocol(
    proxy: faultproxy.AwsFaultProxy,
) -> None:
    await proxy.set_mode("throttle", throttle_code="Throttling")
    config = AioConfig(retries={"total_max_attempts": 1, "mode": "standard"})
    async with get_session().create_client(
        "sts",
        region_name="us-east-1",
        endpoint_url=proxy.url,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=config,
    ) as sts:
        with pytest.raises(botocore.exceptions.ClientError) as caught:
            await sts.get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "Throttling"
    assert proxy.counts == {"sts.GetCallerIdentity": 1}


async def test_faults_can_be_limited_to_some_operations(
    proxy: faultproxy.AwsFaultProxy,
) -> None:
    await proxy.set_mode("deny", operations={"secretsmanager.BatchGetSecretValue"})
    async with httpx.AsyncClient(base_url=proxy.url) as http:
        batch = await http.post("/", headers=_target("BatchGetSecretValue"), content=b"{}")
        single = await http.post("/", headers=_target("GetSecretValue"), content=b"{}")
    assert batch.status_code == 400
    assert batch.json()["__type"] == "AccessDeniedException"
    assert single.status_code == 200


async def test_faults_can_be_limited_to_one_access_key(proxy: faultproxy.AwsFaultProxy) -> None:
    """One store's identity (its access key id) fails while others pass."""
    await proxy.set_mode("throttle", keys={"store-a"})

    async def call(key: str) -> dict[str, object]:
        config = AioConfig(retries={"total_max_attempts": 1, "mode": "standard"})
        async with get_session().create_client(
            "secretsmanager",
            region_name="us-east-1",
            endpoint_url=proxy.url,
            aws_access_key_id=key,
            aws_secret_access_key="test",
            config=config,
        ) as client:
            try:
                return await client.get_secret_value(SecretId="db")  # type: ignore[no-any-return]
            except botocore.exceptions.ClientError as exc:
                return {"code": exc.response["Error"]["Code"]}

    assert await call("store-a") == {"code": "ThrottlingException"}
    assert (await call("store-b"))["SecretString"] == "from-upstream"
    await proxy.set_mode("pass", keys={"store-a"})
    assert (await call("store-a"))["SecretString"] == "from-upstream"
    assert proxy.key_counts == {"store-a": 2, "store-b": 1}
    with pytest.raises(faultproxy.FaultProxyError):
        await proxy.set_mode("refuse", keys={"store-a"})


async def test_refuse_cuts_open_connections_and_refuses_new_ones(
    proxy: faultproxy.AwsFaultProxy,
) -> None:
    async with httpx.AsyncClient(base_url=proxy.url) as http:
        assert (await http.post("/", headers=_target("GetSecretValue"))).status_code == 200
        await proxy.set_mode("refuse")
        with pytest.raises(httpx.TransportError):
            await http.post("/", headers=_target("GetSecretValue"))
    async with httpx.AsyncClient(base_url=proxy.url) as fresh:
        with pytest.raises(httpx.ConnectError):
            await fresh.post("/", headers=_target("GetSecretValue"))
        await proxy.set_mode("pass")
        assert (await fresh.post("/", headers=_target("GetSecretValue"))).status_code == 200


async def test_hang_never_answers_until_the_mode_changes(
    proxy: faultproxy.AwsFaultProxy,
) -> None:
    await proxy.set_mode("hang")
    async with httpx.AsyncClient(base_url=proxy.url, timeout=0.5) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.post("/", headers=_target("GetSecretValue"))
        await proxy.set_mode("pass")
        assert (await http.post("/", headers=_target("GetSecretValue"))).status_code == 200
    assert proxy.counts["secretsmanager.GetSecretValue"] == 2


async def test_control_endpoint_switches_mode_and_reverts(
    proxy: faultproxy.AwsFaultProxy,
) -> None:
    async with httpx.AsyncClient(base_url=proxy.url) as http:
        switched = await http.put("/_faultproxy/mode", json={"mode": "throttle", "seconds": 0.3})
        throttled = await http.post("/", headers=_target("GetSecretValue"))
        await asyncio.sleep(0.5)
        passed = await http.post("/", headers=_target("GetSecretValue"))
        counts = (await http.get("/_faultproxy/counts")).json()
        bad = await http.put("/_faultproxy/mode", json={"mode": "explode"})
    assert switched.status_code == 200
    assert throttled.json()["__type"] == "ThrottlingException"
    assert passed.status_code == 200
    assert counts["counts"] == {"secretsmanager.GetSecretValue": 2}
    assert counts["mode"] == "pass"
    assert bad.status_code == 400


# --- TCP ---------------------------------------------------------------------------------------


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@pytest.fixture
async def tcp_proxy() -> AsyncIterator[faultproxy.TcpFaultProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with faultproxy.TcpFaultProxy("127.0.0.1", port) as running:
        yield running
    server.close()
    await server.wait_closed()


async def _roundtrip(address: tuple[str, int], payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(*address)
    writer.write(payload)
    await writer.drain()
    data = await asyncio.wait_for(reader.readexactly(len(payload)), timeout=2)
    writer.close()
    return data


async def test_tcp_pipes_bytes_both_ways(tcp_proxy: faultproxy.TcpFaultProxy) -> None:
    assert await _roundtrip(tcp_proxy.address, b"hello apiserver") == b"hello apiserver"
    assert tcp_proxy.accepted == 1


async def test_tcp_cut_breaks_an_open_stream(tcp_proxy: faultproxy.TcpFaultProxy) -> None:
    reader, writer = await asyncio.open_connection(*tcp_proxy.address)
    writer.write(b"ping")
    assert await asyncio.wait_for(reader.readexactly(4), timeout=2) == b"ping"
    assert tcp_proxy.cut() == 1
    with pytest.raises((asyncio.IncompleteReadError, ConnectionError)):
        data = await asyncio.wait_for(reader.read(10), timeout=2)
        if not data:
            raise asyncio.IncompleteReadError(b"", 10)
    writer.close()
    assert await _roundtrip(tcp_proxy.address, b"again") == b"again"


async def test_tcp_outage_refuses_then_serves_again(tcp_proxy: faultproxy.TcpFaultProxy) -> None:
    outage = asyncio.create_task(tcp_proxy.outage(0.5))
    await asyncio.sleep(0.1)
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection(*tcp_proxy.address)
    await outage
    assert await _roundtrip(tcp_proxy.address, b"back") == b"back"
