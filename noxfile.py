"""Automation: ``nox`` runs lint, typecheck and tests; the other sessions run on demand.

The default sessions install exactly what ``uv.lock`` pins (``uv sync --frozen``), so a fresh
machine runs the same tools and test dependencies as every other. ``tests_latest`` and
``tests_lowest`` run the suite against the newest releases and against the lowest versions the
ranges in ``pyproject.toml`` allow, so an upstream change shows up as a signal, not a red main.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

PYPROJECT = nox.project.load_toml("pyproject.toml")


def _sync(session: nox.Session, *groups: str, extras: tuple[str, ...] = ()) -> None:
    """Install the locked versions of ``groups`` (and the project, editable) into the session."""
    args = ["uv", "sync", "--frozen", "--no-default-groups"]
    for group in groups:
        args += ["--group", group]
    for extra in extras:
        args += ["--extra", extra]
    session.run_install(*args, env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location})


def _install_unlocked(session: nox.Session, *uv_args: str) -> None:
    """Install the project and the test group from the ranges, ignoring the lock."""
    group = nox.project.dependency_groups(PYPROJECT, "test")
    session.install(*uv_args, "-e", ".[testing]", *group)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (pure core, exact-time Trio tests, loopback tests)."""
    _sync(session, "test", extras=("testing",))
    session.run("pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Lint and check formatting with ruff (ASYNC rules on)."""
    _sync(session, "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check the package, tests, examples and benchmarks with mypy --strict."""
    _sync(session, "typecheck", extras=("testing",))
    session.run("mypy")


@nox.session
def tests_latest(session: nox.Session) -> None:
    """Run the test suite against the newest releases the ranges allow (not locked)."""
    _install_unlocked(session, "--upgrade", "--resolution", "highest")
    session.run("pytest", *session.posargs)


@nox.session
def tests_lowest(session: nox.Session) -> None:
    """Run the test suite against the lowest versions of the direct dependencies."""
    _install_unlocked(session, "--resolution", "lowest-direct")
    session.run("pytest", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Stream live data from the built-in simulated exchange (``-- ETHUSDT`` picks symbols)."""
    _sync(session, extras=("testing",))
    symbols = session.posargs or ["BTCUSDT"]
    session.run("python", "-m", "bitunix_trio", "watch", "--demo", *symbols)


@nox.session
def soak(session: nox.Session) -> None:
    """The chaos soak: 24 virtual hours of faults per seed (``-- 1-20 --hours 24 --jobs 2``)."""
    _sync(session, "test", extras=("testing",))
    session.run("python", "tests/chaos.py", *(session.posargs or ["1-20"]))


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks and write their figures to bench-results/."""
    _sync(session, "test", extras=("testing",))
    session.run("python", "-m", "benchmarks", *session.posargs)


@nox.session
def fuzz(session: nox.Session) -> None:
    """The property tests of the decoders and the connection protocol, with many examples
    (``BITUNIX_FUZZ_EXAMPLES``, default 3000)."""
    _sync(session, "test", extras=("testing",))
    examples = session.env.get("BITUNIX_FUZZ_EXAMPLES", "3000")
    session.run(
        "pytest", "tests/test_fuzz.py", *session.posargs, env={"BITUNIX_FUZZ_EXAMPLES": examples}
    )


@nox.session
def fuzz_atheris(session: nox.Session) -> None:
    """Coverage-guided fuzzing of the decoders (atheris); libFuzzer options as arguments
    (default: two minutes from the golden-frame corpus in ``fuzz-corpus/``)."""
    _sync(session, "fuzz", extras=("testing",))
    session.run("python", "tests/fuzz_atheris.py", *session.posargs)
