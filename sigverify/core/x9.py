"""X9.37 image cash letter files: a streaming reader and a small writer.

An X9.37 file is a sequence of records, each preceded by a 4-byte big-endian length. Text
fields are ASCII or EBCDIC (code page 037), detected from the first record's type bytes;
image data inside type 52 records is binary whatever the text encoding.

Only what sigverify needs is parsed:

* 25 check detail (and 31 return): routing, on-us field (account and serial), amount,
  item sequence number, auxiliary on-us;
* 50 image view detail: which side (front/back) the next image is;
* 52 image view data: the image bytes (TIFF G4 or JPEG for fronts, in practice).

``read_x9`` is a generator: it holds one item's images at a time, never the file's. A
truncated or damaged file raises ``X9Error`` (file, byte offset, record number) *after*
every complete item before the damage was yielded, so a batch can process what is good
and report the rest.

``write_x9`` writes a minimal valid file (01/10/20, 25 + 50/52 per view, 70/90/99): tests
and the batch benchmark generate their fixtures with it.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import BinaryIO

ASCII = "ascii"
EBCDIC = "ebcdic"
_CODECS = {ASCII: "latin-1", EBCDIC: "cp037"}  # latin-1 never fails; digits are checked explicitly

# Largest legal record: type 52 = 117 fixed bytes + key (4 digits) + signature (5) + image (7).
_MAX_52_TEXT = 117 + 9_999 + 99_999  # fixed part + longest image key + longest digital signature
MAX_RECORD_LENGTH = _MAX_52_TEXT + 9_999_999

ITEM_TYPES = frozenset({"25", "31"})  # check detail (forward presentment), return
ADDENDUM_TYPES = frozenset({"26", "27", "28", "32", "33", "34", "35"})
# records after which the current item can have nothing more attached
CLOSING_TYPES = frozenset({"01", "10", "20", "25", "31", "61", "62", "70", "85", "86", "87", "90", "99"})
NON_ITEM_TYPES = frozenset({"61", "62"})  # credits: their images are deposit slips, not cheques

FRONT, BACK = "0", "1"
# X9.37 record 50 field 5 (image view format indicator) -> our format name
_VIEW_FORMATS = {
    "00": "tiff",
    "01": "ioca",
    "20": "png",
    "21": "jpeg",
    "22": "jpeg",
    "23": "jbig",
    "24": "jp2",
}


class X9Error(ValueError):
    """A truncated, damaged or unsupported X9.37 file; says where."""

    def __init__(
        self,
        message: str,
        *,
        path: str = "<stream>",
        offset: int = 0,
        record: int = 0,
        record_type: str | None = None,
    ) -> None:
        self.reason = message
        self.path = path
        self.offset = offset
        self.record = record
        self.record_type = record_type
        kind = f" (type {record_type})" if record_type else ""
        super().__init__(f"{path}: byte {offset}, record {record}{kind}: {message}")


@dataclass(frozen=True)
class X9Item:
    """One cheque (record 25) or returned cheque (record 31) with its images."""

    index: int  # 0-based position among the file's items
    routing: str  # payor bank routing number, 9 digits with check digit
    on_us: str  # the MICR on-us field as written, '/' standing for the on-us symbol
    account: str
    serial: str  # cheque number: from the on-us field, else the auxiliary on-us
    amount_cents: int
    sequence: str = ""  # ECE institution item sequence number: unique within a cash letter
    aux_on_us: str = ""
    record_type: str = "25"
    offset: int = -1  # byte offset of the item record's length prefix
    record_offsets: tuple[int, ...] = ()  # every record of the item, in file order
    front_image: bytes | None = field(default=None, repr=False)
    front_format: str | None = None
    back_image: bytes | None = field(default=None, repr=False)
    back_format: str | None = None
    views: int = 0  # image views seen, including any beyond the first front and back

    @property
    def key(self) -> str:
        """Stable id inside one file (resume, reports): position plus sequence number."""
        return f"{self.index:06d}:{self.sequence}" if self.sequence else f"{self.index:06d}"


@dataclass
class _Record:
    offset: int
    number: int  # 1-based, as a human counts records
    type: str
    body: bytes  # whole record (type included); for 52 without images, only the text part
    length: int  # the record's true length (from the prefix)
    keep_image: bool = True  # False when reading fields only


# --------------------------------------------------------------------------- reading


def detect_encoding(first_bytes: bytes) -> str:
    """ASCII or EBCDIC from the first record's type bytes (after the length prefix)."""
    type_bytes = first_bytes[4:6]
    if len(type_bytes) == 2 and all(0x30 <= b <= 0x39 for b in type_bytes):
        return ASCII
    if len(type_bytes) == 2 and all(0xF0 <= b <= 0xF9 for b in type_bytes):
        return EBCDIC
    if first_bytes[:2] in (b"01", b"\xf0\xf1"):
        raise ValueError("records have no 4-byte length prefix; only prefixed X9.37 files are supported")
    raise ValueError("not an X9.37 file: the first record type is not two digits in ASCII or EBCDIC")


