"""scar-operator: ScarFunction and ScarBatchJob objects reconciled into AWS Lambda, Batch and S3."""

GROUP = "scar.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
