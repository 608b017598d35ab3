#!/usr/bin/env python3
"""Writes the Markdown report and SVG plots of a compare.sh run from the files in its work directory.

Inputs in --work: results.jsonl (SmtpLoad JSON lines), idle.tsv, environment.txt, commands.txt and the
balancer configurations (report-*). Only the standard library is used, so the script runs wherever
compare.sh does.
"""

import argparse
import json
import math
import os
import statistics
from collections import defaultdict
from xml.sax.saxutils import escape

ORDER = ["direct", "haproxy", "nginx", "smtplb", "smtplb-copy", "smtplb-copy-nofailover"]
COLORS = {"direct": "#7f7f7f", "haproxy": "#1f77b4", "nginx": "#2ca02c", "smtplb": "#d62728",
          "smtplb-copy": "#ff7f0e", "smtplb-copy-nofailover": "#9467bd"}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--work", required=True, help="work directory of compare.sh")
    parser.add_argument("--out", required=True, help="Markdown file to write; plots go beside it")
    args = parser.parse_args()

    records = read_jsonl(os.path.join(args.work, "results.jsonl"))
    environment = read_environment(os.path.join(args.work, "environment.txt"))
    idle = read_idle(os.path.join(args.work, "idle.tsv"))
    rows = build_rows(records, idle)

    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.splitext(os.path.basename(args.out))[0]
    plots = write_plots(rows, out_dir, stem, environment)
    with open(args.out, "w", encoding="utf-8") as report:
        report.write(render(rows, idle, environment, plots, args.work))


def read_jsonl(path):
    records = []
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            line = line.strip()
            if line.startswith("{"):
                records.append(json.loads(line))
    return records


def read_environment(path):
    environment = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            key, _, value = line.rstrip("\n").partition("=")
            environment[key] = value
    return environment


def read_idle(path):
    idle = {}
    if not os.path.exists(path):
        return idle
    with open(path, encoding="utf-8") as lines:
        header = lines.readline().rstrip("\n").split("\t")
        for line in lines:
            values = dict(zip(header, line.rstrip("\n").split("\t")))
            held = int(values["held"])
            if held > 0:
                values["rss_per_connection_kib"] = (int(values["rss_held_kib"]) - int(values["rss_base_kib"])) / held
                values["fds_per_connection"] = (int(values["fds_held"]) - int(values["fds_base"])) / held
                if values.get("heap_base_kib") and values.get("heap_held_kib"):
                    values["heap_per_connection_kib"] = (
                        (int(values["heap_held_kib"]) - int(values["heap_base_kib"])) / held)
            idle[values["balancer"]] = values
    return idle


def median(values):
    finite = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(finite) if finite else None


def samples(records, workload, target):
    return [r for r in records if r.get("type") == "sample" and r["workload"] == workload and r["target"] == target]


def round_ratios(records, workload, target, field):
    """Returns target/direct of `field` for every round in which both were sampled."""
    ratios = []
    direct = {r["round"]: r[field] for r in samples(records, workload, "direct")}
    for record in samples(records, workload, target):
        base = direct.get(record["round"])
        if base and record[field] is not None:
            ratios.append(record[field] / base)
    return ratios


def build_rows(records, idle):
    targets = sorted({r["target"] for r in records if r.get("type") == "sample"},
                     key=lambda name: ORDER.index(name) if name in ORDER else len(ORDER))
    rows = []
    for target in targets:
        sessions = samples(records, "sessions", target)
        bulk = samples(records, "bulk", target)
        latency = samples(records, "latency", target)
        session_ratios = round_ratios(records, "sessions", target, "sessionsPerSecond")
        bulk_ratios = round_ratios(records, "bulk", target, "megabytesPerSecond")
        failures = defaultdict(int)
        for record in records:
            if record.get("type") in ("sample", "hold") and record.get("target") == target:
                for kind, count in record.get("failures", {}).items():
                    failures[kind] += count
        rows.append({
            "target": target,
            "sessions_per_second": median([r["sessionsPerSecond"] for r in sessions]),
            "sessions_ratio": median(session_ratios),
            "sessions_ratio_range": (min(session_ratios), max(session_ratios)) if session_ratios else None,
            "megabytes_per_second": median([r["megabytesPerSecond"] for r in bulk]),
            "bulk_ratio": median(bulk_ratios),
            "bulk_ratio_range": (min(bulk_ratios), max(bulk_ratios)) if bulk_ratios else None,
            "cpu_per_10k": median([r["cpuSecondsPer10kSessions"] for r in sessions]),
            "cpu_per_gb": median([r["cpuSecondsPerGB"] for r in bulk]),
            "greeting_p50": median([r["greetingP50Ms"] for r in latency]),
            "greeting_p99": median([r["greetingP99Ms"] for r in latency]),
            "session_p99": median([r["sessionP99Ms"] for r in latency]),
            "rss_per_connection": idle.get(target, {}).get("rss_per_connection_kib"),
            "fds_per_connection": idle.get(target, {}).get("fds_per_connection"),
            "held": idle.get(target, {}).get("held"),
            "failures": dict(failures),
        })
    return rows


