"""The operator at scale: seconds to Ready, AWS calls per object, bulk apply and delete, memory,
and the same within AWS's request rates. Prints each figure beside its target (issue 12).

    python -m benchmarks.operator_scale [--counts 100,300] [--rated 100,300] [--kubeconfig PATH]

It starts what a user's cluster and account would hold: a moto server behind the recording
proxy (and, for the `--rated` runs, AWS's per-account rates enforced in that proxy, answering
above them with AWS's own throttling errors), the API emulator in a process of its own (or any
cluster with --kubeconfig), and the operator as it runs in a cluster (`scar-operator run` under
kopf, with its default settings). Objects are ScarFunctions with the same input bucket, as a
team's pipeline has them; they are followed with a watch, as `kubectl wait` follows them. Every
AWS call of each bulk run is kept in the work directory (calls-<namespace>-apply.csv, ...).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scar_operator.local import aws_rules
from scar_operator.local.operator_process import OperatorProcess, process_cpu_seconds

from benchmarks.following import Following
from tests.harness.aws import EmulatedAws, emulated_aws
from tests.harness.aws_faults import RandomFaults
from tests.harness.aws_proxy import Call
from tests.harness.aws_rates import AwsRateEnforcer
from tests.harness.cluster import REPO, Cluster, open_cluster
from tests.harness.scar import BATCH_JOBS, FUNCTIONS, batch_job_manifest, condition_of, function_manifest

# Where the proxy's log says "a read": Get/List/Describe/Head.
Figures = list[tuple[str, str, str]]


def line(figures: Figures, name: str, value: str, target: str = "") -> None:
    figures.append((name, value, target))
    print(f"  {name:<58} {value:>16}   {target}", flush=True)


def wait_until(done: Callable[[], bool], timeout: float, poll: float = 0.05) -> float:
    started = time.monotonic()
    while not done():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"not done after {timeout:.0f} s")
        time.sleep(poll)
    return time.monotonic() - started


def image_environment() -> dict[str, str]:
    """The variables the operator image sets (its Dockerfile's ENV lines): the benchmark runs the
    operator with them, as a Deployment of the image does."""
    found: dict[str, str] = {}
    for text in (REPO / "Dockerfile").read_text().splitlines():
        if text.startswith("ENV "):
            found.update(pair.split("=", 1) for pair in text.split()[1:] if "=" in pair)  # type: ignore[misc]
    return found


@contextmanager
def operator_for(cluster: Cluster, aws: EmulatedAws, namespace: str | list[str], workdir: Path,
                 *args: str, **env: str) -> Iterator[OperatorProcess]:
    # The operator's defaults, not the tests' short intervals: what a user's Deployment runs.
    defaults = {**image_environment(),
                "SCAR_RESYNC_SECONDS": "300", "SCAR_SETTLE_SECONDS": "2", "SCAR_RETRY_SECONDS": "10"}
    first = namespace if isinstance(namespace, str) else namespace[0]
    process = OperatorProcess(kubeconfig=cluster.kubeconfig, namespace=namespace, aws_env=aws.operator_env(),
                              log_path=workdir / f"operator-{first}.log", extra_env={**defaults, **env},
                              extra_args=args).start()
    try:
        yield process
    finally:
        process.stop()


def manifest(name: str) -> dict[str, Any]:
    return function_manifest(name, input=[{"bucket": "scar-bench-input", "prefix": f"{name}/"}],
                             output=[{"bucket": "scar-bench-output", "prefix": f"{name}/"}])


# Against plain moto nothing limits the account: the operator paces nothing, so that the figures
# are the operator's own cost. The rated runs use its defaults (AWS's quotas).
UNPACED = {"SCAR_AWS_RATES": "off"}


def single_object_figures(cluster: Cluster, aws: EmulatedAws, workdir: Path, figures: Figures,
                          samples: int = 10, resync: int = 5, passes: int = 4, pending: str = "") -> None:
    namespace = cluster.create_namespace("bench")
    # A short resync, so that the steady state shows within the benchmark's patience; the
    # slow-drift cadence stays at its default of every 4th pass.
    with operator_for(cluster, aws, namespace, workdir, SCAR_RESYNC_SECONDS=str(resync), **UNPACED), \
            Following(cluster, namespace, FUNCTIONS) as following:
        times, calls = [], []
        for index in range(samples):
            name = f"one-{index}"
            mark = aws.proxy.mark()
            started = time.monotonic()
            cluster.apply(FUNCTIONS, namespace, manifest(name))
            following.wait_for(lambda n=name: following.is_ready(n), timeout=60)  # type: ignore[misc]
            times.append(time.monotonic() - started)
            calls.append(aws.proxy.calls_since(mark))
        made = calls[1:]  # the first pays for the buckets every later object shares
        line(figures, f"ScarFunction apply -> Ready, p50{pending}", f"{statistics.median(times):.2f} s", "<= 0.5 s")
        line(figures, f"ScarFunction apply -> Ready, max{pending}", f"{max(times):.2f} s")
        per_object = statistics.median(len(c) for c in made)
        reads = statistics.median(sum(1 for x in c if x.is_read) for c in made)
        line(figures, "AWS calls to bring a new ScarFunction to Ready", f"{per_object:.0f} ({reads:.0f} reads)",
             "<= 15")
        print("    calls of one object:", ", ".join(f"{k} x{v}" for k, v in
                                                    Counter(str(c) for c in calls[-1]).most_common()))

        # The steady state: every object re-checked `passes` times with nothing to fix.
        mark = aws.proxy.mark()

        def checks() -> int:
            return sum(1 for c in aws.proxy.calls_since(mark) if c.operation == "GetFunction")

        wait_until(lambda: checks() >= samples * passes, timeout=resync * (passes + 3))
        steady = aws.proxy.calls_since(mark)
        object_passes = checks()
        reads = sum(1 for c in steady if c.is_read) / object_passes
        writes = sum(1 for c in steady if not c.is_read) / object_passes
        line(figures, f"steady state, per object and pass (over {passes} passes)",
             f"{reads:.2f} reads, {writes:.0f} writes", "<= 4 reads, 0 writes")
        print("    calls of the steady passes:", ", ".join(f"{k} x{v}" for k, v in
                                                          Counter(str(c) for c in steady).most_common()))
        for index in range(samples):
            cluster.delete(FUNCTIONS, namespace, f"one-{index}")
        following.wait_for(lambda: following.count() == 0, timeout=120)


def batch_job_figures(cluster: Cluster, aws: EmulatedAws, workdir: Path, figures: Figures, samples: int = 5,
                      pending: str = "") -> None:
    """ScarBatchJobs of one compute class, one at a time: the first makes the pool (compute
    environment until VALID, queue until VALID), each its roles, job definition, dispatcher and trigger."""
    namespace = cluster.create_namespace("bench-batch")
    with operator_for(cluster, aws, namespace, workdir, **UNPACED), \
            Following(cluster, namespace, BATCH_JOBS) as following:
        times, calls = [], []
        for index in range(samples):
            name = f"split-{index}"
            mark = aws.proxy.mark()
            started = time.monotonic()
            cluster.apply(BATCH_JOBS, namespace, batch_job_manifest(
                name, input=[{"bucket": "scar-bench-video", "prefix": f"{name}/", "suffix": ".avi"}],
                output=[{"bucket": "scar-bench-video", "prefix": f"frames-{name}/"}]))
            following.wait_for(lambda n=name: following.is_ready(n), timeout=120)  # type: ignore[misc]
            times.append(time.monotonic() - started)
            calls.append(aws.proxy.calls_since(mark))
        line(figures, f"ScarBatchJob apply -> Ready, p50{pending}", f"{statistics.median(times):.2f} s", "<= 2 s")
        line(figures, f"ScarBatchJob apply -> Ready, max{pending}", f"{max(times):.2f} s")
        line(figures, "AWS calls to bring a new ScarBatchJob to Ready",
             f"{statistics.median(len(c) for c in calls[1:]):.0f}")
        for index in range(samples):
            cluster.delete(BATCH_JOBS, namespace, f"split-{index}")
        following.wait_for(lambda: following.count() == 0, timeout=300)


def bulk_figures(cluster: Cluster, aws: EmulatedAws, workdir: Path, figures: Figures, count: int,
                 rated: AwsRateEnforcer | None) -> None:
    namespace = cluster.create_namespace("bulk")
    label = f"{count} ScarFunctions" + (" within AWS's rates" if rated else "")
    with operator_for(cluster, aws, namespace, workdir, **({} if rated else UNPACED)) as operator, \
            Following(cluster, namespace, FUNCTIONS) as following:
        if rated is not None:
            rated.reset()
            aws.proxy.rates = rated
        cpu = CpuUse(operator, aws, cluster)
        cpu.start()
        mark = aws.proxy.mark()
        started = time.monotonic()
        names = [f"f-{index:04d}-{uuid.uuid4().hex[:4]}" for index in range(count)]
        for name in names:
            cluster.apply(FUNCTIONS, namespace, manifest(name))
        line(figures, f"{label}: all created (the client's own part)", f"{time.monotonic() - started:.1f} s")
        following.wait_for(lambda: following.ready_count() == count, timeout=3600)
        apply_seconds = time.monotonic() - started
        apply_calls = aws.proxy.calls_since(mark)
        keep_calls(workdir / f"calls-{namespace}-apply.csv", apply_calls, started)
        line(figures, f"{label}: apply -> all Ready", f"{apply_seconds:.1f} s")
        report_calls(figures, label, apply_calls, count, rated, apply_seconds)
        cpu.report(figures, label, count, apply_seconds)
        line(figures, f"{label}: operator peak RSS", f"{operator.peak_rss_bytes() / 2**20:.0f} MB",
             "<= 150 MB at 1,000")
        restart_figures(figures, label, operator, aws, count)

        if rated is not None:
            rated.reset()
        cpu.start()
        mark = aws.proxy.mark()
        started = time.monotonic()
        for name in names:
            cluster.delete(FUNCTIONS, namespace, name)
        line(figures, f"{label}: all deletions asked (the client's own part)", f"{time.monotonic() - started:.1f} s")
        following.wait_for(lambda: following.count() == 0, timeout=3600)
        delete_seconds = time.monotonic() - started
        line(figures, f"{label}: delete -> all gone", f"{delete_seconds:.1f} s")
        delete_calls = aws.proxy.calls_since(mark)
        keep_calls(workdir / f"calls-{namespace}-delete.csv", delete_calls, started)
        report_calls(figures, f"{label} (delete)", delete_calls, count, rated, delete_seconds)
        cpu.report(figures, f"{label} (delete)", count, delete_seconds)
        aws.proxy.rates = None


def restart_figures(figures: Figures, label: str, operator: OperatorProcess, aws: EmulatedAws, count: int) -> None:
    """A restarted operator resumes every object (kopf lists them all, then runs each object's
    resume pass, one GetFunction each): its time and its own peak memory doing so."""
    operator.stop()
    mark = aws.proxy.mark()
    started = time.monotonic()
    operator.start()

    def resumed() -> int:
        return sum(1 for c in aws.proxy.calls_since(mark) if c.operation == "GetFunction")

    wait_until(lambda: resumed() >= count, timeout=1800, poll=0.2)
    seconds = time.monotonic() - started
    # The last passes write their status after their reads: wait until the operator is quiet.
    wait_until(lambda: time.monotonic() - max((c.at for c in aws.proxy.calls_since(mark)), default=0) > 2,
               timeout=600, poll=0.2)
    line(figures, f"{label}: restart -> every object resumed", f"{seconds:.1f} s")
    line(figures, f"{label}: operator peak RSS after a restart", f"{operator.peak_rss_bytes() / 2**20:.0f} MB",
         "<= 150 MB at 1,000")


def stalled_by_policy(obj: dict[str, Any]) -> bool:
    stalled = condition_of(obj, "Stalled", "True")
    return stalled is not None and stalled.get("reason") == "PolicyViolation"


def bench_account(index: int, buckets: list[str]) -> dict[str, Any]:
    return {"apiVersion": "scar.dev/v1alpha1", "kind": "ScarAccount", "metadata": {"name": f"bench-team-{index}"},
            "spec": {"namespaceSelector": {"matchLabels": {"scar.dev/bench-team": str(index)}},
                     "buckets": [{"bucket": b} for b in buckets]}}


def tenancy_figures(cluster: Cluster, aws: EmulatedAws, workdir: Path, figures: Figures, count: int,
                    teams: int = 10) -> None:
    """Objects spread over `teams` namespaces, each served by its own ScarAccount (--require-account):
    how long until a change of an account, or of a namespace's labels, shows on every object it
    concerns (it used to wait for each object's periodic re-check, 300 s)."""
    both = ["scar-bench-input", "scar-bench-output"]
    namespaces = [cluster.create_namespace("team", labels={"scar.dev/bench-team": str(i)}) for i in range(teams)]
    for index in range(teams):
        cluster.apply_cluster_object("scaraccounts", bench_account(index, both))
    per_team = count // teams
    # Names differ across namespaces: each object's trigger is on its own prefix of the shared bucket.
    names_of = [[f"t{team}-f-{index:04d}" for index in range(per_team)] for team in range(teams)]
    label = f"{count} ScarFunctions in {teams} namespaces"
    with operator_for(cluster, aws, namespaces, workdir, "--require-account", **UNPACED), ExitStack() as stack:
        followers = [stack.enter_context(Following(cluster, n, FUNCTIONS)) for n in namespaces]
        for namespace, names in zip(namespaces, names_of, strict=True):
            for name in names:
                cluster.apply(FUNCTIONS, namespace, manifest(name))
        for follower in followers:
            follower.wait_for(lambda f=follower: f.ready_count() == per_team, timeout=1800)  # type: ignore[misc]

        # One team loses its input bucket: its objects are refused, their triggers withdrawn.
        started = time.monotonic()
        cluster.apply_cluster_object("scaraccounts", bench_account(0, ["scar-bench-output"]))
        followers[0].wait_for(lambda: followers[0].count_where(stalled_by_policy) == per_team, timeout=600)
        line(figures, f"{label}: one account revoked -> its {per_team} objects refused",
             f"{time.monotonic() - started:.1f} s", "<= 10 s")

        # Every account changes at once (the revoked one restored, the others' grants rewritten):
        # each object's pass reads its function once, so that many reads is every object re-checked.
        started = time.monotonic()
        mark = aws.proxy.mark()
        for index in range(teams):
            cluster.apply_cluster_object("scaraccounts", bench_account(index, list(reversed(both))))
        wait_until(lambda: sum(1 for c in aws.proxy.calls_since(mark) if c.operation == "GetFunction") >= count,
                   timeout=600, poll=0.1)
        for follower in followers:
            follower.wait_for(lambda f=follower: f.ready_count() == per_team, timeout=600)  # type: ignore[misc]
        line(figures, f"{label}: every account changed -> all {count} re-checked, Ready",
             f"{time.monotonic() - started:.1f} s", "(a pass each: the operator's pass rate)")

        # A namespace leaves its team: with --require-account, its objects are refused.
        started = time.monotonic()
        cluster.label_namespace(namespaces[1], {"scar.dev/bench-team": None})
        followers[1].wait_for(lambda: followers[1].count_where(stalled_by_policy) == per_team, timeout=600)
        line(figures, f"{label}: a namespace's label removed -> its {per_team} objects refused",
             f"{time.monotonic() - started:.1f} s", "<= 10 s")
        cluster.label_namespace(namespaces[1], {"scar.dev/bench-team": "1"})
        followers[1].wait_for(lambda: followers[1].ready_count() == per_team, timeout=600)

        for namespace, names in zip(namespaces, names_of, strict=True):
            for name in names:
                cluster.delete(FUNCTIONS, namespace, name)
        for follower in followers:
            follower.wait_for(lambda f=follower: f.count() == 0, timeout=1800)  # type: ignore[misc]
    for index in range(teams):
        cluster.delete_cluster_object("scaraccounts", f"bench-team-{index}")


@dataclass
class Run:
    apply_seconds: float
    delete_seconds: float
    functions_made: int  # CreateFunction calls that AWS answered with success
    left_behind: list[str]  # functions, roles and log groups of the namespace after the delete


def apply_and_delete(cluster: Cluster, aws: EmulatedAws, workdir: Path, count: int, prefix: str) -> Run:
    namespace = cluster.create_namespace(prefix)
    with operator_for(cluster, aws, namespace, workdir, **UNPACED), \
            Following(cluster, namespace, FUNCTIONS) as following:
        mark = aws.proxy.mark()
        started = time.monotonic()
        names = [f"f-{index:03d}" for index in range(count)]
        for name in names:
            cluster.apply(FUNCTIONS, namespace, manifest(name))
        following.wait_for(lambda: following.ready_count() == count, timeout=1800)
        apply_seconds = time.monotonic() - started
        made = sum(1 for c in aws.proxy.calls_since(mark) if c.operation == "CreateFunction" and c.status < 300)
        started = time.monotonic()
        for name in names:
            cluster.delete(FUNCTIONS, namespace, name)
        following.wait_for(lambda: following.count() == 0, timeout=1800)
        delete_seconds = time.monotonic() - started
    keep_calls(workdir / f"calls-{namespace}.csv", aws.proxy.calls_since(mark), started)
    chaos, aws.proxy.chaos = aws.proxy.chaos, None  # the look at what is left must not be refused
    left = [f["FunctionName"] for f in aws.client("lambda").list_functions()["Functions"]]
    left += [r["RoleName"] for r in aws.client("iam").list_roles()["Roles"]]
    left += [g["logGroupName"] for g in aws.client("logs").describe_log_groups()["logGroups"]]
    aws.proxy.chaos = chaos
    return Run(apply_seconds, delete_seconds, made, [n for n in left if namespace in n])


def fault_figures(cluster: Cluster, aws: EmulatedAws, workdir: Path, figures: Figures, count: int,
                  rate: float) -> None:
    """The same objects applied and deleted with every AWS call going through, then with `rate` of
    them refused at random (throttled or an internal error), as in a bad hour of a Region."""
    calm = apply_and_delete(cluster, aws, workdir, count, "calm")
    faults = RandomFaults(rate)
    aws.proxy.chaos = faults
    try:
        rough = apply_and_delete(cluster, aws, workdir, count, "faults")
    finally:
        aws.proxy.chaos = None
    label = f"{count} ScarFunctions, {rate:.0%} of AWS calls refused"
    line(figures, f"{label}: apply -> all Ready",
         f"{rough.apply_seconds:.1f} s {rough.apply_seconds / calm.apply_seconds:.1f}x",
         f"<= 3x of {calm.apply_seconds:.1f} s")
    line(figures, f"{label}: delete -> all gone",
         f"{rough.delete_seconds:.1f} s {rough.delete_seconds / calm.delete_seconds:.1f}x",
         f"<= 3x of {calm.delete_seconds:.1f} s")
    line(figures, f"{label}: functions made", f"{rough.functions_made}", f"{count} (none twice)")
    line(figures, f"{label}: left in AWS after the delete", f"{len(rough.left_behind)}", "0")
    print("    refused:", ", ".join(f"{k} x{v}" for k, v in faults.refused.most_common(8)))


# Ten compute classes, as a platform's batch functions spread over them (batchjob/pool.py).
COMPUTE_CLASSES: list[dict[str, Any]] = [
    {"compute": {"type": "FARGATE"}},
    {"compute": {"type": "FARGATE_SPOT"}},
    {"compute": {"type": "EC2"}},
    {"compute": {"type": "EC2", "instanceTypes": ["c5"]}},
    {"compute": {"type": "EC2", "instanceTypes": ["m5"]}},
    {"compute": {"type": "EC2", "instanceTypes": ["r5"]}},
    {"compute": {"type": "SPOT"}},
    {"compute": {"type": "SPOT", "instanceTypes": ["c5"]}},
    {"compute": {"type": "SPOT", "instanceTypes": ["m5"]}},
    {"compute": {"type": "EC2", "instanceTypes": ["g4dn"]}, "resources": {"vcpus": 4, "memory": 16384, "gpus": 1}},
]


def pool_counts(aws: EmulatedAws) -> tuple[int, int]:
    """Compute environments and queues of compute pools in the account."""
    batch = aws.client("batch")
    environments = [e for e in batch.describe_compute_environments()["computeEnvironments"]
                    if e["computeEnvironmentName"].startswith("scar-pool-")]
    queues = [q for q in batch.describe_job_queues()["jobQueues"] if q["jobQueueName"].startswith("scar-pool-")]
    return len(environments), len(queues)


def pool_figures(cluster: Cluster, aws: EmulatedAws, workdir: Path, figures: Figures, count: int) -> None:
    """`count` ScarBatchJobs over ten compute classes: how many compute environments and queues they
    hold (AWS Batch allows 50 of each per Region), how long to Ready and to gone, and what is left."""
    namespace = cluster.create_namespace("pools")
    label = f"{count} ScarBatchJobs over {len(COMPUTE_CLASSES)} compute classes"
    with operator_for(cluster, aws, namespace, workdir, **UNPACED) as operator, \
            Following(cluster, namespace, BATCH_JOBS) as following:
        mark = aws.proxy.mark()
        started = time.monotonic()
        names = [f"b-{index:04d}" for index in range(count)]
        for index, name in enumerate(names):
            cluster.apply(BATCH_JOBS, namespace, batch_job_manifest(
                name, input=[{"bucket": "scar-bench-video", "prefix": f"{name}/"}],
                output=[{"bucket": "scar-bench-video", "prefix": f"frames/{name}/"}],
                **COMPUTE_CLASSES[index % len(COMPUTE_CLASSES)]))
        following.wait_for(lambda: following.ready_count() == count, timeout=3600)
        apply_seconds = time.monotonic() - started
        environments, queues = pool_counts(aws)
        line(figures, f"{label}: apply -> all Ready", f"{apply_seconds:.1f} s")
        line(figures, f"{label}: compute environments", f"{environments}", f"<= {len(COMPUTE_CLASSES)}")
        line(figures, f"{label}: job queues", f"{queues}", f"<= {len(COMPUTE_CLASSES)}")
        report_calls(figures, label, aws.proxy.calls_since(mark), count, None, apply_seconds)
        line(figures, f"{label}: operator peak RSS", f"{operator.peak_rss_bytes() / 2**20:.0f} MB")

        started = time.monotonic()
        for name in names:
            cluster.delete(BATCH_JOBS, namespace, name)
        following.wait_for(lambda: following.count() == 0, timeout=3600)
        line(figures, f"{label}: delete -> all gone", f"{time.monotonic() - started:.1f} s")
    keep_calls(workdir / f"calls-{namespace}.csv", aws.proxy.calls_since(mark), started)
    environments, queues = pool_counts(aws)
    roles = [r for r in aws.client("iam").list_roles()["Roles"]
             if namespace in r["RoleName"] or r["RoleName"].startswith("scar-pool-")]
    line(figures, f"{label}: left in AWS after the delete",
         f"{environments + queues + len(roles)}", "0 (environments, queues, roles)")


@dataclass
class CpuUse:
    """CPU seconds of the processes that share the machine's cores in a run: the operator, moto,
    the API emulator (each in a process of its own), and this one (the recording proxy, the
    client that applies and follows the objects)."""

    operator: OperatorProcess
    aws: EmulatedAws
    cluster: Cluster
    _start: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)

    def _now(self) -> tuple[float, float, float, float]:
        moto = process_cpu_seconds(self.aws.moto_pid) if self.aws.moto_pid else 0.0
        api = process_cpu_seconds(self.cluster.server_pid) if self.cluster.server_pid else 0.0
        return self.operator.cpu_seconds(), moto, api, time.process_time()

    def start(self) -> None:
        self._start = self._now()

    def report(self, figures: Figures, label: str, count: int, seconds: float) -> None:
        used = [now - before for now, before in zip(self._now(), self._start, strict=True)]
        line(figures, f"{label}: operator CPU per object", f"{1000 * used[0] / count:.0f} ms",
             f"({used[0] / seconds:.2f} of a core)")
        api = f"API server {used[2] / seconds:.2f}, " if self.cluster.server_pid else ""
        print(f"    cores used over the run: operator {used[0] / seconds:.2f}, moto {used[1] / seconds:.2f}, "
              f"{api}AWS proxy + benchmark {used[3] / seconds:.2f}")


def keep_calls(path: Path, calls: list[Call], started: float) -> None:
    """Every call of a run, for whoever wants to see when each API class was busy."""
    with path.open("w") as out:
        out.write("seconds,service,operation,status,path\n")
        for call in calls:
            out.write(f"{call.at - started:.3f},{call.service},{call.operation},{call.status},{call.path}\n")


def report_calls(figures: Figures, label: str, calls: list[Call], count: int, rated: AwsRateEnforcer | None,
                 seconds: float) -> None:
    line(figures, f"{label}: AWS calls per object", f"{len(calls) / count:.1f}")
    print("    per object:", ", ".join(f"{k} {v / count:.2f}" for k, v in
                                    Counter(str(c) for c in calls).most_common()))
    if rated is None:
        return
    throttled = sum(rated.throttled.values())
    bound = rated.bound_seconds()
    line(figures, f"{label}: throttling errors answered", f"{throttled}", "0")
    if throttled:
        print("    throttled:", ", ".join(f"{k} x{v}" for k, v in rated.throttled.most_common(5)))
    line(figures, f"{label}: time / rate bound", f"{seconds / bound:.2f}x ({bound:.0f} s)" if bound else "-",
         "<= 1.2x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", default="100,300", help="bulk sizes against plain moto")
    parser.add_argument("--rated", default="100", help="bulk sizes within AWS's rates (empty: none)")
    parser.add_argument("--kubeconfig", default=None, help="any cluster instead of the API emulator")
    parser.add_argument("--workdir", default=None, help="keep the operator logs here")
    parser.add_argument("--skip-single", action="store_true", help="only the bulk runs")
    parser.add_argument("--tenancy", type=int, default=0,
                        help="objects over 10 namespaces for the tenancy-change run (0: no run)")
    parser.add_argument("--faults", default="", help="share of AWS calls refused at random, e.g. 0.5 (empty: no run)")
    parser.add_argument("--fault-objects", type=int, default=40, help="objects of the --faults run")
    parser.add_argument("--pools", type=int, default=0,
                        help="ScarBatchJobs over 10 compute classes for the compute-pool run (0: no run)")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
    # A test cluster's self-signed API server (insecure-skip-tls-verify) would warn on every request.
    warnings.filterwarnings("ignore", message="Unverified HTTPS request")
    figures: Figures = []
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="scar-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"operator logs: {workdir}")
    with emulated_aws(own_process=True) as aws, open_cluster(args.kubeconfig, workdir, own_process=True) as cluster:
        cluster.install_crds()
        if not args.skip_single:
            print("one object at a time (moto, no rates):")
            single_object_figures(cluster, aws, workdir, figures,
                                  pending=f" (Pending {aws_rules.LAMBDA_SETTLE_SECONDS} s)")
            print("the same on moto as it is, where a new function is Active at once:")
            with emulated_aws(own_process=True, lambda_settle_seconds=0) as active_at_once:
                single_object_figures(cluster, active_at_once, workdir, figures, pending=" (Active at once)")
                batch_job_figures(cluster, active_at_once, workdir, figures, pending=" (Active at once)")
        for count in [int(c) for c in args.counts.split(",") if c]:
            print(f"{count} at once (moto, no rates):")
            bulk_figures(cluster, aws, workdir, figures, count, None)
        for count in [int(c) for c in args.rated.split(",") if c]:
            print(f"{count} at once, AWS's rates enforced:")
            bulk_figures(cluster, aws, workdir, figures, count, AwsRateEnforcer())
        if args.tenancy:
            print(f"{args.tenancy} objects in 10 namespaces, each with its ScarAccount:")
            tenancy_figures(cluster, aws, workdir, figures, args.tenancy)
        if args.faults:
            print(f"{args.fault_objects} at once, without and with {float(args.faults):.0%} of AWS calls refused:")
            fault_figures(cluster, aws, workdir, figures, args.fault_objects, float(args.faults))
        if args.pools:
            print(f"{args.pools} ScarBatchJobs at once over {len(COMPUTE_CLASSES)} compute classes (moto, no rates):")
            pool_figures(cluster, aws, workdir, figures, args.pools)


if __name__ == "__main__":
    main()
