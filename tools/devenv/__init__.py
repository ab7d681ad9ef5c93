"""A local Kubernetes + AWS test bench: etcd, kube-apiserver and LocalStack on loopback.

Why it exists: asyncso's integration tests, benchmarks and demo talk to real servers, never
mocks, and must run on a fresh machine without Docker. This package installs what is missing
(by the scripts beside it), starts each server on free loopback ports, waits until it is ready,
writes a kubeconfig, and tears everything down on exit.
"""
