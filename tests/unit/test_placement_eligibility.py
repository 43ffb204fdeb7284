"""Work-permission eligibility and its dated rules: every boundary, the day before and the
day itself."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from contracts.common import AA_DISTRICT_MG
from contracts.intake import ResidenceStatus
from contracts.placement import JobType
from services.chassis.periods import Counting
from services.chassis.rules import InvalidTransitionError
from services.placement.eligibility import (
    Assessment,
    Barrier,
    ResidenceFacts,
    assess,
    month_of_stay,
)
from services.placement.rulebook import has_good_prospects, rules_in_force
from tests.unit.test_periods import ONE_DAY, every_day, statute_end

AA_DUISBURG = "AA-DU"  # kept the Vorrangprüfung in August 2016

GESTATTUNG = ResidenceFacts(
    status=ResidenceStatus.AUFENTHALTSGESTATTUNG, stay_since=date(2016, 1, 1), nationality="IRQ"
)


def helper_job(facts: ResidenceFacts, on: date, district: str = AA_DISTRICT_MG) -> Assessment:
    return assess(facts, JobType.HELFER, on, district)


def test_no_work_until_three_months_after_the_day_the_stay_began() -> None:
    """A stay since 2016-01-01 (an event: the day is not counted, § 187 (1) BGB) bars work
    through 2016-04-01, the end of the three months (§ 188 (2)), and allows it on 04-02."""
    last_day, first_day = date(2016, 4, 1), date(2016, 4, 2)

    before = assess(GESTATTUNG, JobType.HELFER, last_day, AA_DISTRICT_MG)
    on_the_day = assess(GESTATTUNG, JobType.HELFER, first_day, AA_DISTRICT_MG)

    assert before.barriers == (Barrier.WAITING_PERIOD,)
    assert before.month_of_stay == 3
    assert on_the_day.may_work
    assert on_the_day.month_of_stay == 4


def test_stay_since_the_31st_allows_work_from_the_first_of_the_fourth_month() -> None:
    """Since 2016-01-31: April lacks a 31st, so the period ends with 30 April (§ 188 (3)
    BGB) and work is possible from 2016-05-01; before the fix it was allowed on 04-30."""
    facts = replace(GESTATTUNG, stay_since=date(2016, 1, 31))

    assert helper_job(facts, date(2016, 4, 30)).barriers == (Barrier.WAITING_PERIOD,)
    assert helper_job(facts, date(2016, 5, 1)).may_work


def test_waiting_period_ending_on_a_day_the_month_lacks_ends_with_the_month() -> None:
    """Since 30 Nov 2015: February 2016 lacks a 30th, so the three months end with 29 Feb
    (§ 188 (3) BGB); work is possible from 1 March, not on 29 Feb."""
    facts = replace(GESTATTUNG, stay_since=date(2015, 11, 30))

    assert not assess(facts, JobType.HELFER, date(2016, 2, 29), AA_DISTRICT_MG).may_work
    assert assess(facts, JobType.HELFER, date(2016, 3, 1), AA_DISTRICT_MG).may_work


@pytest.mark.parametrize(
    ("stay_since", "on", "month"),
    [
        (date(2016, 1, 1), date(2015, 12, 31), 0),
        (date(2016, 1, 1), date(2016, 1, 1), 1),
        (date(2016, 1, 1), date(2016, 2, 1), 1),
        (date(2016, 1, 1), date(2016, 2, 2), 2),
        (date(2016, 1, 31), date(2016, 2, 29), 1),
        (date(2016, 1, 31), date(2016, 3, 1), 2),
        (date(2015, 11, 1), date(2017, 2, 1), 15),
        (date(2015, 11, 1), date(2017, 2, 2), 16),
    ],
)
def test_month_of_stay_counts_from_the_day_after_the_stay_began(
    stay_since: date, on: date, month: int
) -> None:
    """Month n of the stay is the one in which n - 1 months (§§ 187 (1), 188 BGB) ran out."""
    assert month_of_stay(stay_since, on) == month


def test_vorrangpruefung_in_month_15_but_not_from_month_16() -> None:
    """Outside the suspension, the priority check runs until 15 months have run out (with
    2017-02-01 for a stay since 2015-11-01) and stops on the next day."""
    facts = replace(GESTATTUNG, stay_since=date(2015, 11, 1))

    month_15 = assess(facts, JobType.HELFER, date(2017, 2, 1), AA_DUISBURG)
    month_16 = assess(facts, JobType.HELFER, date(2017, 2, 2), AA_DUISBURG)

    assert (month_15.month_of_stay, month_15.vorrangpruefung) == (15, True)
    assert (month_16.month_of_stay, month_16.vorrangpruefung) == (16, False)
    assert month_16.ba_consent_needed
    assert month_16.beschaeftigungsbedingungen


def test_ba_consent_in_month_48_but_not_from_month_49() -> None:
    """The BA consents (checking working conditions) until 48 months have run out (with
    2019-11-01 for a stay since 2015-11-01); from the next day it does not."""
    facts = replace(GESTATTUNG, stay_since=date(2015, 11, 1))

    month_48 = assess(facts, JobType.HELFER, date(2019, 11, 1), AA_DUISBURG)
    month_49 = assess(facts, JobType.HELFER, date(2019, 11, 2), AA_DUISBURG)

    assert (month_48.month_of_stay, month_48.ba_consent_needed) == (48, True)
    assert month_48.beschaeftigungsbedingungen
    assert (month_49.month_of_stay, month_49.ba_consent_needed) == (49, False)
    assert not month_49.beschaeftigungsbedingungen
    assert month_49.permission_needed  # the Ausländerbehörde still permits the work


def test_vorrangpruefung_suspended_in_moenchengladbach_from_6_august_2016() -> None:
    """In AA district Mönchengladbach the check applies on 2016-08-05, not on 2016-08-06."""
    day_before = assess(GESTATTUNG, JobType.HELFER, date(2016, 8, 5), AA_DISTRICT_MG)
    from_the_day = assess(GESTATTUNG, JobType.HELFER, date(2016, 8, 6), AA_DISTRICT_MG)

    assert (day_before.vorrangpruefung, day_before.rule_version) == (True, "beschv-2015-10-24")
    assert (from_the_day.vorrangpruefung, from_the_day.rule_version) == (
        False,
        "beschv-2016-08-06",
    )
    assert from_the_day.ba_consent_needed


def test_vorrangpruefung_stays_in_a_district_outside_the_suspension() -> None:
    """The suspension follows the workplace's district: Duisburg keeps the check."""
    assessment = assess(GESTATTUNG, JobType.HELFER, date(2016, 8, 6), AA_DUISBURG)

    assert assessment.vorrangpruefung
    assert assessment.rule_version == "beschv-2016-08-06"


