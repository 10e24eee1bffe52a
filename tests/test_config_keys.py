"""Every scan option the config file accepts takes effect (a key that named no option's
parameter was once accepted and silently ignored: `format:`).

Each case scans twice through the CLI, against the fake endpoint, once without the key and
once with it in `imgaudit.yaml`, and names what must differ. A new key in
`auditor.config.SCAN_OPTION_KEYS` fails `test_every_key_has_a_case` until it gets one here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from cli_helpers import REPO, CliResult, invoke
from fakeecs import KEY_ID, SECRET, FakeEndpoint, Member, image

from auditor.config import SCAN_OPTION_KEYS, Config

pytest_plugins = ["fakeecs.fixtures"]

RULE = """\
id: T-PUBLIC
title: Custom images are private
severity: medium
require: {IsPublic: false}
message: "{{ image.ImageId }} is public"
"""


class Workdir:
    """A folder with a rule file and the fake endpoint's keys in the environment."""

    def __init__(self, path: Path, fake: FakeEndpoint, home: Path) -> None:
        self.path, self.fake = path, fake
        self.env = {"HOME": str(home), "ALIBABA_CLOUD_ACCESS_KEY_ID": KEY_ID,
                    "ALIBABA_CLOUD_ACCESS_KEY_SECRET": SECRET,
                    "IMGAUDIT_STS_ENDPOINT": fake.url, "IMGAUDIT_METADATA_URL": fake.url,
                    "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"}
        (path / "rule.yaml").write_text(RULE, encoding="utf-8")

    def scan(self, config: str, *args: str) -> CliResult:
        """`imgaudit scan` with `config` as ./imgaudit.yaml; the fake's calls start afresh."""
        (self.path / "imgaudit.yaml").write_text(config, encoding="utf-8")
        self.fake.cloud.calls.clear()
        return invoke("scan", "--no-builtin-rules", "--rules", self.path / "rule.yaml",
                      *args, env=self.env)

    def live(self, config: str, *args: str) -> CliResult:
        return self.scan(config, "--region", "cn-hangzhou", "--endpoint", self.fake.url, *args)

    def listed(self, name: str) -> set[str]:
        return {c.params.get(name, "") for c in self.fake.cloud.calls_of("DescribeImages")}


@pytest.fixture
def work(tmp_path: Path, fake: FakeEndpoint, clean_env: Path,
         monkeypatch: pytest.MonkeyPatch) -> Workdir:
    monkeypatch.chdir(tmp_path)
    fake.cloud.add_images("cn-hangzhou", [image("m-pub", IsPublic=True)])
    fake.cloud.add_images("cn-shanghai", [image("m-ok")])
    return Workdir(tmp_path, fake, clean_env)


def _fail_on(w: Workdir) -> None:
    assert w.live("{}").exit_code == 1
    assert w.live("fail_on: high\n").exit_code == 0


def _format(w: Workdir) -> None:
    assert w.live("{}").stdout.startswith("imgaudit ")
    report = json.loads(w.live("format: json\n").stdout)
    assert report["schema"] == "imgaudit-report"
    assert w.live("format: junit\n").stdout.startswith("<?xml")


def _region(w: Workdir) -> None:
    assert w.scan("{}", "--endpoint", w.fake.url).exit_code == 2  # nothing to scan
    result = w.scan("region: [cn-hangzhou, cn-shanghai]\n", "--endpoint", w.fake.url,
                    "--format", "json")
    assert json.loads(result.stdout)["scan"]["regions"] == ["cn-hangzhou", "cn-shanghai"]


def _owner(w: Workdir) -> None:
    w.live("{}")
    assert w.listed("ImageOwnerAlias") == {"self"}
    w.live("owner: self,system\n")
    assert w.listed("ImageOwnerAlias") == {"self", "system"}


def _status(w: Workdir) -> None:
    w.live("{}")
    all_states = w.listed("Status")
    w.live("status: Available\n")
    assert w.listed("Status") == {"Available"} != all_states


