"""Command line: `asyncso run` starts the operator; other subcommands help operate it.

Why argparse: flags mirror ESO's controller flags so Helm values carry over; no extra dependency
is worth it for a dozen options.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import sys
from collections.abc import Sequence
from typing import Any

from asyncso import __version__, errors, settings, timing

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class _GoBool(argparse.Action):
    """`--flag`, `--flag=true|false` (ESO's Go flags, as Helm `extraArgs` write them) and
    `--no-flag`."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if option_string is not None and option_string.startswith("--no-"):
            setattr(namespace, self.dest, False)
            return
        text = "true" if values is None else str(values).lower()
        if text not in _TRUE | _FALSE:
            parser.error(f"{option_string}: expected true or false, got {values!r}")
        setattr(namespace, self.dest, text in _TRUE)


def _bool_flag(parser: argparse.ArgumentParser, name: str, default: bool, help_: str) -> None:
    parser.add_argument(
        f"--{name}",
        f"--no-{name}",
        default=default,
        nargs="?",
        action=_GoBool,
        metavar="true|false",
        help=help_,
    )


def _add_run_flags(run: argparse.ArgumentParser) -> None:
    d = settings.Settings()
    run.add_argument("--kubeconfig", default=d.kubeconfig, help="kubeconfig (default: in-cluster)")
    run.add_argument("--namespace", default=d.namespace, help="watch only this namespace")
    run.add_argument("--controller-class", default=d.controller_class)
    run.add_argument(
        "--concurrent", type=int, default=d.concurrent, help="max apiserver requests in flight"
    )
    run.add_argument(
        "--syncs-in-flight",
        type=int,
        default=d.syncs_in_flight,
        help="max ExternalSecret syncs in flight (new and changed ones first)",
    )
    run.add_argument("--log-level", default=d.log_level, choices=["debug", "info", "warn", "error"])
    run.add_argument("--log-format", default=d.log_format, choices=["json", "text"])
    run.add_argument("--metrics-addr", default=d.metrics_addr, help='e.g. ":8080"; "0" disables')
    run.add_argument("--live-addr", default=d.live_addr, help="health probes address")
    _bool_flag(run, "enable-leader-election", d.enable_leader_election, "elect a leader (HA)")
    run.add_argument("--leader-election-id", default=d.leader_election_id)
    run.add_argument("--leader-election-namespace", default=d.leader_election_namespace)
    run.add_argument("--lease-duration", type=float, default=d.lease_duration)
    run.add_argument("--renew-deadline", type=float, default=d.renew_deadline)
    run.add_argument("--retry-period", type=float, default=d.retry_period)
    run.add_argument("--store-requeue-interval", type=float, default=d.store_requeue_interval)
    run.add_argument("--provider-batch-window", type=float, default=d.provider_batch_window)
    run.add_argument("--provider-rate-limit", type=float, default=d.provider_rate_limit)
    run.add_argument("--provider-cache-max-bytes", type=int, default=d.provider_cache_max_bytes)
    _bool_flag(
        run,
        "enable-cluster-store-reconciler",
        d.enable_cluster_store_reconciler,
        "reconcile ClusterSecretStores and ExternalSecrets that use them",
    )
    run.add_argument("--refresh-jitter", type=float, default=d.refresh_jitter)
    _bool_flag(
        run,
        "enable-cluster-external-secret-reconciler",
        d.enable_cluster_external_secret_reconciler,
        "reconcile ClusterExternalSecrets",
    )
    _bool_flag(
        run, "enable-push-secret-reconciler", d.enable_push_secret_reconciler, "push PushSecrets"
    )
    _bool_flag(
        run,
        "enable-cluster-push-secret-reconciler",
        d.enable_cluster_push_secret_reconciler,
        "reconcile ClusterPushSecrets",
    )
    _bool_flag(
        run,
        "unsafe-allow-generic-targets",
        d.unsafe_allow_generic_targets,
        "write spec.target.manifest targets (v1 ConfigMap), as ESO's flag",
    )
    run.add_argument(
        "--min-refresh-interval",
        type=_go_duration,
        default=DEFAULT_MIN_REFRESH_INTERVAL,
        metavar="DURATION",
        help="raise any shorter refreshInterval to this Go duration; 0 disables "
        "(default: %(default)s)",
    )
    _add_template_flags(run)


#: `--min-refresh-interval`'s default as users write it (`settings.Settings` holds seconds).
DEFAULT_MIN_REFRESH_INTERVAL = "10s"


def _go_duration(text: str) -> float:
    """A flag value as Go's `time.ParseDuration` reads it (`10s`, `1m`, `0`), in seconds."""
    try:
        return timing.parse_duration(text, field="--min-refresh-interval")
    except errors.InvalidSpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_template_flags(parser: argparse.ArgumentParser) -> None:
    d = settings.Settings()
    parser.add_argument(
        "--template-left-delimiter",
        default=d.template_left_delimiter,
        help="left delimiter of Go templates (engineVersion v2)",
    )
    parser.add_argument(
        "--template-right-delimiter",
        default=d.template_right_delimiter,
        help="right delimiter of Go templates (engineVersion v2)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="asyncso",
        description="External Secrets Operator on asyncio (external-secrets.io/v1).",
    )
    parser.add_argument("--version", action="version", version=f"asyncso {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = sub.add_parser("run", help="run the operator")
    _add_run_flags(run)
    sub.add_parser("crds", help="print the CustomResourceDefinitions (YAML)")
    rend = sub.add_parser("render", help="print the Secret an ExternalSecret would produce")
    rend.add_argument("-f", "--file", required=True, help="ExternalSecret manifest (YAML)")
    rend.add_argument("--store", help="SecretStore/ClusterSecretStore manifest (YAML)")
    rend.add_argument("--kubeconfig", help="cluster for credentials Secrets and templateFrom")
    rend.add_argument("--namespace", default="default", help="namespace if the manifest has none")
    rend.add_argument("--show-values", action="store_true", help="print values unmasked")
    _add_template_flags(rend)
    sub.add_parser("version", help="print the version")
    return parser


def settings_from(args: argparse.Namespace) -> settings.Settings:
    names = {f.name for f in dataclasses.fields(settings.Settings)}
    return settings.Settings(**{k: v for k, v in vars(args).items() if k in names})


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "version":
        print(f"asyncso {__version__}")
        return 0
    if args.command == "crds":
        from asyncso import crdgen

        sys.stdout.write(crdgen.render_yaml())
        return 0
    if args.command == "render":
        from asyncso import errors, preview

        try:
            out = asyncio.run(
                preview.render(
                    args.file,
                    args.store,
                    kubeconfig=args.kubeconfig,
                    show_values=args.show_values,
                    namespace=args.namespace,
                    delimiters=(args.template_left_delimiter, args.template_right_delimiter),
                )
            )
        except errors.AsyncsoError as exc:
            print(f"asyncso render: {exc}", file=sys.stderr)
            return 1
        sys.stdout.write(out)
        return 0
    if args.command == "run":
        from asyncso import runner

        return asyncio.run(runner.run(settings_from(args)))
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
