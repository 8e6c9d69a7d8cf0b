"""BrewPi profile CSV import/export (app/api/profile_csv.py), against the real reference files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.api.profile_csv import (
    CsvPoint,
    ImportedProfile,
    ProfileCsvError,
    format_profile_csv,
    parse_profile_csv,
)

REFERENCE = Path(__file__).resolve().parents[2].parent / "shared" / "reference"
START = datetime(2024, 3, 1, 8, 0, 0, tzinfo=UTC)

# The profile every BrewPi sample file describes: 20 °C for 1.5 days, ramp to 17 by day 4,
# hold to day 6, ramp to 23 by day 10, hold to day 12.
SAMPLE_DAYS = [0.0, 1.5, 4.0, 6.0, 10.0, 12.0]
SAMPLE_C = [20.0, 20.0, 17.0, 17.0, 23.0, 23.0]


def read_reference(relative: str) -> str:
    """The file's text exactly as stored: no newline translation (a bare CR must survive)."""
    return (REFERENCE / relative).read_bytes().decode("utf-8")


def offsets(profile: ImportedProfile) -> list[float]:
    return [p.offset_days for p in profile.points]


def temps(profile: ImportedProfile) -> list[float | None]:
    return [p.temperature_c for p in profile.points]


def refusal(text: str, units: str = "C") -> ProfileCsvError:
    with pytest.raises(ProfileCsvError) as info:
        parse_profile_csv(text, units)
    return info.value


def csv_with_rows(*rows: str, header: str = "date,temperature,days") -> str:
    return "\n".join([header, *rows]) + "\n"


# ---------------------------------------------------------------------------------------------
# reference files: good BrewPi profiles


def test_brewpi_www_sample_profile_imports_exactly():
    profile = parse_profile_csv(read_reference("brewpi-profiles/brewpi-www_Sample-Profile.csv"))
    assert profile.name is None
    assert offsets(profile) == SAMPLE_DAYS
    assert temps(profile) == SAMPLE_C
    assert profile.warnings == []


def test_brewpi_script_profile_takes_name_from_fourth_header_cell():
    profile = parse_profile_csv(read_reference("brewpi-profiles/brewpi-script_tempProfile.csv"))
    assert profile.name == "Sample Profile"
    assert offsets(profile) == SAMPLE_DAYS
    assert temps(profile) == SAMPLE_C
    assert profile.warnings == []


def test_brewpi_rmx_fahrenheit_profile_is_converted_to_celsius():
    profile = parse_profile_csv(read_reference("brewpi-profiles/brewpi-script-rmx_tempProfile_F.csv"), "F")
    assert profile.name == "Sample Profile"
    assert offsets(profile) == SAMPLE_DAYS
    # 68 °F, 65 °F, 72 °F
    assert temps(profile) == pytest.approx([20.0, 20.0, 18.3333, 18.3333, 22.2222, 22.2222], abs=1e-3)
    assert profile.warnings == []


# ---------------------------------------------------------------------------------------------
# reference files: broken in the wild


def test_dates_going_backwards_import_by_days_with_a_warning_naming_the_line():
    text = read_reference("brewpi-profiles-edge/rmx-2019-04_tempProfile_dates-not-increasing.csv")
    profile = parse_profile_csv(text, "F")
    assert profile.name == "Sample Profile"
    assert offsets(profile) == SAMPLE_DAYS
    # 68, 68, 63, 63, 73, 73 °F
    assert temps(profile) == pytest.approx([20.0, 20.0, 17.2222, 17.2222, 22.7778, 22.7778], abs=1e-3)
    assert len(profile.warnings) == 1
    warning = profile.warnings[0]
    assert warning.startswith("line 3: dates stop increasing here")
    assert "2019-01-01T02:00:00" in warning
    assert "days column is used" in warning


