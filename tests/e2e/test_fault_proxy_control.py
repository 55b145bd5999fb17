"""The fault proxy itself: faults switch at run time, counts are kept, the control port works."""

from __future__ import annotations

import http.client
import json
import random
import urllib.parse

import pytest
from fault_proxy import Fault, FaultProxy, control_server, fault_from_json


def get(url: str, path: str) -> tuple[int, dict]:
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        data = response.read()
        # A status fault answers like a middlebox (an html page), the control port in JSON.
        is_json = "json" in (response.getheader("Content-Type") or "")
        return response.status, json.loads(data) if is_json else data.decode()
    finally:
        conn.close()


def test_count_applies_a_fault_to_the_next_requests_only(server):
    with FaultProxy(server.url) as proxy:
        proxy.set_fault(Fault.answer(503, retry_after=9), count=2)
        assert [get(proxy.url, "/v1/health")[0] for _ in range(3)] == [503, 503, 200]
        assert proxy.applied == {"status:503": 2, "pass": 1}
        assert proxy.forwarded == 1
        assert proxy.fault == Fault.passthrough()


def test_refuse_closes_the_port_and_passthrough_reopens_it_on_the_same_port(server):
    with FaultProxy(server.url) as proxy:
        port = proxy.port
        proxy.set_fault(Fault.refused())
        with pytest.raises(ConnectionRefusedError):
            get(proxy.url, "/v1/health")
        proxy.set_fault(Fault.passthrough())
        assert proxy.port == port
        assert get(proxy.url, "/v1/health")[0] == 200


def test_chaos_picks_faults_at_random(server):
    with FaultProxy(server.url) as proxy:
        proxy.set_chaos([Fault.answer(500), Fault.answer(429)], probability=0.5, rng=random.Random(1))
        statuses = [get(proxy.url, "/v1/health")[0] for _ in range(40)]
    assert {200, 500, 429} == set(statuses)
    with pytest.raises(ValueError):
        proxy.set_chaos([Fault.refused()], probability=1)


def test_faults_are_checked():
    with pytest.raises(ValueError, match="unknown fault"):
        Fault("explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="status code"):
        Fault("status")
    with pytest.raises(ValueError, match="delay"):
        Fault("slow")
    with pytest.raises(ValueError, match="no count"):
        FaultProxy("http://127.0.0.1:9").set_fault(Fault.refused(), count=1)
    with pytest.raises(ValueError, match="http://"):
        FaultProxy("https://example.org")


def test_control_port_switches_faults_and_reports_stats(server):
    with FaultProxy(server.url) as proxy, control_server(proxy, "127.0.0.1", 0) as control:
        control_url = f"http://127.0.0.1:{control.server_address[1]}"
        parts = urllib.parse.urlsplit(control_url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        conn.request("POST", "/fault", body=json.dumps({"kind": "status", "status": 429, "count": 1}))
        assert conn.getresponse().status == 200
        conn.close()
        assert get(proxy.url, "/v1/health")[0] == 429
        status, stats = get(control_url, "/stats")
        assert status == 200
        assert stats["applied"] == {"status:429": 1}


def test_fault_from_json():
    assert fault_from_json({"kind": "timeout", "count": 2}) == (Fault.timeout(), 2)
    assert fault_from_json({"kind": "status", "status": 503, "retry_after": 7}) == (
        Fault.answer(503, 7),
        None,
    )
    with pytest.raises(TypeError):
        fault_from_json({"kind": "pass", "colour": "red"})
