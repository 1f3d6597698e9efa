"""One value reader for every numeric field of every provider (issue 15 item 3,
issue 12 §3): numbers as JSON numbers or text, thousands separators only every
three digits, a trailing ``%``, "no data" markers as null, ``"12.0"`` in an
integer column, and values that fit no reading raised as ``MalformedResponse``
naming report, field, row and value -- never clamped, never a silent null."""

from __future__ import annotations

import json

import polars as pl
import pytest

import appstats as aps

BIG = "9223372036854775808"  # i64::MAX + 1


def baidu_region(*values: object, key: str = "session_count_district") -> str:
    rows = [{"name": f"城市{i}", key: v} for i, v in enumerate(values)]
    return json.dumps(
        {"errno": 0, "msg": "ok", "data": {"offset": 0, "total": len(rows), "data_list": rows}}
    )


def mta_crash(*values: object) -> str:
    days = {f"2024-03-{i + 1:02d}": {"ErrorNum": v, "ErrorUser": "1"} for i, v in enumerate(values)}
    return json.dumps({"ret_code": 60000, "ret_msg": "ok", "ret_data": days})


def tim_days(*values: object) -> str:
    rows = [{"Date": f"202403{i + 1:02d}", "ActiveUserNum": v} for i, v in enumerate(values)]
    return json.dumps({"ActionStatus": "OK", "ErrorCode": 0, "Result": rows})


def parse_int(provider: str, *values: object) -> list[int | None]:
    build = {"baidu": baidu_region, "mta": mta_crash, "tim": tim_days}[provider]
    return parse_text(provider, build(*values))


PROVIDERS = ["baidu", "mta", "tim"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_integer_spellings(provider: str) -> None:
    values = [
        12,
        "12",
        "1,234",
        "1,234,567",
        "12.0",
        "1,234.00",
        "12%",
        12.0,
        "-5",
        "1e3",
        "9223372036854775807",
    ]
    assert parse_int(provider, *values) == [
        12,
        12,
        1234,
        1234567,
        12,
        1234,
        12,
        12,
        -5,
        1000,
        2**63 - 1,
    ]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_no_data_markers_are_null(provider: str) -> None:
    assert parse_int(provider, "-", "--", "", None, " -- ", "7") == [None] * 5 + [7]


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize(
    "value,words",
    [
        (BIG, [BIG, "does not fit a 64-bit integer"]),
        ("99999999999999999999", ["99999999999999999999", "does not fit"]),
        ("-9223372036854775809", ["-9223372036854775809", "does not fit"]),
        ("1,2,3", ['"1,2,3"', "expected a number"]),
        ("12,34", ['"12,34"', "expected a number"]),
        ("12.5", ['"12.5"', "expected an integer"]),
        ("many", ['"many"']),
        ([1, 2], ["a list"]),
        ({"v": 1}, ["an object"]),
        (True, ["true"]),
    ],
)
def test_values_that_fit_no_reading_raise(provider: str, value: object, words: list[str]) -> None:
    with pytest.raises(aps.MalformedResponse) as ei:
        parse_int(provider, "1", value)  # the second row is the bad one
    msg = str(ei.value)
    for w in words:
        assert w in msg, msg
    # the report (endpoint), the field and the row are named
    field, row, report = {
        "baidu": ("session_count_district", "data_list[1]", "getanalysisregion"),
        "mta": ("ErrorNum", 'ret_data["2024-03-02"]', "/ctr_crash_anal/get_offline_data"),
        "tim": ("ActiveUserNum", "Result[1]", "getappinfo"),
    }[provider]
    assert field in msg and row in msg and report in msg, msg
    assert ei.value.provider == provider


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("literal", [BIG, "18446744073709551616", "1e20", "-9.3e18"])
def test_big_json_numbers_raise_like_big_text(provider: str, literal: str) -> None:
    # the same values as JSON numbers (not text): the same error, never clamped
    build = {"baidu": baidu_region, "mta": mta_crash, "tim": tim_days}[provider]
    text = build("1", "@RAW@").replace('"@RAW@"', literal)  # a JSON number, written as is
    with pytest.raises(aps.MalformedResponse, match="does not fit a 64-bit integer") as ei:
        parse_text(provider, text)
    assert str(int(float(literal)))[:15] in str(ei.value)


def parse_text(provider: str, text: str | bytes) -> list[int | None]:
    if provider == "baidu":
        return aps.baidu.parse("region", text)["session_count_district"].to_list()
    if provider == "mta":
        return aps.mta.parse("crash", text)["error_count"].to_list()
    return aps.tim.parse(text)["active_user_num"].to_list()


def test_floats_and_percentages() -> None:
    text = baidu_region(
        "12.5%",
        "1,234.5",
        ".5",
        "--",
        3,
        "99999999999999999999",
        key="session_count_district_ratio",
    )
    df = aps.baidu.parse("region", text)
    assert df["session_count_district_ratio"].to_list() == [12.5, 1234.5, 0.5, None, 3.0, 1e20]
    for bad in ["1,23.5", "NaN", "inf", "1e400", "12.5.1"]:
        with pytest.raises(aps.MalformedResponse, match="session_count_district_ratio"):
            aps.baidu.parse("region", baidu_region(bad, key="session_count_district_ratio"))


def test_lists_and_objects_in_name_fields_raise() -> None:
    text = json.dumps(
        {"errno": 0, "data": {"offset": 0, "total": 1, "data_list": [{"name": ["北京"]}]}}
    )
    with pytest.raises(aps.MalformedResponse, match="a list"):
        aps.baidu.parse("region", text)
    text = json.dumps({"ErrorCode": 0, "Result": [{"Date": "20240301", "AppName": {"x": 1}}]})
    with pytest.raises(aps.MalformedResponse, match=r"Result\[0\].*AppName.*an object"):
        aps.tim.parse(text)
    text = json.dumps({"ret_code": 60000, "ret_data": [{"Terminal": ["iOS"], "NewUser": "1"}]})
    with pytest.raises(aps.MalformedResponse, match=r"ret_data\[0\].*Terminal.*a list"):
        aps.mta.parse("terminal", text)
    # unknown fields may hold anything: they are not read
    text = json.dumps({"ErrorCode": 0, "Result": [{"Date": "20240301", "Extra": [1, {"a": 2}]}]})
    assert aps.tim.parse(text).height == 1


def test_baidu_retention_key_without_a_number_raises() -> None:
    text = json.dumps(
        {
            "errno": 0,
            "data": {
                "offset": 0,
                "total": 1,
                "data_list": [
                    {"name": "2024/03/01", "active_user_count": 10, "第2天": 5, "第X天": 3}
                ],
            },
        },
        ensure_ascii=False,
    )
    with pytest.raises(aps.MalformedResponse, match="第X天"):
        aps.baidu.parse("retention", text)
    ok = aps.baidu.parse("retention", text.replace("第X天", "第3天"))
    assert ok["period"].to_list() == [2, 3]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_byte_order_mark_is_accepted(provider: str) -> None:
    text = {"baidu": baidu_region("1,204"), "mta": mta_crash("1,204"), "tim": tim_days("1,204")}[
        provider
    ]
    for bom in ("\ufeff" + text, ("\ufeff" + text).encode("utf-8")):
        assert parse_text(provider, bom) == [1204]


def test_same_reading_over_http(sb: aps.Sandbox) -> None:
    # The clients parse with the same reader as the offline parsers.
    df = sb.mta().crash("2024-03-01", "2024-03-03", progress=False)
    assert df.schema["error_count"] == pl.Int64
    assert df["error_count"].null_count() == 0
