"""The typed status of both kinds, so the CRD's status schema is generated like the spec's.

A structural schema prunes unknown status fields on a real API server: everything the operator
writes must be declared here, or it silently disappears.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class _Status(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class Condition(_Status):
    type: str
    status: Literal["True", "False", "Unknown"]
    reason: str = ""
    message: str = ""
    # Required, as in metav1.Condition: a date-time has no empty value, so it can have no default
    # (the API server refuses a CRD whose default does not validate against its own schema).
    last_transition_time: Annotated[str, Field(json_schema_extra={"format": "date-time"})]
    observed_generation: int | None = None


class ExistingObjectsStatus(_Status):
    """A run over what was already under the inputs (spec.processExisting, `kubectl scar run`)."""

    run_id: str
    prefix: str | None = None
    before: Annotated[str, Field(description="Objects last modified up to this second are the run's.")]
    phase: Literal["Counting", "Dispatching", "Done"]
    total: int | None = None
    dispatched: int = 0
    failed: Annotated[int, Field(description="Objects AWS refused to dispatch (see message).")] = 0
    input: Annotated[int, Field(description="The input being gone through, by index.")] = 0
    after: Annotated[str, Field(description="The last key dispatched under that input (S3 lists in key order).")] = ""
    message: str | None = None


class ImageStatus(_Status):
    """The image an object runs, when the operator assembled it (images/)."""

    base: Annotated[str, Field(description="spec.image, as a full reference.")]
    base_digest: Annotated[str, Field(description="The base image's manifest for the function's platform, "
                                                  "as last resolved (a moved tag rolls the object).")]
    repository: Annotated[str, Field(description="The managed ECR repository holding the assembled image.")]
    tag: Annotated[str, Field(description="This object's tag in it, naming the image it runs.")]


class HeldImage(_Status):
    """A tag in a managed repository that the object moved away from and has not released yet."""

    repository: str
    tag: str


class CommonStatus(_Status):
    observed_generation: int | None = None
    image_uri: Annotated[str | None, Field(description="The image in use: spec.image, or the ECR image "
                                                       "assembled from it.")] = None
    image: ImageStatus | None = None
    former_image: HeldImage | None = None
    conditions: Annotated[
        list[Condition],
        Field(json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]}),
    ] = []
    region: str | None = None
    role_arn: str | None = None
    role_managed: bool | None = None
    log_group: str | None = None
    trigger_buckets: Annotated[
        list[str], Field(description="Buckets that carry this object's notification entries.")
    ] = []
    existing_objects: ExistingObjectsStatus | None = None


class ScarFunctionStatus(CommonStatus):
    function_name: str | None = None
    function_arn: str | None = None
    url: Annotated[str | None, Field(description="The function URL, when spec.http asks for one.")] = None
    url_auth_type: Annotated[
        str | None, Field(description="The URL the function may have now (removed by the pass that sees it unwanted).")
    ] = None


class ScarBatchJobStatus(CommonStatus):
    compute_environment_arn: Annotated[
        str | None, Field(description="The compute pool's environment; absent on a shared queue.")
    ] = None
    compute_pool: Annotated[
        str | None, Field(description="The compute pool (environment and queue) the jobs run on, shared by "
                                      "every object of the same compute class and team.")
    ] = None
    former_compute_pool: Annotated[
        str | None, Field(description="A pool the object moved away from: removed if it was the last member "
                                      "there, once the jobs left in its queue have ended.")
    ] = None
    compute_class: Annotated[
        str | None, Field(description="The pool's compute class in short: type, instance types, GPU.")
    ] = None
    job_queue_arn: str | None = None
    job_queue_name: str | None = None
    job_queue_managed: bool | None = None
    job_definition_name: str | None = None
    job_definition_arn: Annotated[str | None, Field(description="The ACTIVE revision jobs run with.")] = None
    job_definition_revision: int | None = None
    dispatcher_function_name: str | None = None
    dispatcher_function_arn: str | None = None
    dispatcher_log_group: str | None = None
    execution_role_arn: str | None = None
