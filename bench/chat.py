"""Benchmark a conversation as a person has it: a typed message to the bot's reply, against a running portal.

    make run        # in another terminal: web, workers, beat and the demo bot (`bot:`) on loopback
    .venv/bin/python bench/chat.py --url http://127.0.0.1:8000 --messages 200

Signs in as the demo person, then for each message: POST it the way the page's form does, and ask
the conversation's JSON poll (what `static/js/conversation.js` reads) every 20 ms until the bot's
reply is there. Prints p50 and p95 of send-to-reply, and the ratio to a baseline: the same poll's
bare round trip. The page itself asks every 250 ms while an answer is due, so on screen add up to
that. Bounded by --messages and --timeout (per message); it writes only the demo person's messages.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import httpx

SLUG = "demo-bank"
QUESTIONS = ["What's my balance?", "Nearest ATM to Waterloo", "How much did I spend on coffee last month?"]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def signed_in(base: str, email: str, password: str) -> httpx.Client:
    """Return a client with the person's session (through the login form, with its CSRF token)."""
    client = httpx.Client(base_url=base, timeout=10, follow_redirects=False)
    client.get("/accounts/login/")
    token = client.cookies.get("csrftoken", "")
    answer = client.post(
        "/accounts/login/",
        data={"username": email, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/"},
    )
    if answer.status_code != 302:
        sys.exit(f"Could not sign in as {email} (HTTP {answer.status_code}); run `manage.py seed_demo` first.")
    return client


def newest_id(client: httpx.Client) -> int:
    """Return the id of the conversation's newest message (0 for none)."""
    messages = client.get(f"/me/chat/{SLUG}/new/", params={"after": 0}).json()["messages"]
    return max((m["id"] for m in messages), default=0)


def one_message(client: httpx.Client, text: str, *, after: int, timeout: float) -> tuple[float, int]:
    """Send `text`; return seconds until the bot's reply was there, and the newest id then."""
    started = time.perf_counter()
    sent = client.post(
        f"/me/chat/{SLUG}/send/",
        data={"text": text, "csrfmiddlewaretoken": client.cookies.get("csrftoken", "")},
        headers={"Referer": f"{client.base_url}/me/chat/{SLUG}/"},
    )
    if sent.status_code != 302:
        sys.exit(f"The portal refused the message (HTTP {sent.status_code}): is customer service granted?")
    while time.perf_counter() - started < timeout:
        messages = client.get(f"/me/chat/{SLUG}/new/", params={"after": after}).json()["messages"]
        replies = [m for m in messages if m["from"] == "bank"]
        if replies:
            return time.perf_counter() - started, max(m["id"] for m in messages)
        time.sleep(0.02)
    sys.exit(f"No reply within {timeout} s: is the demo bot (`manage.py demo_bot`) running?")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=30.0, help="Seconds to wait for one reply.")
    parser.add_argument("--email", default="user@demo.example")
    parser.add_argument("--password", default="user-demo-2026")
    options = parser.parse_args()
    client = signed_in(options.url.rstrip("/"), options.email, options.password)
    after = newest_id(client)
    baseline = []
    for _ in range(20):
        started = time.perf_counter()
        client.get(f"/me/chat/{SLUG}/new/", params={"after": after})
        baseline.append(time.perf_counter() - started)
    took = []
    for index in range(options.messages):
        seconds, after = one_message(client, QUESTIONS[index % len(QUESTIONS)], after=after, timeout=options.timeout)
        took.append(seconds)
    base = statistics.median(baseline)
    p50, p95 = _percentile(took, 0.5), _percentile(took, 0.95)
    print(f"{options.messages} messages, typed message to the bot's reply (send, worker, bot, API, poll):")
    print(f"  p50 {p50 * 1000:.0f} ms   p95 {p95 * 1000:.0f} ms   max {max(took) * 1000:.0f} ms")
    print(f"  baseline (one poll round trip, median of 20): {base * 1000:.1f} ms; p50 is {p50 / base:.0f}x, "
          f"p95 {p95 / base:.0f}x")  # fmt: skip
    print("  on screen: add up to 250 ms, the page's poll interval while an answer is due")


if __name__ == "__main__":
    main()
