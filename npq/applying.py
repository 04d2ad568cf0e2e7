"""How to apply: the two steps (register with the DfE, then the provider's application), what to
have ready, and the links, all taken from the catalogue (network.yaml) rather than the code.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from npq.answers import Answer, Button, long_date
from npq.db.models import Programme
from npq.deadlines import first_deadline
from npq.network import Network, load_network, office_contact
from npq.programmes import find_programme
from npq.topics import topic_of

PHONE_SIZE = 880  # optional lines are left out beyond this
PROVIDER = frozenset({"provider"})
ASK_YOUR_HUB = frozenset({"ask_your_hub"})
ENDORSEMENT = frozenset({"endorsement"})
REFERENCE_NUMBERS = frozenset({"trn", "urn"})


def steps_text(network: Network) -> str:
    """The two steps, with the registration link, the provider to choose and the DfE's checking
    time when stored."""
    service = network.get("registration_service")
    check = network.get("dfe_check_time")
    provider = network.fact("lead_provider")
    return "\n".join(filter(None, [
        "1. Register with the DfE using your teacher reference number (TRN) and your school's URN."
        + (f" When it asks for your provider, choose {provider.rstrip('.')}." if provider else "")
        + (f" The DfE's checks take {check}." if check else ""),
        f"Register here: {service}" if service else "",
        "2. Your provider or hub then sends you its own application. Some providers need your "
        "headteacher to endorse it.",
    ]))


def ready_lines(network: Network) -> list[str]:
    """What to have ready, each with where to find it."""
    trn, urn = network.get("find_trn"), network.get("find_urn")
    return [
        "• your TRN" + (f" (lost it? {trn})" if trn else ""),
        "• your school's URN" + (f" (look it up: {urn})" if urn else ""),
        "• the course and hub you've chosen",
        "• your headteacher's agreement, and who pays if you're not funded",
    ]


def how_to_apply_answer(session: Session, *, today: dt.date, programme_code: str | None = None,
                        question: str | None = None) -> Answer:
    """The two steps, in general or for one programme (its prerequisite and next deadline); a
    question about the provider gets the provider."""
    if topic_of(question, PROVIDER) is not None:
        return provider_answer(session)
    if topic_of(question, ASK_YOUR_HUB) is not None:  # "my application was rejected, why?"
        return ask_your_hub_answer(session)
    if topic_of(question, ENDORSEMENT) is not None:
        return endorsement_answer(programme_code)
    network = load_network(session)
    number = topic_of(question, REFERENCE_NUMBERS)
    if number is not None:
        return reference_number_answer(network, number)
    programme = find_programme(session, programme_code[:200]) if programme_code else None
    if programme is not None and programme.is_legacy:
        return Answer(f"{programme.code} is no longer offered, so you can't apply for it. It was "
                      f"replaced by {', '.join(p.code for p in programme.successors)}.",
                      tuple(Button(f"Apply for {p.code}", "how_to_apply", {"npq": p.code})
                            for p in programme.successors))
    what = f"{programme.code} ({programme.name})" if programme else "an NPQ"
    lines = [f"Applying for {what} takes two steps:", steps_text(network)]
    if programme is not None:
        lines += _programme_lines(session, today, programme)
    optional = [f"Lost your TRN? {network.get('find_trn')}" if network.get("find_trn") else "",
                f"Find your school's URN: {network.get('find_urn')}" if network.get("find_urn")
                else "",
                f"More on GOV.UK: {network.get('npq_guidance')}" if network.get("npq_guidance")
                else ""]
    for line in filter(None, optional):
        if len("\n".join([*lines, line])) <= PHONE_SIZE:
            lines.append(line)
    extra = {"npq": programme.code} if programme else {}
    return Answer("\n".join(lines), (
        Button("Deadlines", "ask_deadlines", extra),
        Button("Is it funded?", "ask_funding", extra),
        Button("Find my nearest hub", "find_hub", extra),
        Button("Talk to a person", "talk_to_human")))


def endorsement_answer(programme_code: str | None = None) -> Answer:
    """"Do I need my head's permission?": yes, the school has to be on board, and why."""
    extra = {"npq": programme_code} if programme_code else {}
    return Answer(
        "Yes, talk to your headteacher (or line manager) before you apply. Your school needs to "
        "agree because the course takes time in your working week, some providers ask your "
        "headteacher to endorse your application, and if you're not funded your school usually "
        "pays the fee. If you are the headteacher, check with your governors or trust.", (
            Button("How do I apply?", "how_to_apply", extra),
            Button("Is it funded?", "ask_funding", extra),
            Button("Talk to a person", "talk_to_human")))


def reference_number_answer(network: Network, which: str) -> Answer:
    """"What's a TRN?" / "where do I find our URN?": what the number is and where to find it."""
    if which == "trn":
        link = network.get("find_trn")
        lines = ["Your TRN (teacher reference number) is the 7-digit number the DfE gives you as a "
                 "teacher, often shown on your payslip or QTS certificate. You need it to "
                 "register for an NPQ."]
        if link:
            lines.append(f"Lost it? Find it here: {link}")
        contact = office_contact(network)
        lines.append("Never had one (for example, you work in early years without QTS)? Ask "
                     + (f"our office: {contact}." if contact else "your hub."))
    else:
        link = network.get("find_urn")
        lines = ["Your school's URN (unique reference number) is the 6-digit number that "
                 "identifies your school or setting. You need it to register for an NPQ."]
        if link:
            lines.append(f"Look it up here: {link}")
    return Answer("\n\n".join(lines), (Button("How do I apply?", "how_to_apply"),
                                        Button("Talk to a person", "talk_to_human")))


def provider_answer(session: Session) -> Answer:
    """Who we are, who our lead provider is, and what to choose on the DfE registration form."""
    network = load_network(session)
    name, about = network.get("network_name"), network.get("network_description")
    lead, on_form = network.get("lead_provider"), network.fact("lead_provider")
    first = f"We're the {name}" + (f", {about.rstrip('.')}" if about else "") if name else \
        "We're a network of schools delivering the NPQs"
    lines = [first + (f". We deliver the NPQs with {lead}, our lead provider." if lead else ".")]
    lines.append(f"On the DfE registration form, choose {on_form.rstrip('.')} as your provider."
                 if on_form else "Your hub will tell you which provider to choose on the DfE "
                 "registration form.")
    return Answer("\n\n".join(lines), (
        Button("How do I apply?", "how_to_apply"),
        Button("Find my nearest hub", "find_hub"),
        Button("Talk to a person", "talk_to_human")))


def ask_your_hub_answer(session: Session) -> Answer:
    """Deferring, a break, logging in, a refused application, group sizes, who facilitates:
    decided case by case by the hub and the provider, and not in our data; said so, with who
    can answer."""
    contact = office_contact(load_network(session), hours=False)
    office = f" You can also contact our office: {contact}." if contact else ""
    return Answer("That depends on your hub and the provider running your course, so I can't "
                  "answer it reliably here. Your hub can: its contact details are in its listing. "
                  f"Or I can pass your question to our team.{office}", (
                      Button("Find my nearest hub", "find_hub"),
                      Button("Talk to a person", "talk_to_human")))


def what_to_have_ready_answer(session: Session) -> Answer:
    """Just the checklist, for "what do I need to apply?"."""
    network = load_network(session)
    lines = ["To register for an NPQ, have ready:", *ready_lines(network)]
    service = network.get("registration_service")
    if service:
        lines.append(f"Then register at {service}")
    contact = office_contact(network)
    if contact:
        lines.append(f"Stuck? Our office can help: {contact}.")
    return Answer("\n".join(lines), (
        Button("How do I apply?", "how_to_apply"),
        Button("Deadlines", "ask_deadlines"),
        Button("Talk to a person", "talk_to_human")))


def _programme_lines(session: Session, today: dt.date, programme: Programme) -> list[str]:
    lines = []
    if programme.prerequisite:
        lines.append(f"Before you apply: {programme.prerequisite}")
    earliest = first_deadline(session, programme.code, today)
    if earliest is None:
        lines.append(f"No {programme.code} intake is open yet: I can remind you when one is.")
    else:
        lines.append(f"The first {programme.code} deadline is {long_date(earliest)}; each hub "
                     "sets its own.")
    return lines