@pytest.mark.parametrize(
    "job_type",
    [JobType.BERUFSAUSBILDUNG, JobType.EINSTIEGSQUALIFIZIERUNG, JobType.PRAKTIKUM],
)
def test_training_needs_a_permission_but_no_ba_consent(job_type: JobType) -> None:
    """Vocational training, EQ and MiLoG internships are free of the BA's consent (§ 32 (2))."""
    assessment = assess(GESTATTUNG, job_type, date(2016, 6, 1), AA_DUISBURG)

    assert assessment.permission_needed
    assert not assessment.ba_consent_needed
    assert not assessment.vorrangpruefung
    assert not assessment.beschaeftigungsbedingungen


@pytest.mark.parametrize("job_type", [JobType.HELFER, JobType.FACHKRAFT, JobType.MINIJOB])
def test_jobs_need_ba_consent(job_type: JobType) -> None:
    """Helper and skilled jobs and minijobs need the BA's consent in month 5."""
    assert assess(GESTATTUNG, job_type, date(2016, 6, 1), AA_DUISBURG).ba_consent_needed


def test_reception_centre_obligation_bars_work_after_the_waiting_period() -> None:
    """Whoever must live in a reception centre may not work, even in month 6."""
    facts = replace(GESTATTUNG, reception_centre_obligation=True)

    assessment = assess(facts, JobType.HELFER, date(2016, 6, 1), AA_DISTRICT_MG)

    assert assessment.barriers == (Barrier.RECEPTION_CENTRE_OBLIGATION,)