def read_x9(source: str | os.PathLike[str] | BinaryIO, *, images: bool = True) -> Iterator[X9Item]:
    """Yield the file's items lazily; ``images=False`` skips image data (fast counting)."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, "rb") as stream:
            yield from _read_items(stream, os.fspath(source), images)
    else:
        yield from _read_items(source, str(getattr(source, "name", "<stream>")), images)


def read_x9_item(path: str | os.PathLike[str], offset: int, index: int = 0) -> X9Item:
    """The one item whose check detail record starts at ``offset`` (from ``X9Item.offset``).

    Lets a worker on another machine fetch its own item from a shared file instead of the
    driver shipping image bytes around.
    """
    with open(path, "rb") as stream:
        stream.seek(offset)
        items = _read_items(stream, os.fspath(path), True)
        try:
            item = next(items)
        except StopIteration:
            raise X9Error("no item at this offset", path=os.fspath(path), offset=offset) from None
        except X9Error as err:  # its offset counts from the seek position; the file's is wanted
            raise X9Error(err.reason, path=err.path, offset=offset + err.offset, record=err.record,
                          record_type=err.record_type) from None
        finally:
            items.close()
    if item.offset != 0:
        raise X9Error("no check detail record at this offset", path=os.fspath(path), offset=offset)
    shift = offset  # offsets were counted from the seek position
    return replace(item, index=index, offset=offset, record_offsets=tuple(o + shift for o in item.record_offsets))


def count_x9_items(source: str | os.PathLike[str] | BinaryIO) -> int:
    """Number of items, reading headers only (progress totals); raises X9Error like read_x9."""
    return sum(1 for _ in read_x9(source, images=False))


def _read_items(stream: BinaryIO, path: str, images: bool) -> Iterator[X9Item]:
    builder: _ItemBuilder | None = None
    count = 0
    try:
        for record in _records(stream, path, images):
            if record.type in CLOSING_TYPES and builder is not None:
                item = builder.build(record, path)  # raises if the item was left half-written
                builder = None
                if item is not None:
                    yield item
                    count += 1
            builder = _handle(record, builder, count, path)
            if record.type == "99":
                return
    except X9Error as err:
        # the damaged record opens a new item or a control record: the pending item was complete
        if builder is not None and builder.side is None and err.record_type in CLOSING_TYPES:
            item = builder.build(None, path)
            if item is not None:
                yield item
        raise


def _handle(record: _Record, builder: _ItemBuilder | None, count: int, path: str) -> _ItemBuilder | None:
    """Apply one record to the item being assembled; returns the new builder."""
    if record.type in ITEM_TYPES:
        return _ItemBuilder.start(record, count, path)
    if record.type in NON_ITEM_TYPES:
        return _ItemBuilder.skipping(record)
    if record.type in CLOSING_TYPES:
        return None
    if builder is None:
        if record.type in ("50", "52"):
            # image records outside any item are damage, not something to guess about
            raise _err("image record outside any check detail record", path, record)
        return None  # user records (68) and the like between bundles
    builder.add(record, path)
    return builder


class _Source:
    """The stream with the bytes already peeked at served first; counts its position."""

    def __init__(self, stream: BinaryIO, head: bytes) -> None:
        self.stream = stream
        self.head = head
        self.position = 0

    def read(self, size: int) -> bytes:
        taken, self.head = self.head[:size], self.head[size:]
        data = taken + _read_exact(self.stream, size - len(taken))
        self.position += len(data)
        return data

    def skip(self, size: int) -> int:
        """Skip up to ``size`` bytes without keeping them; returns how many were there."""
        taken = min(size, len(self.head))
        self.head = self.head[taken:]
        skipped = taken + self._skip_stream(size - taken)
        self.position += skipped
        return skipped

    def _skip_stream(self, size: int) -> int:
        try:
            start = self.stream.tell()
            end = self.stream.seek(0, io.SEEK_END)
            skipped = min(size, max(0, end - start))
            self.stream.seek(start + skipped)
            return skipped
        except (OSError, AttributeError, ValueError):
            skipped = 0  # a pipe: read and drop in bounded chunks
            while skipped < size:
                chunk = self.stream.read(min(size - skipped, 1 << 20))
                if not chunk:
                    break
                skipped += len(chunk)
            return skipped


def _read_exact(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes; short only at end of file (pipes may return less per read)."""
    chunks, remaining = [], size
    while remaining > 0:
        chunk = stream.read(remaining)
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _records(stream: BinaryIO, path: str, images: bool) -> Iterator[_Record]:
    """Split the stream into records, checking each one's prefix, type and length."""
    head = _read_exact(stream, 6)
    if not head:
        raise X9Error("empty file, not an X9.37 file", path=path)
    try:
        codec = _CODECS[detect_encoding(head)]
    except ValueError as exc:
        raise X9Error(str(exc), path=path) from None
    source = _Source(stream, head)
    number = 0
    while True:
        offset = source.position
        number += 1
        prefix = source.read(4)
        if not prefix:
            raise X9Error(
                "file ends without a file control record (99): truncated",
                path=path,
                offset=offset,
                record=number,
            )
        if len(prefix) < 4:
            raise X9Error(
                f"truncated record length prefix ({len(prefix)} of 4 bytes)",
                path=path,
                offset=offset,
                record=number,
            )
        (length,) = struct.unpack(">I", prefix)
        yield _read_record(source, path, offset, number, length, codec, images)


