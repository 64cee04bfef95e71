"""`atomic_output`: the one way every writer replaces a file."""

import os

import pytest

from ccyclegan.atomic import atomic_output


def test_the_new_content_replaces_the_file_only_when_the_block_succeeds(tmp_path):
    target = tmp_path / "sub" / "config.json"
    with atomic_output(target) as temporary:
        assert temporary.parent == target.parent and temporary.name.startswith(".config.json.tmp-")
        temporary.write_text("first")
        assert not target.exists()  # nothing visible until the block ends
    assert target.read_text() == "first"
    with pytest.raises(KeyboardInterrupt), atomic_output(target) as temporary:
        temporary.write_text("half")
        raise KeyboardInterrupt
    assert target.read_text() == "first"
    assert os.listdir(target.parent) == ["config.json"]  # no temporary file left behind


def test_the_suffix_ends_the_temporary_name_and_a_block_that_writes_nothing_fails(tmp_path):
    with atomic_output(tmp_path / "generator.keras", suffix=".keras") as temporary:
        assert temporary.suffix == ".keras"
        temporary.write_bytes(b"x")
    with pytest.raises(FileNotFoundError), atomic_output(tmp_path / "empty.json"):
        pass
    assert sorted(os.listdir(tmp_path)) == ["generator.keras"]