def _endpoint(w: Workdir) -> None:
    result = w.scan(f"endpoint: {w.fake.url}\n", "--region", "cn-hangzhou", "--format", "json")
    assert json.loads(result.stdout)["scan"]["images"] == 1
    assert len(w.fake.cloud.calls_of("DescribeImages")) == 1


def _profile(w: Workdir) -> None:
    aliyun = Path(w.env["HOME"]) / ".aliyun" / "config.json"
    aliyun.parent.mkdir()
    aliyun.write_text(json.dumps({"current": "default", "profiles": [
        {"name": "default", "mode": "AK", "access_key_id": "LTAI-other", "access_key_secret": "x"},
        {"name": "audit", "mode": "AK", "access_key_id": KEY_ID, "access_key_secret": SECRET},
    ]}))
    del w.env["ALIBABA_CLOUD_ACCESS_KEY_ID"], w.env["ALIBABA_CLOUD_ACCESS_KEY_SECRET"]
    assert w.live("{}").exit_code == 2  # the current profile's key is refused
    assert w.live("profile: audit\n").exit_code == 1
    assert {c.key_id for c in w.fake.cloud.calls_of("DescribeImages")} == {KEY_ID}


def _concurrency(w: Workdir) -> None:
    assert w.live("{}").exit_code == 1
    result = w.live("concurrency: 0\n")
    assert result.exit_code == 2 and "concurrency must be at least 1" in result.stderr


def _signature(w: Workdir) -> None:
    w.live("{}")
    assert w.listed("SignatureMethod") == {""}  # V3 signs in a header
    w.live("signature: v1\n")
    assert w.listed("SignatureMethod") == {"HMAC-SHA1"}


