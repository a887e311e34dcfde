"""End to end: `streamlit run app/main.py` in headless Chromium (Debian's, driven by Selenium).

Logs in with a real account, visits every page through the sidebar navigation, fails on any
exception shown in the page, and saves a screenshot of each page (to ``$SHOPLENS_SCREENSHOTS``
when set, else into the test's temporary folder).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.settings import REPO_ROOT
from db.store import Store

pytestmark = pytest.mark.e2e

PAGES = [
    ("overview", "Overview"), ("behaviour", "Behaviour"), ("search", "Search"),
    ("recommendations", "Recommendations"), ("sentiment", "Sentiment"),
    ("intent", "Intent"), ("demand", "Demand"), ("segments", "Segments"),
    ("explain", "Explain"), ("labelling", "Labelling"), ("models", "Models"), ("monitoring", "Monitoring"),
]  # fmt: skip
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--window-size=1440,2600", "--hide-scrollbars",
]  # fmt: skip
ERROR_MARKERS = ("Traceback", "Error", "Exception")
USERNAME, PASSWORD = "e2e-admin", "e2e-password-123456"


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("Debian chromium + chromium-driver are not installed (make e2e-deps)")
    pytest.importorskip("selenium", reason="selenium is not installed (pip install -e .[dev])")
    return chromium, driver


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout_s} s")


@pytest.fixture
def app_url(shoplens_home: Path, store: Store, tmp_path: Path) -> Iterator[str]:
    """A seeded shop, an admin account and `streamlit run` on a free loopback port.

    ``SHOPLENS_E2E_HOME`` points the app at an existing runtime folder instead (e.g. one holding
    the sample shop and trained models, to refresh ``docs/screenshots``); the e2e account is
    added to its store when missing.
    """
    from accounts.service import create_account, list_accounts
    from tests.app.dashboard_seed import seed_shop

    existing = os.environ.get("SHOPLENS_E2E_HOME")
    if existing:
        shoplens_home = Path(existing)
        store = Store(shoplens_home / "shoplens.duckdb")
    else:
        seed_shop(store)
    if USERNAME not in {a.username for a in list_accounts(store)}:
        create_account(store, USERNAME, PASSWORD, "admin")
    port = _free_port()
    log = (tmp_path / "streamlit.log").open("wb")
    proc = subprocess.Popen(  # noqa: S603 - fixed argument list
        [sys.executable, "-m", "streamlit", "run", "app/main.py",
         "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--client.showErrorDetails", "full"],
        cwd=REPO_ROOT, env={**os.environ, "SHOPLENS_HOME": str(shoplens_home)},
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_idle(driver: object, title: str, timeout_s: float = 60) -> None:
    """Wait until the page's title shows and Streamlit has finished running the script."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            heads = [h.text for h in driver.find_elements(By.CSS_SELECTOR, "h1")]
        except StaleElementReferenceException:  # the page re-rendered while we read it
            continue
        running = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stStatusWidget"]')
        skeleton = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSkeleton"]')
        skeleton += driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSpinner"]')
        charts = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stPlotlyChart"]')
        drawn = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stPlotlyChart"] .main-svg')
        if any(title in h for h in heads) and not running and not skeleton:
            if len(drawn) < len(charts) and time.monotonic() < deadline - 10:
                time.sleep(0.3)  # Plotly loads lazily; wait for every chart to draw
                continue
            time.sleep(1.0)  # tables and charts finish painting; a slow step shows a spinner
            busy = '[data-testid="stStatusWidget"], [data-testid="stSpinner"]'
            if not driver.find_elements(By.CSS_SELECTOR, busy):
                return
        time.sleep(0.3)
    raise TimeoutError(f"page {title!r} did not finish rendering in {timeout_s} s")


def _browser(tmp_path: Path) -> Any:
    """Headless Chromium (Debian's) driven by Selenium, with its own profile folder."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = _browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    return driver


def _sign_in(
    driver: Any, labels: tuple[str, str, str] = ("Username", "Password", "Sign in")
) -> None:
    """Fill the sign-in form (its username, password and button labels) and submit it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    user, password, button = labels
    WebDriverWait(driver, 60).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, f'input[aria-label="{user}"]')
    )
    driver.find_element(By.CSS_SELECTOR, f'input[aria-label="{user}"]').send_keys(USERNAME)
    driver.find_element(By.CSS_SELECTOR, f'input[aria-label="{password}"]').send_keys(PASSWORD)
    driver.find_element(By.XPATH, f'//button[.//p[text()="{button}"]]').click()


def _visit_every_page(driver: Any, titles: dict[str, str], shots: Path) -> list[str]:
    """Open each page through the sidebar navigation, wait for it, save a screenshot; returns
    the sidebar's text per page. Fails on an exception shown in a page."""
    from selenium.webdriver.common.by import By

    sidebars = []
    for key, _ in PAGES:
        title = titles[key]
        links = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSidebarNav"] a')
        link = next((a for a in links if a.text.strip().endswith(title)), None)
        assert link is not None, f"no link to {title}: {[a.text for a in links]}"
        link.click()
        _wait_idle(driver, title)
        if key == "explain":  # a text explained, as a merchant would paste one
            _explain_a_text(driver, title)
        exceptions = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stException"]')
        body = driver.find_element(By.TAG_NAME, "body").text
        found = [m for m in ERROR_MARKERS if m in body]
        driver.save_screenshot(str(shots / f"{key}.png"))
        assert not exceptions and not found, f"{title}: {found} in page\n{body[:2000]}"
        # the sidebar filters are drawn on every page
        assert driver.find_elements(
            By.CSS_SELECTOR, '[data-testid="stSidebar"] [data-testid="stSelectbox"]'
        )
        sidebars.append(driver.find_element(By.CSS_SELECTOR, '[data-testid="stSidebar"]').text)
    return sidebars


