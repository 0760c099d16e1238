"""Helpers of bench/run: turns each part's raw output into JSON and tables, and merges them.

    report.py native  native.txt  out.json     rows of the in-process `execute` bench
    report.py servers servers.tsv out.json [name=status...]
    report.py memory  memory.tsv  out.json
    report.py web     web.txt     out.json
    report.py gen-strings N | gen-zset N        RESP load files for redis-cli --pipe
    report.py all     parts-dir   all.json      merges the parts and prints the summary
"""

import json
import os
import re
import sys


def table(head, rows):
    cells = [[str(c) for c in head]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(head))]
    for n, r in enumerate(cells):
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def num(v):
    return f"{v:,.0f}" if isinstance(v, (int, float)) else str(v)


def ratio(a, b):
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b > 0:
        return a / b
    return None


def fmt_ratio(r):
    if r is None:
        return "n/a"
    return f"{r:.2f}" if r < 10 else f"{r:,.0f}"


def native(src, out):
    line = re.compile(r"^(.*?)\s+([\d.]+) ops/s\s+([\d.]+) ns/op\s+([\d.]+) allocs/op")
    rows = []
    for text in open(src):
        m = line.match(text.rstrip())
        if m:
            rows.append({"row": " ".join(m.group(1).split()), "ops_per_s": float(m.group(2)),
                         "ns_per_op": float(m.group(3)), "allocs_per_op": float(m.group(4))})
    json.dump({"rows": rows}, open(out, "w"), indent=2)


SERVERS = ["redis", "cachelab", "kevy", "fakeredis"]


def servers(src, out, statuses):
    status = dict(s.split("=", 1) for s in statuses)
    rps = {}
    cpu = {}
    for text in open(src):
        parts = text.rstrip("\n").split("\t")
        if len(parts) in (4, 5):
            server, mode, test, value = parts[:4]
            try:
                rps[(mode, test, server)] = float(value)
                if len(parts) == 5:
                    cpu[(mode, test, server)] = float(parts[4])
            except ValueError:
                pass
    rows = []
    for mode in ["pipelined", "plain"]:
        tests = []
        for (m, t, _s) in rps:
            if m == mode and t not in tests:
                tests.append(t)
        for t in tests:
            row = {"mode": mode, "test": t}
            for s in SERVERS:
                row[s] = rps.get((mode, t, s), status.get(s, "did not run"))
                row[s + "_cpu_ns_per_request"] = cpu.get((mode, t, s))
            row["cachelab_over_redis"] = ratio(row["cachelab"], row["redis"])
            row["cachelab_over_kevy"] = ratio(row["cachelab"], row["kevy"])
            # By CPU: the other server's CPU per request over cachelab's, so that above 1 means
            # cachelab ahead, as in the throughput ratios.
            row["cachelab_over_redis_cpu"] = ratio(row["redis_cpu_ns_per_request"],
                                                   row["cachelab_cpu_ns_per_request"])
            row["cachelab_over_kevy_cpu"] = ratio(row["kevy_cpu_ns_per_request"],
                                                  row["cachelab_cpu_ns_per_request"])
            rows.append(row)
    json.dump({"rows": rows, "status": status}, open(out, "w"), indent=2)
    print_servers(rows)


def print_servers(rows):
    def ns(v):
        return f"{v:,.0f}" if isinstance(v, (int, float)) else "n/a"
    print("requests/s, then each server's CPU time per request in ns (all its threads); "
          "ratios above 1: cachelab ahead")
    table(["mode", "test"] + SERVERS + [s + " ns" for s in SERVERS]
          + ["cachelab/redis", "cachelab/kevy", "by CPU: /redis", "/kevy"],
          [[r["mode"], r["test"]] + [num(r[s]) for s in SERVERS]
           + [ns(r.get(s + "_cpu_ns_per_request")) for s in SERVERS]
           + [fmt_ratio(r["cachelab_over_redis"]), fmt_ratio(r["cachelab_over_kevy"]),
              fmt_ratio(r.get("cachelab_over_redis_cpu")),
              fmt_ratio(r.get("cachelab_over_kevy_cpu"))]
           for r in rows])


def memory(src, out):
    rows = []
    got = {}
    for text in open(src):
        server, data, n, used, rss = text.split()
        got[(server, data)] = (int(n), int(used), int(rss))
    for data in ["strings", "zset"]:
        r = got.get(("redis", data))
        c = got.get(("cachelab", data))
        row = {"data": data, "count": (r or c or (0,))[0]}
        if r:
            row["redis_used_memory_per_item"] = r[1] / r[0]
            row["redis_rss_per_item"] = r[2] / r[0]
        if c:
            row["cachelab_used_memory_per_item"] = c[1] / c[0]
            row["cachelab_rss_per_item"] = c[2] / c[0]
        row["rss_cachelab_over_redis_used_memory"] = ratio(
            row.get("cachelab_rss_per_item"), row.get("redis_used_memory_per_item"))
        rows.append(row)
    json.dump({"rows": rows}, open(out, "w"), indent=2)
    print_memory(rows)


