"""X9.37 reader: the real sample files, generated files, truncation and damage."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from sigverify.core.paths import datasets_folder
from sigverify.core.x9 import (
    EBCDIC,
    X9Error,
    X9Item,
    count_x9_items,
    detect_encoding,
    read_x9,
    read_x9_item,
    split_on_us,
    write_x9,
)

X9_DIR = datasets_folder() / "cheques" / "x9"
needs_x9 = pytest.mark.skipif(not X9_DIR.is_dir(), reason=f"real X9.37 samples not found at {X9_DIR}")


def _tiff_g4(text: str, size: tuple[int, int] = (240, 110)) -> bytes:
    image = Image.new("1", size, 1)
    ImageDraw.Draw(image).text((10, 40), text, fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format="TIFF", compression="group4", dpi=(200, 200))
    return buffer.getvalue()


def _jpeg(text: str) -> bytes:
    image = Image.new("L", (240, 110), 255)
    ImageDraw.Draw(image).text((10, 40), text, fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def _items(count: int = 3) -> list[X9Item]:
    return [
        X9Item(
            index=i,
            routing="011000015",
            on_us=f"{1000 + i}/ {500 + i}",
            account=str(1000 + i),
            serial=str(500 + i),
            amount_cents=1234 * (i + 1),
            sequence=f"{i + 1:015d}",
            front_image=_jpeg(f"front {i}") if i == 1 else _tiff_g4(f"front {i}"),
            back_image=None if i == 2 else _tiff_g4(f"back {i}"),
        )
        for i in range(count)
    ]


def _file_bytes(items: list[X9Item], encoding: str = "ascii") -> bytes:
    buffer = io.BytesIO()
    write_x9(buffer, items, encoding=encoding)
    return buffer.getvalue()


GENERATED = _file_bytes(_items())


def _read_all(data: bytes) -> list[X9Item]:
    return list(read_x9(io.BytesIO(data)))


def _read_until_error(data: bytes) -> tuple[list[X9Item], X9Error | None]:
    items: list[X9Item] = []
    try:
        for item in read_x9(io.BytesIO(data)):
            items.append(item)
    except X9Error as err:
        return items, err
    return items, None


# --------------------------------------------------------------------------- real files


@needs_x9
def test_moov_ascii_and_ebcdic_give_the_same_item() -> None:
    ascii_items = list(read_x9(X9_DIR / "moov-valid-ascii.x937"))
    ebcdic_items = list(read_x9(X9_DIR / "moov-valid-ebcdic.x937"))
    assert ascii_items == ebcdic_items
    (item,) = ascii_items
    assert item.routing == "122000661"
    assert item.on_us == "1211-1234-56789/"
    assert item.account == "1211-1234-56789"
    assert item.amount_cents == 10000
    assert item.sequence == "000000029001104"
    assert item.front_format == item.back_format == "tiff"
    assert item.offset == 252 and item.record_offsets[0] == 252


@needs_x9
def test_moov_front_is_the_signed_g4_cheque() -> None:
    (item,) = read_x9(X9_DIR / "moov-valid-ebcdic.x937")
    assert item.front_image is not None
    image = Image.open(io.BytesIO(item.front_image))
    assert image.size == (1200, 550)
    assert image.info["compression"] == "group4"
    # a cheque front is mostly paper with some ink
    ink = float((np.asarray(image.convert("L")) < 128).mean())
    assert 0.02 < ink < 0.4


@needs_x9
def test_arthware_return_file_items() -> None:
    path = X9_DIR / "arthware-sample.x9"
    items = list(read_x9(path))
    # 21 items in the file control record, one of them the credit (61) whose images are skipped
    assert len(items) == 20 == count_x9_items(path)
    first, money_order = items[0], items[8]
    assert (first.routing, first.account, first.serial, first.amount_cents) == ("075911713", "123456789", "1220", 1425)
    assert (money_order.routing, money_order.account, money_order.serial) == ("091900533", "930 91263397", "90")
    assert [item.index for item in items] == list(range(20))
    assert len({item.sequence for item in items}) == 20
    for item in items:
        assert item.front_image is not None and item.back_image is not None
        assert Image.open(io.BytesIO(item.front_image)).info["compression"] == "group4"
    assert Image.open(io.BytesIO(money_order.front_image or b"")).size == (1696, 754)


@needs_x9
def test_real_file_truncated_yields_items_before_the_damage() -> None:
    data = (X9_DIR / "arthware-sample.x9").read_bytes()
    cut = 100_000  # inside item 4's front image (its 25 record is at byte 97125)
    items, err = _read_until_error(data[:cut])
    assert [item.index for item in items] == [0, 1, 2, 3]
    assert err is not None and "truncated" in str(err) and "record" in str(err)


# --------------------------------------------------------------------------- generated files


def test_round_trip_ascii_and_ebcdic() -> None:
    written = _items()
    for encoding in ("ascii", EBCDIC):
        data = _file_bytes(written, encoding)
        assert detect_encoding(data[:6]) == encoding
        read = _read_all(data)
        assert len(read) == 3
        for before, after in zip(written, read, strict=True):
            assert (after.routing, after.account, after.serial, after.amount_cents, after.sequence) == (
                before.routing,
                before.account,
                before.serial,
                before.amount_cents,
                before.sequence,
            )
            assert after.front_image == before.front_image
            assert after.back_image == before.back_image
        assert [item.front_format for item in read] == ["tiff", "jpeg", "tiff"]
        assert read[2].back_image is None and read[2].back_format is None


def test_images_false_reads_fields_only() -> None:
    items = list(read_x9(io.BytesIO(GENERATED), images=False))
    assert [item.account for item in items] == ["1000", "1001", "1002"]
    assert all(item.front_image is None for item in items)
    assert count_x9_items(io.BytesIO(GENERATED)) == 3


def test_non_seekable_stream() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            chunk = self.inner.read(min(len(buffer), 7))  # short reads, like a pipe
            buffer[: len(chunk)] = chunk
            return len(chunk)

    assert len(list(read_x9(Pipe(GENERATED)))) == 3  # type: ignore[arg-type]
    assert count_x9_items(Pipe(GENERATED)) == 3  # type: ignore[arg-type]


def test_path_and_errors_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "letter.x937"
    path.write_bytes(GENERATED[:-10])
    with pytest.raises(X9Error) as info:
        list(read_x9(path))
    assert str(path) in str(info.value)
    assert info.value.offset == len(GENERATED) - 84  # the 99 record's prefix


@pytest.mark.parametrize(
    ("on_us", "aux", "expected"),
    [
        ("123456789/ 1220", "", ("123456789", "1220")),  # personal cheque: serial right of the account
        ("1211-1234-56789/", "", ("1211-1234-56789", "")),
        ("5551234/", "0001042", ("5551234", "0001042")),  # business cheque: serial in auxiliary on-us
        ("", "", ("", "")),
    ],
)
def test_split_on_us(on_us: str, aux: str, expected: tuple[str, str]) -> None:
    assert split_on_us(on_us, aux) == expected


def _record_offsets(data: bytes) -> list[int]:
    offsets, pos = [], 0
    while pos < len(data):
        offsets.append(pos)
        pos += 4 + int.from_bytes(data[pos : pos + 4], "big")
    return offsets


def test_truncation_at_every_record_boundary_and_inside() -> None:
    offsets = _record_offsets(GENERATED)
    full = _read_all(GENERATED)
    for start, end in zip(offsets, [*offsets[1:], len(GENERATED)], strict=True):
        for cut in (start, start + 2, start + 5, (start + end) // 2, end - 1):
            if cut >= len(GENERATED):
                continue
            items, err = _read_until_error(GENERATED[:cut])
            assert err is not None, f"cut at {cut} was not reported"
            assert items == full[: len(items)], "items before the damage must be exactly the good ones"
            # every item whose records all precede the damaged record comes out
            complete = [item for item in full if _item_end(item, offsets) <= err.offset]
            assert len(items) >= len(complete) - (0 if err.record_type else 1)


def _item_end(item: X9Item, offsets: list[int]) -> int:
    last = item.record_offsets[-1]
    following = [offset for offset in offsets if offset > last]
    return following[0] if following else len(GENERATED)


def test_damage_inside_an_item_drops_only_that_item() -> None:
    offsets = _record_offsets(GENERATED)
    full = _read_all(GENERATED)
    front_52 = full[1].record_offsets[2]  # item 1: 25, 50, 52 ...
    damaged = bytearray(GENERATED)
    damaged[front_52 + 4 + 101 : front_52 + 4 + 105] = b"99x9"  # key length not numeric
    items, err = _read_until_error(bytes(damaged))
    assert items == full[:1]
    assert err is not None and err.record_type == "52" and err.offset == front_52
    assert "image reference key length" in err.reason
    assert front_52 in offsets


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"0101T" + b" " * 75, "no 4-byte length prefix"),
        (b"\x00\x00\x00\x50" + b"AB" + b" " * 78, "not an X9.37 file"),
        (b"\x00\x00\x00\x01" + b"01", "too short"),
        (b"\x7f\xff\xff\xff" + b"01", "exceeds the X9.37 maximum"),
        (b"\x00\x00\x00\x50" + b"01" + b" " * 78 + b"\x00\x00", "truncated record length prefix"),
    ],
)
def test_damaged_headers(data: bytes, reason: str) -> None:
    with pytest.raises(X9Error, match=reason):
        list(read_x9(io.BytesIO(data)))


def test_bad_amount_after_good_item_yields_the_good_one() -> None:
    full = _read_all(GENERATED)
    second_25 = full[1].offset
    damaged = bytearray(GENERATED)
    damaged[second_25 + 4 + 47 : second_25 + 4 + 50] = b"12A"
    items, err = _read_until_error(bytes(damaged))
    assert items == full[:1]
    assert err is not None and "item amount" in err.reason and err.record_type == "25"


def test_image_record_outside_an_item() -> None:
    full = _read_all(GENERATED)
    data = bytearray(GENERATED)
    first_25 = full[0].offset
    data[first_25 + 4 : first_25 + 6] = b"68"  # a user record: the 50/52 after it belong to nothing
    items, err = _read_until_error(bytes(data))
    assert items == [] and err is not None and "outside any check detail" in err.reason


# --------------------------------------------------------------------------- robustness


def _consume(data: bytes) -> None:
    """Read everything; only X9Error may escape."""
    try:
        for item in read_x9(io.BytesIO(data)):
            assert isinstance(item, X9Item)
    except X9Error:
        pass


@settings(max_examples=150, deadline=1000, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_only_x9error(data: bytes) -> None:
    _consume(data)
    _consume(GENERATED[:84] + data)  # a valid file header, then noise


@settings(max_examples=150, deadline=1000)
@given(st.integers(min_value=0, max_value=len(GENERATED)))
def test_truncated_only_x9error(cut: int) -> None:
    _consume(GENERATED[:cut])


@settings(max_examples=200, deadline=1000)
@given(st.lists(st.tuples(st.integers(0, len(GENERATED) - 1), st.integers(0, 255)), min_size=1, max_size=8))
def test_mutated_only_x9error(mutations: list[tuple[int, int]]) -> None:
    data = bytearray(GENERATED)
    for position, value in mutations:
        data[position] = value
    _consume(bytes(data))


_HEADER_POSITIONS = [
    offset + delta for offset in _record_offsets(GENERATED) for delta in range(120) if offset + delta < len(GENERATED)
]


@settings(max_examples=200, deadline=1000)
@given(st.lists(st.tuples(st.sampled_from(_HEADER_POSITIONS), st.integers(0, 255)), min_size=1, max_size=4))
def test_mutated_headers_only_x9error(mutations: list[tuple[int, int]]) -> None:
    """Mutations aimed at length prefixes and text fields, where parsing decisions are made."""
    data = bytearray(GENERATED)
    for position, value in mutations:
        data[position] = value
    _consume(bytes(data))


def test_read_one_item_at_its_offset(tmp_path: Path) -> None:
    path = tmp_path / "letter.x937"
    path.write_bytes(_file_bytes(_items(), EBCDIC))
    items = list(read_x9(path))
    for item in items:
        assert read_x9_item(path, item.offset, item.index) == item
    with pytest.raises(X9Error) as info:
        read_x9_item(path, items[1].offset + 3)
    assert info.value.offset == items[1].offset + 3