@pytest.mark.parametrize("status", [ResidenceStatus.DULDUNG, ResidenceStatus.AUFENTHALTSGESTATTUNG])
def test_safe_country_of_origin_bars_work(status: ResidenceStatus) -> None:
    """A tolerated person or asylum seeker from a safe country of origin may not work."""
    facts = replace(GESTATTUNG, status=status, safe_country_of_origin=True, nationality="ALB")

    assessment = assess(facts, JobType.HELFER, date(2016, 6, 1), AA_DISTRICT_MG)

    assert assessment.barriers == (Barrier.SAFE_COUNTRY_OF_ORIGIN,)


def test_all_barriers_are_named_and_the_first_is_the_refusing_rule() -> None:
    """Every barrier is listed; the refusal carries the first one's rule."""
    facts = replace(GESTATTUNG, reception_centre_obligation=True, safe_country_of_origin=True)
    assessment = assess(facts, JobType.HELFER, date(2016, 2, 1), AA_DISTRICT_MG)

    with pytest.raises(InvalidTransitionError) as refused:
        assessment.refuse_if_barred()

    assert assessment.barriers == (
        Barrier.RECEPTION_CENTRE_OBLIGATION,
        Barrier.SAFE_COUNTRY_OF_ORIGIN,
        Barrier.WAITING_PERIOD,
    )
    assert refused.value.rule == "eligibility.reception_centre_obligation"
    assert "waiting_period" in refused.value.detail


def test_expired_document_bars_work_the_day_after_its_last_valid_day() -> None:
    """A Gestattung valid until 2016-06-30 allows work that day and bars it on 07-01."""
    facts = replace(GESTATTUNG, valid_until=date(2016, 6, 30))

    assert assess(facts, JobType.HELFER, date(2016, 6, 30), AA_DISTRICT_MG).may_work
    expired = assess(facts, JobType.HELFER, date(2016, 7, 1), AA_DISTRICT_MG)
    assert expired.barriers == (Barrier.DOCUMENT_EXPIRED,)


@pytest.mark.parametrize(
    "status",
    [
        ResidenceStatus.AUFENTHALTSERLAUBNIS_25_1,
        ResidenceStatus.AUFENTHALTSERLAUBNIS_25_2_GFK,
        ResidenceStatus.AUFENTHALTSERLAUBNIS_25_2_SUBSIDIAER,
        ResidenceStatus.NIEDERLASSUNGSERLAUBNIS,
    ],
)
def test_protection_holders_may_work_by_law(status: ResidenceStatus) -> None:
    """§ 25 (1)/(2) holders need no permission and no consent, even in their first month."""
    facts = ResidenceFacts(status=status, stay_since=date(2016, 6, 1), protection_granted=True)

    assessment = assess(facts, JobType.HELFER, date(2016, 6, 2), AA_DUISBURG)

    assert assessment.may_work
    assert not assessment.permission_needed
    assert not assessment.ba_consent_needed
    assert not assessment.vorrangpruefung


def test_national_deportation_ban_needs_a_permission_but_no_consent() -> None:
    """A § 25 (3) holder needs the Ausländerbehörde's permission; the BA is not asked (§ 31)."""
    facts = ResidenceFacts(
        status=ResidenceStatus.AUFENTHALTSERLAUBNIS_25_3, stay_since=date(2016, 6, 1)
    )

    assessment = assess(facts, JobType.HELFER, date(2016, 6, 2), AA_DUISBURG)

    assert assessment.may_work
    assert assessment.permission_needed
    assert not assessment.ba_consent_needed


