#!/usr/bin/env python3
"""Opens the bulletin the README walkthrough exported in a real browser (Debian's headless
Chromium, offline) and checks what a reader will see: the page renders (a screenshot with
content), it asks for nothing outside itself, and every number it shows is the number
GetBulletin gave.

It also recounts the bulletin from the region's checks as ListChecks gave them (each account's
latest check of the quarter) and opens the workbook export.

Usage: check_bulletin.py BULLETIN_JSON BULLETIN_HTML [BULLETIN_XLSX [CHECKS_JSON]]
"""

import datetime
import html.parser
import json
import os
import shutil
import subprocess
import sys
import tempfile

import openpyxl

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
]


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    sys.exit("no Chromium on this machine (apt-get install chromium)")


class Metrics(html.parser.HTMLParser):
    """Collects the text of every element marked data-metric, with its data-category or
    data-item."""

    def __init__(self):
        super().__init__()
        self.metrics, self.open, self.external = [], None, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href"):
            if attrs.get(name) and not attrs[name].startswith("#"):
                self.external.append(f"<{tag} {name}={attrs[name]}>")
        if tag == "script":
            self.external.append("<script>")
        if "data-metric" in attrs:
            self.open = [attrs["data-metric"], attrs.get("data-category") or attrs.get("data-item"),
                         attrs.get("data-value"), ""]

    def handle_data(self, data):
        if self.open is not None:
            self.open[3] += data

    def handle_endtag(self, tag):
        if self.open is not None:
            self.metrics.append(tuple(self.open))
            self.open = None


def recount(bulletin, listing):
    """The bulletin's totals, counted again from the checks: each account's latest check whose
    time falls in the bulletin's quarter (Asia/Shanghai)."""
    if listing.get("nextPageToken"):
        sys.exit("the checks do not fit one page; the recount needs them all")
    year, quarter = bulletin["period"].split("-Q")
    shanghai = datetime.timezone(datetime.timedelta(hours=8))
    latest = {}
    for check in listing.get("checks", []):  # newest first
        time = datetime.datetime.fromisoformat(check["created"]["time"].replace("Z", "+00:00"))
        local = time.astimezone(shanghai)
        if local.year != int(year) or (local.month - 1) // 3 + 1 != int(quarter):
            continue
        latest.setdefault(check["account"], check.get("outcome", "OUTCOME_UNSPECIFIED"))
    counted = {
        "accountsChecked": len(latest),
        "passed": sum(1 for o in latest.values() if o == "OUTCOME_PASS"),
        "failed": sum(1 for o in latest.values() if o == "OUTCOME_FAIL"),
        "incomplete": sum(1 for o in latest.values() if o == "OUTCOME_INCOMPLETE"),
    }
    wrong = {k: (bulletin.get(k, 0), v) for k, v in counted.items() if bulletin.get(k, 0) != v}
    if wrong:
        sys.exit(f"the bulletin disagrees with the checks (bulletin, checks): {wrong}")
    print(f"the checks recount to the same totals: {counted}")


def run(browser, profile, *args):
    return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def main():
    json_path, html_path = sys.argv[1], sys.argv[2]
    bulletin = json.load(open(json_path, encoding="utf-8"))
    browser = chromium()
    profile = tempfile.mkdtemp(prefix="govmedia-chromium-")
    url = "file://" + os.path.abspath(html_path)
    dom = run(browser, profile, "--dump-dom", url)
    if dom.returncode != 0 or "<body" not in dom.stdout:
        sys.exit(f"Chromium could not render {html_path}:\n{dom.stderr[-2000:]}")
    shot = os.path.join(profile, "bulletin.png")
    run(browser, profile, f"--screenshot={shot}", "--window-size=1280,2400", url)
    if not os.path.exists(shot) or os.path.getsize(shot) < 20_000:
        sys.exit(f"Chromium drew no page ({shot})")
    parser = Metrics()
    parser.feed(dom.stdout)
    shown = {}
    for metric, key, value, text in parser.metrics:
        shown[(metric, key)] = (value, text.strip())
    get = lambda field: bulletin.get(field, 0)  # grpcurl leaves zero values out
    rectification = bulletin.get("rectification", {})
    expected = {
        ("accounts_checked", None): get("accountsChecked"),
        ("passed", None): get("passed"),
        ("failed", None): get("failed"),
        ("incomplete", None): get("incomplete"),
        ("rectification_opened", None): rectification.get("opened", 0),
        ("rectification_verified", None): rectification.get("verified", 0),
        ("rectification_in_progress", None): rectification.get("inProgress", 0),
        ("rectification_overdue", None): rectification.get("overdue", 0),
        ("criticised_units", None): len(bulletin.get("criticised", [])),
    }
    for veto in bulletin.get("vetoes", []):
        expected[("veto", veto["category"].removeprefix("PROBLEM_CATEGORY_"))] = veto.get("accounts", 0)
    for deduction in bulletin.get("deductions", []):
        expected[("deduction_accounts", deduction["item"])] = deduction.get("accounts", 0)
    problems = []
    for key, number in expected.items():
        if key not in shown:
            problems.append(f"the page shows no {key}")
        elif shown[key][1] != str(number):
            problems.append(f"{key}: the page shows {shown[key][1]!r}, GetBulletin {number}")
    rate = shown.get(("pass_rate", None), (None, ""))[0]
    if rate is None or abs(float(rate) - bulletin.get("passRate", 0.0)) > 1e-9:
        problems.append(f"pass rate: the page has {rate}, GetBulletin {bulletin.get('passRate', 0.0)}")
    if parser.external:
        problems.append(f"the page loads outside resources: {parser.external}")
    if bulletin.get("accountsChecked", 0) == 0:
        problems.append("the bulletin counts no checks")
    if problems:
        sys.exit(f"{html_path}:\n  " + "\n  ".join(problems))
    print(f"{html_path}: rendered by {os.path.basename(browser)}, {len(expected)} numbers equal "
          f"GetBulletin's ({get('accountsChecked')} accounts, {get('failed')} failing)")
    if len(sys.argv) > 4:
        recount(bulletin, json.load(open(sys.argv[4], encoding="utf-8")))
    if len(sys.argv) > 3:
        workbook = openpyxl.load_workbook(sys.argv[3])
        summary = {row[0]: row[1] for row in workbook.worksheets[0].iter_rows(min_row=2, values_only=True)}
        if summary.get("检查账号数 Accounts checked") != str(get("accountsChecked")):
            sys.exit(f"{sys.argv[3]}: the workbook counts {summary.get('检查账号数 Accounts checked')} accounts")
        print(f"{sys.argv[3]}: {len(workbook.worksheets)} sheets ({', '.join(workbook.sheetnames)}), "
              "the same totals")


if __name__ == "__main__":
    main()
