"""Automation: ``nox`` runs lint, typecheck and tests; ``bench`` and ``demo`` run on demand."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml("pyproject.toml")


def _install_group(session: nox.Session, group: str) -> None:
    session.install(*nox.project.dependency_groups(PYPROJECT, group))


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (pure core, exact-time Trio tests, loopback tests)."""
    _install_group(session, "test")
    session.install("-e", ".")
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Lint and check formatting with ruff (ASYNC rules on)."""
    _install_group(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check the package and the tests with mypy --strict."""
    _install_group(session, "typecheck")
    session.install("-e", ".")
    session.run("mypy")


@nox.session
def demo(session: nox.Session) -> None:
    """Stream live data from the built-in simulated exchange."""
    session.install("-e", ".[testing]")
    session.run("python", "-m", "bitunix_trio", "watch", "BTCUSDT", "--demo", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks and write their figures to bench-results/."""
    _install_group(session, "test")
    session.install("-e", ".[testing]")
    session.run("python", "-m", "benchmarks", *session.posargs)