def _min_severity(w: Workdir) -> None:
    assert w.live("{}").exit_code == 1  # T-PUBLIC is medium
    result = w.live("min_severity: high\n", "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["rules"] == []


def _history(w: Workdir) -> None:
    (w.path / "conf").mkdir()
    w.live("{}")
    assert not list(w.path.glob("**/*.sqlite"))
    (w.path / "conf" / "imgaudit.yaml").write_text("history: runs.sqlite\n", encoding="utf-8")
    w.live("{}", "--config", "conf/imgaudit.yaml")
    assert (w.path / "conf" / "runs.sqlite").is_file()  # relative to the config file
    listed = invoke("history", "list", "--config", "conf/imgaudit.yaml", "--format", "json")
    assert len(json.loads(listed.stdout)["runs"]) == 1


def _lang(w: Workdir) -> None:
    assert json.loads(w.live("{}", "--format", "json").stdout)["lang"] == "en"
    result = w.live("lang: zh-CN\n")
    assert result.stdout.startswith("imgaudit ") and "个镜像" in result.stdout
def _waiver_expiry_warning_days(w: Workdir) -> None:
    soon = datetime.now(timezone.utc).date() + timedelta(days=3)
    waiver = (f"waivers: [{{rule: T-PUBLIC, images: [m-pub], reason: r, owner: o, "
              f"expires: {soon}}}]\n")
    result = w.live(waiver, "--format", "json")  # the default: 14 days
    assert [x["state"] for x in json.loads(result.stdout)["waivers"]] == ["expiring"]
    assert "expires on" in result.stderr
    result = w.live(waiver + "waiver_expiry_warning_days: 2\n", "--format", "json")
    assert json.loads(result.stdout)["waivers"] == [] and "expires on" not in result.stderr


def _group_by_tag(w: Workdir) -> None:
    assert "untagged" not in w.live("{}").stdout
    assert "\n== untagged (no tag team) (1) ==\n" in w.live("group_by_tag: team\n").stdout


MEMBER = "1000000000000001"


def _member_scanned(w: Workdir, config: str) -> CliResult:
    """A scan with conf/imgaudit.yaml saying `config`: the member's image `m-member` is
    scanned when its account is (through the role AssumeRole is asked for)."""
    (w.path / "conf").mkdir(exist_ok=True)
    (w.path / "conf" / "imgaudit.yaml").write_text(config, encoding="utf-8")
    w.fake.cloud.calls.clear()
    return invoke("scan", "--no-builtin-rules", "--rules", w.path / "rule.yaml", "--region",
                  "cn-hangzhou", "--endpoint", w.fake.url, "--config", "conf/imgaudit.yaml",
                  "--format", "json", env=w.env)


def _images(result: CliResult) -> set[str]:
    return {f["image_id"] for f in json.loads(result.stdout)["findings"]}


def _accounts(w: Workdir) -> None:
    member = w.fake.cloud.add_member(Member(MEMBER, "member"))
    member.regions["cn-hangzhou"].append(image("m-member", IsPublic=True))
    (w.path / "conf").mkdir()
    (w.path / "conf" / "accounts.yaml").write_text(f'accounts:\n  - id: "{MEMBER}"\n',
                                                   encoding="utf-8")
    assert _images(_member_scanned(w, "{}")) == {"m-pub"}
    result = _member_scanned(w, "accounts: accounts.yaml\n")  # relative to the config file
    assert result.exit_code == 1, result.stderr
    assert _images(result) == {"m-pub", "m-member"}
    assert [c.params["RoleArn"] for c in w.fake.cloud.calls_of("AssumeRole")] == [
        f"acs:ram::{MEMBER}:role/ResourceDirectoryAccountAccessRole"]


def _role_name(w: Workdir) -> None:
    member = w.fake.cloud.add_member(Member(MEMBER, "member"), role_name="imgaudit-reader")
    member.regions["cn-hangzhou"].append(image("m-member", IsPublic=True))
    (w.path / "conf").mkdir()
    (w.path / "conf" / "accounts.yaml").write_text(f'accounts:\n  - id: "{MEMBER}"\n',
                                                   encoding="utf-8")
    result = _member_scanned(w, "accounts: accounts.yaml\n")  # the default role: refused
    assert result.exit_code == 3 and _images(result) == {"m-pub"}
    result = _member_scanned(w, "accounts: accounts.yaml\nrole_name: imgaudit-reader\n")
    assert result.exit_code == 1, result.stderr
    assert _images(result) == {"m-pub", "m-member"}
    assert [c.params["RoleArn"] for c in w.fake.cloud.calls_of("AssumeRole")] == [
        f"acs:ram::{MEMBER}:role/imgaudit-reader"]


CASES: dict[str, Callable[[Workdir], None]] = {
    "fail_on": _fail_on, "format": _format, "region": _region, "owner": _owner,
    "status": _status, "endpoint": _endpoint, "profile": _profile,
    "concurrency": _concurrency, "signature": _signature, "min_severity": _min_severity,
    "history": _history, "lang": _lang,
    "waiver_expiry_warning_days": _waiver_expiry_warning_days,
    "group_by_tag": _group_by_tag, "accounts": _accounts, "role_name": _role_name,
}


def test_every_key_has_a_case() -> None:
    assert sorted(CASES) == sorted(SCAN_OPTION_KEYS), "add a case for the new config key"


def test_the_readme_documents_every_key() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Configuration"):readme.index("## Reports")]
    missing = [key for key in SCAN_OPTION_KEYS if f"`{key}`" not in section]
    assert missing == []


@pytest.mark.parametrize("key", SCAN_OPTION_KEYS)
def test_config_key_takes_effect(key: str, work: Workdir) -> None:
    CASES[key](work)


@pytest.mark.parametrize(("text", "problem"), [
    ("format: xml\n", "format"), ("signature: v2\n", "signature"),
    ("role_name: 'reader role'\n", "1 to 64 letters"),
])
def test_a_bad_option_value_in_the_config_is_refused_before_the_scan(
    text: str, problem: str, work: Workdir
) -> None:
    result = work.live(text)
    assert result.exit_code == 2 and result.stdout == ""
    assert "imgaudit.yaml:1:" in result.stderr and problem in result.stderr
    assert work.fake.cloud.calls == []


# --- the engine settings: every other key the file accepts ------------------------------------

PAGE = {"RequestId": "R-1", "RegionId": "cn-hangzhou", "TotalCount": 2, "Images": {"Image": [
    {"ImageId": "m-pub", "ImageOwnerAlias": "self", "IsPublic": True, "Tags": {"owner": "a"}},
    {"ImageId": "m-ok", "ImageOwnerAlias": "self", "IsPublic": False, "Tags": {"owner": "b"}},
]}}


def offline(w: Workdir, config: str) -> dict:
    """A scan of PAGE with the built-in rules and `config`; the JSON report."""
    (w.path / "page.json").write_text(json.dumps(PAGE), encoding="utf-8")
    (w.path / "imgaudit.yaml").write_text(config, encoding="utf-8")
    result = invoke("scan", "--input", w.path / "page.json", "--format", "json", env=w.env)
    assert result.exit_code in (0, 1), result.stderr
    return json.loads(result.stdout)


def _found(report: dict, rule: str) -> list[dict]:
    return [f for f in report["findings"] if f["rule_id"] == rule]


def _rule_ids(report: dict) -> set[str]:
    return {r["id"] for r in report["rules"]}


def _rules(w: Workdir) -> None:
    assert "T-PUBLIC" not in _rule_ids(offline(w, "{}"))
    assert len(_found(offline(w, "rules: [rule.yaml]\n"), "T-PUBLIC")) == 1


def _builtin_rules(w: Workdir) -> None:
    assert len(_rule_ids(offline(w, "{}"))) > 10
    assert _rule_ids(offline(w, "builtin_rules: false\nrules: [rule.yaml]\n")) == {"T-PUBLIC"}


def _select(w: Workdir) -> None:
    assert _rule_ids(offline(w, "select: [IMG-PUBLIC-SELF]\n")) == {"IMG-PUBLIC-SELF"}


def _frameworks(w: Workdir) -> None:
    assert "IMG-PUBLIC-SELF" in _rule_ids(offline(w, "{}"))
    mapped = _rule_ids(offline(w, "frameworks: [cis-alibaba-v2]\n"))
    assert "IMG-UNENCRYPTED-DISK" in mapped and "IMG-PUBLIC-SELF" not in mapped


def _disable(w: Workdir) -> None:
    assert "IMG-PUBLIC-SELF" in _rule_ids(offline(w, "{}"))
    assert "IMG-PUBLIC-SELF" not in _rule_ids(offline(w, "disable: [IMG-PUBLIC-SELF]\n"))


def _severity(w: Workdir) -> None:
    (finding,) = _found(offline(w, "severity: {IMG-PUBLIC-SELF: critical}\n"), "IMG-PUBLIC-SELF")
    assert finding["severity"] == "critical"


def _params(w: Workdir) -> None:
    assert len(_found(offline(w, "{}"), "IMG-REQUIRED-TAGS")) == 2  # owner and env by default
    only_owner = "params: {IMG-REQUIRED-TAGS: {required_keys: [owner]}}\n"
    assert _found(offline(w, only_owner), "IMG-REQUIRED-TAGS") == []


def _waivers(w: Workdir) -> None:
    waiver = ("waivers:\n  - {rule: IMG-PUBLIC-SELF, images: [m-pub], reason: r, owner: o, "
              "expires: 2999-01-01}\n")
    (finding,) = _found(offline(w, waiver), "IMG-PUBLIC-SELF")
    assert finding["waiver"]["owner"] == "o"


ENGINE_CASES: dict[str, Callable[[Workdir], None]] = {
    "rules": _rules, "builtin_rules": _builtin_rules, "select": _select, "disable": _disable,
    "frameworks": _frameworks, "severity": _severity, "params": _params, "waivers": _waivers,
}


def test_every_key_the_file_accepts_has_a_case() -> None:
    accepted = set(Config.model_fields) - {"base_dir"}  # set by the loader, not the file
    assert set(CASES) | set(ENGINE_CASES) == accepted, "add a case for the new config key"


@pytest.mark.parametrize("key", ENGINE_CASES)
def test_engine_key_takes_effect(key: str, work: Workdir) -> None:
    ENGINE_CASES[key](work)
