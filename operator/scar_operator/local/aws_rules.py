"""AWS's rules that plain moto does not enforce, taught to the embedded moto server.

A client that works only because moto is lenient would fail in the cloud, so the embedded AWS is
as strict as AWS where this project's clients depend on it:
- Batch: a job queue is deleted only once DISABLED, a compute environment only once DISABLED and
  no longer used by any queue, and an update of a compute environment's resources takes effect
  (moto ignores it, which would hide drift forever); an account holds at most 50 compute
  environments and 50 job queues per Region (AWS's quotas, which cannot be raised), and a queue
  at most 3 compute environments;
- IAM: Batch's service-linked role is named `AWSServiceRoleForBatch`, as in AWS;
- Lambda: a new function is `Pending` and an updated one `InProgress` for a moment, and
  UpdateFunctionConfiguration / UpdateFunctionCode meanwhile fail with ResourceConflictException
  (moto reports Active at once and accepts everything); a function has one URL
  (CreateFunctionUrlConfig on a function that has one is a ResourceConflictException, where moto
  replaces it), and the resource-policy statements of a public URL carry their limits as
  conditions, as AWS shows them (moto keeps them as raw request fields);
- ECR: GetAuthorizationToken names the registry API that serves the emulated repositories
  (ecr_registry.py) and a token good for 12 hours, as AWS does (moto names the real host and an
  expiry in 2015);
- S3: a Lambda notification entry is refused unless the function exists and its policy lets S3
  invoke it for the bucket, and two entries that share an event and can match the same key are
  refused as overlapping (moto stores anything).
"""

from __future__ import annotations

import json
import time
from typing import Any

from moto.awslambda.exceptions import InvalidParameterValueException, LambdaClientError
from moto.awslambda.utils import get_backend as lambda_backend
from moto.batch.exceptions import ClientException
from moto.s3.exceptions import S3ClientError

from scar_operator.ecr_images import lambda_image_refusal
from scar_operator.models import key_filters_overlap, s3_events_overlap

# Where the emulated ECR's registry API answers (ecr_registry.py), while one runs.
ECR_REGISTRY_URL: str | None = None
ECR_TOKEN_HOURS = 12

# How long a Lambda function stays Pending after create, or InProgress after an update. AWS takes
# seconds; this is enough for a write issued too early to be refused, and short for the tests.
LAMBDA_SETTLE_SECONDS = 0.3


def teach_iam(iam_models: Any) -> None:
    """Service-linked roles named as AWS names them: Batch's is AWSServiceRoleForBatch (moto says
    AWSServiceRoleForbatch, and then refuses that role's real ARN in CreateComputeEnvironment)."""
    iam_models.SERVICE_NAME_CONVERSION.setdefault("batch", "Batch")


# AWS Batch's service quotas, per account and Region; neither can be raised.
BATCH_COMPUTE_ENVIRONMENTS = 50
BATCH_JOB_QUEUES = 50
BATCH_ENVIRONMENTS_PER_QUEUE = 3


def _check_environments_per_queue(order: list[dict[str, Any]] | None) -> None:
    if order is not None and len(order) > BATCH_ENVIRONMENTS_PER_QUEUE:
        raise ClientException(f"computeEnvironmentOrder holds {len(order)} compute environments: a job queue "
                              f"can have at most {BATCH_ENVIRONMENTS_PER_QUEUE}")


