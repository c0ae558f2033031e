"""Amazon ECR image references: which images Lambda runs, and which repository a pull reads.

Lambda runs container images only from an Amazon ECR repository in the function's own Region (of
its own account, or of another that lets it pull); it refuses any other reference at
CreateFunction, after whatever was made before it. With spec.supervisor InImage (the image is used as it
is) the operator refuses it first, naming the field, before anything is written; otherwise it
assembles an ECR image from it (images/). (AWS Batch pulls from any registry: a ScarBatchJob's image may
be anything its execution role or the registry allows.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ECR_IMAGE = re.compile(r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
                        r"(?P<repository>[^:@]+)")


@dataclass(frozen=True)
class EcrImage:
    account: str
    region: str
    repository: str


def ecr_image(reference: str) -> EcrImage | None:
    """The ECR repository an image reference names, or None for any other registry."""
    match = _ECR_IMAGE.match(reference)
    return EcrImage(match["account"], match["region"], match["repository"]) if match else None


def lambda_image_refusal(reference: str, region: str) -> str | None:
    """Why Lambda would refuse `reference` for a function in `region`, or None when it takes it."""
    found = ecr_image(reference)
    if found is None:
        return (f"Lambda runs only images from Amazon ECR in the function's Region ({region}), and "
                f"{reference!r} is not an ECR image: with spec.supervisor Auto or Add the operator assembles "
                f"one from it (InImage uses the image as it is)")
    if found.region != region:
        return (f"Lambda runs only images from Amazon ECR in the function's Region ({region}), and "
                f"{reference!r} is in {found.region}: with spec.supervisor Auto or Add the operator assembles "
                f"one in {region} from it")
    return None
