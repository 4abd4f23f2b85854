"""The Dagster UI, used as a user would: headless Chromium (Debian's ``chromium`` + ``chromium-driver``)
driven by Selenium against ``dagster dev`` on a free loopback port, a fresh instance and fresh demo data.

Open the asset graph, expand the groups, click "Materialize all", wait until the run succeeds and every
asset and check in the graph is green (cross-checked through the GraphQL API), open the plan's asset page
and read its metadata: the headline figures, the preview, the table of the largest purchases and the
risk chart (a PNG the browser decodes). Screenshots go to ``screenshots/`` (git-ignored); the graph and
the plan are copied to ``docs/ui-asset-graph.png`` and ``docs/ui-procurement-plan.png`` for the README.

Chromium missing: the test skips saying how to install it, except under CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from inventory_assets.definitions import defs
from inventory_assets_tests.dagster_server import DagsterServer, dagster_server, wait_for
from inventory_assets_tests.helpers import BACKTESTABLE, PROJECT_ROOT

#: The plan asset whose page the test opens, and the metadata entries its page must show.
PLAN_ASSET = "procurement_plan"
PLAN_METADATA_LABELS = ("spend_against_budget", "status", "spend", "budget", "top_purchases", "preview")
PURCHASE_TABLE = "top_purchases"
RISK_CHART = "risk_by_class_chart"

UI_TIMEOUT_SECONDS = 600  # materializing everything from the UI, start to green
SCREENSHOTS = PROJECT_ROOT / "screenshots"
DOCS = PROJECT_ROOT / "docs"
GRAPH_SHOT = "ui-asset-graph.png"
PLAN_SHOT = "ui-procurement-plan.png"

CHROMIUM = os.environ.get("INVENTORY_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("INVENTORY_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
CHROME_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=2400,2400",  # tall enough for every group of the asset graph at once (orders included)
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _require_chromium() -> None:
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not (Path(path).is_file() and os.access(path, os.X_OK))]
    if not missing:
        return
    message = (
        f"{' and '.join(missing)} not found; to run the browser tests: "
        "apt-get install -y chromium chromium-driver (.ci/run does it)"
    )
    if _in_ci():
        pytest.fail(f"CI must run the browser tests: {message}")
    pytest.skip(message)


@contextlib.contextmanager
def chromium(profile: Path) -> Iterator:
    """Headless Chromium with a fresh profile, driven through Debian's chromedriver; quit on exit."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (*CHROME_ARGS, f"--user-data-dir={profile}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()


# --- the page, as a user sees it ----------------------------------------------------------------------


def body_text(driver) -> str:
    try:
        return driver.find_element(By.TAG_NAME, "body").text
    except Exception:
        return ""


def button(driver, text: str, *, prefix: bool = False):
    """The enabled, visible button whose label is ``text`` (or starts with it; None when there is none)."""
    label = f"starts-with(normalize-space(.), '{text}')" if prefix else f"normalize-space(.)='{text}'"
    for candidate in driver.find_elements(By.XPATH, f"//button[{label}]"):
        with contextlib.suppress(Exception):
            if candidate.is_displayed() and candidate.is_enabled():
                return candidate
    return None


def asset_nodes(driver) -> dict[str, dict[str, str]]:
    """Each asset node drawn in the graph: name -> ``{"kind": "detail"|"minimal", "text": ..., "style": ...}``.

    Zoomed out, the graph draws minimal nodes (the name on a background coloured by status); zoomed in,
    detailed ones (latest event, asset checks "k / k Passed", a "Materialized" status row).
    """
    nodes: dict[str, dict[str, str]] = {}
    xpath = "//div[contains(@class, 'assetNodeBox') or contains(@class, 'minimalAssetNodeBox')]"
    for node in driver.find_elements(By.XPATH, xpath):
        with contextlib.suppress(Exception):
            lines = [line.strip() for line in node.text.splitlines() if line.strip()]
            if lines:
                minimal = "minimalAssetNodeBox" in (node.get_attribute("class") or "")
                nodes[lines[0]] = {
                    "kind": "minimal" if minimal else "detail",
                    "text": "\n".join(lines[1:]),
                    "style": node.get_attribute("style") or "",
                }
    return nodes


def is_green(node: dict[str, str]) -> bool:
    """A minimal node on the green background; a detailed one "Materialized" with every check passed."""
    if node["kind"] == "minimal":
        return "--minimal-bg: var(--color-background-green)" in node["style"]
    text = node["text"]
    lines = text.splitlines()
    if "Materialized" not in lines or any(s in text for s in ("Materializing", "Failed", "Never materialized")):
        return False
    if "Asset checks" in lines and lines.index("Asset checks") + 1 < len(lines):
        checks = lines[lines.index("Asset checks") + 1]
        if "/" not in checks:  # an asset without checks: the next row is another heading or a dash
            return True
        parts = checks.replace("Passed", "").split("/")
        return checks.endswith("Passed") and len(parts) == 2 and parts[0].strip() == parts[1].strip()
    return True


