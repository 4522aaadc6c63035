"""Masking (issue 12, Medium 4 and 5): what the organisation's key reads from a target (live
emails, phones, nested company values) never reaches an output the pull request's author can
see, whatever the repository's ``sensitive:`` says."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from reconciler.escape import json_text
from reconciler.kinds import CAPABILITIES
from reconciler.load.workspace import Workspace, load_workspace
from reconciler.model import Company, LiveUser, Membership, UserSpec, format_path, upsert_to_json
from reconciler.plan.mask import mask_report
from reconciler.plan.message import decode, mask_vendor_text, skeleton
from reconciler.plan.planner import plan_target
from reconciler.planned import ApplyReport, Plan, UserOutcome
from reconciler.render.documents import report_document, saved_plan_json
from reconciler.render.markdown import render_apply_markdown
from reconciler.render.text import report_lines, styled
from reconciler.render.view import PlanView
from reconciler.usecases.present import present_plan
from tests.gitrepo import GitRepo, isolate_git, requires_git
from tests.rendered import render_plan
from tests.security.attacker import SANDBOX_CONFIG, Attacker, assert_nothing_leaked
from tests.security.attacker_outputs import (
    apply_outputs,
    leaks,
    plan_outputs,
    reconciler,
    write_files,
)

LIVE_EMAIL, LIVE_PHONE = "alice.live@corp.example", "+1 555 0100"
NEW_EMAIL, NEW_PHONE = "alice.new@corp.example", "+1 555 0199"


def _live_repo(tmp_path: Path) -> Path:
    """The base branch's repository, applied: the sandbox holds alice's email and phone."""
    config = 'targets:\n  local:\n    provider: sandbox\nusers: ["users/"]\nsensitive: [phone]\n'
    alice = {"id": "alice", "email": LIVE_EMAIL, "attributes": {"phone": LIVE_PHONE, "plan": "x"}}
    repo = write_files(
        tmp_path / "repo", {"reconciler.yaml": config, "users/a.yaml": {"users": [alice]}}
    )
    applied = reconciler("apply", "--yes", cwd=repo)
    assert applied.code == 0, applied.both
    return repo


@pytest.mark.parametrize("sensitive", ["[nothing]", "[]", "[phone]", "[attributes.plan]"])
def test_a_pull_request_cannot_unmask_the_email(tmp_path: Path, sensitive: str) -> None:
    repo = _live_repo(tmp_path)
    config = (repo / "reconciler.yaml").read_text().replace("[phone]", sensitive)
    alice = {"id": "alice", "email": NEW_EMAIL, "attributes": {"phone": NEW_PHONE, "plan": "y"}}
    write_files(repo, {"reconciler.yaml": config, "users/a.yaml": {"users": [alice]}})
    outputs = plan_outputs(repo)
    assert "~ email: (sensitive) -> (sensitive)" in outputs["plan text stdout"]
    assert leaks(outputs, [LIVE_EMAIL, NEW_EMAIL, "alice.live", "alice.new"]) == []
    if "phone" in sensitive:
        assert leaks(outputs, [LIVE_PHONE, NEW_PHONE, "555 01"]) == []


def test_nested_values_are_masked_in_every_output(tmp_path: Path) -> None:
    """``sensitive: [revenue]`` masks a new company's revenue, a membership's company revenue
    and a changed one, in every format plan and apply print (the issue's ``{"revenue": 999}``)."""
    config = (
        'targets:\n  local:\n    provider: sandbox\nusers: ["users/"]\n'
        "sensitive: [revenue, memberships.globex.seats]\n"
    )
    users = [
        {"id": "u1", "companies": [{"id": "acme", "attributes": {"revenue": 9990001, "n": 1}}]},
        {
            "id": "u2",
            "memberships": [
                {
                    "company": {"id": "globex", "attributes": {"revenue": 9990002}},
                    "attributes": {"seats": 9990003, "role": "admin"},
                }
            ],
        },
    ]
    repo = write_files(
        tmp_path / "repo", {"reconciler.yaml": config, "users/a.yaml": {"users": users}}
    )
    secrets = ["9990001", "9990002", "9990003"]
    outputs = plan_outputs(repo)
    assert "+ companies.acme.revenue = (sensitive)" in outputs["plan text stdout"]
    assert "+ companies.acme.n = 1" in outputs["plan text stdout"]
    assert "+ memberships.globex.company.revenue = (sensitive)" in outputs["plan text stdout"]
    assert "+ memberships.globex.seats = (sensitive)" in outputs["plan text stdout"]
    assert '+ memberships.globex.role = "admin"' in outputs["plan text stdout"]
    outputs.update(apply_outputs(repo))
    assert "Apply complete: 2 applied, 0 failed." in outputs["apply text stdout"]
    assert leaks(outputs, secrets) == []
    # A changed value: the live one (read with the organisation's key) and the new one.
    users[0]["companies"][0]["attributes"]["revenue"] = 9990004
    write_files(repo, {"users/a.yaml": {"users": users}})
    outputs = plan_outputs(repo)
    assert "~ companies.acme.revenue: (sensitive) -> (sensitive)" in outputs["plan text stdout"]
    assert leaks(outputs, [*secrets, "9990004"]) == []


# -- Property: for any sensitive name at any depth, no output format holds its value ----------

#: Where a declared value can live, as (kind, path under the user) of one attribute.
_DEPTHS = ("attributes", "companies", "membership company", "membership")
_NAMES = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_.-", min_size=1, max_size=8)
#: Values no output would hold by chance (not a count, not hex): long enough to be searched for.
_VALUES = st.one_of(
    st.integers(10_000_000, 99_999_999),
    st.text(alphabet="QWXZJK", min_size=6, max_size=10).map(lambda text: f"s3cr3t{text}"),
)


@st.composite
def _cases(draw: st.DrawFn) -> tuple[UserSpec, LiveUser | None, str, list[str]]:
    """A user with one sensitive value at a drawn depth (new, or changed from a live one)."""
    depth = draw(st.sampled_from(_DEPTHS))
    # Company ids apart from attribute names, so that "plain" shows unless a prefix is listed.
    name, company = draw(_NAMES), draw(st.text(alphabet="ABCDEFGHIJ", min_size=1, max_size=6))
    value, old = draw(_VALUES), draw(_VALUES)
    assume(str(value) != str(old))
    live_has_it = draw(st.booleans())
    values = {name: value, "plain": "shown"}
    live_values = {name: old} if live_has_it else {}
    path = {
        "attributes": ("attributes", name),
        "companies": ("companies", company, name),
        "membership company": ("memberships", company, "company", name),
        "membership": ("memberships", company, name),
    }[depth]
    listed = draw(st.sampled_from([name, format_path(path), format_path(path[:2])]))
    if depth == "attributes":
        spec = UserSpec("u1", attributes=values)
        live = LiveUser("u1", attributes=live_values)
    elif depth == "companies":
        spec = UserSpec("u1", companies=(Company(company, values),))
        live = LiveUser("u1", companies={company: live_values} if live_has_it else {})
    else:
        own = depth == "membership"
        membership = Membership(Company(company, {} if own else values), values if own else {})
        spec = UserSpec("u1", memberships=(membership,))
        current = Membership(
            Company(company, {} if own else live_values), live_values if own else {}
        )
        live = LiveUser("u1", memberships={company: current} if live_has_it else {})
    secrets = [json.dumps(value), str(value), json.dumps(old), str(old)]
    if listed == format_path(path[:2]) and depth != "attributes":
        secrets.append('"shown"')  # the whole company or membership is listed: masked too
    return spec, live if draw(st.booleans()) else None, listed, secrets


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("property")
    config = 'targets:\n  local:\n    provider: sandbox\nusers: ["users/"]\n'
    write_files(root, {"reconciler.yaml": config, "users/a.yaml": "users: []\n"})
    return load_workspace(root / "reconciler.yaml", {})


def _every_format(view: PlanView, shown: ApplyReport) -> dict[str, str]:
    return {
        "text": render_plan(view, "text", colour=False),
        "markdown": render_plan(view, "markdown", colour=False),
        "json": render_plan(view, "json", colour=False),
        "saved plan": saved_plan_json(view),
        "apply text": styled(report_lines(shown), colour=False),
        "apply markdown": render_apply_markdown(shown),
        "apply json": json_text(report_document(shown)),
    }


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(_cases())
def test_no_format_holds_a_sensitive_value_at_any_depth(
    workspace: Workspace, case: tuple[UserSpec, LiveUser | None, str, list[str]]
) -> None:
    spec, live, listed, secrets = case
    config = dataclasses.replace(workspace.config, sensitive=frozenset({"email", listed}))
    here = dataclasses.replace(workspace, config=config)
    caps = CAPABILITIES["sandbox"]
    plan = Plan(
        (plan_target("local", "sandbox", caps, [spec], {} if live is None else {"u1": live}),)
    )
    [change] = plan.targets[0].changes
    # The target refused the request, quoting it, and kept none of the values.
    message = f"400: bad request {json.dumps(upsert_to_json(change.upsert))}"
    report = ApplyReport(
        (
            UserOutcome("local", "u1", "failed", message=message),
            UserOutcome("local", "u1", "not_stuck", not_stuck=change.fields),
        )
    )
    view = present_plan(plan, here.config, here.digest, {})
    outputs = _every_format(view, mask_report(report, plan, here.config.sensitive))
    assert "(sensitive)" in outputs["text"]
    if '"shown"' not in secrets:
        assert '"shown"' in outputs["text"]  # what is not sensitive still shows
    assert leaks(outputs, secrets) == []


def test_the_workflow_keeps_a_name_masked_that_the_pull_request_stops_listing(
    tmp_path: Path,
) -> None:
    """``RECONCILER_SENSITIVE`` (the base branch's workflow) masks what reconciler.yaml (the
    pull request's) no longer lists: here the PR drops ``phone`` and changes it."""
    repo = _live_repo(tmp_path)
    config = (repo / "reconciler.yaml").read_text().replace("[phone]", "[]")
    alice = {"id": "alice", "email": NEW_EMAIL, "attributes": {"phone": NEW_PHONE, "plan": "y"}}
    write_files(repo, {"reconciler.yaml": config, "users/a.yaml": {"users": [alice]}})
    unmasked = plan_outputs(repo)
    assert leaks(unmasked, [LIVE_PHONE]) != []  # the attack works without the workflow's list
    (repo.parent / f"{repo.name}-summary.md").unlink()  # the job summary appends: a new job
    outputs = plan_outputs(repo, env={"RECONCILER_SENSITIVE": " plan , phone"})
    assert "~ attributes.phone: (sensitive) -> (sensitive)" in outputs["plan text stdout"]
    assert leaks(outputs, [LIVE_PHONE, NEW_PHONE, "555 01", LIVE_EMAIL, NEW_EMAIL]) == []
    assert leaks(outputs, ['"y"', '"x"']) == []  # plan, listed by the workflow only


#: Declared values that validate refuses, each unique so that any output quoting it is caught.
_REFUSED_VALUES = {
    "phone": "+4755501234",  # a number would lose its '+'
    "zip": "0012345678",  # a leading zero
    "pin": "0x5EC2E7",  # another base
    "big": "98765432109876543210",  # beyond 2^53
    "ratio": "7e999",  # infinity
    "flag": "!!bool maybe4711",
    "count": "!!int twelve4711",
    "gone": "!!null nope4711",
    "share": "!!float half4711",
}


def test_validate_messages_never_quote_a_declared_value(attacker: Attacker) -> None:
    """Review finding: the loader's number and tag messages and the schema's type messages
    quoted the value written (``+4755501234 would lose its '+'``), also under a sensitive name
    such as ``phone``; CI logs are public. They name the field and say what to do."""
    refused = "\n".join(f"      {name}: {value}" for name, value in _REFUSED_VALUES.items())
    typed = (
        "users:\n  - id: 12350987\n    targets: [production]\n"
        "    attributes: {score: 0.123456789}\n"
        "    events: [{event: login, timestamp: yesterday4711}]\n"
    )
    config = SANDBOX_CONFIG + "  production:\n    provider: sprig\n    api_key_env: K\n"
    attacker.write(
        {
            "users/a.yaml": f'users:\n  - id: "1"\n    attributes:\n{refused}\n',
            "users/b.yaml": typed,
        },
        config=config + "sensitive: [phone, zip]\n",
    )
    outcomes = attacker.run_all_formats("validate") + attacker.run_all_formats("plan")
    secrets = [value.split()[-1] for value in _REFUSED_VALUES.values()]
    assert_nothing_leaked(outcomes, *secrets, "12350987", "0.123456789", "yesterday4711")
    assert all(outcome.code == 1 for outcome in outcomes)
    text = outcomes[0].stderr
    for name in _REFUSED_VALUES:
        assert f"users[0].attributes.{name}:" in text, (name, text)
    assert "users[0].id: expected a string, got an integer; quote it" in text
    assert "users[0].events[0].timestamp: expected an integer, got a string" in text


VIP_PHONE = "+47 555 12345"


@requires_git
@pytest.mark.parametrize("flag", ["--sensitive-from", "--changed-since"])
def test_a_pull_request_cannot_unmask_what_its_base_branch_masks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flag: str
) -> None:
    """Issue 23.2: main has ``sensitive: [email, phone]``; the pull request sets
    ``sensitive: [nothing]`` and changes vip-1's phone. With the base revision known (the
    workflow's ``--sensitive-from HEAD^1``, or ``--changed-since HEAD^1``), the names sensitive
    on main stay masked in every output, whatever RECONCILER_SENSITIVE says (here: nothing)."""
    isolate_git(tmp_path, monkeypatch)
    repo = tmp_path / "repo"
    config = (
        'targets:\n  local:\n    provider: sandbox\nusers: ["users/"]\nsensitive: [email, phone]\n'
    )
    vip = {"id": "vip-1", "email": LIVE_EMAIL, "attributes": {"phone": VIP_PHONE, "role": "x"}}
    write_files(repo, {"reconciler.yaml": config, "users/a.yaml": {"users": [vip]}})
    (repo / ".gitignore").write_text(".reconciler/\n*-plan.json\n")
    history = GitRepo(repo)
    history.commit({}, "main")
    applied = reconciler("apply", "--yes", cwd=repo)
    assert applied.code == 0, applied.both
    pull_request = {**vip, "attributes": {"phone": "0", "role": "y"}}
    write_files(
        repo,
        {
            "reconciler.yaml": config.replace("[email, phone]", "[nothing]"),
            "users/a.yaml": {"users": [pull_request]},
        },
    )
    history.commit({}, "the pull request")
    unmasked = plan_outputs(repo)
    assert leaks(unmasked, [VIP_PHONE]) != []  # without the base revision, the attack works
    (repo.parent / f"{repo.name}-summary.md").unlink()  # the job summary appends: a new job
    outputs = plan_outputs(repo, flag, "HEAD^1")
    # Masked, and not even compared (issue 23.5): a pull request's plan compares at apply.
    assert "~ attributes.phone: sensitive, compared at apply" in outputs["plan text stdout"]
    assert '~ attributes.role: "x" -> "y"' in outputs["plan text stdout"]  # not masked on main
    assert leaks(outputs, [VIP_PHONE, "555 123", LIVE_EMAIL]) == []


