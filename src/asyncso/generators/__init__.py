"""ESO's generators: values made rather than read (`dataFrom[].sourceRef.generatorRef`).

One module per kind (`password`, `uuids`, `fake`, `ecr`, `sts`), each a `ports.Generator`;
`refs` checks a generatorRef (pure), `registry` resolves one and runs its generator, `expiry`
says when expiring values are generated again, `state_rules` and `state_controller` keep ESO's
GeneratorState objects. This file stays empty so that the pure modules import without the AWS
ones.
"""