def teach_batch(backend: Any) -> None:
    """Deletion only once DISABLED and unused; compute environment updates that take effect; the quotas."""
    delete_queue = backend.delete_job_queue
    delete_environment = backend.delete_compute_environment
    update_environment = backend.update_compute_environment
    create_environment = backend.create_compute_environment
    create_queue = backend.create_job_queue
    update_queue = backend.update_job_queue

    def create_compute_environment(self: Any, compute_environment_name: str, *args: Any, **kwargs: Any) -> Any:
        if (self.get_compute_environment(compute_environment_name) is None
                and len(self._compute_environments) >= BATCH_COMPUTE_ENVIRONMENTS):
            raise ClientException(f"Maximum number of compute environments ({BATCH_COMPUTE_ENVIRONMENTS}) reached.")
        return create_environment(self, compute_environment_name, *args, **kwargs)

    def create_job_queue(self: Any, queue_name: str, priority: str, schedule_policy: str | None, state: str,
                         compute_env_order: list[dict[str, str]], *args: Any, **kwargs: Any) -> Any:
        if self.get_job_queue_by_name(queue_name) is None and len(self._job_queues) >= BATCH_JOB_QUEUES:
            raise ClientException(f"Maximum number of job queues ({BATCH_JOB_QUEUES}) reached.")
        _check_environments_per_queue(compute_env_order)
        return create_queue(self, queue_name, priority, schedule_policy, state, compute_env_order, *args, **kwargs)

    def update_job_queue(self: Any, queue_name: str, priority: str | None, state: str | None,
                         compute_env_order: list[dict[str, Any]] | None, *args: Any, **kwargs: Any) -> Any:
        _check_environments_per_queue(compute_env_order)
        return update_queue(self, queue_name, priority, state, compute_env_order, *args, **kwargs)

    def delete_job_queue(self: Any, queue_name: str) -> None:
        queue = self.get_job_queue(queue_name)
        if queue is not None and queue.state != "DISABLED":
            raise ClientException(f"Job queue {queue_name} must be DISABLED before it can be deleted")
        delete_queue(self, queue_name)

    def delete_compute_environment(self: Any, compute_environment_name: str) -> None:
        name = compute_environment_name
        environment = self.get_compute_environment(name)
        if environment is not None:
            if environment.state != "DISABLED":
                raise ClientException(f"Compute environment {name} must be DISABLED before it can be deleted")
            for queue in self._job_queues.values():
                if any(e.arn == environment.arn for e in queue.environments):
                    raise ClientException(
                        f"Cannot delete, found existing JobQueue relationship for compute environment {name}"
                    )
        delete_environment(self, name)

    def update_compute_environment(self: Any, compute_environment_name: str, state: str | None,
                                   compute_resources: Any | None, service_role: str | None) -> tuple[str, str]:
        result: tuple[str, str] = update_environment(
            self, compute_environment_name=compute_environment_name, state=state,
            compute_resources=compute_resources, service_role=service_role)
        environment = self.get_compute_environment(compute_environment_name)
        if compute_resources and environment is not None:
            environment.compute_resources = {**environment.compute_resources, **compute_resources}
        return result

    backend.delete_job_queue = delete_job_queue
    backend.delete_compute_environment = delete_compute_environment
    backend.update_compute_environment = update_compute_environment
    backend.create_compute_environment = create_compute_environment
    backend.create_job_queue = create_job_queue
    backend.update_job_queue = update_job_queue


class _ResourceConflictError(LambdaClientError):
    code = 409

    def __init__(self, message: str) -> None:
        super().__init__("ResourceConflictException", message)


def refuse_image_outside_ecr(backend: Any, image: str | None) -> None:
    """Lambda runs images only from ECR in the function's Region (moto takes any reference)."""
    if image and lambda_image_refusal(image, backend.region_name) is not None:
        raise InvalidParameterValueException(f"Source image {image} is not valid. Provide a valid source image.")