@requires_git
def test_a_base_revision_whose_sensitive_names_cannot_be_read_plans_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fail closed: planning on without the base's names could print them."""
    isolate_git(tmp_path, monkeypatch)
    repo = tmp_path / "repo"
    history = GitRepo(repo)
    history.commit({"reconciler.yaml": "targets: {local: {provider: sandbox}}\nsensitive: phone\n"})
    history.commit({"reconciler.yaml": "targets: {local: {provider: sandbox}}\n"})
    write_files(repo, {"users/a.yaml": {"users": [{"id": "u1"}]}})
    refused = reconciler("plan", "--sensitive-from", "HEAD^1", cwd=repo)
    assert refused.code == 1
    assert "cannot read the sensitive names of reconciler.yaml at HEAD^1" in refused.stderr
    first = reconciler("plan", "--sensitive-from", "HEAD", cwd=repo)  # no sensitive: there
    assert first.code == 0, first.both


def _json_escaped(text: str) -> str:
    return "".join(f"\\u{ord(char):04x}" for char in text)


#: How a vendor might echo alice's email and phone in its error text (issue 23.6).
_REENCODED = {
    "as sent": lambda text: text,
    "json \\u escapes": _json_escaped,
    "upper case": str.upper,
    "url encoded": lambda text: quote(text, safe=""),
    "form encoded": lambda text: quote_plus(text),
    "html entities": lambda text: "".join(f"&#{ord(char)};" for char in text),
    "escaped then url encoded": lambda text: quote(_json_escaped(text), safe=""),
    "without punctuation": lambda text: "".join(c for c in text if c.isalnum()).upper(),
}


