"""Components: the kinds, the interfaces builders return, parameters read from builder
signatures, the hook specifications, the registry and its guarded loading, and the
contract checked on every build."""
