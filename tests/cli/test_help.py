"""`strata --help` and `strata CMD --help`: exit 0 and list the command's options."""
import re

import pytest

# What the issues promise each subcommand takes (issue 2: objbench; issue 3: format, status,
# config; the mount issue: mount, umount, info).
EXPECTED = {
    "format": ["META_URL", "NAME", "--storage", "--block-size", "--compress", "--trash-days",
               "--capacity", "--inodes", "--force", "--access-key", "--secret-key"],
    "status": ["META_URL"],
    "config": ["META_URL", "--trash-days", "--capacity", "--inodes"],
    "objbench": ["STORAGE_URL", "--threads", "--count", "--big-count", "--small-size",
                 "--big-size", "--access-key", "--secret-key", "--region"],
    "mount": ["META_URL"],
    "umount": [],
    "info": [],
}


def subcommands(help_text):
    m = re.search(r"^SUBCOMMANDS:\s*$(.*)", help_text, re.M | re.S | re.I)
    assert m, help_text
    return [line.split()[0] for line in m.group(1).splitlines() if line.strip()]


def test_top_level_help(strata):
    r = strata.ok("--help")
    assert "Usage" in r.stdout or "USAGE" in r.stdout, r
    assert set(EXPECTED) <= set(subcommands(r.stdout)), r
    assert "--version" in r.stdout
    v = strata.ok("--version")
    assert v.stdout.startswith("strata "), v


def test_no_subcommand_is_an_error(strata):
    r = strata()
    assert r.returncode != 0, r
    assert "subcommand" in (r.stdout + r.stderr).lower(), r


@pytest.mark.parametrize("cmd", sorted(EXPECTED))
def test_subcommand_help_lists_options(strata, cmd):
    r = strata.ok(cmd, "--help")
    text = r.stdout
    assert cmd in text.splitlines()[0] or f"strata {cmd}" in text, r
    assert "-h,--help" in text, r
    for opt in EXPECTED[cmd]:
        assert opt in text, f"{opt} missing from `strata {cmd} --help`\n{r}"
    # Every option and positional listed comes with a description, not just its name.
    entries = [line for line in text.splitlines() if re.match(r"^  [-A-Z]", line)]
    assert len(entries) >= len(EXPECTED[cmd]) + 1, r
    for line in entries:
        parts = re.split(r"\s{2,}", line.strip(), maxsplit=1)
        assert len(parts) == 2 and parts[1].strip(), f"no description: {line!r}\n{r}"

def test_unknown_subcommand_and_option(strata):
    r = strata("frobnicate")
    assert r.returncode != 0, r
    assert "unknown command 'frobnicate'" in r.stderr and len(r.stderr.splitlines()) == 1, r
    r = strata("status", "--no-such-flag", "sqlite3:///nonexistent/x.db")
    assert r.returncode != 0, r
    assert "--no-such-flag" in r.stderr + r.stdout, r