def number(value, digits=2, suffix=""):
    if value is None:
        return "n/a"
    return f"{value:.{digits}f}{suffix}"


def ratio_text(target, value, value_range):
    if target == "direct":
        return "1 (baseline)"
    if value is None:
        return "n/a"
    if value_range is None:
        return f"{value:.3f}"
    return f"{value:.3f} ({value_range[0]:.3f}–{value_range[1]:.3f})"


def failures_text(failures):
    if not failures:
        return "0"
    return ", ".join(f"{kind} {count}" for kind, count in sorted(failures.items()))


def render(rows, idle, environment, plots, work):
    lines = []
    render_header(lines.append, environment)
    render_results(lines.append, rows, plots)
    render_workloads(lines.append, idle, environment)
    render_environment(lines.append, environment)
    render_caveats(lines.append, environment)
    render_commands(lines, environment, work)
    return "\n".join(lines) + "\n"


def render_header(add, environment):
    add("# Benchmarks: smtplb, HAProxy and nginx as layer-4 SMTP balancers")
    add("")
    add(f"Written by `lb-bench/compare.sh` ({environment.get('mode', '?')} run, {environment.get('date', '?')}). "
        "Every figure below was measured in this run; rerun the script to refresh the page.")
    add("")
    add("How these figures compare with the goals, what the profile showed and what changed because of it: "
        "[benchmarks-profile.md](benchmarks-profile.md), which the script does not rewrite.")
    add("")
    if environment.get("mode") == "quick":
        add("**Quick run**: fewer rounds, shorter samples and fewer held connections than a full run, so the "
            "figures are indicative only.")
        add("")
    not_measured = {k.split(".", 1)[1]: v for k, v in environment.items() if k.startswith("not_measured.")}
    for name, reason in sorted(not_measured.items()):
        add(f"- **{name} not measured**: {reason}")
    if not_measured:
        add("")


def render_results(add, rows, plots):
    add("## Results")
    add("")
    add("Ratios are taken against `direct` (the load tool talking to the same three sinks without a balancer) "
        "within each round, then the median over rounds is shown with the lowest and highest round in "
        "brackets. CPU is the balancer's own user + system time, all its processes and threads.")
    add("")
    add("| configuration | sessions/s | ratio to direct | bulk MB/s | ratio to direct | CPU s per 10k sessions "
        "| CPU s per GB | greeting p50 | greeting p99 | RSS per idle connection | descriptors per idle connection "
        "| failures |")
    add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        add("| {target} | {sps} | {sratio} | {mbs} | {bratio} | {cpu10k} | {cpugb} | {g50} | {g99} | {rss} | {fds} "
            "| {failures} |".format(
                target=row["target"],
                sps=number(row["sessions_per_second"], 0),
                sratio=ratio_text(row["target"], row["sessions_ratio"], row["sessions_ratio_range"]),
                mbs=number(row["megabytes_per_second"], 1),
                bratio=ratio_text(row["target"], row["bulk_ratio"], row["bulk_ratio_range"]),
                cpu10k=number(row["cpu_per_10k"], 3),
                cpugb=number(row["cpu_per_gb"], 2),
                g50=number(row["greeting_p50"], 2, " ms"),
                g99=number(row["greeting_p99"], 2, " ms"),
                rss=number(row["rss_per_connection"], 1, " KiB"),
                fds=number(row["fds_per_connection"], 2),
                failures=failures_text(row["failures"])))
    add("")
    for title, file_name in plots:
        add(f"![{title}]({file_name})")
        add("")


