"""Loading 1,000,000 rows from PostgreSQL: MBT's `postgres` connector against pandas `read_sql`.

Starts a PostgreSQL cluster on 127.0.0.1 (a temporary folder, stopped at the end), fills the
table `features_1m` with the example's 7,043 telco rows repeated to one million (18 columns:
text, date, integers, doubles), then measures, each in its own process, best of --repeat:

- mbt: `mbt exec --step load_data` of a compiled training pipeline on a `postgres` target (the
  connector's binary COPY into polars, plus the step storing its Parquet output);
- pandas: `pandas.read_sql_table` through SQLAlchemy + psycopg2 (the usual Python way).

Wall time and peak RSS of each process (from wait4's rusage). Prints a table and writes it as
CSV to ~/.cache/mbt/bench/postgres_load/results.csv.
"""

import argparse
import csv
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "telecom-churn"
ROWS = 1_000_000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """A throwaway PostgreSQL cluster (trust auth on loopback)."""

    def __init__(self, bin_dir, folder):
        self.bin = pathlib.Path(bin_dir)
        self.folder = folder
        self.port = free_port()
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(folder, "postgres", "postgres")

    def tool(self, name, *args):
        command = [str(self.bin / name), *args]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)

    def start(self):
        data = self.folder / "data"
        self.tool("initdb", "-D", str(data), "-U", "mbt", "-A", "trust", "--no-sync")
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off"
        self.tool("pg_ctl", "-D", str(data), "-o", options, "-l", str(self.folder / "log"),
                  "-w", "start")
        self.psql("postgres", "-c", "CREATE DATABASE analytics")

    def stop(self):
        self.tool("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")

    def psql(self, database, *args, cwd=None):
        subprocess.run(
            [str(self.bin / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "mbt",
             "-d", database, "-X", "-q", "-v", "ON_ERROR_STOP=1", *args],
            check=True, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )


def measured(command, env=None, cwd=None):
    """Runs `command`; its wall seconds and peak RSS (MB)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    stdout, stderr = process.stdout.read(), process.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{command[0]} failed:\n{stdout.decode()}\n{stderr.decode()}")
    return wall, usage.ru_maxrss / 1024, stdout.decode()


PANDAS = """
import sys, sqlalchemy, pandas
engine = sqlalchemy.create_engine(sys.argv[1])
frame = pandas.read_sql_table("features_1m", engine)
print(len(frame), len(frame.columns))
"""


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mbt", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--postgres-bin", required=True)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="mbt-bench-pg-") as tmp:
        tmp = pathlib.Path(tmp)
        tmp.chmod(0o755)  # the server's own user reaches its folder through it
        (tmp / "pg").mkdir()
        cluster = Cluster(args.postgres_bin, tmp / "pg")
        cluster.start()
        try:
            run(cluster, tmp, args)
        finally:
            cluster.stop()


def run(cluster, tmp, args):
    project = tmp / "project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("target", "local_*",
                                                                    "predictions"))
    cluster.psql("analytics", "-f", "scripts/load_staging.sql", cwd=project)
    repeat = -(-ROWS // 7043)
    cluster.psql("analytics", "-c", f"""
        CREATE TABLE features_1m AS
        SELECT f.customer_id || '-' || g AS customer_id, f.snapshot_date, f.tenure,
               f.phone_service, f.multiple_lines, f.internet_service, f.online_security,
               f.online_backup, f.device_protection, f.tech_support, f.streaming_tv,
               f.streaming_movies, f.contract, f.paperless_billing, f.payment_method,
               f.monthly_charges, f.total_charges, f.churned
        FROM generate_series(1, {repeat}) g CROSS JOIN customer_churn_features f
        ORDER BY g, f.customer_id LIMIT {ROWS}""")
    cluster.psql("analytics", "-c", "VACUUM ANALYZE features_1m")
    (project / "pipelines" / "load_1m.yaml").write_text(
        "schema_version: 1\n"
        "project: {name: load_1m, problem_type: binary_classification}\n"
        "training:\n"
        "  data_source: {label_table: features_1m}\n"
        "  schema: {target: {label_column: churned}, identifiers: {primary_key: customer_id}}\n"
        "  model_training: {framework: gbm}\n"
    )
    # Local artifacts, the table from the cluster (trust authentication: no password).
    (project / "profiles.yaml").write_text(
        "telecom-churn:\n  target: bench\n  outputs:\n    bench:\n      data_connector:\n"
        "        type: postgres\n"
        f"        config: {{host: 127.0.0.1, port: {cluster.port}, database: analytics, user: mbt}}\n"
    )
    env = dict(os.environ)
    subprocess.run([args.mbt, "--color", "never", "compile", "load_1m"],
                   cwd=project, env=env, check=True, stdout=subprocess.DEVNULL)
    manifest = project / "target" / "load_1m" / "manifest.json"
    url = f"postgresql+psycopg2://mbt@127.0.0.1:{cluster.port}/analytics"

    results = []
    for system in ["mbt", "pandas"]:
        best = None
        for attempt in range(args.repeat):
            if system == "mbt":
                command = [args.mbt, "--color", "never", "exec", "--manifest", str(manifest),
                           "--step", "load_data", "--run-id", f"bench{attempt}"]
            else:
                command = [args.python, "-c", PANDAS, url]
            wall, rss, out = measured(command, env=env, cwd=project)
            if system == "mbt":
                record = project / "target" / "load_1m" / "exec" / f"bench{attempt}"
                step = json.loads((record / "load_data.json").read_text())
                assert step["status"] == "success", step
                assert step.get("rows_out") == ROWS, step
            else:
                assert out.split() == [str(ROWS), "18"], out
            if best is None or wall < best[0]:
                best = (wall, rss)
        results.append((system, best[0], best[1]))

    mbt_wall = results[0][1]
    print(f"\n{'system':<8} {'rows':>9} {'wall s':>8} {'peak RSS MB':>12} {'vs mbt':>7}")
    for system, wall, rss in results:
        print(f"{system:<8} {ROWS:>9} {wall:>8.2f} {rss:>12.0f} {wall / mbt_wall:>6.1f}x")
    out_dir = pathlib.Path.home() / ".cache" / "mbt" / "bench" / "postgres_load"
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "results.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["system", "rows", "wall_s", "peak_rss_mb"])
        for system, wall, rss in results:
            writer.writerow([system, ROWS, f"{wall:.3f}", f"{rss:.0f}"])
    print(f"\nwritten to {out_dir / 'results.csv'}")


if __name__ == "__main__":
    main()
