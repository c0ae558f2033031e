"""One small client per AWS resource kind, each with the same four verbs: observe, create, update, delete."""
