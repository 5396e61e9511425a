"""sv.configure(theme=...) reaches the dashboard: the server holds the theme the page draws with
(GET /api/dashboard.json carries it as browsers get it), a bad theme fails at the call naming the key."""

from __future__ import annotations

import pytest
from helpers import get_json, http_base, wait_until

import stream_viz as sv


def dashboard() -> dict:
    return get_json(http_base() + "/api/dashboard.json")


def test_a_custom_theme_from_python_reaches_the_server_normalized_and_keeps_the_title():
    sv.title("Themed")
    sv.configure(theme={"accent": "#7c3aed", "background": "#0b1020", "font": "Inter, sans-serif", "radius": 8})
    sv.stat("n").send(1)
    sv.start(port=0)
    d = wait_until(lambda: (x := dashboard()).get("theme") and x, what="the theme on the server")
    assert d["title"] == "Themed"
    assert d["theme"] == {"mode": "dark", "accent": "#7c3aed", "background": "#0b1020", "font": "Inter, sans-serif", "radius": 8}
    # A theme set later, alone, replaces the theme and leaves the title.
    sv.configure(theme="light")
    wait_until(lambda: dashboard()["theme"] == {"mode": "light"}, what="the light theme")
    assert dashboard()["title"] == "Themed"


@pytest.mark.parametrize("theme, key", [
    ("sepia", "theme"),
    ({"accent": "red; background: url(x)"}, "theme['accent']"),
    ({"font": "x}body{display:none"}, "theme['font']"),
    ({"radius": 40}, "theme['radius']"),
    ({"colour": "red"}, "theme['colour']"),
    (["dark"], "theme"),
])
def test_a_bad_theme_raises_naming_the_key(theme, key):
    with pytest.raises(sv.InvalidOptionError) as e:
        sv.configure(theme=theme)
    assert e.value.option == key and e.value.value == (theme if key == "theme" else next(iter(theme.values())))


@pytest.mark.parametrize(("arg", "says"), [("{not json", "--theme: not a JSON object"), ('{"accent": 5}', "accent")])
def test_the_demo_refuses_a_bad_theme_naming_the_problem_before_starting(arg, says):
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-m", "stream_viz", "demo", "--manual", "--port", "0", "--seconds", "1", "--theme", arg],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode != 0
    assert says in p.stderr
    assert "StreamViz dashboard:" not in p.stderr, "nothing started"