def all_green(driver, assets: list[str], kind: str | None = None) -> bool:
    """Every asset drawn green (as a ``kind`` node, or either kind when None)."""
    nodes = asset_nodes(driver)
    return all(name in nodes and kind in (None, nodes[name]["kind"]) and is_green(nodes[name]) for name in assets)


def zoom_in(driver) -> None:
    driver.find_element(By.XPATH, "//button[.//*[@aria-label='zoom_in']]").click()


def metadata_rows(driver) -> dict[str, str]:
    """The metadata table on an asset page: key -> the value's text (a collapsed markdown shows a link)."""
    rows: dict[str, str] = {}
    for row in driver.find_elements(By.XPATH, "//tr[count(td) = 3]"):
        with contextlib.suppress(Exception):
            cells = row.find_elements(By.XPATH, "./td")
            rows.setdefault(cells[0].text.strip(), cells[2].text.strip())
    return rows


def metadata_cell(driver, label: str):
    """The value cell of the metadata row ``label`` on an asset page."""
    return driver.find_element(By.XPATH, f"//tr[count(td) = 3][td[1][normalize-space(.)='{label}']]/td[3]")


def dialog(driver):
    return next(iter(driver.find_elements(By.XPATH, "//*[@role='dialog']")), None)


def expanded(driver, cell):
    """Where a metadata value is shown in full: the cell itself, or the dialog its "Show ..." link opens
    (the UI collapses large markdown and tables behind such a link)."""
    links = cell.find_elements(By.XPATH, ".//*[contains(text(), 'Show Markdown')]")
    if not links:
        return cell
    links[0].click()
    return wait_for(lambda: dialog(driver), timeout=30, what="the dialog of a collapsed metadata value")


def close_dialog(driver) -> None:
    shown = dialog(driver)
    if shown is None:
        return
    close = button(driver, "Close")
    if close is not None:
        close.click()
    else:
        ActionChains(driver).send_keys(Keys.ESCAPE).perform()
    wait_for(lambda: dialog(driver) is None, timeout=30, what="the dialog to close")


def loaded_png(driver, element) -> bool:
    """``element`` holds an ``<img>`` with a PNG data URI that the browser decoded (non-zero width)."""
    for image in element.find_elements(By.XPATH, ".//img[starts-with(@src, 'data:image/png;base64,')]"):
        with contextlib.suppress(Exception):
            if driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image):
                return True
    return False