def test_bare_cr_inside_header_is_repaired_with_a_warning():
    text = read_reference("brewpi-profiles-edge/rmx-2019-07_tempProfile_CR-inside-header.csv")
    assert "\r," in text  # the real defect is really there
    profile = parse_profile_csv(text, "F")
    assert profile.name == "NewProfile"
    assert offsets(profile) == SAMPLE_DAYS
    assert temps(profile) == pytest.approx([20.0, 20.0, 18.3333, 18.3333, 22.2222, 22.2222], abs=1e-3)
    assert profile.warnings == ["line 1: removed a stray carriage return (CR) inside the header"]


# ---------------------------------------------------------------------------------------------
# reference files: legacy formats


def test_2013_day_first_dates_import_by_days_with_a_note():
    text = read_reference("legacy-profiles/brewpi-www-2013-08_Sample-Profile_ddmmyyyy.csv")
    profile = parse_profile_csv(text)
    assert profile.name is None
    assert offsets(profile) == SAMPLE_DAYS
    assert temps(profile) == SAMPLE_C
    # Read day-first the dates agree with days (06/08 + 1.5 d = 08/08 02:29): only the note.
    assert profile.warnings == [
        "line 2: dates are in the old dd/mm/yyyy form; read day-first, "
        "only to check them against the days column"
    ]


def test_2012_format_imports_with_offsets_from_day_first_dates():
    text = read_reference("legacy-profiles/brewpi-script-2012_tempProfile_ddmmyyyy.csv")
    profile = parse_profile_csv(text)
    assert profile.name is None
    # 25/09 21:00 is offset 0; 26/09 00:36 is 3.6 h = 0.15 d; repeated times are instant steps.
    assert offsets(profile) == pytest.approx([0.0, 0.15, 0.15, 0.3, 0.3, 0.5, 0.7, 1.0], abs=1e-9)
    assert temps(profile) == [19.0, 19.0, 18.0, 18.0, 19.0, 19.0, 18.0, 18.0]
    assert profile.warnings == [
        "line 1: old 2012 BrewPi format (no days column); offsets computed from the "
        "dd/mm/yyyy dates, read day-first"
    ]


def test_2012_format_header_unit_wins_over_the_setting():
    text = read_reference("legacy-profiles/brewpi-script-2012_tempProfile_ddmmyyyy.csv")
    profile = parse_profile_csv(text, "F")
    assert temps(profile)[0] == 19.0  # °C as the header says, not 19 °F
    assert "line 1: the header says °C, which is used instead of the °F setting" in profile.warnings


def test_fermentrack_export_is_refused_saying_what_is_expected():
    err = refusal(read_reference("legacy-profiles/fermentrack-profile-export.txt"))
    assert err.line == 1
    assert str(err) == (
        "line 1: this looks like a Fermentrack text export, not a CSV profile; expected a header "
        "line 'date,temperature,days' (optionally ',<profile name>') followed by rows "
        "'date,temperature,days'"
    )


# ---------------------------------------------------------------------------------------------
# round trip


@pytest.mark.parametrize("units", ["C", "F"])
def test_round_trip_keeps_temperatures_at_the_same_offsets(units):
    points = [
        CsvPoint(0.0, 19.87),
        CsvPoint(0.25, 19.87),
        CsvPoint(1 / 3, None),  # control off
        CsvPoint(2.0, None),
        CsvPoint(2.0, -1.234),  # instant step
        CsvPoint(7.125, 22.5),
        CsvPoint(14.0, 2.0),
        CsvPoint(30.0, 109.99),
    ]
    text = format_profile_csv(points, START, units, name="Saison")
    back = parse_profile_csv(text, units)
    assert back.name == "Saison"
    assert back.warnings == []  # dates written agree with days
    assert len(back.points) == len(points)
    for original, read in zip(points, back.points, strict=True):
        assert read.offset_days == pytest.approx(original.offset_days, abs=1e-8)
        if original.temperature_c is None:
            assert read.temperature_c is None
        else:
            assert read.temperature_c == pytest.approx(original.temperature_c, abs=0.01)


