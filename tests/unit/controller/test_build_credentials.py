"""Storage credentials from the service account's Secrets, as upstream's webhook injects them."""

from __future__ import annotations

import base64
import json
from typing import Any

from kserve_controller import build, config, runtimes, spec
from kserve_controller.build import credentials, storage_initializer
from kserve_controller.build.credentials import Sources

CFG = config.parse(None)
SKLEARN = runtimes.Runtime(
    name="sklearn",
    kind="ClusterServingRuntime",
    spec={"containers": [{"name": "kserve-container", "image": "server"}]},
)
KEY_ID = "AKIAEXAMPLEKEYID0001"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GCP_KEY = '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----x"}'


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def isvc(
    uri: str = "s3://bucket/model", *, annotations: dict[str, str] | None = None, **predictor: Any
) -> spec.Component:
    return spec.predictor(
        spec.parse(
            {
                "metadata": {"name": "m", "namespace": "ns", "annotations": annotations or {}},
                "spec": {
                    "predictor": {
                        "model": {"modelFormat": {"name": "sklearn"}, "storageUri": uri},
                        **predictor,
                    }
                },
            }
        )
    )


def account(*secrets: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": "sa", "namespace": "ns", "annotations": annotations or {}},
        "secrets": [{"name": s} for s in secrets],
    }


def secret(name: str, data: dict[str, str], annotations: dict[str, str] | None = None) -> Any:
    return {
        "metadata": {"name": name, "namespace": "ns", "annotations": annotations or {}},
        "data": {k: b64(v) for k, v in data.items()},
    }


def s3_secret(
    name: str = "s3creds", annotations: dict[str, str] | None = None, **extra: str
) -> Any:
    data = {"AWS_ACCESS_KEY_ID": KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, **extra}
    return secret(name, data, annotations)


def gcs_secret(name: str = "gcscreds") -> Any:
    return secret(name, {"gcloud-application-credentials.json": GCP_KEY})


def ref(env: str, name: str, key: str) -> dict[str, Any]:
    return {"name": env, "valueFrom": {"secretKeyRef": {"name": name, "key": key}}}


def inject(
    sa: Any, *secrets: Any, cfg: config.CredentialsConfig = CFG.credentials, **kw: Any
) -> credentials.Injection:
    found = {s["metadata"]["name"]: s for s in secrets}
    return credentials.inject(isvc(**kw), Sources(service_account=sa, secrets=found), config=cfg)


MINIO = {
    "serving.kserve.io/s3-endpoint": "minio.minio:9000",
    "serving.kserve.io/s3-usehttps": "0",
    "serving.kserve.io/s3-verifyssl": "0",
    "serving.kserve.io/s3-region": "us-west-2",
}


def test_s3_secret_with_annotations_is_referenced_never_copied() -> None:
    got = inject(account("s3creds"), s3_secret(annotations=MINIO))
    assert got.env == [
        ref("AWS_ACCESS_KEY_ID", "s3creds", "AWS_ACCESS_KEY_ID"),
        ref("AWS_SECRET_ACCESS_KEY", "s3creds", "AWS_SECRET_ACCESS_KEY"),
        {"name": "S3_USE_HTTPS", "value": "0"},
        {"name": "S3_ENDPOINT", "value": "minio.minio:9000"},
        {"name": "AWS_ENDPOINT_URL", "value": "http://minio.minio:9000"},
        {"name": "S3_VERIFY_SSL", "value": "0"},
        {"name": "AWS_DEFAULT_REGION", "value": "us-west-2"},
    ]
    assert got.volumes == [] and got.mounts == []


def test_endpoint_scheme_decides_https_and_defaults_to_https() -> None:
    with_scheme = {"serving.kserve.io/s3-endpoint": "http://minio:9000"}
    env = inject(account("s3creds"), s3_secret(annotations=with_scheme)).env
    assert env[2:] == [
        {"name": "S3_USE_HTTPS", "value": "0"},
        {"name": "S3_ENDPOINT", "value": "minio:9000"},
        {"name": "AWS_ENDPOINT_URL", "value": "http://minio:9000"},
    ]
    bare = {"serving.kserve.io/s3-endpoint": "s3.example.com"}
    env = inject(account("s3creds"), s3_secret(annotations=bare)).env
    assert env[2:] == [
        {"name": "S3_ENDPOINT", "value": "s3.example.com"},
        {"name": "AWS_ENDPOINT_URL", "value": "https://s3.example.com"},
    ]