def render_workloads(add, idle, environment):
    add("## Workloads")
    add("")
    add(f"- **sessions**: closed loop, {environment.get('sessions_concurrency')} sessions in flight, "
        f"{environment.get('sessions_message')} messages. Gives sessions/s and CPU per 10,000 sessions.")
    add(f"- **bulk**: closed loop, {environment.get('bulk_concurrency')} sessions in flight, "
        f"{environment.get('bulk_message')} messages. Gives MB/s of message content and CPU per GB (10^9 bytes).")
    add(f"- **latency**: open loop at {environment.get('latency_rate')} sessions/s, "
        f"{environment.get('sessions_message')} messages. Times count from when each session was due, so a "
        "balancer that falls behind shows it. Gives the time to greeting (connect to complete 220 reply) "
        "percentiles.")
    add(f"- **idle**: {environment.get('hold')} connections opened through each balancer and kept idle after "
        "the greeting. RSS and descriptors are read from /proc before (after 2,000 warm-up sessions) and while "
        "the connections are open; the difference is divided by the number of connections.")
    add("")
    add(f"Each load workload runs {environment.get('rounds')} rounds of one {environment.get('sample')} sample per "
        f"configuration after {environment.get('warmup')} of unrecorded warm-up per configuration. Round r "
        "starts with configuration r so that none is always first. Each session: greeting, EHLO, MAIL, RCPT, "
        "DATA (MAIL, RCPT and DATA pipelined), message, QUIT, 221, close.")
    add("")
    if environment.get("smtplb_variants") == "1":
        add("`smtplb` uses the defaults (splice forwarding, greeting-failover on); `smtplb-copy` forwards by "
            "copying through user space; `smtplb-copy-nofailover` also passes the relay's greeting through "
            "without reading it first.")
        add("")
    add_idle_table(add, idle)


def render_environment(add, environment):
    add("## Environment")
    add("")
    for key, label in (("cpu", "CPU"), ("cores", "cores"), ("kernel", "kernel"), ("java", "Java"),
                       ("haproxy", "HAProxy"), ("nginx", "nginx"), ("smtplb", "smtplb"),
                       ("commit", "smtplb commit"), ("fd_limit", "descriptor limit"),
                       ("load_threads", "load tool event loop threads"),
                       ("smtplb_java_opts", "smtplb JVM options"), ("load_java_opts", "load tool JVM options")):
        add(f"- {label}: {environment.get(key) or '(none)'}")
    add("")


def render_caveats(add, environment):
    add("## Caveats")
    add("")
    add(f"- Load tool, sinks and balancer share the same {environment.get('cores', '?')} cores. A balancer's "
        "throughput ratio therefore mostly reflects the CPU it takes away from the load tool and the sinks, "
        "and the CPU columns show that cost directly. Other processes on the machine add noise, which the "
        "interleaved rounds spread over all configurations but do not remove.")
    add("- CPU time is read from /proc/PID/stat in clock ticks of 10 ms, so a 1-second difference over a sample "
        "is exact to about 1 %.")
    add("- RSS of a JVM grows with its heap, and the collector returns memory late. smtplb's RSS per idle "
        "connection therefore depends on the JVM options above and on how much of the heap earlier garbage had "
        "touched. That moves it by more than 1 KiB from run to run. The live Java heap per idle connection, "
        "listed under the idle table, does not depend on that. RSS counts shared pages in every nginx process, "
        "and the difference before and while holding removes most of that.")
    add("- HAProxy runs with its default thread count (one per core) and `balance leastconn` with TCP checks "
        "every 2 s. nginx runs with `worker_processes auto` and `least_conn` (open-source nginx has no active "
        "checks). smtplb runs with its defaults and `health-check { type = tcp }`, which includes reading each "
        "relay's greeting before the client sees it (greeting-failover).")
    add("- The sinks reply at once. With real relays, the relay's own latency dominates session time.")
    add("- Everything runs over loopback, where TCP costs less than on a network interface.")
    add("")


def render_commands(lines, environment, work):
    add = lines.append
    add("## Commands")
    add("")
    add("Run from the repository root; `$WORK` is the temporary directory the script creates.")
    add("")
    add("```")
    flags = (" --quick" if environment.get("mode") == "quick" else "") + (
        " --smtplb-variants" if environment.get("smtplb_variants") == "1" else "")
    add("lb-bench/compare.sh" + flags)
    commands_path = os.path.join(work, "commands.txt")
    if os.path.exists(commands_path):
        with open(commands_path, encoding="utf-8") as commands:
            lines.extend(command.rstrip("\n") for command in commands)
    add("```")
    add("")
    configs = [("haproxy.cfg", "HAProxy"), ("nginx.conf", "nginx")]
    configs += [(name[len("report-"):], "smtplb") for name in sorted(os.listdir(work))
                if name.startswith("report-smtplb")]
    for name, product in configs:
        path = os.path.join(work, "report-" + name)
        if not os.path.exists(path):
            continue
        add(f"{product} configuration (`{name}`):")
        add("")
        add("```")
        with open(path, encoding="utf-8") as config:
            lines.extend(line.rstrip("\n") for line in config)
        add("```")
        add("")