def teach_lambda(backend: Any, function: Any) -> None:
    """Pending after create, InProgress after an update, and no code or configuration write meanwhile."""
    describe = function.get_configuration
    create = backend.create_function
    update_code = backend.update_function_code
    update_configuration = backend.update_function_configuration

    def settling(fn: Any) -> str | None:
        state, until = getattr(fn, "_scar_settling", (None, 0.0))
        return str(state) if state is not None and time.monotonic() < until else None

    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        config: dict[str, Any] = describe(self, on_create)
        state = settling(self)
        if state == "Pending":
            config.update(State="Pending", StateReason="The function is being created.", StateReasonCode="Creating")
        elif state == "InProgress":
            config.update(LastUpdateStatus="InProgress", LastUpdateStatusReason="The function is being updated.")
        return config

    def refuse_while_settling(fn: Any) -> None:
        state = settling(fn)
        if state == "Pending":
            raise _ResourceConflictError("The operation cannot be performed at this time. "
                                         "The function is currently in the following state: Pending")
        if state == "InProgress":
            raise _ResourceConflictError("The operation cannot be performed at this time. "
                                         f"An update is in progress for resource: {fn.function_arn}")

    def create_function(self: Any, spec: dict[str, Any]) -> Any:
        refuse_image_outside_ecr(self, (spec.get("Code") or {}).get("ImageUri"))
        fn = create(self, spec)
        fn._scar_settling = ("Pending", time.monotonic() + LAMBDA_SETTLE_SECONDS)
        return fn

    def updater(original: Any) -> Any:
        def update(self: Any, function_name: str, qualifier: str, body: dict[str, Any]) -> Any:
            fn = self.get_function(function_name, qualifier)
            refuse_image_outside_ecr(self, body.get("ImageUri"))
            refuse_while_settling(fn)
            result = original(self, function_name, qualifier, body)
            fn._scar_settling = ("InProgress", time.monotonic() + LAMBDA_SETTLE_SECONDS)
            return result
        return update

    create_url = backend.create_function_url_config

    def create_function_url_config(self: Any, name_or_arn: str, config: dict[str, Any]) -> Any:
        fn = self._lambdas.get_function_by_name_or_arn_forbid_qualifier(name_or_arn)
        if getattr(fn, "url_config", None) is not None:
            raise _ResourceConflictError(f"Failed to create function url config for [functionArn = "
                                         f"{fn.function_arn}]. Error message:  FunctionUrlConfig exists for this "
                                         f"Lambda function")
        made = create_url(self, name_or_arn, config)
        made.url += "/"  # AWS's URLs end in a slash
        return made

    function.get_configuration = get_configuration
    backend.create_function = create_function
    backend.create_function_url_config = create_function_url_config
    backend.update_function_code = updater(update_code)
    backend.update_function_configuration = updater(update_configuration)


# Where the emulated Lambda queues what it would run asynchronously (InvocationType Event): moto
# runs nothing without Docker, and the local runtime reads this queue to run it, as Lambda would.
ASYNC_INVOCATIONS_QUEUE = "scar-local-async-invocations"


def teach_async_invocations(simple_backend: Any) -> None:
    """An Event invocation is accepted (202, no payload) and queued for the local runtime."""
    from moto.sqs.models import sqs_backends

    invoke = simple_backend.invoke

    def queued_invoke(self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any,
                      response_headers: Any) -> Any:
        if (headers or {}).get("x-amz-invocation-type") != "Event":
            return invoke(self, function_name, qualifier, body, headers, response_headers)
        fn = self.get_function(function_name, qualifier)
        queues = sqs_backends[self.account_id][self.region_name]
        queues.create_queue(ASYNC_INVOCATIONS_QUEUE)
        queues.send_message(ASYNC_INVOCATIONS_QUEUE, json.dumps({"function": fn.function_arn,
                                                                  "event": json.loads(body or "{}")}))
        return b""

    simple_backend.invoke = queued_invoke


def teach_lambda_policy(policy: Any) -> None:
    """AddPermission's FunctionUrlAuthType and InvokedViaFunctionUrl become conditions of the statement."""
    decode = policy.decode_policy

    def decode_policy(self: Any, obj: dict[str, Any]) -> Any:
        decoded = decode(self, obj)
        statement = decoded.statements[-1]
        if "FunctionUrlAuthType" in statement:
            condition = statement.setdefault("Condition", {}).setdefault("StringEquals", {})
            condition["lambda:FunctionUrlAuthType"] = statement.pop("FunctionUrlAuthType")
        if "InvokedViaFunctionUrl" in statement:
            via = statement.pop("InvokedViaFunctionUrl")
            statement.setdefault("Condition", {}).setdefault("Bool", {})["lambda:InvokedViaFunctionUrl"] = (
                "true" if via in (True, "true", "True") else "false")
        return decoded

    policy.decode_policy = decode_policy


