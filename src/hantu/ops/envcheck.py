"""`validate_env.sh`: is this host's configuration complete enough to deploy?

A rendering of the same rules as `hantu config check` (`hantu.config.check.configuration_report`), in the
deployment guide's shape: the guide's names (`KIS_APP_KEY`, `KIS_APP_SECRET`, `KIS_ACCOUNT_NO`) for ours
(`APP_KEY`, `APP_SECRET`, `ACCOUNT_NUMBER`), required and optional variables, `.pgpass`, then the rules that
span keys (strategy name, data source, the real-money opt-in). Telegram is optional: missing, it is listed
as a warning. Every error of `hantu config check` fails the validation, and nothing else does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hantu.config.check import Finding

Mark = Literal["ok", "warn", "fail"]
MARKS: dict[Mark, str] = {"ok": "✓", "warn": "⚠", "fail": "✗"}
RULE = "=" * 42


@dataclass(frozen=True)
class Check:
    mark: Mark
    name: str
    message: str

    def line(self) -> str:
        return f"{MARKS[self.mark]} {self.name}: {self.message}"


@dataclass
class EnvReport:
    """Every check, grouped as the guide prints them, and the verdict."""

    sections: list[tuple[str, list[Check]]] = field(default_factory=list)
    missing_required: list[str] = field(default_factory=list)
    uses_postgres: bool = False

    @property
    def checks(self) -> list[Check]:
        return [check for _, checks in self.sections for check in checks]

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.mark == "fail"]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def pgpass_failed(self) -> bool:
        return any(c.mark == "fail" and c.name == ".pgpass" for c in self.checks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "missing_required": self.missing_required,
            "uses_postgres": self.uses_postgres,
            "checks": [{"mark": c.mark, "name": c.name, "message": c.message} for c in self.checks],
        }

    def alert_data(self) -> dict[str, Any]:
        """What the env-validation alert needs to say."""
        return {
            "missing": list(self.missing_required),
            "missing_count": len(self.missing_required),
            "problems": [c.line() for c in self.failures if c.name not in self.missing_required],
            "pgpass_problem": self.pgpass_failed,
            "uses_postgres": self.uses_postgres,
        }


_MARK_OF: dict[str, Mark] = {"ok": "ok", "info": "warn", "warning": "warn", "error": "fail"}


def _check(finding: Finding) -> Check:
    message = finding.message[:1].upper() + finding.message[1:]
    return Check(_MARK_OF[finding.level], finding.key, message)


def validate_environment(env_file: Path | None = None) -> EnvReport:
    """The configuration rules (`hantu.config.check.configuration_report`) in the guide's shape."""
    from hantu.config.check import configuration_report
    from hantu.strategy.registry import available_strategies

    config = configuration_report(env_file, strategies=available_strategies())
    report = EnvReport()
    report.sections.append(
        ("Checking configuration file...", [_check(f) for f in config.file + config.invalid])
    )
    if config.effective is None:
        return report
    report.uses_postgres = config.effective.uses_postgres
    database = (
        [_check(f) for f in config.database]
        if report.uses_postgres
        else [Check("ok", "Database", "SQLite (PostgreSQL not configured; .pgpass not needed)")]
    )
    report.sections.append(("Checking PostgreSQL authentication...", database))
    required, optional = [], []
    for variable in config.variables:
        if variable.required:
            required.append(
                Check("ok", variable.guide_name, "Set")
                if variable.is_set
                else Check("fail", variable.guide_name, "Missing (Required)")
            )
            if not variable.is_set:
                report.missing_required.append(variable.guide_name)
        else:
            optional.append(
                Check("ok", variable.guide_name, "Set")
                if variable.is_set
                else Check("warn", variable.guide_name, "Missing (Optional)")
            )
    report.sections.append(("Checking required variables...", required))
    report.sections.append(("Checking optional variables...", optional))
    variable_keys = {v.key for v in config.variables}
    invalid = {f.key for f in config.invalid}
    rules = [_check(f) for f in config.rules if f.key not in variable_keys | invalid]
    report.sections.append(("Checking settings...", rules))
    return report


def render_report(report: EnvReport) -> str:
    """The report in the guide's shape: ✓/⚠/✗ lines, then `Validation: PASSED` or `FAILED`."""
    lines = [RULE, "Environment Variable Validation", RULE, ""]
    for title, checks in report.sections:
        if not checks:
            continue
        lines.append(title)
        lines.extend(check.line() for check in checks)
        lines.append("")
    lines.append(RULE)
    if report.passed:
        lines.append("✓ All required environment variables are set")
        lines.append("Validation: PASSED")
    else:
        if report.missing_required:
            lines.append("✗ Missing required variables: " + ", ".join(report.missing_required))
        others = [c for c in report.failures if c.name not in report.missing_required]
        if others:
            lines.append(f"✗ Other problems: {len(others)} (" + ", ".join(c.name for c in others) + ")")
        lines.append("Validation: FAILED")
    return "\n".join(lines) + "\n"