def _read_record(
    source: _Source, path: str, offset: int, number: int, length: int, codec: str, images: bool
) -> _Record:
    def fail(message: str, record_type: str | None = None) -> X9Error:
        return X9Error(message, path=path, offset=offset, record=number, record_type=record_type)

    if length < 2:
        raise fail(f"record length {length} is too short to hold a record type")
    if length > MAX_RECORD_LENGTH:
        raise fail(f"record length {length} exceeds the X9.37 maximum of {MAX_RECORD_LENGTH}")
    type_bytes = source.read(2)
    record_type = type_bytes.decode(codec)
    if len(type_bytes) < 2 or not (record_type.isdigit() and record_type.isascii()):
        raise fail(f"record type {type_bytes!r} is not two digits")
    # without images, read a 52 only up to the end of its largest possible text part
    wanted = min(length, _MAX_52_TEXT) if record_type == "52" and not images else length
    body = type_bytes + source.read(wanted - 2)
    if len(body) == wanted and wanted < length:
        body_end = source.skip(length - wanted)
        got = len(body) + body_end
    else:
        got = len(body)
    if got < length:
        raise fail(f"truncated record: {got} of {length} bytes", record_type)
    return _Record(offset, number, record_type, body, length, keep_image=images)


def _err(message: str, path: str, record: _Record) -> X9Error:
    return X9Error(message, path=path, offset=record.offset, record=record.number, record_type=record.type)


# --------------------------------------------------------------------------- fields


@dataclass
class _Fields:
    """Fixed-position text fields of one record, with errors that say where."""

    record: _Record
    path: str
    codec: str

    def text(self, start: int, end: int, name: str) -> str:
        """1-based inclusive positions, as the standard lists them."""
        if len(self.record.body) < end:
            raise _err(f"record too short for {name} (positions {start}-{end})", self.path, self.record)
        return self.record.body[start - 1 : end].decode(self.codec)

    def number(self, start: int, end: int, name: str, *, blank_is_zero: bool = False) -> int:
        raw = self.text(start, end, name)
        value = raw.strip()
        if not value and blank_is_zero:
            return 0
        if not (value.isdigit() and value.isascii()):
            raise _err(f"{name} {raw!r} is not numeric", self.path, self.record)
        return int(value)


def _codec_of(record: _Record) -> str:
    return "latin-1" if record.body[:1].isdigit() else "cp037"


def split_on_us(on_us: str, aux_on_us: str = "") -> tuple[str, str]:
    """(account, serial) from an on-us field such as '123456789/ 1220' ('/' = on-us symbol).

    Personal cheques print the serial right of the account's on-us symbol; business cheques
    carry it in the auxiliary on-us field instead.
    """
    parts = [part.strip() for part in on_us.split("/")]
    filled = [part for part in parts if part]
    if not filled:
        return "", aux_on_us.strip()
    account = filled[0]
    serial = filled[1] if len(filled) > 1 else aux_on_us.strip()
    return account, serial