def test_somalia_has_good_prospects_from_1_august_2016() -> None:
    """Somalia joined the Bleibeperspektive list on 2016-08-01, not a day earlier."""
    assert not has_good_prospects("SOM", date(2016, 7, 31))
    assert has_good_prospects("SOM", date(2016, 8, 1))


@pytest.mark.parametrize("country", ["SYR", "ERI", "IRQ", "IRN"])
def test_the_first_four_countries_are_listed_from_october_2015(country: str) -> None:
    """Syria, Eritrea, Iraq and Iran are on the list from 2015-10-24."""
    assert not has_good_prospects(country, date(2015, 10, 23))
    assert has_good_prospects(country, date(2015, 10, 24))


def test_other_countries_have_no_good_prospects() -> None:
    """Afghanistan was never on the 2015-16 list."""
    assert not has_good_prospects("AFG", date(2016, 8, 1))


def test_assessment_reports_bleibeperspektive_from_list_or_protection() -> None:
    """Good prospects come from a listed nationality, or from protection already granted."""
    afghan = replace(GESTATTUNG, nationality="AFG")
    recognised = replace(afghan, protection_granted=True)

    assert helper_job(GESTATTUNG, date(2016, 6, 1)).bleibeperspektive
    assert not helper_job(afghan, date(2016, 6, 1)).bleibeperspektive
    assert helper_job(recognised, date(2016, 6, 1)).bleibeperspektive


def test_rule_set_is_chosen_by_effective_date() -> None:
    """The rules in force on a day are the newest set effective by then, back to 2013."""
    assert rules_in_force(date(2013, 9, 6)).version == "asylvfg-2013-09-06"
    assert rules_in_force(date(2014, 11, 5)).version == "asylvfg-2013-09-06"
    assert rules_in_force(date(2014, 11, 6)).version == "asylvfg-2014-11-06"
    assert rules_in_force(date(2014, 11, 11)).version == "beschv-2014-11-11"
    assert rules_in_force(date(2015, 10, 23)).version == "beschv-2014-11-11"
    assert rules_in_force(date(2015, 10, 24)).version == "beschv-2015-10-24"
    assert rules_in_force(date(2016, 8, 5)).version == "beschv-2015-10-24"
    assert rules_in_force(date(2016, 8, 6)).version == "beschv-2016-08-06"
    assert rules_in_force(date(2020, 1, 1)).version == "beschv-2016-08-06"


def test_no_assessment_before_the_first_rule_set() -> None:
    """A day before any recorded rules cannot be assessed: the refusal names the rule."""
    with pytest.raises(InvalidTransitionError) as refused:
        assess(GESTATTUNG, JobType.HELFER, date(2013, 9, 5), AA_DISTRICT_MG)

    assert refused.value.rule == "eligibility.no_rules_in_force"


@pytest.mark.parametrize("year", [2015, 2016, 2017, 2020, 2024])
def test_every_start_day_allows_work_the_day_after_three_months_ran_out(year: int) -> None:
    """For each day of the year as ``stay_since``: barred on the statute's last day of the
    three months (§§ 187 (1), 188 (2), (3) BGB, read independently), free the day after."""
    wrong = []
    for start in every_day((year,)):
        facts = replace(GESTATTUNG, stay_since=start)
        last = statute_end(start, 3, Counting.FROM_EVENT)
        if helper_job(facts, last).may_work or not helper_job(facts, last + ONE_DAY).may_work:
            wrong.append(start)

    assert wrong == []