@pytest.mark.parametrize("encoding", sorted(_REENCODED))
@pytest.mark.parametrize("in_json", [False, True])
def test_a_vendor_message_reencoding_the_request_reveals_nothing(
    workspace: Workspace, encoding: str, in_json: bool
) -> None:
    """A vendor (or whatever answers as one) echoes the refused request re-encoded: apply's
    text, JSON and step summary show neither the email nor a sensitive value, in any form."""
    config = dataclasses.replace(workspace.config, sensitive=frozenset({"email", "phone"}))
    here = dataclasses.replace(workspace, config=config)
    spec = UserSpec("u1", email=NEW_EMAIL, attributes={"phone": NEW_PHONE, "plan": "pro"})
    plan = Plan((plan_target("local", "sandbox", CAPABILITIES["sandbox"], [spec], {}),))
    encode = _REENCODED[encoding]
    echoed = f"invalid email {encode(NEW_EMAIL)} or phone {encode(NEW_PHONE)} (plan pro)"
    message = f"422 {json.dumps({'detail': echoed}) if in_json else echoed}"
    report = ApplyReport((UserOutcome("local", "u1", "failed", message=message),))
    shown = mask_report(report, plan, here.config.sensitive)
    outputs = {
        "apply text": styled(report_lines(shown), colour=False),
        "apply markdown (step summary)": render_apply_markdown(shown),
        "apply json": json_text(report_document(shown)),
    }
    for name, output in outputs.items():
        seen = skeleton(decode(output))
        for value in (NEW_EMAIL, NEW_PHONE, "alice.new", "5550199"):
            assert skeleton(value) not in seen, (name, value, output)
        assert "422" in output, (name, output)


