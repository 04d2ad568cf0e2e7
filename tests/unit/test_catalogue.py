"""The shipped catalogue, the staff import command and its all-or-nothing validation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from npq.__main__ import CATALOGUE_DIR, main, migrate
from npq.catalogue import CatalogueInvalid, import_catalogue, read_only
from npq.db import make_engine, make_session_factory, session_scope
from npq.db.models import Cohort, FundingRule, Hub, NetworkSetting, PartnerContent, Programme

CURRENT = {"NPQLT", "NPQLTD", "NPQLBC", "NPQLL", "NPQLPM", "NPQEYL", "NPQSENCO", "NPQSL",
           "NPQH", "NPQEL", "EHCO"}
REGIONS = {"North East", "North West", "Yorkshire and the Humber", "East Midlands",
           "West Midlands", "East of England", "London", "South East", "South West"}


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def catalogue_copy(tmp_path: Path) -> Path:
    target = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE_DIR, target)
    return target


def replace_line(path: Path, line: int, old: str, new: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    assert old in lines[line - 1], f"line {line} of {path.name} has no {old!r}"
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path.write_text("".join(lines))


def test_shipped_catalogue_is_valid() -> None:
    assert read_only([CATALOGUE_DIR]).problems == []


def test_seeded_database_holds_the_whole_catalogue(session: Session) -> None:
    current = set(session.scalars(select(Programme.code).where(Programme.status == "current")))
    assert current == CURRENT
    npqml = session.get(Programme, "NPQML")
    assert npqml is not None and npqml.is_legacy
    assert {p.code for p in npqml.successors} == {"NPQLT", "NPQLTD", "NPQLBC"}
    hubs = list(session.scalars(select(Hub)))
    assert 25 <= len(hubs) <= 40 and all(h.is_demo for h in hubs)
    assert {h.region for h in hubs} == REGIONS
    intakes = set(session.scalars(select(Cohort.intake).distinct()))
    assert len(intakes) == 2
    assert count(session, FundingRule) > 0 and count(session, PartnerContent) > 0


def test_reimport_changes_nothing(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        before = sorted(session.execute(select(Cohort.id, Cohort.programme_code)).tuples())
    with session_scope(session_factory) as session:
        import_catalogue(session, [CATALOGUE_DIR])
    with session_factory() as session:
        after = sorted(session.execute(select(Cohort.id, Cohort.programme_code)).tuples())
    assert before == after  # ids stay stable, so reminders sent stay linked to their cohort


def test_bad_rows_are_reported_with_file_line_and_reason_and_nothing_is_written(
    catalogue_copy: Path, session_factory: sessionmaker[Session]
) -> None:
    replace_line(catalogue_copy / "hubs.csv", 2, "North East", "Narnia")
    replace_line(catalogue_copy / "cohorts.csv", 3, "tyneside", "atlantis")
    replace_line(catalogue_copy / "hubs.csv", 3, "npq@", "npq-at-")
    with session_factory() as session:
        hubs_before = count(session, Hub)
    with pytest.raises(CatalogueInvalid) as raised, session_scope(session_factory) as session:
        import_catalogue(session, [catalogue_copy])
    reasons = [str(p) for p in raised.value.problems]
    assert any(r.startswith("hubs.csv, line 2: 'region' must be one of") for r in reasons)
    assert any(r.startswith("hubs.csv, line 3: 'contact_email'") for r in reasons)
    assert any(r.startswith("cohorts.csv, line 3: unknown hub 'atlantis'") for r in reasons)
    with session_factory() as session:
        assert count(session, Hub) == hubs_before
        assert session.scalar(select(Hub).where(Hub.region == "Narnia")) is None


def test_a_valid_hubs_file_imported_alone_updates_hubs(
    catalogue_copy: Path, session_factory: sessionmaker[Session]
) -> None:
    hubs = catalogue_copy / "hubs.csv"
    replace_line(hubs, 2, "Tyneside NPQ Hub", "Tyneside and Northumberland NPQ Hub")
    lines = hubs.read_text().splitlines(keepends=True)
    removed = lines.pop(3).split(",")[0]  # the third hub leaves the network
    hubs.write_text("".join(lines))
    with session_scope(session_factory) as session:
        import_catalogue(session, [hubs])
    with session_factory() as session:
        assert session.scalar(select(Hub.name).where(Hub.slug == "tyneside")) == (
            "Tyneside and Northumberland NPQ Hub")
        gone = session.scalar(select(Hub).where(Hub.slug == removed))
        assert gone is None
        # its cohorts go with it rather than turning into online cohorts
        assert count(session, Cohort) < 400
        online = session.scalars(select(Cohort).where(Cohort.hub_id.is_(None))).all()
        assert {c.programme_code for c in online} <= CURRENT


def test_yaml_errors_name_the_line(catalogue_copy: Path) -> None:
    programmes = catalogue_copy / "programmes.yaml"
    text = programmes.read_text().replace("length_months: 18", "length_months: eighteen", 1)
    programmes.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "eighteen" in row)
    problems = read_only([programmes]).problems
    assert len(problems) == 1
    assert problems[0].file == "programmes.yaml"
    assert "length_months" in problems[0].reason
    assert problems[0].line < line  # the entry that holds the bad value, which starts above it


def test_import_command_reports_problems_and_exit_code(
    catalogue_copy: Path, database_url: str, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    migrate(database_url)
    replace_line(catalogue_copy / "cohorts.csv", 2, "2027-02-16", "2027-02-30")
    assert main(["import", str(catalogue_copy)]) == 1
    err = capsys.readouterr().err
    assert "Nothing was imported" in err
    assert "cohorts.csv, line 2: 'applications_close' must be a date" in err
    engine = make_engine(database_url)
    with make_session_factory(engine)() as session:
        assert count(session, Programme) == 0
    engine.dispose()
    assert main(["import", str(CATALOGUE_DIR)]) == 0
    assert "Imported" in capsys.readouterr().out


def test_seed_imports_only_the_files_whose_tables_are_empty(
    seeded_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A database seeded by an earlier version gets a newly shipped file, and nothing else."""
    monkeypatch.setenv("DATABASE_URL", seeded_url)
    engine = make_engine(seeded_url)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        session.query(NetworkSetting).delete()
        session.get(Hub, 1).name = "Renamed by staff"  # type: ignore[union-attr]
    assert main(["seed"]) == 0
    assert capsys.readouterr().out.startswith("Imported ")
    with factory() as session:
        assert count(session, NetworkSetting) > 0
        assert session.get(Hub, 1).name == "Renamed by staff"  # type: ignore[union-attr]
    engine.dispose()
    assert main(["seed"]) == 0
    assert "already holds the catalogue" in capsys.readouterr().out


