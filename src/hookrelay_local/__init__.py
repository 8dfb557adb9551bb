"""Local tooling: never vendored into a Lambda. Partner servers, the local stack, its Lambda runtime."""
