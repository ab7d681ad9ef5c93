"""Templates: `spec.target.template` applied to fetched values, and the engines that render them.

`apply` follows ESO's order (templateFrom, data, metadata) and is engine-neutral; `go` is Go's
text/template as ESO runs it (`engineVersion: v2`) with sprig's and ESO's functions; `jinja` is
the sandboxed Jinja engine (`engineVersion: jinja`) with its `functions`, `pki` helpers and
`limits`.
"""