def test_annotation_beats_secret_data_beats_config() -> None:
    cfg = config.parse(
        {
            "credentials": json.dumps(
                {"s3": {"s3Region": "eu-1", "s3VerifySSL": "1", "s3Endpoint": "cfg"}}
            )
        }
    ).credentials
    s = s3_secret(
        annotations={"serving.kserve.io/s3-region": "from-annotation"},
        AWS_DEFAULT_REGION="from-data",
        S3_ENDPOINT="data.example:9000\n",
    )
    env = {e["name"]: e.get("value") for e in inject(account("s3creds"), s, cfg=cfg).env}
    assert env["AWS_DEFAULT_REGION"] == "from-annotation"
    assert env["S3_ENDPOINT"] == "data.example:9000"  # the file's newline dropped
    assert env["S3_VERIFY_SSL"] == "1"  # from config: neither annotation nor data say it


def test_config_s3_settings_apply_to_every_s3_secret() -> None:
    cfg = config.parse(
        {"credentials": json.dumps({"s3": {"s3Endpoint": "minio:9000", "s3UseHttps": "0"}})}
    ).credentials
    env = inject(account("s3creds"), s3_secret(), cfg=cfg).env
    assert {"name": "AWS_ENDPOINT_URL", "value": "http://minio:9000"} in env


def test_configured_key_names_are_the_secret_keys_referenced() -> None:
    cfg = config.parse(
        {
            "credentials": json.dumps(
                {
                    "s3": {
                        "s3AccessKeyIDName": "awsAccessKeyID",
                        "s3SecretAccessKeyName": "awsSecretAccessKey",
                    }
                }
            )
        }
    ).credentials
    s = secret("mine", {"awsAccessKeyID": KEY_ID, "awsSecretAccessKey": SECRET_KEY})
    assert inject(account("mine"), s, cfg=cfg).env == [
        ref("AWS_ACCESS_KEY_ID", "mine", "awsAccessKeyID"),
        ref("AWS_SECRET_ACCESS_KEY", "mine", "awsSecretAccessKey"),
    ]
    # With the default names, the same Secret is not an S3 Secret.
    assert inject(account("mine"), s).env == []


def test_gcs_secret_is_mounted_as_a_volume() -> None:
    got = inject(account("gcscreds"), gcs_secret(), uri="gs://bucket/model")
    assert got.env == [
        {
            "name": "GOOGLE_APPLICATION_CREDENTIALS",
            "value": "/var/secrets/gcloud-application-credentials.json",
        }
    ]
    assert got.volumes == [{"name": "user-gcp-sa", "secret": {"secretName": "gcscreds"}}]
    assert got.mounts == [{"name": "user-gcp-sa", "mountPath": "/var/secrets", "readOnly": True}]


def test_s3_and_gcs_secrets_together_and_unknown_secrets_skipped() -> None:
    token = secret("sa-token", {"token": "abc", "ca.crt": "x"})
    got = inject(
        account("sa-token", "s3creds", "gcscreds", "gcs-2"),
        token,
        s3_secret(annotations=MINIO),
        gcs_secret(),
        gcs_secret("gcs-2"),
    )
    names = [e["name"] for e in got.env]
    assert names[:2] == ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]
    assert names[-1] == "GOOGLE_APPLICATION_CREDENTIALS"
    assert len(names) == len(set(names))
    # One key file per pod: the first GCS Secret listed.
    assert got.volumes == [{"name": "user-gcp-sa", "secret": {"secretName": "gcscreds"}}]
    assert len(got.mounts) == 1


def test_later_s3_secret_replaces_the_earlier_one() -> None:
    got = inject(account("a", "b"), s3_secret("a", MINIO), s3_secret("b"))
    assert got.env[:2] == [
        ref("AWS_ACCESS_KEY_ID", "b", "AWS_ACCESS_KEY_ID"),
        ref("AWS_SECRET_ACCESS_KEY", "b", "AWS_SECRET_ACCESS_KEY"),
    ]
    assert len({e["name"] for e in got.env}) == len(got.env)


def test_no_service_account_no_secrets_no_credentials() -> None:
    assert inject(None, s3_secret()) == credentials.Injection()
    assert inject(account()) == credentials.Injection()
    # A Secret the service account lists but that was not found is skipped.
    assert inject(account("gone")) == credentials.Injection()


def test_annotation_names_the_only_secret_used_even_without_service_account() -> None:
    annotations = {"serving.kserve.io/storageSecretName": "picked"}
    sa = account("s3creds")
    assert credentials.secret_names(isvc(annotations=annotations), sa, config=CFG.credentials) == [
        "picked"
    ]
    got = inject(None, s3_secret("picked"), s3_secret("s3creds"), annotations=annotations)
    assert got.env[0] == ref("AWS_ACCESS_KEY_ID", "picked", "AWS_ACCESS_KEY_ID")


def test_service_account_name_defaults_to_default() -> None:
    assert credentials.service_account_name(isvc()) == "default"
    assert credentials.service_account_name(isvc(serviceAccountName="sa")) == "sa"


