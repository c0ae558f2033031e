"""Local stand-ins for a cloud and a cluster: the API emulator, the AWS emulator, and their runners.

Used by the tests and by `scar-operator demo`; never by the operator in a real cluster.
"""