def _sniff_format(data: bytes, indicator: str) -> str:
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if data[:2] == b"\xff\xd8":
        return "jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:4] in (b"\x00\x00\x00\x0c", b"\xff\x4f\xff\x51"):
        return "jp2"
    return _VIEW_FORMATS.get(indicator, "unknown")


class _ItemBuilder:
    """Collects the records of one item until the next item or control record."""

    def __init__(self, fields: dict[str, object] | None, record: _Record) -> None:
        self.fields = fields  # None: a credit (61/62) whose records are skipped
        self.offsets = [record.offset]
        self.side: str | None = None
        self.indicator = "00"
        self.images: dict[str, tuple[bytes, str]] = {}
        self.views = 0

    @classmethod
    def skipping(cls, record: _Record) -> _ItemBuilder:
        return cls(None, record)

    @classmethod
    def start(cls, record: _Record, index: int, path: str) -> _ItemBuilder:
        f = _Fields(record, path, _codec_of(record))
        if record.type == "25":
            aux_on_us = f.text(3, 17, "auxiliary on-us").strip()
            routing = f.text(19, 27, "payor bank routing number").strip()
            on_us = f.text(28, 47, "on-us").strip()
            amount = f.number(48, 57, "item amount")
            sequence = f.text(58, 72, "item sequence number").strip()
        else:  # 31 return record: the same data at other positions, no auxiliary on-us
            aux_on_us = ""
            routing = f.text(3, 11, "payor bank routing number").strip()
            on_us = f.text(12, 31, "on-us").strip()
            amount = f.number(32, 41, "item amount")
            sequence = f.text(54, 68, "item sequence number").strip()
        account, serial = split_on_us(on_us, aux_on_us)
        fields: dict[str, object] = dict(
            index=index,
            routing=routing,
            on_us=on_us,
            account=account,
            serial=serial,
            amount_cents=amount,
            sequence=sequence,
            aux_on_us=aux_on_us,
            record_type=record.type,
            offset=record.offset,
        )
        return cls(fields, record)

    def add(self, record: _Record, path: str) -> None:
        self.offsets.append(record.offset)
        if self.fields is None:
            return
        if record.type == "50":
            f = _Fields(record, path, _codec_of(record))
            self.side = f.text(32, 32, "view side indicator")
            self.indicator = f.text(21, 22, "image view format indicator")
            if self.side not in (FRONT, BACK):
                raise _err(f"view side indicator {self.side!r} is neither 0 nor 1", path, record)
        elif record.type == "52":
            if self.side is None:
                raise _err("image view data (52) without its image view detail (50)", path, record)
            data = _image_data(record, path)  # checks the lengths even when the image is not kept
            if not record.keep_image:
                data = b""
            self.views += 1
            if data and self.side not in self.images:
                self.images[self.side] = (data, _sniff_format(data, self.indicator))
            self.side = None

    def build(self, closing: _Record | None, path: str) -> X9Item | None:
        if self.fields is None:
            return None
        if self.side is not None and closing is not None:
            raise _err("image view detail (50) not followed by its image data (52)", path, closing)
        front = self.images.get(FRONT)
        back = self.images.get(BACK)
        return X9Item(
            **self.fields,  # type: ignore[arg-type]
            record_offsets=tuple(self.offsets),
            front_image=front[0] if front else None,
            front_format=front[1] if front else None,
            back_image=back[0] if back else None,
            back_format=back[1] if back else None,
            views=self.views,
        )


def _image_data(record: _Record, path: str) -> bytes:
    """The image bytes of a type 52 record, checking each variable-length field against the record.

    Empty when the record was read without its image (``images=False``).
    """
    f = _Fields(record, path, _codec_of(record))
    key_length = f.number(102, 105, "image reference key length", blank_is_zero=True)
    pos = 105 + key_length  # 0-based start of the digital signature length
    sig_length = f.number(pos + 1, pos + 5, "digital signature length", blank_is_zero=True)
    pos += 5 + sig_length
    data_length = f.number(pos + 1, pos + 7, "image data length", blank_is_zero=True)
    pos += 7
    if data_length > record.length - pos:
        raise _err(
            f"image data length {data_length} exceeds the {record.length - pos} bytes left in the record",
            path,
            record,
        )
    return record.body[pos : pos + data_length]


# --------------------------------------------------------------------------- writing


def _num(value: int, width: int, name: str) -> str:
    text = str(int(value))
    if value < 0 or len(text) > width:
        raise ValueError(f"{name} {value} does not fit in {width} digits")
    return text.zfill(width)