class _UnvalidatedDestinationError(S3ClientError):
    def __init__(self) -> None:
        super().__init__("InvalidArgument", "Unable to validate the following destination configurations")


class _OverlappingConfigurationsError(S3ClientError):
    def __init__(self) -> None:
        super().__init__("InvalidArgument", "Configurations overlap. Configurations on the same bucket cannot "
                                            "share a common event type.")


def _moto_key_filter(entry: dict[str, Any]) -> tuple[str, str]:
    """(prefix, suffix) of an entry as moto parses it from the request's XML."""
    rules = ((entry.get("Filter") or {}).get("S3Key") or {}).get("FilterRule") or []
    named = {str(r.get("Name", "")).lower(): str(r.get("Value", "")) for r in rules}
    return named.get("prefix", ""), named.get("suffix", "")


def _overlapping(entries: list[dict[str, Any]]) -> bool:
    """Whether two entries can match one key for a common event.

    Two prefixes meet only when one starts the other, and in sorted order every prefix that
    starts with `p` follows `p` without a gap: so each entry is compared with the run after it,
    not with every other entry (a bucket shared by hundreds of functions stays cheap to check).
    """
    ordered = sorted(((_moto_key_filter(e), e) for e in entries), key=lambda item: item[0][0])
    for i, ((prefix, suffix), first) in enumerate(ordered):
        for (other_prefix, other_suffix), second in ordered[i + 1:]:
            if not other_prefix.startswith(prefix):
                break
            events = any(s3_events_overlap(a, b) for a in first.get("Event", []) for b in second.get("Event", []))
            if events and key_filters_overlap(prefix, suffix, other_prefix, other_suffix):
                return True
    return False


def _s3_may_invoke(function_arn: str, bucket: str) -> bool:
    """Whether the function exists and a statement of its policy lets S3 invoke it for `bucket`."""
    parts = function_arn.split(":")
    if len(parts) < 7:
        return False
    region, account = parts[3], parts[4]
    try:
        # moto's own look-up: it serves Lambda from another backend when Docker is off.
        fn = lambda_backend(account, region).get_function(function_arn)
        statements = fn.policy.get_policy()["Policy"]["Statement"]
    except Exception:  # no such function, or no policy at all
        return False
    for statement in statements:
        principal = statement.get("Principal") or {}
        service = principal.get("Service") if isinstance(principal, dict) else principal
        source = ((statement.get("Condition") or {}).get("ArnLike") or {}).get("AWS:SourceArn")
        if service == "s3.amazonaws.com" and source in (None, f"arn:aws:s3:::{bucket}"):
            return True
    return False


def teach_s3(backend: Any) -> None:
    """A notification configuration is validated before it is stored, as S3 does."""
    put = backend.put_bucket_notification_configuration

    def put_bucket_notification_configuration(self: Any, bucket_name: str,
                                              notification_config: dict[str, Any]) -> None:
        for entry in notification_config.get("CloudFunctionConfiguration") or []:
            if not _s3_may_invoke(str(entry.get("CloudFunction", "")), bucket_name):
                raise _UnvalidatedDestinationError()
        sections = ("CloudFunctionConfiguration", "QueueConfiguration", "TopicConfiguration")
        if _overlapping([e for section in sections for e in notification_config.get(section) or []]):
            raise _OverlappingConfigurationsError()
        put(self, bucket_name, notification_config)

    backend.put_bucket_notification_configuration = put_bucket_notification_configuration


def teach_ecr(responses: Any) -> None:
    original = responses.ECRResponse.get_authorization_token

    def get_authorization_token(self: Any) -> Any:
        result = original(self)
        for data in result.result["authorizationData"]:
            data["expiresAt"] = time.time() + ECR_TOKEN_HOURS * 3600
            if ECR_REGISTRY_URL is not None:
                data["proxyEndpoint"] = ECR_REGISTRY_URL
        return result

    responses.ECRResponse.get_authorization_token = get_authorization_token