# --- network.yaml: links and settings the answers quote ------------------------------------

def test_seeded_database_holds_the_network_links_and_settings(session: Session) -> None:
    rows = {row.key: row for row in session.scalars(select(NetworkSetting))}
    assert rows["registration_service"].value == (
        "https://register-national-professional-qualifications.education.gov.uk/")
    assert rows["npq_guidance"].value.startswith("https://www.gov.uk/")
    assert all(row.value.startswith("https://") for row in rows.values() if row.kind == "link")
    assert "@" in rows["office_email"].value and rows["office_email"].kind == "text"
    assert [row.key for row in sorted(rows.values(), key=lambda r: r.position)][0] == "npq_guidance"


@pytest.mark.parametrize("old, new, reason", [
    ("url: https://find-a-lost-trn", "url: http://find-a-lost-trn",
     "'url' must be a full https:// address"),
    ("value: npq@network-office.example.org", "value: the office",
     "'value' of office_email is not an email address"),
    ("key: eligible_settings", "key: Eligible Settings", "'key' must be lower-case letters"),
    ("key: office_hours", "key: dfe_check_time", "duplicate of line"),
])
def test_bad_network_entries_name_file_line_and_reason(
    catalogue_copy: Path, old: str, new: str, reason: str
) -> None:
    network = catalogue_copy / "network.yaml"
    network.write_text(network.read_text().replace(old, new, 1))
    problems = read_only([network]).problems
    assert len(problems) == 1, problems
    assert problems[0].file == "network.yaml"
    assert reason in problems[0].reason
    reported = network.read_text().splitlines()[problems[0].line - 1]
    assert reported.strip().startswith("- key:")  # the line where the faulty entry starts


def test_a_missing_required_link_is_reported(catalogue_copy: Path) -> None:
    network = catalogue_copy / "network.yaml"
    network.write_text(network.read_text().replace("key: registration_service",
                                                   "key: registration_page", 1))
    reasons = [str(p) for p in read_only([network]).problems]
    assert reasons == ["network.yaml, line 1: 'links:' must include the key registration_service"]