def add_idle_table(add, idle):
    if not idle:
        return
    add("Idle connections in detail:")
    add("")
    add("| balancer | requested | held | RSS before | RSS while held | descriptors before | descriptors while held "
        "| dropped while held |")
    add("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in sorted(idle, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER)):
        values = idle[name]
        add(f"| {name} | {values['requested']} | {values['held']} | {values['rss_base_kib']} KiB "
            f"| {values['rss_held_kib']} KiB | {values['fds_base']} | {values['fds_held']} | {values['dropped']} |")
    add("")
    for name in sorted(idle, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER)):
        values = idle[name]
        if "heap_per_connection_kib" in values:
            add(f"Live Java heap of {name}: {values['heap_base_kib']} KiB before and {values['heap_held_kib']} KiB "
                f"while holding, {values['heap_per_connection_kib']:.1f} KiB per idle connection (from `jcmd PID "
                "GC.class_histogram`, which counts only reachable objects after a full collection).")
            add("")


def write_plots(rows, out_dir, stem, environment):
    balancers = [row for row in rows if row["target"] != "direct"]
    if not balancers:
        return []
    plots = [
        ("Throughput as a ratio to direct", f"{stem}-throughput.svg", bar_chart(
            "Throughput as a ratio to direct (1.0 = no loss)", balancers,
            [(f"× direct's sessions/s, {environment.get('sessions_message')} messages", "sessions_ratio"),
             (f"× direct's MB/s, {environment.get('bulk_message')} messages", "bulk_ratio")],
            reference=1.0, digits=3)),
        ("Balancer CPU per 10,000 sessions", f"{stem}-cpu-sessions.svg", bar_chart(
            "Balancer CPU seconds per 10,000 sessions (lower is better)", balancers,
            [("CPU s / 10k sessions", "cpu_per_10k")], digits=3)),
        ("Balancer CPU per GB", f"{stem}-cpu-bytes.svg", bar_chart(
            "Balancer CPU seconds per GB of messages (lower is better)", balancers,
            [("CPU s / GB", "cpu_per_gb")], digits=2)),
        ("Memory per idle connection", f"{stem}-idle.svg", bar_chart(
            "RSS per idle connection in KiB (lower is better)", balancers,
            [("KiB per connection", "rss_per_connection")], digits=1)),
    ]
    written = []
    for title, file_name, svg in plots:
        with open(os.path.join(out_dir, file_name), "w", encoding="utf-8") as out:
            out.write(svg)
        written.append((title, file_name))
    return written


def bar_chart(title, rows, series, reference=None, digits=2):
    """Returns a horizontal grouped bar chart: one group per balancer, one bar per series."""
    # About 7 pixels per character of a 12-pixel sans-serif label.
    label_width = max(80, int(7.2 * max(len(row["target"]) for row in rows)) + 16)
    chart_width, bar_height, gap = 380, 16, 10
    group_height = bar_height * len(series) + gap
    top = 40
    height = top + group_height * len(rows) + 40
    values = [row[key] for row in rows for _, key in series if row[key] is not None]
    scale_max = max(values + ([reference] if reference else []) + [1e-9]) * 1.15
    # Room right of the longest bar for its value and series label.
    width = label_width + chart_width + 260
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="white"/>',
             f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>']
    shades = [1.0, 0.55]
    for group, row in enumerate(rows):
        y0 = top + group * group_height
        parts.append(f'<text x="10" y="{y0 + bar_height * len(series) / 2 + 4}">{escape(row["target"])}</text>')
        for index, (label, key) in enumerate(series):
            value = row[key]
            y = y0 + index * bar_height
            if value is None:
                parts.append(f'<text x="{label_width + 4}" y="{y + 12}" fill="#666">n/a ({escape(label)})</text>')
                continue
            bar = chart_width * value / scale_max
            parts.append(f'<rect x="{label_width}" y="{y}" width="{bar:.1f}" height="{bar_height - 2}" '
                         f'fill="{COLORS.get(row["target"], "#555")}" fill-opacity="{shades[index % 2]}"/>')
            parts.append(f'<text x="{label_width + bar + 4:.1f}" y="{y + 12}">{value:.{digits}f} '
                         f'<tspan fill="#666">{escape(label)}</tspan></text>')
    if reference is not None:
        x = label_width + chart_width * reference / scale_max
        parts.append(f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height - 30}" stroke="black" '
                     'stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{x + 3:.1f}" y="{height - 16}">{reference}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


if __name__ == "__main__":
    main()
