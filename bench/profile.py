"""Where a request's time goes: py-spy samples both web workers under one load shape.

    .venv/bin/python bench/profile.py jwt-first-seen [--seconds 8] [--top 25]

Shapes: healthz, jwt-reused, jwt-first-seen, api-key-reused, api-key-first-seen, token.
Starts the same deployment as bench/run.py, drives the shape with wrk, records both workers
with py-spy (raw stacks) and prints, for the request-handling threads, the functions that
hold the most samples (inclusive) and the frames they were sampled in (self).
"""

from __future__ import annotations

import argparse
import base64
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Wrk, get_lua, post_lua, rotating_lua
from run import CLIENT_ID, CLIENT_SECRET, Bench

SHAPES = (
    "healthz",
    "jwt-reused",
    "jwt-first-seen",
    "api-key-reused",
    "api-key-first-seen",
    "token",
)


def summarize(raw: Path, top: int) -> str:
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "handle_request" not in stack:  # only threads serving a request
            continue
        n = int(count)
        total += n
        frames = [
            f.split(" (")[0] + " " + f.rsplit("/", 1)[-1].rstrip(")") for f in stack.split(";")
        ]
        for frame in set(frames):
            inclusive[frame] += n
        own[frames[-1]] += n
    if not total:
        return "no request-handling samples (was the load running?)"
    out = [f"{total} samples in request handling", "", "inclusive:"]
    out += [f"  {v * 100 / total:5.1f}%  {k}" for k, v in inclusive.most_common(top)]
    out += ["", "self:"]
    out += [f"  {v * 100 / total:5.1f}%  {k}" for k, v in own.most_common(top)]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("shape", choices=SHAPES)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    bench = Bench(argparse.Namespace(seconds=args.seconds, rounds=1, connections=args.connections))
    with bench.exit:
        bench.setup()
        dep = bench.main
        url = f"{dep.url}/api/v1/me"
        email = "analyst@bench.example"
        if args.shape == "healthz":
            lua = get_lua({})
            url = f"{dep.url}/healthz"
        elif args.shape.startswith("jwt"):
            tokens = bench.file("tokens.txt")
            bench.seed(dep, "tokens", email, "60000", str(tokens))
            first = tokens.read_text().splitlines()[0]
            lua = (
                get_lua({"Authorization": f"Bearer {first}"})
                if args.shape == "jwt-reused"
                else rotating_lua("Authorization", "Bearer ", tokens)
            )
        elif args.shape.startswith("api-key"):
            keys = bench.file("keys.txt")
            bench.seed(dep, "api-keys", email, "30000", "30000", str(keys))
            first = keys.read_text().splitlines()[0]
            lua = (
                get_lua({"X-API-Key": first})
                if args.shape == "api-key-reused"
                else rotating_lua("X-API-Key", "", keys)
            )
        else:
            basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
            url = f"{dep.url}/oauth/token"
            lua = post_lua(
                "grant_type=client_credentials&scope=profile",
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Authorization": f"Basic {basic}",
                },
            )
        shape = Wrk(url, lua, connections=args.connections)
        shape.run(2)
        load = shape.start(args.seconds + 4)
        time.sleep(2)
        raws = []
        recorders = []
        for pid in dep.worker_pids():
            raw = bench.file(f"profile-{pid}.txt")
            raws.append(raw)
            recorders.append(
                subprocess.Popen(  # noqa: S603 (py-spy from the venv, fixed arguments)
                    [
                        str(Path(sys.executable).parent / "py-spy"),
                        "record",
                        "--pid",
                        str(pid),
                        "--duration",
                        str(int(args.seconds)),
                        "--rate",
                        "250",
                        "--format",
                        "raw",
                        "--output",
                        str(raw),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        for recorder in recorders:
            recorder.wait()
        out, _ = load.communicate()
        merged = bench.file("profile-all.txt")
        merged.write_text("".join(r.read_text() for r in raws if r.exists()))
        print(out)
        print(summarize(merged, args.top))


if __name__ == "__main__":
    main()
