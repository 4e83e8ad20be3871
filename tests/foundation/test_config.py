import pytest

from balise.cli import main
from balise.config import ConfigError, load_toml
from balise.model.catalog import BUILTIN_CATALOG, Catalog


def test_builtin_catalog_has_every_platform_id():
    catalog = load_toml(BUILTIN_CATALOG, Catalog)
    ids = {t.id for t in catalog.targets if t.kind == "platform"}
    assert ids == {
        "tiktok", "facebook", "instagram", "whatsapp", "twitter",
        "youtube", "telegram", "signal", "google", "wikipedia",
    }  # fmt: skip


def test_wrong_type_names_file_and_field(tmp_path):
    bad = tmp_path / "catalog.toml"
    bad.write_text('[[targets]]\nid = "x"\ndomain = 3\n')
    with pytest.raises(ConfigError, match=r"catalog\.toml: field targets\[0\]\.domain"):
        load_toml(bad, Catalog)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_toml(tmp_path / "absent.toml", Catalog)


def test_probe_config_error_exits_2_naming_the_field(tmp_path, capsys):
    config = tmp_path / "probe.toml"
    config.write_text('id = "p1"\n[location]\ncountry = "nc"\n')
    assert main(["probe", "run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "probe.toml" in err
    assert "location.country" in err


def test_unknown_setting_is_rejected(tmp_path, capsys):
    config = tmp_path / "probe.toml"
    config.write_text('id = "p1"\nround = 5\n[location]\ncountry = "NC"\n')
    assert main(["probe", "run", "--config", str(config)]) == 2
    assert "round" in capsys.readouterr().err