def test_a_vendor_message_without_sensitive_values_is_shown_decoded() -> None:
    assert (
        mask_vendor_text("400 bad \\u0022plan\\u0022 for u1", {NEW_EMAIL})
        == '400 bad "plan" for u1'
    )
    assert mask_vendor_text("409 write to bob@corp.example denied", set()) == (
        "409 write to (sensitive) denied"  # any email, whoever's: the email is always masked
    )


def test_a_pull_request_cannot_unmask_by_renaming(tmp_path: Path) -> None:
    """The workflow masks ``phone`` (RECONCILER_SENSITIVE) and the file too; a pull request
    drops it from ``sensitive:`` and renames it in the target's mapping, so that the plan
    shows ``attributes.mobile``: the value stays masked under its new name."""
    repo = _live_repo(tmp_path)
    config = (repo / "reconciler.yaml").read_text().replace("sensitive: [phone]\n", "")
    config = config.replace(
        "provider: sandbox\n", "provider: sandbox\n    mapping: {phone: {rename: mobile}}\n"
    )
    alice = {"id": "alice", "email": NEW_EMAIL, "attributes": {"phone": NEW_PHONE, "plan": "x"}}
    write_files(repo, {"reconciler.yaml": config, "users/a.yaml": {"users": [alice]}})
    env = {"RECONCILER_SENSITIVE": "phone"}
    outputs = plan_outputs(repo, env=env)
    assert "+ attributes.mobile = (sensitive)" in outputs["plan text stdout"]
    outputs.update(apply_outputs(repo, env=env))
    assert leaks(outputs, [NEW_PHONE, LIVE_PHONE, "555 01"]) == []
