"""`bot.py stats`: the running daemon's /metrics as a table for people."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

__all__ = ["fetch_metrics", "stats_table"]


def fetch_metrics(url: str, token: str, timeout_s: float = 5.0) -> str:
    request = urllib.request.Request(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:
        return response.read().decode("utf-8")


def stats_table(text: str) -> str:
    """One line per figure: counters and gauges by label, histograms as count/mean."""
    rows: list[tuple[str, str]] = []
    for family in text_string_to_metric_families(text):
        if family.name.startswith(("python_", "process_")):
            continue
        if family.type == "histogram":
            count = sum(s.value for s in family.samples if s.name.endswith("_count"))
            total = sum(s.value for s in family.samples if s.name.endswith("_sum"))
            mean = f", mean {total / count * 1000:.1f} ms" if count else ""
            rows.append((family.name, f"{int(count)} observed{mean}"))
            continue
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            name = f"{family.name}{{{labels}}}" if labels else family.name
            rows.append((name, f"{sample.value:g}"))
    width = max((len(n) for n, _ in rows), default=10)
    return "\n".join(f"{n.ljust(width)}  {v}" for n, v in rows)


def print_stats(url: str, token: str) -> int:
    try:
        text = fetch_metrics(url, token)
    except (urllib.error.URLError, OSError) as e:
        print(f"error: no daemon answering at {url} ({getattr(e, 'reason', e)})", file=sys.stderr)
        return 1
    print(stats_table(text))
    return 0