EXPLAINED = (
    "Love the colour but the fabric pilled after one wash and it runs small. Do you have it in XL?"
)


def _explain_a_text(driver: Any, title: str) -> None:
    """Paste :data:`EXPLAINED` into the Explain page's text box and wait for every model's
    answer (a home with trained models explains it; the seeded one says how to train them)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    box = driver.find_element(By.CSS_SELECTOR, '[data-testid="stTextArea"] textarea')
    box.send_keys(EXPLAINED)
    box.send_keys(Keys.CONTROL, Keys.ENTER)
    deadline = time.monotonic() + 60
    while EXPLAINED not in driver.find_element(By.TAG_NAME, "body").text:
        assert time.monotonic() < deadline, "the pasted text was not shown"
        time.sleep(0.3)
    # every model's answer: no column still loading its model or explaining (a column's
    # spinner closes a moment before the next one's opens)
    calm_since, deadline = time.monotonic(), time.monotonic() + 300
    while time.monotonic() - calm_since < 2.0:
        assert time.monotonic() < deadline, "the models did not answer within 300 s"
        busy = driver.find_elements(By.CSS_SELECTOR, '[data-testid="stSpinner"]')
        if busy:
            calm_since = time.monotonic()
        time.sleep(0.2)
    _wait_idle(driver, title, 60)


def _shots(tmp_path: Path, sub: str = "") -> Path:
    base = os.environ.get("SHOPLENS_SCREENSHOTS")
    shots = (Path(base) if base else tmp_path / "screenshots") / sub
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def test_every_page_renders_in_a_real_browser(app_url: str, tmp_path: Path) -> None:
    shots = _shots(tmp_path)
    driver = _browser(tmp_path)
    try:
        driver.get(app_url)
        _wait_idle(driver, "ShopLens")
        _sign_in(driver)
        _wait_idle(driver, "Overview")
        _visit_every_page(driver, dict(PAGES), shots)
    finally:
        driver.quit()
    assert sorted(p.stem for p in shots.glob("*.png")) == sorted(k for k, _ in PAGES)


ZH_TITLES = {"overview": "概览", "behaviour": "行为", "search": "搜索", "recommendations": "推荐",
             "sentiment": "情感", "intent": "意图", "demand": "需求", "segments": "分群",
             "explain": "解释", "labelling": "标注", "models": "模型", "monitoring": "监控"}  # fmt: skip


def test_the_dashboard_in_simplified_chinese(app_url: str, tmp_path: Path) -> None:
    """A link with ``?lang=zh`` opens the sign-in form in Chinese; every page then shows in
    Chinese (titles, sidebar, navigation) with no exception; a screenshot of each page is saved
    (``$SHOPLENS_SCREENSHOTS/zh``)."""
    shots = _shots(tmp_path, "zh")
    driver = _browser(tmp_path)
    try:
        driver.get(f"{app_url}/?lang=zh")
        _sign_in(driver, ("用户名", "密码", "登录"))
        _wait_idle(driver, ZH_TITLES["overview"])
        sidebars = _visit_every_page(driver, ZH_TITLES, shots)
    finally:
        driver.quit()
    assert all("店铺" in text and "时间段" in text for text in sidebars)  # Chinese on every page
    assert sorted(p.stem for p in shots.glob("*.png")) == sorted(k for k, _ in PAGES)


def _login_form_shown(driver: object) -> bool:
    from selenium.webdriver.common.by import By

    return bool(driver.find_elements(By.CSS_SELECTOR, 'input[aria-label="Username"]'))


def test_sign_in_survives_reloads_and_deep_links_until_sign_out(app_url: str, tmp_path: Path):
    from selenium.webdriver.common.by import By

    driver = _browser(tmp_path)
    try:
        driver.get(f"{app_url}/explain")  # a deep link before signing in
        _sign_in(driver)
        _wait_idle(driver, "Explain")  # signed in, on the page the link asked for
        cookie = driver.get_cookie("shoplens_session")
        assert cookie and cookie["sameSite"] == "Strict" and len(cookie["value"]) == 43
        driver.refresh()
        _wait_idle(driver, "Explain")
        assert not _login_form_shown(driver)
        driver.switch_to.new_window("tab")  # a second tab, straight to another page
        driver.get(f"{app_url}/segments")
        _wait_idle(driver, "Segments")
        assert not _login_form_shown(driver)
        driver.find_element(By.XPATH, '//button[.//p[text()="Sign out"]]').click()
        _wait_idle(driver, "ShopLens")
        driver.refresh()
        _wait_idle(driver, "ShopLens")
        assert _login_form_shown(driver)
        driver.switch_to.window(driver.window_handles[0])  # the first tab is signed out too
        driver.refresh()
        _wait_idle(driver, "ShopLens")
        assert _login_form_shown(driver)
    finally:
        driver.quit()
