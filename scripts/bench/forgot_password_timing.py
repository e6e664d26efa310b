#!/usr/bin/env python3
"""Forgot-password timing for known and unknown addresses, against a running server.

Usage: forgot_password_timing.py BASE_URL OWNER_EMAIL OWNER_PASSWORD [ROUNDS=500]

Creates ROUNDS/5 people (known addresses) through the API, then sends ROUNDS requests
for known addresses and ROUNDS for addresses nobody has, interleaved (known, unknown,
known, ..., which of each pair goes first alternating), each address five times (the per-address budget lets five through before
it stops sending, so every request here does the full work). Prints the median and p90
of each, in milliseconds, and their difference.
"""

import http.client
import json
import re
import statistics
import sys
import time
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlparse

PER_ADDRESS = 5


def conn_for(base):
    u = urlparse(base)
    return http.client.HTTPConnection(u.hostname, u.port, timeout=30)


def api(base, method, path, token=None, body=None):
    c = conn_for(base)
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, (json.loads(data) if data else None)


def main():
    base, owner, password = sys.argv[1], sys.argv[2], sys.argv[3]
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 500
    people = max(1, rounds // PER_ADDRESS)

    st, tok = api(base, "POST", "/api/v1/auth/login", body={"email": owner, "password": password})
    assert st == 200, (st, tok)
    token = tok["access_token"]
    st, c = api(base, "POST", "/api/v1/companies", token,
                {"legal_name": "Bancada de Testes Ltda", "cnpj": "11222333000181"})
    assert st == 201, (st, c)
    for i in range(people):
        st, u = api(base, "POST", f"/api/v1/companies/{c['id']}/users", token,
                    {"name": f"Pessoa {i}", "email": f"conhecida{i}@bench.example.com.br",
                     "role": "company_user", "password": "senha da bancada de testes"})
        assert st == 201, (st, u)

    # One browser: a CSRF cookie and the form token that goes with it.
    conn = conn_for(base)
    conn.request("GET", "/password/forgot")
    r = conn.getresponse()
    page = r.read().decode()
    cookies = SimpleCookie()
    for k, v in r.getheaders():
        if k.lower() == "set-cookie":
            cookies.load(v)
    cookie = "; ".join(f"{k}={m.value}" for k, m in cookies.items())
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "cookie": cookie,
        "origin": base,
        "sec-fetch-site": "same-origin",
    }

    def ask(email):
        body = urlencode({"csrf_token": csrf, "email": email})
        t0 = time.perf_counter()
        conn.request("POST", "/password/forgot", body=body, headers=headers)
        resp = conn.getresponse()
        resp.read()
        dt = (time.perf_counter() - t0) * 1000
        assert resp.status == 200, resp.status
        return dt

    # A few untimed requests warm the connection and the server.
    for i in range(5):
        ask(f"aquecimento{i}@bench.example.com.br")
    known, unknown = [], []
    for n in range(rounds):
        i = n % people
        # Which goes first alternates: the first request after the pause pays for
        # waking up, and that must not be billed to one kind only.
        if n % 2 == 0:
            known.append(ask(f"conhecida{i}@bench.example.com.br"))
            unknown.append(ask(f"ninguem{i}@bench.example.com.br"))
        else:
            unknown.append(ask(f"ninguem{i}@bench.example.com.br"))
            known.append(ask(f"conhecida{i}@bench.example.com.br"))
        # The known address's write runs after its answer: let it finish before the
        # next pair, so it is not billed to whichever request comes next.
        time.sleep(0.005)

    def p90(xs):
        return statistics.quantiles(xs, n=10)[-1]

    mk, mu = statistics.median(known), statistics.median(unknown)
    print(f"requests: {rounds} known, {rounds} unknown (interleaved)")
    print(f"known   median {mk:.3f} ms  p90 {p90(known):.3f} ms")
    print(f"unknown median {mu:.3f} ms  p90 {p90(unknown):.3f} ms")
    print(f"difference of medians (known - unknown): {mk - mu:+.3f} ms")


if __name__ == "__main__":
    main()
