"""Issue 10: what a sync reports. No value in a condition, Event or log line, whatever the
apiserver or a template quotes; adoption of a Secret nobody managed said out loud; ESO's
refusal of a Secret another controller controls; store and ServiceAccount problems named as
such, not as an invalid ExternalSecret; one provider per store."""

from __future__ import annotations

import logging
import sys
from typing import Any

import msgspec
import pytest
from core_fixtures import es as make_es
from core_fixtures import secret as make_secret
from test_reconciler import NS, World

from asyncso import compat, errors, fake_kube, model, plan, reconciler, status
from asyncso.providers import aws_auth

SECRET = "s3cr3t-value"


# --- redaction ---------------------------------------------------------------------------------


def test_known_values_are_redacted_quoted_escaped_and_bare() -> None:
    seen = errors.KnownValues()
    seen.add(b'two "words"\n')
    seen.add("pw")
    seen.add_all(["ab", SECRET])
    text = (
        'metadata.labels: Invalid value: "two \\"words\\"\\n": bad; '
        f"key {SECRET!r}, bare {SECRET}, short 'pw' and pw, field metadata.labels"
    )
    redacted = seen.redact(text)
    assert SECRET not in redacted and "words" not in redacted
    assert "'pw'" not in redacted and " and pw," in redacted  # short values only when quoted
    assert redacted.count(errors.REDACTED) == 4
    assert "metadata.labels" in redacted


def test_a_value_the_apiserver_quotes_is_redacted_even_unknown() -> None:
    text = 'data[x y]: Invalid value: "x y": a valid config key must consist of ...'
    assert errors.KnownValues().redact(text) == (
        f'data[x y]: Invalid value: "{errors.REDACTED}": a valid config key must consist of ...'
    )


async def test_a_refused_write_reports_field_and_reason_without_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = World({"db": f'{{"pw":"{SECRET} two"}}'})
    world.kube.fail_next["create_secret"] = errors.api_error(
        422,
        f'create Secret ns/es1: Secret "es1" is invalid: metadata.labels: Invalid value: '
        f'"{SECRET} two": a valid label must be 63 characters or less (team={SECRET} two)',
        reason="Invalid",
    )
    template = {"metadata": {"labels": {"team": "{{ .password }}"}}}
    with caplog.at_level(logging.DEBUG):
        result = await world.sync(target={"template": template})
    assert not result.ok
    ready = world.ready()
    assert ready is not None and ready[0] == "False"
    assert "metadata.labels" in ready[2] and "Invalid value" in ready[2]
    events = [e.message for e in world.kube.events]
    logs = [r.getMessage() + str(r.__dict__) for r in caplog.records]
    for text in [ready[2], *events, *logs]:
        assert SECRET not in text


# --- adoption and ownership ----------------------------------------------------------------------


DESIRED = model.SecretContent(data={"pw": b"new"}, labels={}, annotations={}, type="Opaque")


def test_adopting_an_unmanaged_secret_is_a_warning_naming_dropped_keys() -> None:
    item = make_es(target={"name": "foreign", "creationPolicy": "Owner"})
    foreign = make_secret(name="foreign", data={"keep": b"theirs", "other": b"x", "pw": b"old"})
    result = plan.plan_sync(item, DESIRED, foreign)
    assert result.action == "update" and result.secret is not None
    assert result.secret.data == {"pw": b"new"}  # as ESO: the data becomes ours
    report = result.report
    assert report.ready and report.reason == plan.REASON_SYNCED
    assert report.message == (
        'secret synced; adopted existing Secret "foreign", dropped keys: keep, other'
    )
    event = status.event_for(report)
    assert event == status.Event(
        "Warning", "Adopted", 'adopted existing Secret "foreign"; dropped keys: keep, other'
    )
    assert "theirs" not in report.message + report.event_message


def test_adoption_without_dropped_keys_says_so() -> None:
    item = make_es(target={"name": "foreign", "creationPolicy": "Orphan"})
    result = plan.plan_sync(item, DESIRED, make_secret(name="foreign", data={"pw": b"old"}))
    assert result.report.event_message == 'adopted existing Secret "foreign"; no keys dropped'


def test_a_managed_secret_is_updated_without_adoption() -> None:
    item = make_es(target={"creationPolicy": "Owner"})
    first = plan.plan_sync(item, DESIRED, None).secret
    assert first is not None
    again = plan.plan_sync(
        item,
        model.SecretContent({"pw": b"newer"}, {}, {}, "Opaque"),
        make_secret(
            name=first.metadata.name,
            data=first.data,
            labels=first.metadata.labels,
            annotations=first.metadata.annotations,
            owners=first.metadata.owner_references,
        ),
    )
    assert (again.report.event_reason, again.report.message) == ("Updated", plan.MSG_SYNCED)


def _controlled_by(kind: str) -> model.Secret:
    owner = model.OwnerReference(
        api_version="apps/v1", kind=kind, name="web", uid="u-web", controller=True
    )
    return make_secret(name="es1", data={"keep": b"k"}, owners=[owner])


