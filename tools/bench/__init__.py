"""`make bench`: the scale benchmark of W(N) on the local test bench (issue 14's figures).

Why a package of its own: the benchmark drives the operator as a separate process, counts its AWS
calls through a proxy, reads the apiserver's and the operator's metrics and /proc, and compares
against a bare writer; each of those jobs is one small module here, and `run` wires them for one
run of the workload. `python -m bench --help` lists the flags.
"""