def test_nine_months_for_asylum_seekers_and_a_year_when_tolerated_before_november_2014() -> None:
    """Under the 2013 rules, since 2013-10-01: a Gestattung allows work from 2014-07-02
    (nine months ended with 07-01), a Duldung from 2014-10-02 (the year ended with 10-01)."""
    gestattung = replace(GESTATTUNG, stay_since=date(2013, 10, 1))
    duldung = replace(gestattung, status=ResidenceStatus.DULDUNG)

    assert not helper_job(gestattung, date(2014, 7, 1)).may_work
    allowed = helper_job(gestattung, date(2014, 7, 2))
    assert (allowed.may_work, allowed.rule_version) == (True, "asylvfg-2013-09-06")
    assert helper_job(duldung, date(2014, 7, 2)).barriers == (Barrier.WAITING_PERIOD,)
    assert helper_job(duldung, date(2014, 10, 1)).barriers == (Barrier.WAITING_PERIOD,)
    assert helper_job(duldung, date(2014, 10, 2)).may_work


def test_the_waiting_period_shrank_to_three_months_on_6_november_2014() -> None:
    """A Duldung since 2014-06-01 (five months in): barred on 2014-11-05, free on 11-06."""
    duldung = ResidenceFacts(status=ResidenceStatus.DULDUNG, stay_since=date(2014, 6, 1))

    before = helper_job(duldung, date(2014, 11, 5))
    after = helper_job(duldung, date(2014, 11, 6))

    assert (before.barriers, before.rule_version) == (
        (Barrier.WAITING_PERIOD,),
        "asylvfg-2013-09-06",
    )
    assert (after.may_work, after.rule_version) == (True, "asylvfg-2014-11-06")


def test_the_priority_check_ended_after_15_months_from_11_november_2014() -> None:
    """Month 17 of the stay: the priority check on 2014-11-10, none from 2014-11-11."""
    facts = replace(GESTATTUNG, stay_since=date(2013, 7, 1))

    on_the_10th = helper_job(facts, date(2014, 11, 10), AA_DUISBURG)
    on_the_11th = helper_job(facts, date(2014, 11, 11), AA_DUISBURG)

    assert (on_the_10th.month_of_stay, on_the_10th.vorrangpruefung) == (17, True)
    assert (on_the_11th.vorrangpruefung, on_the_11th.rule_version) == (False, "beschv-2014-11-11")
    assert on_the_11th.ba_consent_needed


def test_internships_needed_the_ba_consent_before_october_2015_as_recorded() -> None:
    """Only training is consent-free in the rule sets before 2015-10-24 (see rulebook)."""
    facts = replace(GESTATTUNG, stay_since=date(2014, 1, 1))

    assert assess(facts, JobType.PRAKTIKUM, date(2015, 10, 23), AA_DUISBURG).ba_consent_needed
    assert not assess(
        facts, JobType.BERUFSAUSBILDUNG, date(2015, 10, 23), AA_DUISBURG
    ).ba_consent_needed
    assert not assess(facts, JobType.PRAKTIKUM, date(2015, 10, 24), AA_DUISBURG).ba_consent_needed


AUSBILDUNGSDULDUNG = ResidenceFacts(
    status=ResidenceStatus.AUSBILDUNGSDULDUNG, stay_since=date(2016, 8, 20), nationality="AFG"
)


def test_ausbildungsduldung_permits_its_training_at_once() -> None:
    """The training a Duldung is granted for: no waiting period, no BA consent, but the
    Ausländerbehörde's permission."""
    assessment = assess(AUSBILDUNGSDULDUNG, JobType.BERUFSAUSBILDUNG, date(2016, 9, 1), AA_DUISBURG)

    assert assessment.may_work
    assert assessment.permission_needed
    assert not assessment.ba_consent_needed


def test_ausbildungsduldung_is_a_duldung_for_any_other_job() -> None:
    """A helper job besides the training waits three months and needs the BA's consent."""
    assessment = helper_job(AUSBILDUNGSDULDUNG, date(2016, 9, 1), AA_DUISBURG)

    assert assessment.barriers == (Barrier.WAITING_PERIOD,)
    assert assessment.ba_consent_needed