def screenshot(driver, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / name
    driver.save_screenshot(str(path))
    return path


# --- the API's view, to cross-check the UI ---------------------------------------------------------------

ASSET_STATE = """
{ assetNodes { assetKey { path }
    assetMaterializations(limit: 1) { runId }
    assetChecksOrError { __typename ... on AssetChecks { checks { name
      executionForLatestMaterialization { status } } } } } }"""


def api_state(server: DagsterServer) -> tuple[dict[str, bool], dict[str, str]]:
    """(asset -> has a materialization, "asset:check" -> latest execution status) from GraphQL."""
    materialized, checks = {}, {}
    for node in server.graphql(ASSET_STATE)["assetNodes"]:
        name = "/".join(node["assetKey"]["path"])
        materialized[name] = bool(node["assetMaterializations"])
        for check in (node["assetChecksOrError"] or {}).get("checks", []):
            execution = check["executionForLatestMaterialization"]
            checks[f"{name}:{check['name']}"] = execution["status"] if execution else "NONE"
    return materialized, checks


def test_materialize_everything_from_the_ui_and_read_the_plan(tmp_path: Path) -> None:
    _require_chromium()

    graph = defs().resolve_asset_graph()
    # Every asset is drawn; the materializable ones (all but the observed source sales_lines) turn green.
    drawn = sorted(key.to_user_string() for key in graph.get_all_asset_keys())
    assets = sorted(key.to_user_string() for key in graph.materializable_asset_keys)
    checks = sorted(f"{key.asset_key.to_user_string()}:{key.name}" for key in graph.asset_check_keys)
    SCREENSHOTS.mkdir(exist_ok=True)
    for old_shot in SCREENSHOTS.glob("*.png"):  # only this run's pictures in the folder
        old_shot.unlink()
    assert PLAN_ASSET in assets, (
        f"the asset {PLAN_ASSET!r} is not in the definitions (assets: {assets}); the browser test opens its page"
    )

    with (
        dagster_server(tmp_path / "deployment", demo=BACKTESTABLE) as server,
        chromium(tmp_path / "chromium-profile") as driver,
    ):
        try:
            # The asset graph: every group expanded (the graph's own shortcut, Alt+E), then "Materialize all".
            driver.get(f"{server.url}/asset-groups")
            # "Materialize all (16)": the UI counts the assets it materializes when a source is among them.
            materialize_all = "Materialize all"
            wait_for(
                lambda: button(driver, materialize_all, prefix=True), timeout=120, what="the 'Materialize all' button"
            )
            ActionChains(driver).key_down(Keys.ALT).send_keys("e").key_up(Keys.ALT).perform()
            wait_for(
                lambda: set(drawn) <= set(asset_nodes(driver)),
                timeout=60,
                what=f"every asset drawn in the graph ({drawn})",
            )
            screenshot(driver, "01-asset-graph-before.png")
            button(driver, materialize_all, prefix=True).click()

            with server.instance() as instance:
                run = wait_for(
                    lambda: next(iter(instance.get_runs()), None), timeout=60, what="the run launched from the UI"
                )
                run = wait_for(
                    lambda: (r := instance.get_run_by_id(run.run_id)) and r.is_finished and r,
                    timeout=UI_TIMEOUT_SECONDS,
                    interval=3,
                    what=f"run {run.run_id} to finish",
                )
                assert run.status == dg.DagsterRunStatus.SUCCESS, f"run {run.run_id}: {run.status}\n{server.log_tail()}"
                assert len(instance.get_runs()) == 1

            # The run's page says so.
            driver.get(f"{server.url}/runs/{run.run_id}")
            wait_for(lambda: "Success" in body_text(driver), timeout=60, what="the run page to show 'Success'")
            screenshot(driver, "02-run.png")

            # Back to the graph: every asset and every check green. The whole graph first (zoomed out:
            # minimal nodes coloured by status), then zoomed in until the nodes show their checks.
            driver.get(f"{server.url}/asset-groups")
            try:
                wait_for(
                    lambda: all_green(driver, assets),
                    timeout=120,
                    interval=2,
                    what="every asset green in the whole graph",
                )
                time.sleep(1)  # let the edges settle for the picture
                graph_shot = screenshot(driver, GRAPH_SHOT)
                for _ in range(8):
                    if all(n["kind"] == "detail" for n in asset_nodes(driver).values()):
                        break
                    zoom_in(driver)
                    time.sleep(0.5)
                wait_for(
                    lambda: all_green(driver, assets, "detail"),
                    timeout=60,
                    interval=2,
                    what="every asset 'Materialized' with all checks passed in the zoomed-in graph",
                )
                screenshot(driver, "03-asset-graph-detail.png")
            except TimeoutError as error:
                screenshot(driver, "03-asset-graph-not-green.png")
                raise AssertionError(f"{error}: {asset_nodes(driver)}") from None

            # The API agrees: every asset materialized, every check passed.
            materialized, executed = api_state(server)
            assert all(materialized.get(name) for name in assets), materialized
            assert sorted(executed) == checks and set(executed.values()) == {"SUCCEEDED"}, executed

            # The plan's page: its metadata (solver status, spend, budget, preview), each with a value.
            driver.get(f"{server.url}/assets/{PLAN_ASSET}")
            wait_for(
                lambda: set(PLAN_METADATA_LABELS) <= set(metadata_rows(driver)),
                timeout=60,
                what=f"the metadata {PLAN_METADATA_LABELS} on the {PLAN_ASSET} page",
            )
            rows = metadata_rows(driver)
            assert all(rows[label] for label in PLAN_METADATA_LABELS), rows
            heading = driver.find_element(By.XPATH, "//span[normalize-space(.)='Metadata']")
            driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", heading)
            time.sleep(0.5)
            plan_shot = screenshot(driver, PLAN_SHOT)
            # The preview: a large markdown table is collapsed behind a link that opens it in a dialog.
            preview = driver.find_element(By.XPATH, "//tr[count(td) = 3][td[1][normalize-space(.)='preview']]/td[3]")
            links = preview.find_elements(By.XPATH, ".//*[contains(text(), 'Show Markdown')]")
            if links:
                links[0].click()
                dialog = wait_for(
                    lambda: next(iter(driver.find_elements(By.XPATH, "//*[@role='dialog']")), None),
                    timeout=30,
                    what="the preview dialog",
                )
                wait_for(lambda: "product_id" in dialog.text, timeout=30, what="the plan's rows in the preview")
                screenshot(driver, "04-plan-preview.png")
            else:
                assert "product_id" in preview.text, preview.text
            close_dialog(driver)

            # What a buyer acts on: the largest purchases as a table, and the risk chart (a PNG).
            purchases = expanded(driver, metadata_cell(driver, PURCHASE_TABLE))
            wait_for(
                lambda: "supplier" in purchases.text and "product_id" in purchases.text,
                timeout=30,
                what="the purchase table with its rows",
            )
            screenshot(driver, "05-plan-purchases.png")
            close_dialog(driver)
            chart_cell = metadata_cell(driver, RISK_CHART)
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", chart_cell)
            chart = expanded(driver, chart_cell)
            wait_for(lambda: loaded_png(driver, chart), timeout=30, what="the risk chart drawn as an image")
            screenshot(driver, "06-plan-risk-chart.png")
            close_dialog(driver)
        except BaseException:
            with contextlib.suppress(Exception):
                screenshot(driver, "99-failure.png")
            raise

    # The current pictures for the README.
    shutil.copy(graph_shot, DOCS / GRAPH_SHOT)
    shutil.copy(plan_shot, DOCS / PLAN_SHOT)