def test_a_bad_network_file_blocks_the_whole_import(
    catalogue_copy: Path, session_factory: sessionmaker[Session]
) -> None:
    replace_line(catalogue_copy / "hubs.csv", 2, "Tyneside NPQ Hub", "Tyneside Renamed Hub")
    network = catalogue_copy / "network.yaml"
    network.write_text(network.read_text().replace("    checked: yes", "    checked: perhaps", 1))
    with pytest.raises(CatalogueInvalid) as raised, session_scope(session_factory) as session:
        import_catalogue(session, [catalogue_copy])
    assert [p.file for p in raised.value.problems] == ["network.yaml"]
    assert "'checked' must be yes or no" in raised.value.problems[0].reason
    with session_factory() as session:
        assert session.scalar(select(Hub.name).where(Hub.slug == "tyneside")) == "Tyneside NPQ Hub"


def test_network_file_imported_alone_replaces_the_settings(
    catalogue_copy: Path, session_factory: sessionmaker[Session]
) -> None:
    network = catalogue_copy / "network.yaml"
    network.write_text(network.read_text().replace(
        "npq@network-office.example.org", "hello@npq-office.example.org"))
    with session_scope(session_factory) as session:
        summary = import_catalogue(session, [network])
    assert summary.counts == {"network settings": count_network_rows(network)}
    with session_factory() as session:
        assert session.get(NetworkSetting, "office_email").value == "hello@npq-office.example.org"
        assert count(session, Programme) > 0  # the other tables were left as they were


def count_network_rows(path: Path) -> int:
    return path.read_text().count("- key:")


# --- facts staff keep: provisional rules, session times, places left -----------------------

@pytest.mark.parametrize("old, new, reason", [
    ("    provisional: true\n", "", "'provisional' must be true (a projection"),
    ("    provisional: true\n", "    provisional: perhaps\n", "'provisional' must be true"),
    ("    source: Projected", "    sources: Projected", "'source' is missing"),
])
def test_every_funding_rule_must_say_whether_it_is_published_and_where_from(
    catalogue_copy: Path, old: str, new: str, reason: str
) -> None:
    rules = catalogue_copy / "funding_rules.yaml"
    rules.write_text(rules.read_text().replace(old, new, 1))
    problems = read_only([catalogue_copy / "programmes.yaml", rules]).problems
    assert len(problems) == 1 and problems[0].file == "funding_rules.yaml", problems
    assert reason in problems[0].reason


@pytest.mark.parametrize("places, left, reason", [
    ("19", "20", "'places_left' (20) is more than 'places' (19)"),
    ("19", "many", "'places_left' must be a whole number or empty (got 'many')"),
    ("0", "", "'places' must be a positive whole number or empty (got '0')"),
])
def test_places_left_is_a_count_no_more_than_the_places(
    catalogue_copy: Path, places: str, left: str, reason: str
) -> None:
    cohorts = catalogue_copy / "cohorts.csv"
    lines = cohorts.read_text().splitlines(keepends=True)
    fields = lines[1].rstrip("\n").split(",")
    fields[-3:-1] = [places, left]
    lines[1] = ",".join(fields) + "\n"
    cohorts.write_text("".join(lines))
    reasons = [str(p) for p in read_only([catalogue_copy]).problems]
    assert reasons == [f"cohorts.csv, line 2: {reason}"]


def test_places_left_and_session_times_are_imported_and_may_be_unknown(session: Session) -> None:
    keighley = session.scalar(select(Hub).where(Hub.slug == "keighley"))
    assert keighley is not None and keighley.session_times == (
        "after school (4.30pm to 6.30pm) and some school days")
    lefts = session.scalars(select(Cohort.places_left).where(Cohort.intake == "2027a")).all()
    assert None in lefts and 0 in lefts and any(n and n > 0 for n in lefts)
    assert all(c.places_left is None or c.places_left <= (c.places or 0)
               for c in session.scalars(select(Cohort)))


def test_demo_hubs_name_no_real_organisation(session: Session) -> None:
    """Regression: demo hubs named real trusts and alliances (some from the seed articles) with
    invented contacts. Every lead organisation is now a clearly invented demo name."""
    real = ("Dean Trust", "Exceed", "Bronte", "Aspire", "Education Teaching Alliance")
    hubs = session.scalars(select(Hub)).all()
    assert all(h.lead_organisation.endswith("Demo Schools Partnership") for h in hubs)
    assert not [h.lead_organisation for h in hubs if any(name in h.lead_organisation
                                                          for name in real)]
    assert all(h.contact_email.endswith(".example.org") for h in hubs)
