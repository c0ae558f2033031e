"""Any image, as SCAR allows: a managed ECR image assembled from a base image of any registry.

Lambda runs only ECR images of the function's own Region with a runtime interface client inside;
SCAR's users name Docker Hub images. The operator copies the base image's layers unchanged into a
managed ECR repository, adds one layer holding the self-contained supervisor executable, and a
config whose command runs it, through the registry API alone (no Docker, no build).

- reference.py: image references as Docker reads them (short names, tags, digests).
- pull_secrets.py: registry credentials from a kubernetes.io/dockerconfigjson Secret.
- registry.py: one repository of a registry, over python-dxf: manifests, blobs, streamed copies.
- supervisor_layer.py: the layer with the supervisor, built once per executable, byte for byte the same.
- assembly.py: base image + supervisor layer -> the assembled image, content-addressed.
"""
