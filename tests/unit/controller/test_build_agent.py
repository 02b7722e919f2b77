"""The logger and batcher: upstream's agent flags in process on our runtimes, else the sidecar."""

from __future__ import annotations

import base64
import json
from typing import Any

from kserve_controller import build, config, runtimes, spec
from kserve_controller.build import agent, workload
from kserve_controller.build.credentials import Sources

CFG = config.parse(None)
MAIN = {"name": "kserve-container", "image": "server", "ports": [{"containerPort": 8080}]}
OURS = runtimes.Runtime(
    name="kserve-sklearnserver",
    kind="ClusterServingRuntime",
    spec={"containers": [MAIN]},
    annotations={runtimes.AGENT_ANNOTATION: runtimes.IN_PROCESS},
)
THEIRS = runtimes.Runtime(name="other", kind="ClusterServingRuntime", spec={"containers": [MAIN]})
MODEL = {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://b/m"}}
CUSTOM = {"containers": [{"image": "example.test/server:1", "ports": [{"containerPort": 9000}]}]}


def isvc(predictor: dict[str, Any], **spec_fields: Any) -> spec.Isvc:
    return spec.parse(
        {
            "metadata": {"name": "m", "namespace": "ns", "annotations": {"team": "a"}},
            "spec": {"predictor": predictor, **spec_fields},
        }
    )


def objects(
    subject: spec.Isvc, runtime: runtimes.Runtime | None = OURS, **kw: Any
) -> dict[tuple[str, str], Any]:
    desired = build.all_objects(subject, runtime=runtime, config=kw.pop("config", CFG), **kw)
    return {(o["kind"], o["metadata"]["name"]): o for o in desired.objects}


def containers(found: dict[tuple[str, str], Any], name: str = "m-predictor") -> list[Any]:
    return list(found[("Deployment", name)]["spec"]["template"]["spec"]["containers"])


def flag(args: list[str], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def test_our_runtime_logs_and_batches_in_process() -> None:
    found = objects(isvc({**MODEL, "logger": {"url": "http://sink/"}, "batcher": {}}))
    (main,) = containers(found)
    assert flag(main["args"], "--log-url") == "http://sink/"
    assert "--enable-batcher" in main["args"]
    assert "--component-port" not in main["args"]  # nothing to forward to
    assert found[("Service", "m-predictor")]["spec"]["ports"][0]["targetPort"] == 8080


def test_a_runtime_that_does_not_say_so_gets_the_sidecar_and_the_service_targets_it() -> None:
    found = objects(isvc({**MODEL, "batcher": {"maxBatchSize": 4}}), runtime=THEIRS)
    main, sidecar = containers(found)
    assert "--enable-batcher" not in main.get("args", [])
    assert sidecar["name"] == "agent" and sidecar["image"] == CFG.agent.image
    assert flag(sidecar["args"], "--max-batchsize") == "4"
    assert flag(sidecar["args"], "--component-port") == "8080"
    assert found[("Service", "m-predictor")]["spec"]["ports"][0]["targetPort"] == agent.PORT


def test_removing_the_logger_removes_the_sidecar_and_the_port_switch() -> None:
    found = objects(isvc(CUSTOM))
    assert [c["name"] for c in containers(found)] == ["kserve-container"]
    assert found[("Service", "m-predictor")]["spec"]["ports"][0]["targetPort"] == 9000


def test_logger_defaults_come_from_the_config_map() -> None:
    cfg = config.parse(
        {
            "logger": json.dumps(
                {"defaultUrl": "http://broker/", "marshallerUrl": "http://m/", "batchSize": 5}
            )
        }
    )
    (main,) = containers(objects(isvc({**MODEL, "logger": {}}), config=cfg))
    args = main["args"]
    assert flag(args, "--log-url") == "http://broker/"
    assert flag(args, "--log-mode") == "all"
    assert flag(args, "--log-marshaller-url") == "http://m/"
    assert flag(args, "--log-batch-size") == "5"
    assert "--log-batch-interval" not in args and "--metadata-headers" not in args


def test_the_logger_spec_wins_over_the_config_map() -> None:
    cfg = config.parse({"logger": json.dumps({"batchSize": 5, "batchInterval": "9s"})})
    logger = {
        "url": "gs://logs",
        "mode": "response",
        "batchSize": 20,
        "batchInterval": "1s",
        "marshallerUrl": "http://mine/",
        "storage": {"path": "/isvc/m", "parameters": {"format": "csv"}, "key": "k"},
    }
    (main,) = containers(objects(isvc({**MODEL, "logger": logger}), config=cfg))
    args = main["args"]
    assert args[args.index("--log-url") :][:6] == [
        "--log-url",
        "gs://logs",
        "--source-uri",
        "$(POD_NAME)",
        "--log-mode",
        "response",
    ]
    assert flag(args, "--log-store-path") == "/isvc/m"
    assert flag(args, "--log-store-format") == "csv"
    assert flag(args, "--log-batch-size") == "20"
    assert flag(args, "--log-batch-interval") == "1s"
    assert flag(args, "--log-marshaller-url") == "http://mine/"
    pod_name = next(e for e in main["env"] if e["name"] == "POD_NAME")
    assert pod_name["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}


def test_each_component_names_itself_and_a_transformer_gets_the_sidecar() -> None:
    transformer = {**CUSTOM, "logger": {"url": "http://sink/"}}
    found = objects(isvc({**MODEL, "logger": {"url": "http://sink/"}}, transformer=transformer))
    (main,) = containers(found)
    _, sidecar = containers(found, "m-transformer")
    assert flag(main["args"], "--component") == "predictor"
    assert flag(sidecar["args"], "--component") == "transformer"
    assert flag(sidecar["args"], "--endpoint") == "default"
    assert found[("Service", "m-transformer")]["spec"]["ports"][0]["targetPort"] == agent.PORT


def test_the_sidecar_runs_on_a_read_only_root_with_a_tmp_of_its_own() -> None:
    found_pod = objects(isvc({**CUSTOM, "logger": {}}))[("Deployment", "m-predictor")]
    pod = found_pod["spec"]["template"]["spec"]
    main, sidecar = pod["containers"]
    assert sidecar["securityContext"] == {**workload.NON_ROOT, "readOnlyRootFilesystem": True}
    assert sidecar["volumeMounts"] == [{"name": "kserve-tmp", "mountPath": "/tmp"}]
    assert {"name": "kserve-tmp", "emptyDir": {}} in pod["volumes"]
    # the custom container chose nothing: it may write anywhere, as upstream's may
    assert main["securityContext"] == workload.NON_ROOT
    assert "volumeMounts" not in main


def test_the_sidecar_keeps_the_components_security_context_but_not_a_writable_root() -> None:
    own = {"runAsUser": 1234, "readOnlyRootFilesystem": False}
    custom = {"containers": [{**CUSTOM["containers"][0], "securityContext": own}]}
    main, sidecar = containers(objects(isvc({**custom, "batcher": {}})))
    assert main["securityContext"] == own
    assert sidecar["securityContext"] == {"runAsUser": 1234, "readOnlyRootFilesystem": True}


def test_a_container_named_agent_is_the_users_own() -> None:
    own = {"containers": [*CUSTOM["containers"], {"name": "agent", "image": "mine"}]}
    found = objects(isvc({**own, "logger": {}}))
    assert [c["image"] for c in containers(found)] == ["example.test/server:1", "mine"]


def test_logger_storage_credentials_reach_the_container_that_logs() -> None:
    value = "wJalrXUtnFEMI/K7MDENG"
    key = base64.b64encode(value.encode()).decode()
    sources = Sources(
        service_account={"metadata": {"name": "logger-sa"}, "secrets": [{"name": "s3"}]},
        secrets={"s3": {"metadata": {"name": "s3"}, "data": {"AWS_SECRET_ACCESS_KEY": key}}},
    )
    logger = {"url": "s3://logs", "storage": {"path": "/p", "parameters": {}, "key": "k"}}
    # s3:// needs boto3, which only the agent's image has: our runtime gets the sidecar too.
    for predictor, runtime, index in ((MODEL, OURS, 1), (CUSTOM, None, 1)):
        subject = isvc({**predictor, "logger": logger})
        assert spec.predictor(subject).logger_storage_account == "logger-sa"
        found = objects(subject, runtime=runtime, logger_sources={"predictor": sources})
        env = {e["name"]: e for e in containers(found)[index]["env"]}
        ref = env["AWS_SECRET_ACCESS_KEY"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": "s3", "key": "AWS_SECRET_ACCESS_KEY"}
        text = json.dumps(found[("Deployment", "m-predictor")])
        assert value not in text and key not in text


def test_metadata_annotations_are_the_listed_ones_the_isvc_has() -> None:
    logger = {"metadataAnnotations": ["team", "absent"], "metadataHeaders": []}
    (main,) = containers(objects(isvc({**MODEL, "logger": logger})))
    assert flag(main["args"], "--metadata-annotations") == "team=a"
    assert flag(main["args"], "--metadata-headers") == ""


def test_a_canary_says_so_in_its_events() -> None:
    part = spec.predictor(isvc({**MODEL, "logger": {"url": "http://sink/"}}))
    found = build.component.objects(part, runtime=OURS, config=CFG, endpoint="canary")
    deploy = next(o for o in found if o["kind"] == "Deployment")
    (main,) = deploy["spec"]["template"]["spec"]["containers"]
    assert flag(main["args"], "--endpoint") == "canary"


def test_gcs_logging_stays_in_process_with_the_key_file_mounted() -> None:
    key = base64.b64encode(b'{"type": "service_account"}').decode()
    secret = {"metadata": {"name": "gcs"}, "data": {"gcloud-application-credentials.json": key}}
    sources = Sources(
        service_account={"metadata": {"name": "logger-sa"}, "secrets": [{"name": "gcs"}]},
        secrets={"gcs": secret},
    )
    logger = {"url": "gs://logs", "storage": {"path": "/p", "parameters": {}, "key": "k"}}
    found = objects(isvc({**MODEL, "logger": logger}), logger_sources={"predictor": sources})
    (main,) = containers(found)
    env = {e["name"]: e.get("value") for e in main["env"]}
    assert (
        env["GOOGLE_APPLICATION_CREDENTIALS"] == "/var/secrets/gcloud-application-credentials.json"
    )
    assert {"name": "user-gcp-sa", "mountPath": "/var/secrets", "readOnly": True} in main[
        "volumeMounts"
    ]
    pod = found[("Deployment", "m-predictor")]["spec"]["template"]["spec"]
    assert {"name": "user-gcp-sa", "secret": {"secretName": "gcs"}} in pod["volumes"]


def test_a_default_s3_sink_from_the_config_map_also_takes_the_sidecar() -> None:
    cfg = config.parse({"logger": json.dumps({"defaultUrl": "s3://audit"})})
    found = objects(isvc({**MODEL, "logger": {}}), config=cfg)
    assert [c["name"] for c in containers(found)] == ["kserve-container", "agent"]
    assert found[("Service", "m-predictor")]["spec"]["ports"][0]["targetPort"] == agent.PORT
