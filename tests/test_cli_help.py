"""Every script's --help is true: each option says what it is, and the defaults it prints for
config-dataclass flags are the values a run really uses."""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from dataclasses import fields

import pytest

from conftest import ROOT

SCRIPTS = sorted(p for p in (ROOT / "scripts").glob("*.py") if not p.name.startswith("_"))


class _Parsed(Exception):
    def __init__(self, parser):
        self.parser = parser


def parser_of(script) -> argparse.ArgumentParser:
    """The ArgumentParser a script builds, caught when it parses (nothing else runs)."""
    sys.path.insert(0, str(ROOT / "scripts"))
    spec = importlib.util.spec_from_file_location(f"script_{script.stem}", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    original = argparse.ArgumentParser.parse_args

    def catch(self, *a, **k):
        raise _Parsed(self)

    argparse.ArgumentParser.parse_args = catch
    try:
        module.main()
    except _Parsed as p:
        return p.parser
    finally:
        argparse.ArgumentParser.parse_args = original
        sys.path.remove(str(ROOT / "scripts"))
    raise AssertionError(f"{script.name} never parsed its arguments")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_option_says_what_it_is(script):
    ap = parser_of(script)
    missing = [a.option_strings[0] if a.option_strings else a.dest for a in ap._actions
               if a.help != argparse.SUPPRESS and not (a.help or "").strip() and not isinstance(a, argparse._HelpAction)]
    assert not missing, f"{script.name}: no help for {missing}"


def _defaults_in_help(ap) -> dict[str, str]:
    return {a.dest: m.group(1) for a in ap._actions if a.help and (m := re.search(r"\(default: ([^)]*)\)\s*$", a.help))}


def test_train_musegan_help_shows_the_paper_settings_it_uses():
    from pianogen.training import TrainConfig

    script = ROOT / "scripts" / "train_musegan.py"
    shown = _defaults_in_help(parser_of(script))
    spec = importlib.util.spec_from_file_location("tm", script)
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    used = {f.name: module.GAN_TRAIN_DEFAULTS.get(f.name, f.default) for f in fields(TrainConfig) if f.name not in ("seq_len", "eval_tokens")}
    for name, value in used.items():
        text = " ".join(map(str, value)) if isinstance(value, tuple) else str(value)
        assert shown[name] == text, (name, shown[name], text)
    assert "seq_len" not in shown and "eval_tokens" not in shown  # a GAN has no token windows


def test_train_autoregressive_help_shows_the_dataclass_defaults():
    from pianogen.training.autoregressive import AugmentConfig
    from pianogen.training import TrainConfig

    shown = _defaults_in_help(parser_of(ROOT / "scripts" / "train_autoregressive.py"))
    for cls, prefix in ((TrainConfig, ""), (AugmentConfig, "aug_")):
        for f in fields(cls):
            text = " ".join(map(str, f.default)) if isinstance(f.default, tuple) else str(f.default)
            assert shown[prefix + f.name] == text, (f.name, shown[prefix + f.name], text)