@pytest.mark.parametrize(
    ("relative", "units"),
    [
        ("brewpi-profiles/brewpi-www_Sample-Profile.csv", "C"),
        ("brewpi-profiles/brewpi-script_tempProfile.csv", "C"),
        ("brewpi-profiles/brewpi-script-rmx_tempProfile_F.csv", "F"),
    ],
)
def test_reference_files_reexport_byte_for_byte(relative, units):
    text = read_reference(relative)
    profile = parse_profile_csv(text, units)
    first_date = datetime.fromisoformat(text.splitlines()[1].split(",")[0]).replace(tzinfo=UTC)
    assert format_profile_csv(profile.points, first_date, units, profile.name) == text


# ---------------------------------------------------------------------------------------------
# export format


def test_export_golden_celsius():
    points = [
        CsvPoint(0.0, 20.0),
        CsvPoint(1.5, 18.456),
        CsvPoint(4.0, None),
        CsvPoint(4.0, 17.0),
        CsvPoint(6.25, -0.5),
        CsvPoint(10.0, 3.1),
    ]
    assert format_profile_csv(points, START) == (
        "date,temperature,days\n"
        "2024-03-01T08:00:00,20,0\n"
        "2024-03-02T20:00:00,18.46,1.5\n"
        "2024-03-05T08:00:00,,4\n"
        "2024-03-05T08:00:00,17,4\n"
        "2024-03-07T14:00:00,-0.5,6.25\n"
        "2024-03-11T08:00:00,3.1,10\n"
    )


def test_export_golden_fahrenheit_with_name():
    points = [CsvPoint(0.0, 20.0), CsvPoint(1.5, 18.0), CsvPoint(2.0, None), CsvPoint(12.0, 22.2222)]
    assert format_profile_csv(points, START, "F", name="Sample Profile") == (
        "date,temperature,days,Sample Profile\n"
        "2024-03-01T08:00:00,68,0\n"
        "2024-03-02T20:00:00,64.4,1.5\n"
        "2024-03-03T08:00:00,,2\n"
        "2024-03-13T08:00:00,72,12\n"
    )


def test_export_writes_dates_in_utc_whatever_the_start_zone():
    plus_two = timezone(timedelta(hours=2))
    start = datetime(2024, 3, 1, 10, 0, 0, tzinfo=plus_two)  # = 08:00 UTC
    text = format_profile_csv([CsvPoint(0.0, 20.0)], start)
    assert text == "date,temperature,days\n2024-03-01T08:00:00,20,0\n"


def test_export_rounds_dates_to_the_second():
    text = format_profile_csv([CsvPoint(0.0, 20.0), CsvPoint(1 / 3, 20.0), CsvPoint(0.7, 20.0)], START)
    assert text.splitlines()[2] == "2024-03-01T16:00:00,20,0.333333333"
    # 0.7 d = 16 h 48 min, but 0.7 * 86400 is 60479.99999999999 in binary: not 00:47:59
    assert text.splitlines()[3] == "2024-03-02T00:48:00,20,0.7"


def test_export_quotes_a_name_with_a_comma_and_reads_it_back():
    text = format_profile_csv([CsvPoint(0.0, 20.0)], START, name='Kölsch, "cold"')
    assert text.splitlines()[0] == 'date,temperature,days,"Kölsch, ""cold"""'
    assert parse_profile_csv(text).name == 'Kölsch, "cold"'


def test_export_blank_name_writes_no_name_cell():
    assert format_profile_csv([CsvPoint(0.0, 20.0)], START, name="  ").startswith("date,temperature,days\n")