def print_memory(rows):
    def b(v):
        return f"{v:.1f}" if isinstance(v, float) else "n/a"
    table(["data", "items", "redis used_memory B/item", "redis RSS B/item",
           "cachelab RSS B/item", "cachelab INFO used_memory (model)", "cachelab RSS / redis used"],
          [[r["data"], num(r["count"]), b(r.get("redis_used_memory_per_item")),
            b(r.get("redis_rss_per_item")), b(r.get("cachelab_rss_per_item")),
            b(r.get("cachelab_used_memory_per_item")),
            fmt_ratio(r["rss_cachelab_over_redis_used_memory"])] for r in rows])


def web(src, out):
    json.dump({"status": "ran", "output": open(src).read()}, open(out, "w"), indent=2)


def gen(kind, n):
    w = sys.stdout.buffer
    chunk = []
    for i in range(n):
        if kind == "strings":
            key = f"key:{i:08d}"
            chunk.append(f"*3\r\n$3\r\nSET\r\n${len(key)}\r\n{key}\r\n$3\r\nxxx\r\n")
        else:
            member = f"player:{i:08d}"
            score = str((i * 7919) % 1000003)
            chunk.append(f"*4\r\n$4\r\nZADD\r\n$5\r\nboard\r\n${len(score)}\r\n{score}\r\n"
                         f"${len(member)}\r\n{member}\r\n")
        if len(chunk) >= 10000:
            w.write("".join(chunk).encode())
            chunk = []
    w.write("".join(chunk).encode())


def load(parts, name):
    path = os.path.join(parts, name + ".json")
    return json.load(open(path)) if os.path.exists(path) else None


def all_parts(parts, out):
    merged = {name: load(parts, name) for name in ["native", "node", "servers", "memory", "web"]}
    json.dump(merged, open(out, "w"), indent=2)
    print("\n==== summary")
    n = merged["node"]
    print("\n-- engine as WebAssembly in Node vs ioredis-mock (ops/s by the wall clock; CPU: the ratio"
          " of commands per CPU second; one command per call, then 1,000 per pipeline)")
    if n:
        table(["workload", "mock await", "wasm call", "ratio", "CPU", "mock pipeline",
               "wasm pipeline", "ratio", "CPU", "load"],
              [[r["workload"], num(r["mock_await"]), num(r["wasm_call"]),
                fmt_ratio(r["ratio_per_command"]), fmt_ratio(r.get("ratio_per_command_cpu")),
                num(r["mock_pipeline"]), num(r["wasm_pipeline"]),
                fmt_ratio(r["ratio_batched"]), fmt_ratio(r.get("ratio_batched_cpu")),
                f"{r.get('load', 0):.1f}"]
               for r in n["rows"]])
    else:
        print("did not run")
    print("\n-- servers under redis-benchmark")
    print_servers(merged["servers"]["rows"]) if merged["servers"] else print("did not run")
    print("\n-- memory (bytes per item)")
    print_memory(merged["memory"]["rows"]) if merged["memory"] else print("did not run")
    print("\n-- native engine in process")
    if merged["native"]:
        table(["row", "ops/s", "ns/op", "allocs/op"],
              [[r["row"], num(r["ops_per_s"]), f"{r['ns_per_op']:.1f}", f"{r['allocs_per_op']:.2f}"]
               for r in merged["native"]["rows"]])
    else:
        print("did not run")
    print("\n-- browser")
    w = merged["web"]
    print(w["status"] if w and w["status"] != "ran" else (w["output"] if w else "did not run"))


def main():
    cmd = sys.argv[1]
    if cmd == "native":
        native(sys.argv[2], sys.argv[3])
    elif cmd == "servers":
        servers(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif cmd == "memory":
        memory(sys.argv[2], sys.argv[3])
    elif cmd == "web":
        web(sys.argv[2], sys.argv[3])
    elif cmd in ("gen-strings", "gen-zset"):
        gen(cmd[4:], int(sys.argv[2]))
    elif cmd == "all":
        all_parts(sys.argv[2], sys.argv[3])
    else:
        sys.exit(f"report.py: unknown command {cmd}")


if __name__ == "__main__":
    main()