def _alpha(value: str, width: int, name: str, *, right: bool = False) -> str:
    if len(value) > width:
        raise ValueError(f"{name} {value!r} is longer than {width} characters")
    return value.rjust(width) if right else value.ljust(width)


@dataclass
class _Writer:
    stream: BinaryIO
    codec: str
    records: int = 0

    def record(self, text: str, binary: bytes = b"") -> None:
        """Fixed records are 80 characters; a 52 is its text part followed by the image."""
        if not binary:
            if len(text) > 80:
                raise ValueError(f"record {text[:2]} is {len(text)} characters, more than 80")
            text = text.ljust(80)
        body = text.encode(self.codec) + binary
        self.stream.write(struct.pack(">I", len(body)) + body)
        self.records += 1


_WRITE_INDICATORS = {"tiff": ("00", "00"), "jpeg": ("21", "01"), "png": ("20", "21"), "jp2": ("24", "23")}


def _view_records(writer: _Writer, item: X9Item, side: str, data: bytes, fmt: str | None, date: str) -> None:
    indicator, compression = _WRITE_INDICATORS.get(fmt or _sniff_format(data, ""), ("00", "00"))
    routing = _alpha(item.routing, 9, "routing")
    size = _num(len(data), 7, "image size")
    writer.record("50" + "1" + routing + date + indicator + compression + size + side + "00" + "0")
    sequence = _alpha(item.sequence, 15, "sequence")
    # routing, date, cycle, sequence, 3 security names, clipping, key length 0, signature length 0
    text = "52" + routing + date + "01" + sequence + " " * 48 + "0" + " " * 16 + "0000" + "00000"
    writer.record(text + _num(len(data), 7, "image data length"), data)


def _item_records(writer: _Writer, item: X9Item, date: str) -> None:
    on_us = item.on_us or (f"{item.account}/{item.serial}" if item.serial else f"{item.account}/")
    writer.record(
        "25"
        + _alpha(item.aux_on_us, 15, "auxiliary on-us", right=True)
        + " "
        + _alpha(item.routing, 9, "routing")
        + _alpha(on_us, 20, "on-us", right=True)
        + _num(item.amount_cents, 10, "amount")
        + _alpha(item.sequence, 15, "sequence")
        # documentation type G (image), return acceptance, MICR valid, BOFD, 0 addenda, correction, archive
        + "G"
        + "0"
        + "1"
        + "Y"
        + "00"
        + "0"
        + "B"
    )
    if item.front_image is not None:
        _view_records(writer, item, FRONT, item.front_image, item.front_format, date)
    if item.back_image is not None:
        _view_records(writer, item, BACK, item.back_image, item.back_format, date)


def write_x9(
    dest: str | os.PathLike[str] | BinaryIO,
    items: Iterable[X9Item],
    *,
    encoding: str = ASCII,
    date: str = "20261122",
    origin: str = "011000015",
    destination: str = "011000015",
) -> int:
    """Write one cash letter with one bundle holding ``items``; returns the item count.

    Streams: ``items`` may be a generator; each item is written and dropped.
    """
    if isinstance(dest, (str, os.PathLike)):
        with open(dest, "wb") as stream:
            return write_x9(
                stream, items, encoding=encoding, date=date, origin=origin, destination=destination
            )
    writer = _Writer(dest, "cp037" if encoding == EBCDIC else "ascii")
    header = destination + origin + date
    writer.record("0103T" + header + "0000" + "N" + "sigverify".ljust(18) + "sigverify".ljust(18) + "A")
    writer.record("10" + "01" + header + date + "0000" + "I" + "G" + "00000001")
    writer.record("20" + "01" + header + date + "0000000001" + "0001")
    count = total = 0
    for item in items:
        _item_records(writer, item, date)
        count += 1
        total += item.amount_cents
    views = (writer.records - 3 - count) // 2  # each view is a 50 and a 52
    writer.record(
        "70"
        + _num(count, 4, "bundle items")
        + _num(total, 12, "bundle total")
        + _num(0, 12, "MICR valid total")
        + _num(views, 5, "image count")
    )
    writer.record(
        "90"
        + _num(1, 6, "bundle count")
        + _num(count, 8, "item count")
        + _num(total, 14, "cash letter total")
        + _num(views, 9, "image count")
    )
    writer.record(
        "99"
        + _num(1, 6, "cash letters")
        + _num(writer.records + 1, 8, "record count")
        + _num(count, 8, "item count")
        + _num(total, 16, "file total")
    )
    return count