@pytest.mark.parametrize(
    ("points", "start", "kwargs", "message"),
    [
        ([CsvPoint(0.0, 20.0)], datetime(2024, 3, 1), {}, "start must be an aware datetime"),
        ([CsvPoint(0.0, 20.0)], START, {"units": "K"}, "units must be 'C' or 'F'"),
        ([CsvPoint(0.0, 20.0)], START, {"name": "a\nb"}, "single line"),
        ([], START, {}, "at least one point"),
        ([CsvPoint(0.0, 20.0)] * 1001, START, {}, "at most 1000 points"),
        ([CsvPoint(-1.0, 20.0)], START, {}, "point 0: offset_days"),
        ([CsvPoint(2.0, 20.0), CsvPoint(1.0, 20.0)], START, {}, "point 1: offset_days 1.0 is before"),
        ([CsvPoint(float("nan"), 20.0)], START, {}, "point 0: offset_days"),
        ([CsvPoint(0.0, 121.0)], START, {}, "point 0: temperature 121.0"),
        ([CsvPoint(0.0, float("inf"))], START, {}, "point 0: temperature inf"),
    ],
)
def test_export_refuses_what_the_importer_would_refuse(points, start, kwargs, message):
    with pytest.raises(ValueError, match=message):
        format_profile_csv(points, start, **kwargs)


# ---------------------------------------------------------------------------------------------
# import: accepted and repaired


def test_crlf_whitespace_bom_and_trailing_blank_lines_are_accepted():
    text = (
        "\ufeffdate , temperature , days , My Lager \r\n"
        " 2024-03-01T08:00:00 , 10.5 , 0 \r\n"
        "2024-03-08T08:00:00,,7\r\n"
        "\r\n"
        "  \r\n"
    )
    profile = parse_profile_csv(text)
    assert profile.name == "My Lager"
    assert profile.points == [CsvPoint(0.0, 10.5), CsvPoint(7.0, None)]
    assert profile.warnings == []


def test_header_is_case_insensitive_and_empty_name_is_none():
    profile = parse_profile_csv("Date,Temperature,Days,\n2024-03-01T08:00:00,10,0\n")
    assert profile.name is None
    assert profile.points == [CsvPoint(0.0, 10.0)]


def test_cr_only_line_endings_are_accepted():
    profile = parse_profile_csv("date,temperature,days\r2024-03-01T08:00:00,10,0\r2024-03-02T08:00:00,12,1\r")
    assert profile.points == [CsvPoint(0.0, 10.0), CsvPoint(1.0, 12.0)]
    assert profile.warnings == []


def test_equal_offsets_make_an_instant_step():
    profile = parse_profile_csv(csv_with_rows("2024-03-01T08:00:00,10,2", "2024-03-01T08:00:00,4,2"))
    assert profile.points == [CsvPoint(2.0, 10.0), CsvPoint(2.0, 4.0)]


def test_rows_padded_with_empty_cells_by_a_spreadsheet_are_accepted():
    text = csv_with_rows(
        "2024-03-01T08:00:00,10,0,", "2024-03-02T08:00:00,12,1,,", header="date,temperature,days,X"
    )
    assert parse_profile_csv(text).points == [CsvPoint(0.0, 10.0), CsvPoint(1.0, 12.0)]


def test_blank_line_in_the_middle_is_skipped_with_a_warning():
    profile = parse_profile_csv(csv_with_rows("2024-03-01T08:00:00,10,0", "", "2024-03-02T08:00:00,12,1"))
    assert profile.points == [CsvPoint(0.0, 10.0), CsvPoint(1.0, 12.0)]
    assert profile.warnings == ["line 3: skipped a blank line"]


def test_days_are_authoritative_when_dates_disagree():
    profile = parse_profile_csv(
        csv_with_rows("2024-03-01T08:00:00,10,0", "2024-03-02T08:00:00,12,1", "2024-03-04T08:00:00,14,2")
    )
    assert offsets(profile) == [0.0, 1.0, 2.0]
    assert len(profile.warnings) == 1
    assert profile.warnings[0].startswith("line 4: date 2024-03-04T08:00:00 is not 2 days after")
    assert "(1 row(s) disagree)" in profile.warnings[0]