def test_irsa_service_account_gets_s3_settings_from_its_annotations() -> None:
    sa = account(
        annotations={
            "eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r",
            "serving.kserve.io/s3-region": "us-east-2",
        }
    )
    assert inject(sa).env == [{"name": "AWS_DEFAULT_REGION", "value": "us-east-2"}]


def test_https_headers_and_hf_token_are_referenced() -> None:
    https = secret("web", {"https-host": "models.example.com", "headers": '{"Authorization": "x"}'})
    hf = secret("hf", {"HF_TOKEN": "hf_secret"})
    assert inject(account("web", "hf"), https, hf).env == [
        ref("models.example.com-headers", "web", "headers"),
        ref("HF_TOKEN", "hf", "HF_TOKEN"),
    ]


def test_the_initializer_gets_them_and_config_env_yields_to_the_secret() -> None:
    cfg = config.parse(
        {
            "storageInitializer": json.dumps(
                {"env": [{"name": "S3_ENDPOINT", "value": "global"}, {"name": "X", "value": "1"}]}
            )
        }
    )
    subject = isvc("gs://b/m", serviceAccountName="sa")
    sources = Sources(service_account=account("s3creds", "gcscreds"), secrets={
        "s3creds": s3_secret(annotations=MINIO), "gcscreds": gcs_secret()})  # fmt: skip
    pod = build.component.pod(subject, runtime=SKLEARN, config=cfg, sources=sources)
    (init,) = pod["initContainers"]
    env = {e["name"]: e for e in init["env"]}
    assert env["S3_ENDPOINT"]["value"] == "minio.minio:9000"
    assert env["X"]["value"] == "1"
    assert [e["name"] for e in init["env"]].count("S3_ENDPOINT") == 1
    assert {"name": "user-gcp-sa", "mountPath": "/var/secrets", "readOnly": True} in init[
        "volumeMounts"
    ]
    assert {"name": "user-gcp-sa", "secret": {"secretName": "gcscreds"}} in pod["volumes"]
    # The model server never sees the credentials.
    assert "env" not in pod["containers"][0] or not any(
        e["name"].startswith(("AWS_", "GOOGLE_")) for e in pod["containers"][0]["env"]
    )


def test_no_secret_value_reaches_the_manifests() -> None:
    sources = Sources(
        service_account=account("s3creds", "gcscreds", "web"),
        secrets={
            "s3creds": s3_secret(annotations=MINIO),
            "gcscreds": gcs_secret(),
            "web": secret("web", {"https-host": "h", "headers": '{"Authorization": "Bearer zz9"}'}),
        },
    )
    desired = build.all_objects(
        isvc().isvc, runtime=SKLEARN, config=CFG, sources={"predictor": sources}
    )
    text = json.dumps(desired.objects)
    for value in (KEY_ID, SECRET_KEY, GCP_KEY, "Bearer zz9"):
        assert value not in text and b64(value) not in text


def test_secret_ca_bundle_configmap_is_mounted_where_aws_ca_bundle_points() -> None:
    annotations = {
        "serving.kserve.io/s3-cabundle-configmap": "my-ca",
        "serving.kserve.io/s3-cabundle": "/etc/ssl/minio/cabundle.crt",
    }
    creds = inject(account("s3creds"), s3_secret(annotations=annotations))
    plan = storage_initializer.plan(isvc(), config=CFG.storage_initializer, credentials=creds)
    (init,) = plan.init_containers
    assert {"name": "cabundle-cert", "configMap": {"name": "my-ca"}} in plan.volumes
    assert {"name": "cabundle-cert", "mountPath": "/etc/ssl/minio", "readOnly": True} in init[
        "volumeMounts"
    ]
    env = {e["name"]: e.get("value") for e in init["env"]}
    assert env["AWS_CA_BUNDLE"] == "/etc/ssl/minio/cabundle.crt"
    assert env["CA_BUNDLE_CONFIGMAP_NAME"] == "my-ca"


def test_no_credentials_for_pvc_or_a_users_own_initializer() -> None:
    assert not storage_initializer.injects(isvc("pvc://claim/model"))
    own = {"name": "storage-initializer", "image": "mine"}
    assert not storage_initializer.injects(isvc(initContainers=[own]))
    assert storage_initializer.injects(isvc())


def test_credentials_config_parses_upstream_json() -> None:
    parsed = config.parse(
        {
            "credentials": json.dumps(
                {
                    "storageSecretNameAnnotation": "serving.kserve.io/secretName",
                    "gcs": {"gcsCredentialFileName": ""},
                    "s3": {"s3AccessKeyIDName": "", "s3UseHttps": "0"},
                }
            )
        }
    ).credentials
    assert parsed.storage_secret_name_annotation == "serving.kserve.io/secretName"
    assert parsed.gcs.credential_file_name == "gcloud-application-credentials.json"
    assert parsed.s3.access_key_id_name == "AWS_ACCESS_KEY_ID"
    assert parsed.s3.use_https == "0"