def test_owner_refuses_a_secret_another_controller_controls_as_eso() -> None:
    result = plan.plan_sync(
        make_es(target={"creationPolicy": "Owner"}), DESIRED, _controlled_by("Deployment")
    )
    assert result.action == "none"
    assert (result.report.ready, result.report.reason) == (False, plan.REASON_ERROR)
    assert result.report.message.startswith("failed to take ownership of target secret: ")
    assert "Deployment" in result.report.message


def test_orphan_takes_no_controller_reference_and_so_may_update_it() -> None:
    result = plan.plan_sync(
        make_es(target={"creationPolicy": "Orphan"}), DESIRED, _controlled_by("Deployment")
    )
    assert result.action == "update"


# --- store and ServiceAccount problems -----------------------------------------------------------


class _BrokenStoreFactory:
    """A provider factory whose store refers to credentials that are missing."""

    def handles(self, store: model.SecretStore) -> bool:
        return True

    async def validate(self, store: model.SecretStore) -> None:
        return None

    async def provider_for(self, store: model.SecretStore, *, namespace: str) -> Any:
        raise errors.service_account_not_found(
            field="spec.provider.aws.auth.jwt.serviceAccountRef", namespace=NS, name="nope"
        )

    async def close(self) -> None:
        return None


async def test_a_store_problem_met_while_syncing_is_not_an_invalid_externalsecret() -> None:
    world = World()
    world.reconciler.registry._factories = [_BrokenStoreFactory()]
    result = await world.sync()
    assert not result.ok
    assert world.ready() == (
        "False",
        plan.REASON_ERROR,
        "could not get secret data from provider: spec.provider.aws.auth.jwt.serviceAccountRef"
        f'.name: ServiceAccount "{NS}/nope" not found',
    )


def _aws_store(auth: dict[str, Any]) -> model.SecretStore:
    body = {
        "kind": "SecretStore",
        "metadata": {"name": "aws", "namespace": NS},
        "spec": {"provider": {"aws": {"service": "SecretsManager", "region": "r", "auth": auth}}},
    }
    return msgspec.structs.replace(msgspec.convert(body, model.SecretStore), kind="SecretStore")


async def test_missing_credentials_say_missing_secret_or_missing_key() -> None:
    kube = fake_kube.FakeKube()
    kube.put_secret(make_secret(name="creds", namespace=NS, data={"id": b"x"}))
    auth = {
        "secretRef": {
            "accessKeyIDSecretRef": {"name": "creds", "key": "id"},
            "secretAccessKeySecretRef": {"name": "nope", "key": "secret"},
        }
    }
    identity = aws_auth.identity_of(_aws_store(auth), es_namespace=NS)
    field = "spec.provider.aws.auth.secretRef.secretAccessKeySecretRef"
    with pytest.raises(errors.StoreConfigError) as missing:
        await aws_auth.read_key(kube, identity.keys[1])
    assert str(missing.value) == f'{field}: Secret "{NS}/nope" not found'
    absent_key = aws_auth.KeyRef("secret_access_key", NS, "creds", "secret", field=field)
    with pytest.raises(errors.StoreConfigError) as no_key:
        await aws_auth.read_key(kube, absent_key)
    assert str(no_key.value) == f'{field}: Secret "{NS}/creds" has no key "secret"'


def test_a_spec_error_in_a_credentials_refresh_logs_no_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """aiobotocore logs a traceback when a refresh fails; our own (spec) errors reach the sync,
    which reports them: the mandatory refresh's warning is dropped, an advisory one is a line."""
    logger = logging.getLogger("aiobotocore.credentials")
    message = "Refreshing temporary credentials failed during %s refresh period."
    with caplog.at_level(logging.WARNING, logger="aiobotocore.credentials"):
        for period in ("mandatory", "advisory"):
            try:
                raise errors.StoreConfigError('f: Secret "ns/nope" not found')
            except errors.StoreConfigError:
                logger.warning(message, period, exc_info=True)
        try:
            raise RuntimeError("not ours")
        except RuntimeError:
            logger.warning(message, "mandatory", exc_info=True)
    lines = [(r.getMessage(), r.exc_info is not None) for r in caplog.records]
    assert len(lines) == 2
    assert "advisory" in lines[0][0] and "not found" in lines[0][0] and not lines[0][1]
    assert lines[1] == (
        "Refreshing temporary credentials failed during mandatory refresh period.",
        True,
    )
    assert sys.exc_info() == (None, None, None)


def test_a_store_naming_two_providers_is_refused() -> None:
    body = {
        "metadata": {"name": "s", "namespace": NS},
        "spec": {"provider": {"aws": {"service": "SecretsManager"}, "fake": {"data": []}}},
    }
    store = msgspec.convert(body, model.SecretStore)
    with pytest.raises(errors.StoreConfigError, match=r"spec\.provider: .*found 2"):
        compat.check_store(store)
    single = msgspec.convert({**body, "spec": {"provider": {"fake": {}}}}, model.SecretStore)
    compat.check_store(single)


def test_the_reconciler_names_its_messages() -> None:
    assert reconciler._message_for(errors.StoreConfigError("x")) == plan.MSG_GET_DATA
    assert reconciler._message_for(errors.InvalidSpecError("x")) == "invalid ExternalSecret"
