"""ScarAccount: the AWS identity and the guardrails of the namespaces it selects (many teams, one operator).

spec.py       the kind's typed spec and status (its CRD is generated from them)
selection.py  which ScarAccount serves a namespace (label selectors, none, or more than one)
guardrails.py what a ScarFunction or ScarBatchJob may name under its account, checked before any AWS call
sessions.py   one assumed-role session per account, cached and refreshed before it expires
controller.py the ScarAccount's own pass: can the role be assumed, which namespaces it serves now
"""