def test_dates_within_an_hour_of_days_are_consistent_dst():
    # brewpi-www writes local dates: across a DST change they are an hour off.
    profile = parse_profile_csv(csv_with_rows("2024-03-30T08:00:00,10,0", "2024-04-01T07:00:00,12,2"))
    assert profile.warnings == []


def test_dates_more_than_an_hour_off_are_reported():
    profile = parse_profile_csv(csv_with_rows("2024-03-01T08:00:00,10,0", "2024-03-03T06:00:00,12,2"))
    assert offsets(profile) == [0.0, 2.0]
    assert len(profile.warnings) == 1
    assert profile.warnings[0].startswith("line 3: date 2024-03-03T06:00:00 is not 2 days after")


def test_unreadable_dates_are_ignored_with_a_warning():
    profile = parse_profile_csv(csv_with_rows("2024-03-01T08:00:00,10,0", "next tuesday,12,1", ",14,2"))
    assert offsets(profile) == [0.0, 1.0, 2.0]
    assert profile.warnings == [
        "line 3: date 'next tuesday' not understood; dates ignored, the days column is used"
    ]


def test_numbers_in_exponent_form_are_accepted():
    assert parse_profile_csv(csv_with_rows(",1.8e1,1e0")).points == [CsvPoint(1.0, 18.0)]


def test_temperature_range_limits_are_inclusive():
    profile = parse_profile_csv(csv_with_rows(",-5,0", ",110,1"))
    assert temps(profile) == [-5.0, 110.0]
    profile_f = parse_profile_csv(csv_with_rows(",23,0", ",230,1"), "F")
    assert temps(profile_f) == [-5.0, 110.0]


# ---------------------------------------------------------------------------------------------
# import: refused, naming the line


def test_error_type_and_text():
    err = ProfileCsvError(7, "days go backwards")
    assert isinstance(err, ValueError)
    assert err.line == 7
    assert err.message == "days go backwards"
    assert str(err) == "line 7: days go backwards"


def test_bad_units_argument_is_a_value_error():
    with pytest.raises(ValueError, match="units must be 'C' or 'F'"):
        parse_profile_csv(csv_with_rows(",10,0"), "K")


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("", 0, "file is empty"),
        ("\n\n", 0, "file is empty"),
        ("date,temperature,days\n", 0, "no data rows after the header"),
        ("date,temperature,days,Name\n\n\n", 0, "no data rows after the header"),
        ("2024-03-01T08:00:00,10,0\n", 1, "missing header: line 1 is a data row"),
        ("\ndate,temperature,days\n,10,0\n", 1, "missing header: line 1 is blank"),
        ("time,temp,days\n,10,0\n", 1, "unknown header 'time,temp,days'"),
        ("date;temperature;days\n;10;0\n", 1, "unknown header 'date;temperature;days'"),
        ("date,temperature,days,My,Profile\n,10,0\n", 1, "header has 5 cells"),
        (csv_with_rows(",10,0", "2024-03-01T08:00:00,12"), 3, "row has 2 cells; expected 3"),
        (csv_with_rows(",10,0", ",12,1,extra"), 3, "row has 4 cells; expected 3"),
        (csv_with_rows(",10,0", ",12,1", ",warm,2"), 4, "temperature 'warm' is not a number"),
        (csv_with_rows(",10,0", ",12°C,1"), 3, "temperature '12°C' is not a number"),
        (csv_with_rows(",10,0", ",12;5,1"), 3, "temperature '12;5' is not a number"),
        (csv_with_rows(",1_000,0"), 2, "temperature '1_000' is not a number"),
        (csv_with_rows(",10,0", ",nan,1"), 3, "temperature 'nan' is not a finite number"),
        (csv_with_rows(",-inf,0"), 2, "temperature '-inf' is not a finite number"),
        (csv_with_rows(",1e999,0"), 2, "temperature '1e999' is not a finite number"),
        (csv_with_rows(",10,0", ",10,one"), 3, "days 'one' is not a number"),
        (csv_with_rows(",10,0", ",10,"), 3, "days is empty"),
        (csv_with_rows(",10,Infinity"), 2, "days 'Infinity' is not a finite number"),
        (csv_with_rows(",10,0", ",10,-0.5"), 3, "days -0.5 is negative"),
        (csv_with_rows(",10,0", ",10,3", ",10,2.5"), 4, "days go backwards (2.5 after 3)"),
        (csv_with_rows(",10,3651"), 2, "days 3651 is more than 3650"),
        (csv_with_rows(",10,0", ",110.01,1"), 3, "temperature 110.01 °C is outside -5..110 °C"),
        (csv_with_rows(",-5.5,0"), 2, "temperature -5.5 °C is outside -5..110 °C"),
    ],
)
def test_refusals_name_the_line(text, line, message):
    err = refusal(text)
    assert err.line == line
    assert message in err.message
    assert str(err).startswith(f"line {line}: ")


def test_fahrenheit_out_of_range_is_checked_after_conversion():
    # 231 °F is 110.56 °C: refused; the message shows both units.
    err = refusal(csv_with_rows(",68,0", ",231,1"), "F")
    assert err.line == 3
    assert err.message == "temperature 231 °F (110.56 °C) is outside -5..110 °C"
    # 22 °F is -5.56 °C: refused at the low end too.
    assert str(refusal(csv_with_rows(",22,0"), "F")) == (
        "line 2: temperature 22 °F (-5.56 °C) is outside -5..110 °C"
    )


def test_more_than_1000_rows_is_refused_at_the_first_extra_row():
    rows = [f",10,{i}" for i in range(1000)]
    assert len(parse_profile_csv(csv_with_rows(*rows)).points) == 1000
    err = refusal(csv_with_rows(*rows, ",10,1000"))
    assert err.line == 1002
    assert err.message == "more than 1000 data rows"


def test_file_over_256_kib_is_refused_as_a_whole():
    text = "date,temperature,days\n" + ",10,0" + " " * (256 * 1024) + "\n"
    err = refusal(text)
    assert err.line == 0
    assert "limit is 262144 bytes" in err.message


def test_2012_format_refusals_name_the_line():
    header = '"Date & Time","Setting (°C)"'
    backwards = "\n".join([header, "25/09/2012 21:00:00,19", "25/09/2012 20:00:00,18"]) + "\n"
    err = refusal(backwards)
    assert (err.line, err.message.split(";")[0]) == (3, "date 25/09/2012 20:00:00 goes backwards")
    iso = "\n".join([header, "2012-09-25T21:00:00,19"]) + "\n"
    assert refusal(iso).line == 2
    assert "is not dd/mm/yyyy" in refusal(iso).message
    three_cells = "\n".join([header, "25/09/2012 21:00:00,19,0"]) + "\n"
    assert refusal(three_cells).line == 2
    no_unit = '"Date & Time","Setting"\n25/09/2012 21:00:00,19\n'
    assert refusal(no_unit).line == 1
    too_hot = "\n".join([header, "25/09/2012 21:00:00,19", "26/09/2012 21:00:00,130"]) + "\n"
    assert str(refusal(too_hot)) == "line 3: temperature 130 °C is outside -5..110 °C"


def test_2012_format_in_fahrenheit_header():
    text = '"Date & Time","Setting (°F)"\n25/09/2012 21:00:00,68\n26/09/2012 09:00:00,50\n'
    profile = parse_profile_csv(text, "F")
    assert offsets(profile) == [0.0, 0.5]
    assert temps(profile) == pytest.approx([20.0, 10.0])
